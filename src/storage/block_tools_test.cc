#include "storage/block_tools.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "blocks/test_util.h"
#include "otlp/json_decode.h"

namespace vivace::storage {
namespace {

using blocks::testing::RandomTraces;

// Writes the spans of `b` whose index is in [from, to) as one block of `tenant`, with small row
// groups so that a block has several.
blocks::BlockMeta Write(io::ObjectStore* store, const std::string& tenant,
                        const model::SpanBatch& b, size_t from, size_t to) {
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i = static_cast<uint32_t>(from); i < to; ++i) traces[b.trace_id[i]].push_back(i);
  blocks::BlockWriterOptions opts;
  opts.row_group_spans = 64;
  blocks::BlockWriter w(store, tenant, opts);
  for (const auto& [id, spans] : traces) EXPECT_TRUE(w.AddTrace(b, spans).ok());
  auto meta = w.Finish();
  EXPECT_TRUE(meta.ok()) << meta.status().ToString();
  return *meta;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The line of `text` that contains `needle`; "" if none.
std::string LineWith(const std::string& text, const std::string& needle) {
  for (const std::string& line : Lines(text)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

// Puts a copy of `key` with byte `offset` flipped.
void FlipByte(io::ObjectStore* store, const std::string& key, uint64_t offset) {
  auto bytes = store->Get(key);
  ASSERT_TRUE(bytes.ok());
  ASSERT_LT(offset, bytes->size());
  (*bytes)[offset] = static_cast<char>((*bytes)[offset] ^ 0x5a);
  ASSERT_TRUE(store->Put(key, *bytes).ok());
}

class BlockToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = io::NewMemoryStore();
    batch_ = RandomTraces(7).Make(60, 12);
    // Tenant "a": the batch split over two blocks that overlap (some traces in both, some spans
    // twice); tenant "b": one block of the first third.
    size_t half = batch_.size() / 2;
    a1_ = Write(store_.get(), "a", batch_, 0, half + 10);
    a2_ = Write(store_.get(), "a", batch_, half, batch_.size());
    b1_ = Write(store_.get(), "b", batch_, 0, batch_.size() / 3);
  }

  std::unique_ptr<io::ObjectStore> store_;
  model::SpanBatch batch_;
  blocks::BlockMeta a1_, a2_, b1_;
};

TEST_F(BlockToolsTest, ListShowsEveryBlockWithItsCounts) {
  std::ostringstream out;
  ASSERT_TRUE(ListBlocksReport(store_.get(), "", out).ok());
  std::string text = out.str();
  EXPECT_EQ(Words(Lines(text).at(0)).at(0), "TENANT");
  for (const blocks::BlockMeta* m : {&a1_, &a2_, &b1_}) {
    std::vector<std::string> w = Words(LineWith(text, m->block_id));
    ASSERT_GE(w.size(), 9u) << text;
    EXPECT_EQ(w[0], m->tenant);
    EXPECT_EQ(w[1], m->block_id);
    EXPECT_EQ(w[2], "live");
    EXPECT_EQ(w[3], "0");  // compaction level
    EXPECT_EQ(w[6], std::to_string(m->total_traces));
    EXPECT_EQ(w[7], std::to_string(m->total_spans));
    EXPECT_EQ(w[8], std::to_string(m->row_groups));
    EXPECT_GT(m->row_groups, 1u);
  }
  std::vector<std::string> total = Words(Lines(text).back());
  ASSERT_GE(total.size(), 8u);
  EXPECT_EQ(total[0], "total");
  EXPECT_EQ(total[1], "3");
  EXPECT_EQ(total[2], "live");
  EXPECT_EQ(total[7], std::to_string(a1_.total_spans + a2_.total_spans + b1_.total_spans));

  std::ostringstream only_b;
  ASSERT_TRUE(ListBlocksReport(store_.get(), "b", only_b).ok());
  EXPECT_NE(only_b.str().find(b1_.block_id), std::string::npos);
  EXPECT_EQ(only_b.str().find(a1_.block_id), std::string::npos);

  std::ostringstream none;
  ASSERT_TRUE(ListBlocksReport(store_.get(), "nobody", none).ok());
  EXPECT_EQ(none.str(), "no blocks in tenant nobody\n");
}

TEST_F(BlockToolsTest, InspectListsEveryColumnAndAccountsForEveryByte) {
  auto layout = ReadBlockLayout(store_.get(), a1_);
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  ASSERT_EQ(layout->row_groups.size(), a1_.row_groups);
  uint64_t stored = 0, row_group_bytes = 0;
  for (const ColumnStats& c : layout->columns) stored += c.stored_bytes;
  for (const blocks::RowGroupEntry& e : layout->row_groups) row_group_bytes += e.length;
  EXPECT_EQ(stored + layout->row_group_header_bytes, row_group_bytes);
  EXPECT_LT(row_group_bytes, a1_.data_bytes);
  const ColumnStats& span_id = layout->columns[18];
  EXPECT_EQ(span_id.name, "span.id");
  EXPECT_EQ(span_id.values, a1_.total_spans);
  EXPECT_EQ(span_id.encodings, std::vector<blocks::Encoding>{blocks::Encoding::kFixed});

  std::ostringstream out;
  ASSERT_TRUE(InspectBlock(store_.get(), "", a1_.block_id, out).ok());  // any tenant
  std::string text = out.str();
  std::vector<std::string> names = blocks::ColumnNames(a1_.dedicated);
  ASSERT_GT(names.size(), 90u);  // some dedicated columns were chosen
  for (const std::string& name : names) {
    EXPECT_EQ(Words(LineWith(text, name + " ")).at(0), name) << text;
  }
  std::vector<std::string> total = Words(LineWith(text, "total "));
  ASSERT_GE(total.size(), 3u);
  EXPECT_EQ(total[1], std::to_string(a1_.data_bytes));
  EXPECT_EQ(total.back(), "100.0%");
  // Columns by stored bytes, largest first.
  uint64_t previous = UINT64_MAX;
  for (const std::string& line : Lines(text)) {
    std::vector<std::string> w = Words(line);
    if (w.empty() || std::find(names.begin(), names.end(), w[0]) == names.end()) continue;
    uint64_t bytes = std::stoull(w[w.size() - 3]);
    EXPECT_LE(bytes, previous) << line;
    previous = bytes;
  }
  // One line per row group with its trace-id range.
  for (const blocks::RowGroupEntry& e : layout->row_groups) {
    std::vector<std::string> w = Words(LineWith(text, e.min_id.Hex()));
    ASSERT_GE(w.size(), 6u);
    EXPECT_EQ(w[2], e.max_id.Hex());
    EXPECT_EQ(w[3], std::to_string(e.traces));
    EXPECT_EQ(w[4], std::to_string(e.spans));
  }

  std::ostringstream ignored;
  EXPECT_EQ(InspectBlock(store_.get(), "b", a1_.block_id, ignored).code(), StatusCode::kNotFound);
  EXPECT_EQ(InspectBlock(store_.get(), "", "no-such-block", ignored).code(), StatusCode::kNotFound);
}

// The span ids of trace `id` in `b`, each once.
std::set<model::SpanId> SpanIds(const model::SpanBatch& b, const model::TraceId& id) {
  std::set<model::SpanId> out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b.trace_id[i] == id) out.insert(b.span_id[i]);
  }
  return out;
}

TEST_F(BlockToolsTest, DumpWritesTheMergedTraceAsOtlpJson) {
  // Traces around the split are in both blocks of "a": the dump merges them.
  size_t checked = 0, split = 0;
  std::set<model::TraceId> ids(batch_.trace_id.begin(), batch_.trace_id.end());
  for (const model::TraceId& id : ids) {
    std::ostringstream out;
    Status s = DumpTrace(store_.get(), "a", id, "", out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model::SpanBatch decoded;
    ASSERT_TRUE(otlp::DecodeJsonRequest(out.str(), {}, &decoded).ok()) << out.str();
    std::set<model::SpanId> want = SpanIds(batch_, id);
    EXPECT_EQ(decoded.size(), want.size());  // each span once
    EXPECT_EQ(SpanIds(decoded, id), want);
    EXPECT_EQ(SpanIds(decoded, id).size(), decoded.size());  // nothing of another trace

    std::ostringstream from_a1, from_a2;
    Status s1 = DumpTrace(store_.get(), "a", id, a1_.block_id, from_a1);
    Status s2 = DumpTrace(store_.get(), "a", id, a2_.block_id, from_a2);
    if (s1.ok() && s2.ok()) ++split;
    EXPECT_TRUE(s1.ok() || s1.code() == StatusCode::kNotFound) << s1.ToString();
    EXPECT_TRUE(s2.ok() || s2.code() == StatusCode::kNotFound) << s2.ToString();
    ++checked;
  }
  EXPECT_EQ(checked, ids.size());
  EXPECT_GT(split, 0u);

  // Without a tenant: a trace of "a" only is found; one in "a" and "b" is ambiguous.
  std::set<model::TraceId> in_b(batch_.trace_id.begin(),
                                batch_.trace_id.begin() + batch_.size() / 3);
  auto only_a = std::find_if(ids.begin(), ids.end(),
                             [&](const model::TraceId& id) { return !in_b.count(id); });
  ASSERT_NE(only_a, ids.end());
  std::ostringstream out;
  EXPECT_TRUE(DumpTrace(store_.get(), "", *only_a, "", out).ok());
  EXPECT_EQ(DumpTrace(store_.get(), "", batch_.trace_id.front(), "", out).code(),
            StatusCode::kInvalidArgument);

  model::TraceId absent;
  absent.bytes[15] = 1;
  Status s = DumpTrace(store_.get(), "a", absent, "", out);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(absent.Hex()), std::string_view::npos);
}

TEST_F(BlockToolsTest, VerifyPassesGoodBlocksAndNamesACorruptOne) {
  std::ostringstream out;
  ASSERT_TRUE(VerifyBlocks(store_.get(), {}, out).ok()) << out.str();
  for (const blocks::BlockMeta* m : {&a1_, &a2_, &b1_}) {
    EXPECT_NE(out.str().find("OK " + m->tenant + "/" + m->block_id + "\n"), std::string::npos)
        << out.str();
  }

  // A byte in the middle of a row group of a2.
  blocks::BlockReader reader(store_.get(), a2_);
  auto index = reader.Index();
  ASSERT_TRUE(index.ok());
  const blocks::RowGroupEntry& e = (*index)[index->size() / 2];
  FlipByte(store_.get(), a2_.key(blocks::kDataName), e.offset + e.length / 2);

  std::ostringstream after;
  Status s = VerifyBlocks(store_.get(), {}, after);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("a/" + a2_.block_id), std::string_view::npos) << s.ToString();
  EXPECT_EQ(s.message().find(a1_.block_id), std::string_view::npos) << s.ToString();
  EXPECT_NE(LineWith(after.str(), a2_.block_id).find("CORRUPT a/" + a2_.block_id + ": "),
            std::string::npos)
      << after.str();
  EXPECT_EQ(LineWith(after.str(), a1_.block_id), "OK a/" + a1_.block_id);
  EXPECT_EQ(Lines(after.str()).back(), "3 blocks checked, 1 failed");

  // Selecting other blocks leaves it out.
  std::ostringstream others;
  EXPECT_TRUE(VerifyBlocks(store_.get(), {.tenant = "a", .block_id = a1_.block_id}, others).ok());
  EXPECT_TRUE(VerifyBlocks(store_.get(), {.tenant = "b"}, others).ok());
  EXPECT_EQ(VerifyBlocks(store_.get(), {.block_id = "no-such-block"}, others).code(),
            StatusCode::kNotFound);
}

TEST_F(BlockToolsTest, VerifyChecksIndexBloomAndMissingObjects) {
  FlipByte(store_.get(), a1_.key(blocks::kIndexName), 20);
  FlipByte(store_.get(), b1_.key(blocks::BloomShardName(0)), 40);
  ASSERT_TRUE(store_->Delete(a2_.key(blocks::kDataName)).ok());
  std::ostringstream out;
  Status s = VerifyBlocks(store_.get(), {}, out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  for (const blocks::BlockMeta* m : {&a1_, &a2_, &b1_}) {
    EXPECT_NE(s.message().find(m->block_id), std::string_view::npos) << s.ToString();
    EXPECT_EQ(LineWith(out.str(), m->block_id)
                  .rfind("CORRUPT " + m->tenant + "/" + m->block_id + ": ", 0),
              0u)
        << out.str();
  }
}

TEST_F(BlockToolsTest, CorruptMetaIsReportedNotSkipped) {
  ASSERT_TRUE(store_->Put(a1_.key(blocks::kMetaName), "{\"format\":\"vivace-block-v1\",").ok());
  // A meta copied under another block's key: readers would look in the wrong place.
  ASSERT_TRUE(store_->Put("b/" + a2_.block_id + "/meta.json", blocks::EncodeMetaJson(a2_)).ok());

  std::ostringstream out;
  Status s = VerifyBlocks(store_.get(), {}, out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("a/" + a1_.block_id), std::string_view::npos) << s.ToString();
  EXPECT_NE(s.message().find("b/" + a2_.block_id), std::string_view::npos) << s.ToString();
  EXPECT_EQ(s.message().find("a/" + a2_.block_id), std::string_view::npos) << s.ToString();
  EXPECT_EQ(LineWith(out.str(), "a/" + a1_.block_id),
            "CORRUPT a/" + a1_.block_id + ": meta.json is not a JSON object");
  EXPECT_EQ(LineWith(out.str(), "b/" + a2_.block_id),
            "CORRUPT b/" + a2_.block_id + ": meta.json names another block: a/" + a2_.block_id);
  EXPECT_EQ(LineWith(out.str(), "a/" + a2_.block_id), "OK a/" + a2_.block_id);

  // list shows the good blocks and names the bad ones.
  std::ostringstream listed;
  s = ListBlocksReport(store_.get(), "a", listed);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(a1_.block_id), std::string_view::npos);
  EXPECT_EQ(Words(LineWith(listed.str(), a2_.block_id)).at(7), std::to_string(a2_.total_spans));
  EXPECT_NE(LineWith(listed.str(), "CORRUPT a/" + a1_.block_id), "");

  // inspect and dump name the block instead of reading around it.
  std::ostringstream ignored;
  s = InspectBlock(store_.get(), "a", a1_.block_id, ignored);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(a1_.block_id), std::string_view::npos);
  s = DumpTrace(store_.get(), "a", batch_.trace_id[0], "", ignored);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(a1_.block_id), std::string_view::npos);
  EXPECT_TRUE(DumpTrace(store_.get(), "a", batch_.trace_id.back(), a2_.block_id, ignored).ok());
}

TEST_F(BlockToolsTest, ToolsKnowCompactedSupersededAndOrphanBlocks) {
  // a1 marked compacted as the compactor does; a2 superseded by a block whose compactedFrom
  // names it (a compaction interrupted before marking its input); an orphan being written.
  blocks::BlockMeta marked = a1_;
  marked.compacted_unix_seconds = 1700000000;
  ASSERT_TRUE(
      store_->Put(a1_.key(blocks::kCompactedMetaName), blocks::EncodeMetaJson(marked)).ok());
  ASSERT_TRUE(store_->Delete(a1_.key(blocks::kMetaName)).ok());
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i = 0; i < batch_.size(); ++i) traces[batch_.trace_id[i]].push_back(i);
  blocks::BlockWriterOptions opts;
  opts.compaction_level = 1;
  opts.compacted_from = {a2_.block_id};
  blocks::BlockWriter w(store_.get(), "a", opts);
  for (const auto& [id, spans] : traces) ASSERT_TRUE(w.AddTrace(batch_, spans).ok());
  auto merged = w.Finish();
  ASSERT_TRUE(merged.ok());
  ASSERT_TRUE(store_->Put("a/orphan-block/data", "partial").ok());

  std::ostringstream listed;
  ASSERT_TRUE(ListBlocksReport(store_.get(), "a", listed).ok());
  EXPECT_EQ(Words(LineWith(listed.str(), a1_.block_id)).at(2), "compacted") << listed.str();
  EXPECT_EQ(Words(LineWith(listed.str(), a2_.block_id)).at(2), "superseded");
  std::vector<std::string> w3 = Words(LineWith(listed.str(), merged->block_id));
  EXPECT_EQ(w3.at(2), "live");
  EXPECT_EQ(w3.at(3), "1");
  std::vector<std::string> total = Words(LineWith(listed.str(), "total "));
  EXPECT_EQ(total.at(1), "1");  // live blocks only
  EXPECT_EQ(total.at(7), std::to_string(merged->total_spans));
  EXPECT_NE(LineWith(listed.str(), "orphans").find("a/orphan-block"), std::string::npos);

  // inspect shows the state.
  std::ostringstream inspected;
  ASSERT_TRUE(InspectBlock(store_.get(), "a", a1_.block_id, inspected).ok());
  EXPECT_NE(LineWith(inspected.str(), "state").find("compacted, marked compacted"),
            std::string::npos)
      << inspected.str();
  ASSERT_TRUE(InspectBlock(store_.get(), "a", merged->block_id, inspected).ok());
  EXPECT_NE(inspected.str().find("compacted from " + a2_.block_id), std::string::npos);

  // verify skips the compacted block (its objects may go any time) unless it is named.
  FlipByte(store_.get(), a1_.key(blocks::kIndexName), 20);
  std::ostringstream verified;
  EXPECT_TRUE(VerifyBlocks(store_.get(), {.tenant = "a"}, verified).ok()) << verified.str();
  EXPECT_EQ(LineWith(verified.str(), a1_.block_id), "");
  EXPECT_EQ(Lines(verified.str()).back(), "2 blocks checked, 0 failed");
  EXPECT_EQ(VerifyBlocks(store_.get(), {.block_id = a1_.block_id}, verified).code(),
            StatusCode::kDataLoss);

  // dump reads the live blocks, as the server does: not the (now corrupt) compacted or
  // superseded ones.
  FlipByte(store_.get(), a2_.key(blocks::kIndexName), 20);
  for (const auto& [id, spans] : traces) {
    std::ostringstream out;
    ASSERT_TRUE(DumpTrace(store_.get(), "a", id, "", out).ok());
    model::SpanBatch decoded;
    ASSERT_TRUE(otlp::DecodeJsonRequest(out.str(), {}, &decoded).ok());
    EXPECT_EQ(SpanIds(decoded, id), SpanIds(batch_, id));
  }
}

}  // namespace
}  // namespace vivace::storage
