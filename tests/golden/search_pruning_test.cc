// Pruning must never change an answer: each query runs over the same random block through
// blocks::BlockFetcher (which skips row groups by statistics and dictionaries) and through a
// fetcher that hands over every trace, and the results must be identical. The test also checks
// that pruning happens where it should (a value that exists nowhere reads no row group).

#include <gtest/gtest.h>

#include <numeric>

#include "blocks/block.h"
#include "blocks/block_fetcher.h"
#include "blocks/test_util.h"
#include "io/object_store.h"
#include "traceql/search.h"

namespace vivace {
namespace {

// Every trace of every row group, ignoring the conditions.
class FullFetcher : public scan::SpansetFetcher {
 public:
  explicit FullFetcher(blocks::BlockReader* r) : r_(r) {}
  Result<scan::FetchStats> Fetch(const scan::FetchRequest&, const scan::TraceVisitor& visit) override {
    scan::FetchStats st;
    for (size_t i = 0; i < r_->meta().row_groups; ++i) {
      VV_ASSIGN_OR_RETURN(blocks::RowGroup g, r_->ReadRowGroup(i));
      for (size_t t = 0; t < g.traces.size(); ++t) {
        if (!visit(blocks::TraceViewOf(g, t))) return st;
      }
    }
    return st;
  }

 private:
  blocks::BlockReader* r_;
};

std::string Render(const traceql::SearchResult& r) {
  std::string out;
  for (const auto& t : r.traces) {
    out += t.id.Hex() + " " + std::to_string(t.start_unix_nano) + ":";
    for (const auto& ss : t.spansets) {
      out += " [" + std::to_string(ss.matched);
      for (const auto& s : ss.spans) out += " " + s.id.Hex();
      out += "]";
    }
    out += "\n";
  }
  return out;
}

class SearchPruning : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = io::NewMemoryStore();
    model::SpanBatch b = blocks::testing::RandomTraces(77).Make(400, 12);
    // Group rows by trace, traces in id order.
    std::vector<uint32_t> rows(b.size());
    std::iota(rows.begin(), rows.end(), 0);
    std::stable_sort(rows.begin(), rows.end(), [&](uint32_t x, uint32_t y) { return b.trace_id[x] < b.trace_id[y]; });
    blocks::BlockWriterOptions opts;
    opts.row_group_spans = 64;
    blocks::BlockWriter w(store_.get(), "t", opts);
    for (size_t i = 0; i < rows.size();) {
      size_t j = i;
      while (j < rows.size() && b.trace_id[rows[j]] == b.trace_id[rows[i]]) ++j;
      ASSERT_TRUE(w.AddTrace(b, std::span<const uint32_t>(rows.data() + i, j - i)).ok());
      i = j;
    }
    auto meta = w.Finish();
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    ASSERT_GT(meta->row_groups, 10u);
    reader_ = std::make_shared<blocks::BlockReader>(store_.get(), *meta);
  }

  // Runs `q` both ways; returns the pruned fetch's row groups skipped.
  uint64_t Check(const std::string& q, uint32_t limit = 1000, uint32_t spss = 0, size_t job_groups = 0) {
    blocks::BlockFetcher pruned(reader_);
    FullFetcher full(reader_.get());
    const blocks::BlockMeta& m = reader_->meta();
    traceql::SearchOptions opts;
    opts.limit = limit;
    opts.spans_per_spanset = spss;
    opts.threads = 1;
    traceql::FetchSource a{&pruned, m.start_unix_nano, m.end_unix_nano, m.total_bytes()};
    traceql::FetchSource b{&full, m.start_unix_nano, m.end_unix_nano, m.total_bytes()};
    // Or the block as several jobs of `job_groups` row groups, on two threads.
    std::vector<std::unique_ptr<blocks::BlockFetcher>> jobs;
    std::vector<traceql::FetchSource> sources;
    if (job_groups != 0) {
      jobs = blocks::BlockJobs(reader_, job_groups);
      for (auto& j : jobs) sources.push_back({j.get(), m.start_unix_nano, m.end_unix_nano, m.total_bytes()});
      opts.threads = 2;
    } else {
      sources.push_back(a);
    }
    auto ra = traceql::Search(q, sources, opts);
    opts.threads = 1;
    auto rb = traceql::Search(q, std::span(&b, 1), opts);
    EXPECT_TRUE(ra.ok() && rb.ok()) << q << ": " << ra.status().ToString() << rb.status().ToString();
    if (!ra.ok() || !rb.ok()) return 0;
    EXPECT_EQ(Render(*ra), Render(*rb)) << q << " (limit " << limit << ")";
    if (!ra->traces.empty()) ++answered_;
    auto st = pruned.Fetch(PlanOf(q), [](const scan::TraceView&) { return true; });
    return st.ok() ? st->row_groups_pruned + st->row_groups_filtered : 0;
  }

  // The fetch request the engine sends (through a fetcher that records it).
  scan::FetchRequest PlanOf(const std::string& q) {
    struct Recorder : scan::SpansetFetcher {
      scan::FetchRequest req;
      Result<scan::FetchStats> Fetch(const scan::FetchRequest& r, const scan::TraceVisitor&) override {
        req = r;
        return scan::FetchStats{};
      }
    } rec;
    traceql::FetchSource s{&rec, 1, 2, 0};
    (void)traceql::Search(q, std::span(&s, 1), traceql::SearchOptions{});
    return rec.req;
  }

  std::unique_ptr<io::ObjectStore> store_;
  std::shared_ptr<blocks::BlockReader> reader_;
  size_t answered_ = 0;  // queries that found something
};

TEST_F(SearchPruning, AnswersAreUnchanged) {
  const char* queries[] = {
      "{ }",
      "{ name = \"op-3\" }",
      "{ name =~ \"op-[12]\" }",
      "{ name != \"op-3\" }",
      "{ status = error }",
      "{ status != unset && kind = server }",
      "{ duration > 4ms }",
      "{ duration < 100us || duration > 4900us }",
      "{ span.http.method = \"value-3\" }",
      "{ .http.method = \"value-3\" }",
      "{ resource.service.name = \"svc-2\" }",
      "{ .service.name =~ \"svc-[01]\" }",
      "{ span.custom.7 != nil }",
      "{ span.custom.7 = nil }",
      "{ .retry = true }",
      "{ span.ratio > 100 }",
      "{ event:name = \"exception\" }",
      "{ event.http.method = \"value-1\" }",
      "{ link.db.system != nil }",
      "{ instrumentation:name = \"io.opentelemetry.lib1\" }",
      "{ .http.status_code = \"value-4\" } || { kind = client }",
      "{ kind = server } >> { status = error }",
      "{ kind = server } !> { status = error }",
      "{ name = \"op-1\" } | count() > 2",
      "{ } | by(resource.service.name) | avg(duration) > 2ms",
      "{ span.http.method = \"no-such-value\" }",
      // One filter's conditions hold on one span together (the columnar pass).
      "{ name = \"op-1\" && status = error }",
      "{ name = \"op-1\" && span.http.method = \"value-3\" }",
      "{ resource.service.name = \"svc-1\" && kind = server && duration > 1ms }",
      "{ name = \"op-1\" && status = error } || { span.custom.3 != nil && kind = client }",
      "{ name = \"op-1\" && status = error } >> { name = \"op-2\" && duration < 3ms }",
      "{ span.ratio >= 1.5 && span.ratio < 700 }",
      "{ span.custom.2 = \"value-1\" && .retry = false }",
      "{ trace:rootService = \"svc-1\" && name != \"op-0\" }",
      "{ trace:duration > 3ms && status != ok }",
      "{ name !~ \"op-[0-2]\" && kind != internal }",
      "{ .http.method =~ \"value-[0-3]\" && status = error } | select(span.custom.4, resource.service.name)",
      "{ event:name = \"exception\" && status = error }",
      // count() bounds how many spans must pass the first pass (not when later stages filter).
      "{ status = error } | count() > 1",
      "{ } | count() >= 4",
      "{ name = \"op-1\" && kind = server } | by(resource.service.name) | count() > 1",
      "{ } | count() > 1 | { status = error }",
      "{ status = error } | 1 < count()",
      "{ name =~ \"op-[12]\" } | count() = 2",
      "{ duration > 2ms } | avg(duration) > 3ms | count() > 1",
  };
  for (const char* q : queries) Check(q);
  // Most queries find traces (so the comparison means something); the three absent ones don't.
  EXPECT_GE(answered_, std::size(queries) - 6) << "too few queries match the random block";
  // Few results: the result bound reaches the fetcher, which skips traces that cannot enter.
  for (const char* q : queries) Check(q, 3, 2);
  // The second pass builds the most recent candidates first, a few row groups at a time.
  for (const char* q : queries) {
    Check(q, 1, 1);
    Check(q, 7, 0);
    Check(q, 5, 3, 4);  // jobs of 4 row groups on two threads: the same answer
  }
}

TEST_F(SearchPruning, ColumnarPassSkipsRowGroupsTheDictionariesKeep) {
  uint64_t groups = reader_->meta().row_groups;
  // Both names are in every row group's dictionary, but no span has both.
  EXPECT_EQ(Check("{ name = \"op-1\" && name = \"op-2\" }"), groups);
  EXPECT_EQ(Check("{ status = error && status = ok }"), groups);
}

TEST_F(SearchPruning, AbsentValuesSkipEveryRowGroup) {
  uint64_t groups = reader_->meta().row_groups;
  EXPECT_EQ(Check("{ name = \"no-such-name\" }"), groups);
  EXPECT_EQ(Check("{ resource.service.name = \"no-such-service\" }"), groups);
  EXPECT_EQ(Check("{ span.no.such.key = \"x\" }"), groups);
  EXPECT_EQ(Check("{ duration > 1h }"), groups);
  EXPECT_EQ(Check("{ event:name = \"no-such-event\" }"), groups);
  EXPECT_EQ(Check("{ status = error && duration > 1h }"), groups);
  EXPECT_LT(Check("{ name = \"op-1\" }"), groups);
  // No trace has that many spans (or error spans): the first pass rules every one out.
  EXPECT_EQ(Check("{ } | count() > 1000"), groups);
  EXPECT_EQ(Check("{ status = error } | count() > 12"), groups);
}

TEST_F(SearchPruning, AProgressCallbackThatSaysStopCancelsTheSearch) {
  const blocks::BlockMeta& m = reader_->meta();
  auto jobs = blocks::BlockJobs(reader_, 2);
  ASSERT_GT(jobs.size(), 4u);
  std::vector<traceql::FetchSource> sources;
  for (auto& j : jobs) sources.push_back({j.get(), m.start_unix_nano, m.end_unix_nano, m.total_bytes()});
  traceql::SearchOptions opts;
  opts.threads = 1;
  opts.limit = 1000;
  int calls = 0;
  uint32_t completed = 0;
  auto r = traceql::Search("{ }", sources, opts, [&](std::span<const traceql::TraceResult>, const traceql::SearchMetrics& so_far) {
    ++calls;
    completed = so_far.completed_jobs;
    return calls < 2;  // the client goes away after the second message
  });
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(completed, 2u);
  // Without the stop, every job reports.
  calls = 0;
  auto all = traceql::Search("{ }", sources, opts, [&](std::span<const traceql::TraceResult>, const traceql::SearchMetrics&) {
    ++calls;
    return true;
  });
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(calls, static_cast<int>(jobs.size()));
}

}  // namespace
}  // namespace vivace
