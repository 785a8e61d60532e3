#include "blocks/row_group.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "blocks/test_util.h"

namespace vivace::blocks {
namespace {

using testing::Canonical;
using testing::Deduplicated;
using testing::RandomTraces;

RowGroup Build(const model::SpanBatch& b) { return testing::BuildRowGroup(b); }

model::SpanBatch AllTraces(const RowGroup& g) {
  model::SpanBatch out;
  for (size_t t = 0; t < g.traces.size(); ++t) CopyTrace(g, t, &out);
  return out;
}

TEST(RowGroupTest, RandomTracesRoundTripExactly) {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    model::SpanBatch b = RandomTraces(seed).Make(1 + static_cast<int>(seed % 7), 1 + static_cast<int>(seed % 23));
    RowGroup g = Build(b);
    std::vector<DedicatedColumn> dedicated = ChooseDedicatedColumns(g.spans, {});
    for (Compression c : {Compression::kZstd, Compression::kLz4, Compression::kNone}) {
      PageOptions opts;
      opts.compression = c;
      std::string bytes = EncodeRowGroup(g, dedicated, opts);
      auto decoded = DecodeRowGroup(bytes, dedicated);
      ASSERT_TRUE(decoded.ok()) << "seed " << seed << ": " << decoded.status().ToString();
      EXPECT_EQ(Canonical(AllTraces(*decoded)), Canonical(Deduplicated(b))) << "seed " << seed;
      ASSERT_EQ(decoded->traces.size(), g.traces.size());
      for (size_t t = 0; t < g.traces.size(); ++t) {
        EXPECT_EQ(decoded->traces[t].id, g.traces[t].id);
        EXPECT_EQ(decoded->traces[t].start_unix_nano, g.traces[t].start_unix_nano);
        EXPECT_EQ(decoded->traces[t].end_unix_nano, g.traces[t].end_unix_nano);
        EXPECT_EQ(decoded->traces[t].root_service, g.traces[t].root_service);
        EXPECT_EQ(decoded->traces[t].root_name, g.traces[t].root_name);
        EXPECT_EQ(decoded->traces[t].service_count, g.traces[t].service_count);
      }
      ASSERT_EQ(decoded->nested.size(), g.nested.size());
      for (size_t s = 0; s < g.nested.size(); ++s) {
        EXPECT_EQ(decoded->nested[s].left, g.nested[s].left);
        EXPECT_EQ(decoded->nested[s].right, g.nested[s].right);
        EXPECT_EQ(decoded->nested[s].parent, g.nested[s].parent);
      }
    }
  }
}

TEST(RowGroupTest, NestedSetNumbersAreIntervals) {
  model::SpanBatch b = RandomTraces(99).Make(20, 40);
  RowGroup g = Build(b);
  for (const TraceEntry& t : g.traces) {
    std::map<model::SpanId, const NestedSet*> by_id;
    for (uint32_t s = t.first_span; s < t.first_span + t.span_count; ++s) by_id[g.spans.span_id[s]] = &g.nested[s];
    uint32_t prev_left = 0;
    for (uint32_t s = t.first_span; s < t.first_span + t.span_count; ++s) {
      const NestedSet& n = g.nested[s];
      EXPECT_GT(n.left, prev_left);  // stored in pre-order
      prev_left = n.left;
      EXPECT_LT(n.left, n.right);
      EXPECT_LE(n.right, 2 * t.span_count);
      if (n.parent != 0) {
        // The parent's interval encloses the child's, and the parent is the span's parent.
        auto it = by_id.find(g.spans.parent_span_id[s]);
        ASSERT_NE(it, by_id.end());
        EXPECT_EQ(it->second->left, n.parent);
        EXPECT_LT(it->second->left, n.left);
        EXPECT_GT(it->second->right, n.right);
      }
    }
  }
}

TEST(RowGroupTest, TraceTableHasRootAndServiceStats) {
  model::SpanBatch b;
  auto attr = [&](std::string_view k, std::string_view v) {
    model::Range r = b.AllocAttributes(1);
    b.attributes[r.first] = {b.arena.Copy(k), model::Value::String(b.arena.Copy(v))};
    return r;
  };
  for (std::string_view svc : {"frontend", "db"}) {
    b.resources.push_back(model::Resource{attr("service.name", svc), 0, ""});
    model::Scope sc;
    sc.resource = static_cast<uint32_t>(b.resources.size() - 1);
    b.scopes.push_back(sc);
  }
  model::SpanRow root;
  root.trace_id.bytes[15] = 1;
  root.span_id.bytes[7] = 1;
  root.name = "GET /";
  root.start_unix_nano = 100;
  root.end_unix_nano = 500;
  root.scope = 0;
  model::SpanRow child = root;
  child.span_id.bytes[7] = 2;
  child.parent_span_id = root.span_id;
  child.name = "SELECT";
  child.start_unix_nano = 200;
  child.end_unix_nano = 700;
  child.scope = 1;
  child.status_code = model::StatusCode::kError;
  b.Append(child);
  b.Append(root);
  RowGroupBuilder builder;
  uint32_t idx[] = {0, 1};
  EXPECT_EQ(builder.AddTrace(b, idx), 2u);
  RowGroup g = builder.Take();
  ASSERT_EQ(g.traces.size(), 1u);
  const TraceEntry& t = g.traces[0];
  EXPECT_EQ(t.root_service, "frontend");
  EXPECT_EQ(t.root_name, "GET /");
  EXPECT_EQ(t.start_unix_nano, 100u);
  EXPECT_EQ(t.end_unix_nano, 700u);
  ASSERT_EQ(t.service_count, 2u);
  EXPECT_EQ(g.services[0].name, "db");
  EXPECT_EQ(g.services[0].errors, 1u);
  EXPECT_EQ(g.services[1].name, "frontend");
  EXPECT_EQ(g.services[1].errors, 0u);
  // Pre-order: the root first.
  EXPECT_EQ(g.spans.name[0], "GET /");
  EXPECT_EQ(g.nested[0].left, 1u);
  EXPECT_EQ(g.nested[0].right, 4u);
  EXPECT_EQ(g.nested[1].parent, 1u);
}

TEST(RowGroupTest, ChoosesFrequentKeysAsDedicatedColumns) {
  model::SpanBatch b = RandomTraces(5).Make(30, 30);
  auto dedicated = ChooseDedicatedColumns(b, {});
  bool has_method = false, has_service = false;
  for (const auto& d : dedicated) {
    has_method |= d.owner == DedicatedColumn::Owner::kSpan && d.key == "http.method";
    has_service |= d.owner == DedicatedColumn::Owner::kResource && d.key == "service.name";
  }
  EXPECT_TRUE(has_method);
  EXPECT_TRUE(has_service);
  DedicatedOptions none;
  none.max_span_columns = 0;
  none.max_resource_columns = 0;
  EXPECT_TRUE(ChooseDedicatedColumns(b, none).empty());
}

TEST(RowGroupTest, CorruptionIsAnErrorNeverACrash) {
  model::SpanBatch b = RandomTraces(3).Make(4, 8);
  RowGroup g = Build(b);
  auto dedicated = ChooseDedicatedColumns(g.spans, {});
  PageOptions opts;
  opts.compression = Compression::kNone;  // so that flipped bytes reach the decoders
  std::string bytes = EncodeRowGroup(g, dedicated, opts);
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    EXPECT_FALSE(DecodeRowGroup(bytes.substr(0, cut), dedicated).ok()) << cut;
  }
  for (size_t i = 0; i < bytes.size(); i += 3) {
    std::string bad = bytes;
    bad[i] ^= 0x5a;
    EXPECT_FALSE(DecodeRowGroup(bad, dedicated).ok()) << i;  // every page has a checksum
  }
  // A different dedicated layout than the one written is detected.
  std::vector<DedicatedColumn> other = dedicated;
  other.push_back({DedicatedColumn::Owner::kSpan, "zzz", model::ValueKind::kInt});
  EXPECT_FALSE(DecodeRowGroup(bytes, other).ok());
}

// Seed corpus of block_fuzz: row groups with its fixed dedicated layout. Writes the files only
// when VV_BLOCK_WRITE_CORPUS names a directory; otherwise checks the checked-in ones decode.
TEST(RowGroupTest, FuzzCorpusDecodes) {
  const std::vector<DedicatedColumn> dedicated = {
      {DedicatedColumn::Owner::kSpan, "http.method", model::ValueKind::kString},
      {DedicatedColumn::Owner::kSpan, "http.status_code", model::ValueKind::kInt},
      {DedicatedColumn::Owner::kResource, "service.name", model::ValueKind::kString},
  };
  const char* out_dir = std::getenv("VV_BLOCK_WRITE_CORPUS");
  for (uint32_t seed : {21u, 22u, 23u}) {
    model::SpanBatch b = RandomTraces(seed).Make(3, 6);
    PageOptions opts;
    opts.compression = seed == 22 ? Compression::kNone : seed == 23 ? Compression::kLz4 : Compression::kZstd;
    std::string bytes = EncodeRowGroup(Build(b), dedicated, opts);
    std::string path = std::string(VV_SOURCE_DIR) + "/tests/fuzz_corpus/block/row_group_" + std::to_string(seed);
    if (out_dir != nullptr) {
      std::ofstream(std::string(out_dir) + "/row_group_" + std::to_string(seed), std::ios::binary) << bytes;
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::string checked_in((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(checked_in, bytes) << path << " differs from what the encoder writes: a format change?";
    EXPECT_TRUE(DecodeRowGroup(checked_in, dedicated).ok()) << path;
  }
}

}  // namespace
}  // namespace vivace::blocks

namespace vivace::blocks {
namespace {

// A partial decode builds exactly the selected traces, as the full decode does; with a column
// selection, what the selected columns hold is unchanged and the rest is left out.
TEST(RowGroupTest, SelectedTracesDecodeAsInTheFullDecode) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    model::SpanBatch b = RandomTraces(seed).Make(2 + static_cast<int>(seed % 9), 1 + static_cast<int>(seed % 17));
    RowGroup g = Build(b);
    std::vector<DedicatedColumn> dedicated = ChooseDedicatedColumns(g.spans, {});
    std::string bytes = EncodeRowGroup(g, dedicated, {});
    auto full = DecodeRowGroup(bytes, dedicated);
    ASSERT_TRUE(full.ok());
    DecodeSelection sel;
    for (size_t t = 0; t < g.traces.size(); ++t) sel.traces.push_back((t + seed) % 3 == 0 ? 1 : 0);
    auto part = DecodeRowGroup(bytes, dedicated, {}, &sel);
    ASSERT_TRUE(part.ok()) << "seed " << seed << ": " << part.status().ToString();
    model::SpanBatch want;
    size_t selected = 0;
    for (size_t t = 0; t < g.traces.size(); ++t) {
      if (sel.traces[t] == 0) continue;
      CopyTrace(*full, t, &want);
      ASSERT_LT(selected, part->traces.size());
      EXPECT_EQ(part->traces[selected].id, full->traces[t].id);
      EXPECT_EQ(part->traces[selected].span_count, full->traces[t].span_count);
      EXPECT_EQ(part->traces[selected].service_count, full->traces[t].service_count);
      for (uint32_t s = 0; s < full->traces[t].span_count; ++s) {
        const NestedSet& a = part->nested[part->traces[selected].first_span + s];
        const NestedSet& e = full->nested[full->traces[t].first_span + s];
        EXPECT_EQ(a.left, e.left);
        EXPECT_EQ(a.right, e.right);
        EXPECT_EQ(a.parent, e.parent);
      }
      ++selected;
    }
    EXPECT_EQ(part->traces.size(), selected);
    EXPECT_EQ(Canonical(AllTraces(*part)), Canonical(want)) << "seed " << seed;

    // Only the basics: no attributes, events or links, the same ids, names and times.
    std::vector<std::string> names = ColumnNames(dedicated);
    DecodeSelection basics;
    for (const std::string& n : names) {
      bool keep = n.starts_with("trace") || n == "span.id" || n == "span.name" || n == "span.start" ||
                  n == "span.duration" || n.starts_with("span.nested") || n.starts_with("span.parent") ||
                  n == "span.resource" || n == "span.scope" || n == "span.attr_count" || n == "span.event_count" ||
                  n == "span.link_count" || n == "resource.dropped_attributes" || n == "resource.attr_count" ||
                  n == "scope.dropped_attributes" || n == "scope.attr_count";
      basics.columns.push_back(keep ? 1 : 0);
    }
    basics.traces = sel.traces;
    auto thin = DecodeRowGroup(bytes, dedicated, {}, &basics);
    ASSERT_TRUE(thin.ok()) << "seed " << seed << ": " << thin.status().ToString();
    ASSERT_EQ(thin->spans.size(), part->spans.size());
    for (size_t s = 0; s < thin->spans.size(); ++s) {
      EXPECT_EQ(thin->spans.span_id[s], part->spans.span_id[s]);
      EXPECT_EQ(thin->spans.parent_span_id[s], part->spans.parent_span_id[s]);
      EXPECT_EQ(thin->spans.name[s], part->spans.name[s]);
      EXPECT_EQ(thin->spans.start_unix_nano[s], part->spans.start_unix_nano[s]);
      EXPECT_EQ(thin->spans.end_unix_nano[s], part->spans.end_unix_nano[s]);
      EXPECT_EQ(thin->spans.span_attributes[s].count, 0u);
      EXPECT_EQ(thin->spans.span_events[s].count, 0u);
      EXPECT_EQ(thin->spans.span_links[s].count, 0u);
    }
  }
}

TEST(RowGroupTest, SelectionsThatDoNotFitAreRejected) {
  model::SpanBatch b = RandomTraces(3).Make(4, 5);
  RowGroup g = Build(b);
  std::string bytes = EncodeRowGroup(g, {}, {});
  DecodeSelection sel;
  sel.traces = {1};  // the group has 4 traces
  EXPECT_FALSE(DecodeRowGroup(bytes, {}, {}, &sel).ok());
  DecodeSelection cols;
  cols.columns = {1, 0, 1};
  EXPECT_EQ(DecodeRowGroup(bytes, {}, {}, &cols).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vivace::blocks
