#include "storage/blocklist.h"

#include <gtest/gtest.h>

#include <map>

#include "blocks/test_util.h"

namespace vivace::storage {
namespace {

using blocks::testing::Canonical;
using blocks::testing::RandomTraces;

// Writes the spans of `b` whose index is in [from, to) as one block of `tenant`.
blocks::BlockMeta Write(io::ObjectStore* store, const std::string& tenant, const model::SpanBatch& b, size_t from,
                        size_t to) {
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i = static_cast<uint32_t>(from); i < to; ++i) traces[b.trace_id[i]].push_back(i);
  blocks::BlockWriter w(store, tenant, {});
  for (const auto& [id, spans] : traces) EXPECT_TRUE(w.AddTrace(b, spans).ok());
  auto meta = w.Finish();
  EXPECT_TRUE(meta.ok());
  return *meta;
}

TEST(BlocklistTest, MergesTracesSplitAcrossBlocksAndSeesOtherWriters) {
  auto store = io::NewMemoryStore();
  model::SpanBatch b = RandomTraces(31).Make(40, 20);
  // The same traces split over two blocks (a long trace, late spans), with an overlap that
  // duplicates some spans.
  size_t half = b.size() / 2;
  Write(store.get(), "a", b, 0, half + 5);
  Blocklist reader(store.get());
  ASSERT_TRUE(reader.Poll().ok());
  EXPECT_EQ(reader.Blocks("a").size(), 1u);
  Write(store.get(), "a", b, half, b.size());  // another process writes a block
  EXPECT_EQ(reader.Blocks("a").size(), 1u);
  ASSERT_TRUE(reader.Poll().ok());
  ASSERT_EQ(reader.Blocks("a").size(), 2u);

  std::map<model::TraceId, bool> ids;
  for (size_t i = 0; i < b.size(); ++i) ids[b.trace_id[i]] = true;
  for (const auto& [id, _] : ids) {
    auto got = reader.FindTrace("a", id, 0, 0);
    ASSERT_TRUE(got.ok());
    model::SpanBatch want;
    model::SpanCopier copier(&want);
    copier.SetSource(&b);
    for (size_t i = 0; i < b.size(); ++i) {
      if (b.trace_id[i] == id) copier.CopySpan(i);
    }
    EXPECT_EQ(Canonical(**got), Canonical(blocks::testing::Deduplicated(want))) << id.Hex();
    EXPECT_TRUE(reader.FindTrace("other-tenant", id, 0, 0).value()->empty());
  }
  // A time range outside every block finds nothing.
  EXPECT_TRUE(reader.FindTrace("a", ids.begin()->first, 1, 2).value()->empty());

  // Deleted blocks disappear at the next poll.
  for (const auto& m : reader.Blocks("a")) {
    auto objects = store->List(m.prefix());
    ASSERT_TRUE(objects.ok());
    for (const auto& o : *objects) ASSERT_TRUE(store->Delete(o.key).ok());
  }
  ASSERT_TRUE(reader.Poll().ok());
  EXPECT_TRUE(reader.Blocks("a").empty());
}

}  // namespace
}  // namespace vivace::storage
