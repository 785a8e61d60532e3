#include "blocks/block.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "blocks/test_util.h"
#include "io/fault_store.h"

namespace vivace::blocks {
namespace {

using testing::Canonical;
using testing::Deduplicated;
using testing::RandomTraces;

// Writes every trace of `b` into one block.
Result<BlockMeta> WriteBlock(const model::SpanBatch& b, io::ObjectStore* store, BlockWriterOptions opts = {}) {
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i = 0; i < b.size(); ++i) traces[b.trace_id[i]].push_back(i);
  BlockWriter w(store, "tenant-a", opts);
  for (const auto& [id, spans] : traces) VV_RETURN_IF_ERROR(w.AddTrace(b, spans));
  return w.Finish();
}

// The spans of trace `id` in `b`, deduplicated.
model::SpanBatch TraceOf(const model::SpanBatch& b, const model::TraceId& id) {
  model::SpanBatch out;
  model::SpanCopier copier(&out);
  copier.SetSource(&b);
  for (size_t i = 0; i < b.size(); ++i) {
    if (b.trace_id[i] == id) copier.CopySpan(i);
  }
  return Deduplicated(out);
}

TEST(BlockTest, EveryTraceIsFoundByIdAndAbsentOnesAreNot) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(11).Make(300, 25);
  BlockWriterOptions opts;
  opts.row_group_spans = 500;  // several row groups
  auto meta = WriteBlock(b, store.get(), opts);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_GT(meta->row_groups, 3u);
  EXPECT_EQ(meta->total_traces, 300u);

  BlockReader reader(store.get(), *meta);
  std::map<model::TraceId, bool> ids;
  for (size_t i = 0; i < b.size(); ++i) ids[b.trace_id[i]] = true;
  for (const auto& [id, _] : ids) {
    model::SpanBatch got;
    ASSERT_TRUE(reader.FindTrace(id, &got).ok());
    ASSERT_EQ(Canonical(got), Canonical(TraceOf(b, id))) << id.Hex();
  }
  model::TraceId absent;
  absent.bytes[0] = 0xab;
  model::SpanBatch none;
  ASSERT_TRUE(reader.FindTrace(absent, &none).ok());
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(reader.Verify().ok());
}

TEST(BlockTest, MetaJsonRoundTripsAndIsWrittenLast) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(12).Make(20, 10);
  auto meta = WriteBlock(b, store.get());
  ASSERT_TRUE(meta.ok());
  auto json = store->Get(meta->key(kMetaName));
  ASSERT_TRUE(json.ok());
  auto parsed = ParseMetaJson(*json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->block_id, meta->block_id);
  EXPECT_EQ(parsed->tenant, "tenant-a");
  EXPECT_EQ(parsed->total_spans, meta->total_spans);
  EXPECT_EQ(parsed->start_unix_nano, meta->start_unix_nano);
  EXPECT_EQ(parsed->end_unix_nano, meta->end_unix_nano);
  EXPECT_EQ(parsed->dedicated, meta->dedicated);
  EXPECT_EQ(parsed->bloom_shards, meta->bloom_shards);
  EXPECT_EQ(EncodeMetaJson(*parsed), *json);

  auto listed = ListBlocks(store.get(), "tenant-a");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].block_id, meta->block_id);
  EXPECT_TRUE(ListBlocks(store.get(), "tenant-b")->empty());

  // A crash before the meta is written leaves no block, only orphans.
  for (uint64_t crash = 1; crash <= 3; ++crash) {
    auto inner = io::NewMemoryStore();
    io::FaultInjectingStore faulty(inner.get());
    io::FaultPlan plan;
    plan.crash_after_puts = crash;
    faulty.SetPlan(plan);
    EXPECT_FALSE(WriteBlock(b, &faulty).ok());
    auto blocks = ListBlocks(inner.get(), "tenant-a");
    ASSERT_TRUE(blocks.ok());
    EXPECT_TRUE(blocks->empty()) << crash;
  }
}

TEST(BlockTest, WriterRejectsUnsortedTraces) {
  model::SpanBatch b = RandomTraces(13).Make(2, 3);
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i = 0; i < b.size(); ++i) traces[b.trace_id[i]].push_back(i);
  auto store = io::NewMemoryStore();
  BlockWriter w(store.get(), "t", {});
  ASSERT_TRUE(w.AddTrace(b, traces.rbegin()->second).ok());
  EXPECT_EQ(w.AddTrace(b, traces.begin()->second).code(), StatusCode::kInvalidArgument);
}

TEST(BlockTest, VerifyNamesTheBlockOfEveryCorruption) {
  model::SpanBatch b = RandomTraces(14).Make(50, 10);
  auto store = io::NewMemoryStore();
  BlockWriterOptions opts;
  opts.row_group_spans = 100;
  auto meta = WriteBlock(b, store.get(), opts);
  ASSERT_TRUE(meta.ok());
  for (std::string name : {std::string(kDataName), std::string(kIndexName), BloomShardName(0)}) {
    std::string original = *store->Get(meta->key(name));
    for (size_t at : {size_t{0}, original.size() / 3, original.size() / 2, original.size() - 1}) {
      std::string bad = original;
      bad[at] ^= 0x10;
      ASSERT_TRUE(store->Put(meta->key(name), bad).ok());
      BlockReader reader(store.get(), *meta);
      Status s = reader.Verify();
      EXPECT_FALSE(s.ok()) << name << " @" << at;
      EXPECT_NE(s.message().find(meta->block_id), std::string::npos) << s.ToString();
    }
    // Truncated, as a torn upload to a non-atomic store would leave it.
    ASSERT_TRUE(store->Put(meta->key(name), original.substr(0, original.size() / 2)).ok());
    EXPECT_FALSE(BlockReader(store.get(), *meta).Verify().ok()) << name;
    ASSERT_TRUE(store->Put(meta->key(name), original).ok());
  }
  EXPECT_TRUE(BlockReader(store.get(), *meta).Verify().ok());
}

TEST(BlockTest, BytesPerSpanOnRandomTraces) {
  // Not a benchmark: a guard that the columnar encoding stays far below the OTLP size.
  model::SpanBatch b = RandomTraces(15).Make(400, 30);
  auto store = io::NewMemoryStore();
  auto meta = WriteBlock(b, store.get());
  ASSERT_TRUE(meta.ok());
  double per_span = static_cast<double>(meta->total_bytes()) / static_cast<double>(meta->total_spans);
  EXPECT_LT(per_span, 200.0);
}

TEST(BlockTest, AbsentTracesPastAFalsePositiveBloomAreNotFound) {
  model::SpanBatch b = RandomTraces(21).Make(200, 8);
  auto store = io::NewMemoryStore();
  BlockWriterOptions opts;
  opts.row_group_spans = 64;
  opts.bloom.false_positive_rate = 0.5;  // most absent ids get past the bloom filter
  auto meta = WriteBlock(b, store.get(), opts);
  ASSERT_TRUE(meta.ok());
  std::set<model::TraceId> traces(b.trace_id.begin(), b.trace_id.end());
  BlockReader reader(store.get(), *meta);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 500; ++i) {
    std::string raw(16, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    model::TraceId id = *model::TraceId::FromBytes(raw);
    if (traces.count(id)) continue;
    model::SpanBatch got;
    ASSERT_TRUE(reader.FindTrace(id, &got).ok());
    EXPECT_TRUE(got.empty()) << id.Hex();
  }
  for (const model::TraceId& id : traces) {
    model::SpanBatch got;
    ASSERT_TRUE(reader.FindTrace(id, &got).ok());
    EXPECT_FALSE(got.empty()) << id.Hex();
  }
}

TEST(BlockTest, FooterCarriesRowGroupStatisticsThatBoundTheirRows) {
  model::SpanBatch b = RandomTraces(22).Make(300, 12);
  auto store = io::NewMemoryStore();
  BlockWriterOptions opts;
  opts.row_group_spans = 100;
  auto meta = WriteBlock(b, store.get(), opts);
  ASSERT_TRUE(meta.ok());
  ASSERT_FALSE(meta->dedicated.empty());
  BlockReader reader(store.get(), *meta);
  auto footer = reader.ReadFooter();
  ASSERT_TRUE(footer.ok()) << footer.status().ToString();
  EXPECT_EQ(footer->format_version, kFormatVersion);
  EXPECT_EQ(footer->columns, ColumnNames(meta->dedicated));
  auto index = reader.Index();
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(footer->row_groups.size(), index->size());
  uint64_t errors = 0;
  for (size_t g = 0; g < index->size(); ++g) {
    const RowGroupEntry& e = footer->row_groups[g];
    EXPECT_EQ(e.offset, (*index)[g].offset);
    EXPECT_EQ(e.min_id, (*index)[g].min_id);
    EXPECT_EQ(e.end_unix_nano, (*index)[g].end_unix_nano);
    auto group = reader.ReadRowGroup(g);
    ASSERT_TRUE(group.ok());
    const RowGroupStats& st = footer->stats[g];
    EXPECT_EQ(st, ComputeRowGroupStats(*group, meta->dedicated));
    ASSERT_EQ(st.dedicated.size(), meta->dedicated.size());
    // Every row lies within the statistics, and the bounds are attained.
    const model::SpanBatch& s = group->spans;
    bool min_seen = false, max_seen = false;
    uint32_t group_errors = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      uint64_t d = s.end_unix_nano[i] > s.start_unix_nano[i] ? s.end_unix_nano[i] - s.start_unix_nano[i] : 0;
      EXPECT_GE(d, st.min_duration_nano);
      EXPECT_LE(d, st.max_duration_nano);
      min_seen |= d == st.min_duration_nano;
      max_seen |= d == st.max_duration_nano;
      EXPECT_TRUE(st.status_codes & (1u << static_cast<uint32_t>(s.status_code[i])));
      EXPECT_TRUE(st.kinds & (1u << static_cast<uint32_t>(s.kind[i])));
      group_errors += s.status_code[i] == model::StatusCode::kError;
    }
    EXPECT_TRUE(min_seen && max_seen);
    EXPECT_EQ(st.error_spans, group_errors);
    errors += group_errors;
  }
  EXPECT_GT(errors, 0u);

  // A corrupt footer is an error naming the block.
  std::string data = store->Get(meta->key(kDataName)).value();
  data[meta->footer_offset + 3] ^= 0x40;
  ASSERT_TRUE(store->Put(meta->key(kDataName), data).ok());
  BlockReader corrupt(store.get(), *meta);
  auto bad = corrupt.ReadFooter();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(meta->block_id), std::string_view::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace vivace::blocks
