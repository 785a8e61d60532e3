#include "blocks/row_group_cache.h"

#include <gtest/gtest.h>

#include <map>

#include "blocks/block.h"
#include "blocks/test_util.h"

namespace vivace::blocks {
namespace {

using testing::Canonical;
using testing::RandomTraces;

std::shared_ptr<const RowGroup> Group(int traces, uint32_t seed) {
  model::SpanBatch b = RandomTraces(seed).Make(traces, 10);
  std::map<model::TraceId, std::vector<uint32_t>> by_id;
  for (uint32_t i = 0; i < b.size(); ++i) by_id[b.trace_id[i]].push_back(i);
  RowGroupBuilder builder;
  for (const auto& [id, idx] : by_id) builder.AddTrace(b, idx);
  return std::make_shared<const RowGroup>(builder.Take());
}

TEST(RowGroupCacheTest, EvictsLeastRecentlyUsedWithinTheBudget) {
  auto a = Group(20, 1), b = Group(20, 2), c = Group(20, 3);
  uint64_t size = RowGroupMemoryBytes(*a);
  ASSERT_GT(size, 1000u);
  RowGroupCache cache(size * 4 + size / 2);  // a group may take at most a quarter of the budget
  cache.Put("blk", 0, a);
  cache.Put("blk", 1, b);
  EXPECT_EQ(cache.Get("blk", 0), a);  // a is now the most recent
  cache.Put("blk", 2, c);
  EXPECT_LE(cache.bytes(), size * 4 + size / 2);
  EXPECT_EQ(cache.Get("blk", 0), a);
  EXPECT_EQ(cache.Get("other", 0), nullptr);
  EXPECT_GE(cache.hits(), 2u);
  EXPECT_GE(cache.misses(), 1u);

  RowGroupCache tiny(size * 2);  // a quarter of the budget is less than one group: never cached
  tiny.Put("blk", 0, a);
  EXPECT_EQ(tiny.Get("blk", 0), nullptr);
  EXPECT_EQ(tiny.bytes(), 0u);
  RowGroupCache off(0);
  off.Put("blk", 0, a);
  EXPECT_EQ(off.Get("blk", 0), nullptr);
}

TEST(RowGroupCacheTest, EvictionFollowsRecency) {
  std::vector<std::shared_ptr<const RowGroup>> groups;
  for (uint32_t i = 0; i < 8; ++i) groups.push_back(Group(5, 10 + i));
  uint64_t max = 0;
  for (const auto& g : groups) max = std::max(max, RowGroupMemoryBytes(*g));
  RowGroupCache cache(max * 4);  // holds at least 4
  for (uint32_t i = 0; i < 4; ++i) cache.Put("b", i, groups[i]);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_NE(cache.Get("b", i), nullptr) << i;
  ASSERT_NE(cache.Get("b", 0), nullptr);  // 0 most recent; 1 least
  cache.Put("b", 4, groups[4]);
  EXPECT_EQ(cache.Get("b", 1), nullptr);
  EXPECT_NE(cache.Get("b", 0), nullptr);
  EXPECT_NE(cache.Get("b", 4), nullptr);
}

TEST(RowGroupCacheTest, ReaderServesRepeatedLookupsFromTheCache) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(5).Make(60, 10);
  std::map<model::TraceId, std::vector<uint32_t>> by_id;
  for (uint32_t i = 0; i < b.size(); ++i) by_id[b.trace_id[i]].push_back(i);
  BlockWriterOptions opts;
  opts.row_group_spans = 64;
  BlockWriter w(store.get(), "t", opts);
  for (const auto& [id, idx] : by_id) ASSERT_TRUE(w.AddTrace(b, idx).ok());
  auto meta = w.Finish();
  ASSERT_TRUE(meta.ok());
  RowGroupCache cache(64 << 20);
  BlockReader reader(store.get(), *meta, {}, &cache);
  std::map<model::TraceId, std::string> first;
  for (const auto& [id, idx] : by_id) {
    model::SpanBatch got;
    ASSERT_TRUE(reader.FindTrace(id, &got).ok());
    first[id] = Canonical(got);
  }
  EXPECT_GT(cache.bytes(), 0u);
  // With the data object gone, every lookup must come from the cache, and give the same spans.
  ASSERT_TRUE(store->Delete(meta->key(kDataName)).ok());
  for (const auto& [id, idx] : by_id) {
    model::SpanBatch got;
    ASSERT_TRUE(reader.FindTrace(id, &got).ok()) << id.Hex();
    EXPECT_EQ(Canonical(got), first[id]);
  }
  EXPECT_GE(cache.hits(), by_id.size());
}

}  // namespace
}  // namespace vivace::blocks
