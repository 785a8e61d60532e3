#include "blocks/row_group_chunks.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "blocks/test_util.h"
#include "io/object_store.h"

namespace vivace::blocks {
namespace {

using testing::Canonical;
using testing::RandomTraces;

struct Stored {
  std::string dir;  // of a local store, removed at the end
  std::unique_ptr<io::ObjectStore> store;
  std::unique_ptr<io::ObjectReader> reader;
  std::string bytes;  // the row group
  uint64_t offset = 0;
  std::vector<DedicatedColumn> dedicated;
  size_t columns = 0;
};

// One encoded row group of many traces, stored after `lead` bytes of something else: in memory
// (read with copies), or in a local store (mapped: chunks are views).
Stored Store(uint32_t seed, int traces, size_t lead, bool local = false) {
  Stored s;
  if (local) {
    char tmpl[] = "/tmp/vv-chunks-XXXXXX";
    s.dir = ::mkdtemp(tmpl);
    s.store = io::NewLocalStore(s.dir).value();
  } else {
    s.store = io::NewMemoryStore();
  }
  model::SpanBatch b = RandomTraces(seed).Make(traces, 30);
  RowGroup g = testing::BuildRowGroup(b);
  s.dedicated = ChooseDedicatedColumns(g.spans, {});
  s.columns = ColumnNames(s.dedicated).size();
  s.bytes = EncodeRowGroup(g, s.dedicated, {});
  s.offset = lead;
  EXPECT_TRUE(s.store->Put("t/b/data", std::string(lead, 'x') + s.bytes + "trailer").ok());
  s.reader = s.store->OpenReader("t/b/data").value();
  return s;
}

TEST(RowGroupChunksTest, ChunksReadOnDemandEqualTheWholeRowGroupsChunks) {
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    bool local = seed % 2 == 0;
    Stored s = Store(seed, 40 + static_cast<int>(seed) * 40, seed * 7, local);
    EXPECT_EQ(s.reader->Mapped().empty(), !local);
    auto whole = ParseRowGroupLayout(s.bytes, s.columns);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    auto chunks = RowGroupChunks::Open(s.reader.get(), s.offset, s.bytes.size(), s.columns);
    ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
    EXPECT_EQ(chunks->base_start(), whole->base_start);
    EXPECT_EQ(chunks->columns(), s.columns);
    uint64_t after_header = chunks->bytes_read();
    EXPECT_LE(after_header, RowGroupChunks::kPrefixBytes);
    if (local) EXPECT_LT(after_header, 1000u) << "a mapped row group counts only its header";
    // The last chunk alone: one more read of exactly its bytes (unless the prefix held it).
    size_t last = s.columns - 1;
    auto c = chunks->Chunk(last);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(*c, whole->chunks[last]);
    if (s.bytes.size() > RowGroupChunks::kPrefixBytes) {
      EXPECT_EQ(chunks->bytes_read(), after_header + whole->chunks[last].size()) << "seed " << seed;
    }
    ASSERT_TRUE((chunks->Load({})).ok());
    RowGroupLayout layout = chunks->Layout();
    ASSERT_EQ(layout.chunks.size(), s.columns);
    for (size_t i = 0; i < s.columns; ++i) EXPECT_EQ(layout.chunks[i], whole->chunks[i]) << "column " << i;
    // Nothing is read twice.
    EXPECT_LE(chunks->bytes_read(), s.bytes.size() + RowGroupChunks::kPrefixBytes);

    auto from_chunks = DecodeRowGroup(layout, s.dedicated);
    auto from_bytes = DecodeRowGroup(s.bytes, s.dedicated);
    ASSERT_TRUE(from_chunks.ok()) << from_chunks.status().ToString();
    ASSERT_TRUE(from_bytes.ok());
    model::SpanBatch a, b;
    for (size_t t = 0; t < from_bytes->traces.size(); ++t) CopyTrace(*from_bytes, t, &a);
    for (size_t t = 0; t < from_chunks->traces.size(); ++t) CopyTrace(*from_chunks, t, &b);
    EXPECT_EQ(Canonical(a), Canonical(b)) << "seed " << seed;
    if (local) std::filesystem::remove_all(s.dir);
  }
}

TEST(RowGroupChunksTest, ASelectionReadsOnlyItsChunksAndDecodesLikeTheWholeGroup) {
  Stored s = Store(3, 400, 100);
  ASSERT_GT(s.bytes.size(), RowGroupChunks::kPrefixBytes * 2) << "the test wants a row group larger than the prefix";
  std::vector<std::string> names = ColumnNames(s.dedicated);
  DecodeSelection sel;
  for (const std::string& n : names) {
    bool attribute_table = n.find("_attr.") != std::string::npos || n.find(".attr.") != std::string::npos;
    sel.columns.push_back(attribute_table ? 0 : 1);
  }
  auto chunks = RowGroupChunks::Open(s.reader.get(), s.offset, s.bytes.size(), s.columns);
  ASSERT_TRUE(chunks.ok());
  ASSERT_TRUE((chunks->Load(sel.columns)).ok());
  auto whole = ParseRowGroupLayout(s.bytes, s.columns).value();
  uint64_t selected = 0;
  RowGroupLayout layout = chunks->Layout();
  for (size_t i = 0; i < s.columns; ++i) {
    if (sel.columns[i] != 0) {
      selected += whole.chunks[i].size();
      EXPECT_EQ(layout.chunks[i], whole.chunks[i]) << names[i];
    }
  }
  // Merged reads may take small gaps between selected chunks, never the big attribute tables.
  EXPECT_LT(chunks->bytes_read(), selected + RowGroupChunks::kPrefixBytes + s.columns * RowGroupChunks::kMergeGapBytes);
  EXPECT_LT(chunks->bytes_read(), s.bytes.size());
  auto part = DecodeRowGroup(layout, s.dedicated, {}, &sel);
  auto full = DecodeRowGroup(s.bytes, s.dedicated, {}, &sel);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  ASSERT_EQ(part->spans.size(), full->spans.size());
  for (size_t i = 0; i < part->spans.size(); ++i) {
    EXPECT_EQ(part->spans.span_id[i], full->spans.span_id[i]);
    EXPECT_EQ(part->spans.name[i], full->spans.name[i]);
  }
  EXPECT_EQ(chunks->Load(std::vector<uint8_t>(3, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(chunks->Chunk(s.columns).status().code(), StatusCode::kInvalidArgument);
}

TEST(RowGroupChunksTest, HeaderNeedsAreReportedAndCorruptionIsAnError) {
  Stored s = Store(5, 50, 0);
  uint64_t need = 0;
  auto h = ParseRowGroupHeader(std::string_view(s.bytes).substr(0, 3), s.bytes.size(), s.columns, &need);
  EXPECT_FALSE(h.ok());
  EXPECT_GT(need, 3u);
  auto full = ParseRowGroupHeader(std::string_view(s.bytes).substr(0, need), s.bytes.size(), s.columns, &need);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(need, 0u);
  EXPECT_EQ(full->offsets.size(), s.columns + 1);
  EXPECT_EQ(full->offsets.back(), s.bytes.size());

  // A wrong column count, a flipped header byte, a length that disagrees with the chunks.
  EXPECT_EQ(RowGroupChunks::Open(s.reader.get(), 0, s.bytes.size(), s.columns + 1).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(RowGroupChunks::Open(s.reader.get(), 0, s.bytes.size() - 1, s.columns).status().code(), StatusCode::kDataLoss);
  std::string bad = s.bytes;
  bad[3] ^= 0x40;
  EXPECT_EQ(RowGroupChunks::FromBytes(bad, s.columns).status().code(), StatusCode::kDataLoss);
  for (size_t n = 0; n < 64 && n < s.bytes.size(); ++n) {
    EXPECT_FALSE(RowGroupChunks::FromBytes(std::string_view(s.bytes).substr(0, n), s.columns).ok()) << n;
  }
  // Past the end of the object: the reader's range error.
  EXPECT_EQ(RowGroupChunks::Open(s.reader.get(), s.reader->size() - 5, 100, s.columns).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vivace::blocks
