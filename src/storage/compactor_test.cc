#include "storage/compactor.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "blocks/test_util.h"
#include "io/fault_store.h"

namespace vivace::storage {
namespace {

using blocks::BlockMeta;
using blocks::testing::Canonical;
using blocks::testing::Deduplicated;
using blocks::testing::RandomTraces;

// Writes spans `idx` of `b` as one block of `tenant`.
BlockMeta Write(io::ObjectStore* store, const std::string& tenant, const model::SpanBatch& b,
                const std::vector<uint32_t>& idx, blocks::BlockWriterOptions opts = {}) {
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i : idx) traces[b.trace_id[i]].push_back(i);
  blocks::BlockWriter w(store, tenant, opts);
  for (const auto& [id, spans] : traces) EXPECT_TRUE(w.AddTrace(b, spans).ok());
  auto meta = w.Finish();
  EXPECT_TRUE(meta.ok()) << meta.status().ToString();
  return *meta;
}

// Splits the spans of `b` over `n` blocks at random, copying about `dup_share` of them into a
// second block too (late or resent spans).
std::vector<BlockMeta> WriteSplit(io::ObjectStore* store, const std::string& tenant, const model::SpanBatch& b,
                                  int n, double dup_share, uint32_t seed, blocks::BlockWriterOptions opts = {}) {
  std::mt19937 rng(seed);
  std::vector<std::vector<uint32_t>> parts(n);
  for (uint32_t i = 0; i < b.size(); ++i) {
    size_t p = rng() % n;
    parts[p].push_back(i);
    if (std::uniform_real_distribution<double>(0, 1)(rng) < dup_share) parts[(p + 1) % n].push_back(i);
  }
  std::vector<BlockMeta> out;
  for (const auto& idx : parts) out.push_back(Write(store, tenant, b, idx, opts));
  return out;
}

std::set<model::TraceId> TraceIds(const model::SpanBatch& b) {
  return std::set<model::TraceId>(b.trace_id.begin(), b.trace_id.end());
}

// The spans of trace `id` in `b`, each span id once.
std::string WantTrace(const model::SpanBatch& b, const model::TraceId& id) {
  model::SpanBatch want;
  model::SpanCopier copier(&want);
  copier.SetSource(&b);
  for (size_t i = 0; i < b.size(); ++i) {
    if (b.trace_id[i] == id) copier.CopySpan(i);
  }
  return Canonical(Deduplicated(want));
}

// Asserts that a fresh reader of `store` finds every trace of `b` exactly, in `tenant`.
void ExpectAllTraces(io::ObjectStore* store, const std::string& tenant, const model::SpanBatch& b) {
  Blocklist reader(store);
  ASSERT_TRUE(reader.Poll().ok());
  for (const model::TraceId& id : TraceIds(b)) {
    auto got = reader.FindTrace(tenant, id, 0, 0);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(Canonical(**got), WantTrace(b, id)) << id.Hex();
  }
}

std::vector<std::string> Keys(io::ObjectStore* store, const std::string& prefix) {
  std::vector<std::string> keys;
  auto listed = store->List(prefix);
  EXPECT_TRUE(listed.ok());
  if (listed.ok()) {
    for (const auto& o : *listed) keys.push_back(o.key);
  }
  return keys;
}

uint64_t NewestEnd(const std::vector<BlockMeta>& metas) {
  uint64_t end = 0;
  for (const auto& m : metas) end = std::max(end, m.end_unix_nano / 1000000000);
  return end;
}

CompactorOptions SmallOptions() {
  CompactorOptions o;
  o.block.row_group_spans = 64;  // several row groups per block
  o.compaction_window_seconds = 1ull << 40;  // every test block in one window
  return o;
}

TEST(CompactorTest, MergeJoinsSplitTracesAndDropsDuplicateSpans) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(41).Make(300, 30);
  blocks::BlockWriterOptions small;
  small.row_group_spans = 50;
  auto inputs = WriteSplit(store.get(), "t", b, 3, 0.2, 7, small);
  uint64_t spans_in = 0;
  for (const auto& m : inputs) spans_in += m.total_spans;

  MetricsRegistry metrics;
  Compactor compactor(store.get(), SmallOptions(), nullptr, &metrics);
  CompactionStats stats;
  auto out = compactor.Merge(inputs, &stats);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->compaction_level, 1u);
  EXPECT_EQ(out->compacted_from.size(), 3u);
  EXPECT_EQ(out->total_traces, TraceIds(b).size());
  EXPECT_EQ(stats.spans_in, spans_in);
  EXPECT_EQ(stats.spans_out, out->total_spans);
  EXPECT_EQ(Deduplicated(b).size(), out->total_spans);
  EXPECT_GT(stats.traces_combined, 0u);
  EXPECT_EQ(metrics.CounterValue("vivace_compaction_duplicate_spans_dropped_total"), spans_in - out->total_spans);
  EXPECT_EQ(metrics.CounterValue("tempodb_compaction_blocks_total", {{"level", "1"}}), 3u);

  // The output alone holds every trace exactly, and verifies.
  blocks::BlockReader reader(store.get(), *out);
  ASSERT_TRUE(reader.Verify().ok());
  for (const model::TraceId& id : TraceIds(b)) {
    model::SpanBatch got;
    ASSERT_TRUE(reader.FindTrace(id, &got).ok());
    ASSERT_EQ(Canonical(got), WantTrace(b, id)) << id.Hex();
  }
  // Until the inputs are marked, readers already skip them: the output supersedes them.
  auto listing = blocks::ListTenant(store.get(), "t");
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->live.size(), 1u);
  EXPECT_EQ(listing->superseded.size(), 3u);
}

TEST(CompactorTest, RunMarksInputsThenDeletesThemAfterTheGracePeriod) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(42).Make(200, 20);
  auto inputs = WriteSplit(store.get(), "t", b, 4, 0.1, 8);
  Blocklist blocklist(store.get());
  ASSERT_TRUE(blocklist.Poll().ok());
  MetricsRegistry metrics;
  CompactorOptions opts = SmallOptions();
  Compactor compactor(store.get(), opts, &blocklist, &metrics);
  const uint64_t now = NewestEnd(inputs) + 60;

  auto stats = compactor.RunOnce(now);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->jobs, 1u);
  EXPECT_EQ(stats->marked_compacted, 4u);
  ASSERT_EQ(blocklist.Blocks("t").size(), 1u);  // told at once, no poll needed
  EXPECT_EQ(blocklist.Blocks("t")[0].compaction_level, 1u);
  for (const auto& m : inputs) {
    EXPECT_TRUE(store->Get(m.key(blocks::kCompactedMetaName)).ok());
    EXPECT_EQ(store->Get(m.key(blocks::kMetaName)).status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(store->Get(m.key(blocks::kDataName)).ok());  // still readable by stale readers
  }
  ExpectAllTraces(store.get(), "t", b);

  // Within the grace period nothing more happens; after it the inputs are gone.
  stats = compactor.RunOnce(now + opts.compacted_block_retention_seconds - 1);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->deleted, 0u);
  EXPECT_EQ(stats->jobs, 0u);
  stats = compactor.RunOnce(now + opts.compacted_block_retention_seconds);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->deleted, 4u);
  for (const auto& m : inputs) EXPECT_TRUE(Keys(store.get(), m.prefix()).empty());
  EXPECT_EQ(metrics.CounterValue("tempodb_retention_deleted_total"), 4u);
  ExpectAllTraces(store.get(), "t", b);
}

TEST(CompactorTest, PlanGroupsByWindowAndLevelAndRespectsTheLimits) {
  auto meta = [](std::string id, uint64_t end_s, uint32_t level, uint64_t bytes) {
    BlockMeta m;
    m.block_id = std::move(id);
    m.tenant = "t";
    m.end_unix_nano = end_s * 1000000000;
    m.compaction_level = level;
    m.data_bytes = bytes;
    m.total_traces = 10;
    return m;
  };
  CompactorOptions opts;
  opts.compaction_window_seconds = 3600;
  opts.max_input_blocks = 3;
  const uint64_t now = 100 * 3600;
  std::vector<BlockMeta> live = {
      // Active window 99: five level-0 blocks, two level-1 blocks.
      meta("a", 99 * 3600 + 10, 0, 50), meta("b", 99 * 3600 + 20, 0, 10), meta("c", 99 * 3600 + 30, 0, 30),
      meta("d", 99 * 3600 + 40, 0, 20), meta("e", 99 * 3600 + 50, 0, 40), meta("f", 99 * 3600 + 5, 1, 100),
      meta("g", 99 * 3600 + 6, 1, 100),
      // Window 98: one block alone, nothing to do.
      meta("h", 98 * 3600 + 1, 0, 10),
      // Older than the active window: levels mix.
      meta("i", 10 * 3600 + 1, 0, 10), meta("j", 10 * 3600 + 2, 3, 10)};
  auto jobs = Compactor::Plan(live, opts, now);
  auto ids = [](const std::vector<BlockMeta>& job) {
    std::string s;
    for (const auto& m : job) s += m.block_id;
    return s;
  };
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(ids(jobs[0]), "bdc");  // level 0, smallest first, at most 3
  EXPECT_EQ(ids(jobs[1]), "ea");
  EXPECT_EQ(ids(jobs[2]), "fg");  // level 1
  EXPECT_EQ(ids(jobs[3]), "ij");  // outside the active window: by window only

  opts.max_block_bytes = 45;  // b+d=30 fits, +c=60 does not; then c alone with e: 70 does not
  jobs = Compactor::Plan(live, opts, now);
  ASSERT_GE(jobs.size(), 1u);
  EXPECT_EQ(ids(jobs[0]), "bd");
  for (const auto& job : jobs) {
    uint64_t bytes = 0;
    for (const auto& m : job) bytes += m.total_bytes();
    EXPECT_LE(bytes, 45u) << ids(job);
    EXPECT_GE(job.size(), 2u);
  }
}

TEST(CompactorTest, RetentionExpiresOldBlocksPerTenant) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(43).Make(20, 5);
  std::vector<uint32_t> all(b.size());
  std::iota(all.begin(), all.end(), 0);
  BlockMeta a = Write(store.get(), "short", b, all);
  BlockMeta c = Write(store.get(), "default", b, all);
  CompactorOptions opts = SmallOptions();
  opts.block_retention_seconds = 1000;
  opts.tenant_block_retention_seconds["short"] = 100;
  MetricsRegistry metrics;
  Blocklist blocklist(store.get());
  ASSERT_TRUE(blocklist.Poll().ok());
  Compactor compactor(store.get(), opts, &blocklist, &metrics);
  const uint64_t end = a.end_unix_nano / 1000000000;

  auto stats = compactor.RunOnce(end + 100);  // not older than 100 s yet
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->expired, 0u);
  stats = compactor.RunOnce(end + 101);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->expired, 1u);
  EXPECT_TRUE(blocklist.Blocks("short").empty());
  EXPECT_EQ(blocklist.Blocks("default").size(), 1u);
  EXPECT_TRUE(store->Get(a.key(blocks::kCompactedMetaName)).ok());
  EXPECT_EQ(metrics.CounterValue("tempodb_retention_marked_for_deletion_total"), 1u);

  stats = compactor.RunOnce(end + 1001);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->expired, 1u);
  stats = compactor.RunOnce(end + 1001 + opts.compacted_block_retention_seconds);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->deleted, 2u);
  EXPECT_TRUE(Keys(store.get(), "").empty());
  (void)c;
}

TEST(CompactorTest, OrphansAreDeletedOnlyAfterBeingSeenForTheGracePeriod) {
  auto store = io::NewMemoryStore();
  ASSERT_TRUE(store->Put("t/0000-orphan/data", "half a block").ok());
  ASSERT_TRUE(store->Put("t/0000-orphan/index", "x").ok());
  MetricsRegistry metrics;
  CompactorOptions opts = SmallOptions();
  Compactor compactor(store.get(), opts, nullptr, &metrics);
  auto stats = compactor.RunOnce(1000);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->orphans_deleted, 0u);
  stats = compactor.RunOnce(1000 + opts.compacted_block_retention_seconds - 1);
  EXPECT_EQ(stats->orphans_deleted, 0u);
  EXPECT_EQ(Keys(store.get(), "").size(), 2u);
  stats = compactor.RunOnce(1000 + opts.compacted_block_retention_seconds);
  EXPECT_EQ(stats->orphans_deleted, 1u);
  EXPECT_TRUE(Keys(store.get(), "").empty());
}

// Crash after every possible number of puts, then run again on the same objects: nothing is
// ever lost or seen twice, and the second run always finishes the job.
TEST(CompactorTest, ACrashAtAnyPointLosesNothingAndTheNextRunFinishes) {
  model::SpanBatch b = RandomTraces(44).Make(120, 15);
  int finished = 0;
  for (uint64_t crash_after = 1; crash_after < 40; ++crash_after) {
    SCOPED_TRACE("crash after put " + std::to_string(crash_after));
    auto inner = io::NewMemoryStore();
    auto inputs = WriteSplit(inner.get(), "t", b, 3, 0.15, 9);
    io::FaultInjectingStore faulty(inner.get());
    io::FaultPlan plan;
    plan.crash_after_puts = crash_after;
    faulty.SetPlan(plan);
    MetricsRegistry metrics;
    const uint64_t now = NewestEnd(inputs) + 10;
    {
      Compactor crashing(&faulty, SmallOptions(), nullptr, &metrics);
      auto stats = crashing.RunOnce(now);
      if (stats.ok()) {
        ++finished;  // the crash point lies beyond this run's puts
        EXPECT_EQ(faulty.injected(io::StoreOp::kPut), 0u);
      }
    }
    ExpectAllTraces(inner.get(), "t", b);
    // "Restart": a new compactor on the store.
    Compactor restarted(inner.get(), SmallOptions(), nullptr, &metrics);
    auto stats = restarted.RunOnce(now);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    auto listing = blocks::ListTenant(inner.get(), "t");
    ASSERT_TRUE(listing.ok());
    ASSERT_EQ(listing->live.size(), 1u);
    EXPECT_EQ(listing->live[0].compaction_level, 1u);
    EXPECT_TRUE(listing->superseded.empty());
    EXPECT_EQ(listing->compacted.size(), 3u);
    ExpectAllTraces(inner.get(), "t", b);
    if (finished > 1) break;  // every crash point of the run has been covered
  }
  EXPECT_GT(finished, 0) << "the run needs more puts than the test tried";
}

}  // namespace
}  // namespace vivace::storage
