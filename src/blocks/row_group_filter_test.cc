#include "blocks/row_group_filter.h"

#include <gtest/gtest.h>

#include <map>

#include "blocks/test_util.h"

namespace vivace::blocks {
namespace {

using scan::Attribute;
using scan::Condition;
using scan::Intrinsic;
using scan::Op;
using scan::Scope;
using scan::Static;

RowGroup Build(const model::SpanBatch& b) { return testing::BuildRowGroup(b); }

// The first value of `key` among the attributes of span `s` (or its resource).
const model::Value* Find(const model::SpanBatch& b, model::Range r, std::string_view key) {
  for (uint32_t k = r.first; k < r.end(); ++k) {
    if (b.attributes[k].key == key) return &b.attributes[k].value;
  }
  return nullptr;
}

class RowGroupFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model::SpanBatch b = testing::RandomTraces(11).Make(60, 10);
    RowGroup g = Build(b);
    dedicated_ = ChooseDedicatedColumns(g.spans, {});
    bytes_ = EncodeRowGroup(g, dedicated_, {});
    auto d = DecodeRowGroup(bytes_, dedicated_);
    ASSERT_TRUE(d.ok());
    group_ = std::move(*d);
    columns_ = std::make_unique<ColumnIndex>(dedicated_);
  }

  // Per trace: whether some span satisfies `holds`.
  template <typename F>
  std::vector<uint8_t> Truth(F&& holds) {
    std::vector<uint8_t> out;
    for (const TraceEntry& t : group_.traces) {
      uint8_t any = 0;
      for (uint32_t s = t.first_span; s < t.first_span + t.span_count; ++s) any |= holds(s) ? 1 : 0;
      out.push_back(any);
    }
    return out;
  }

  std::vector<uint8_t> Candidates(std::vector<Condition> conds, bool all) {
    scan::FetchRequest req;
    req.conditions = std::move(conds);
    req.all_conditions = all;
    std::vector<PreparedCondition> prepared = PrepareConditions(req);
    RowGroupFilter f(bytes_, *columns_);
    auto r = f.Candidates(prepared, all);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<uint8_t>();
  }

  std::vector<DedicatedColumn> dedicated_;
  std::string bytes_;
  RowGroup group_;
  std::unique_ptr<ColumnIndex> columns_;
};

TEST_F(RowGroupFilterTest, IntrinsicsAreExact) {
  const model::SpanBatch& b = group_.spans;
  EXPECT_EQ(Candidates({{Attribute::Of(Intrinsic::kStatus), Op::kEq, {Static::Status(2)}}}, true),
            Truth([&](uint32_t s) { return b.status_code[s] == model::StatusCode::kError; }));
  EXPECT_EQ(Candidates({{Attribute::Of(Intrinsic::kName), Op::kEq, {Static::String("op-1")}}}, true),
            Truth([&](uint32_t s) { return b.name[s] == "op-1"; }));
  EXPECT_EQ(Candidates({{Attribute::Of(Intrinsic::kName), Op::kRegex, {Static::String("op-[12]")}}}, true),
            Truth([&](uint32_t s) { return b.name[s] == "op-1" || b.name[s] == "op-2"; }));
  int64_t cut = 2'000'000;
  EXPECT_EQ(Candidates({{Attribute::Of(Intrinsic::kDuration), Op::kGt, {Static::Duration(cut)}}}, true),
            Truth([&](uint32_t s) { return static_cast<int64_t>(b.end_unix_nano[s] - b.start_unix_nano[s]) > cut; }));
}

TEST_F(RowGroupFilterTest, OneGroupHoldsOnOneSpan) {
  const model::SpanBatch& b = group_.spans;
  Condition name{Attribute::Of(Intrinsic::kName), Op::kEq, {Static::String("op-1")}, 1};
  Condition error{Attribute::Of(Intrinsic::kStatus), Op::kEq, {Static::Status(2)}, 1};
  auto same_span = Truth([&](uint32_t s) { return b.name[s] == "op-1" && b.status_code[s] == model::StatusCode::kError; });
  EXPECT_EQ(Candidates({name, error}, true), same_span);
  // Ungrouped, each may hold on a span of its own.
  name.group = error.group = 0;
  auto a = Truth([&](uint32_t s) { return b.name[s] == "op-1"; });
  auto e = Truth([&](uint32_t s) { return b.status_code[s] == model::StatusCode::kError; });
  std::vector<uint8_t> both, either;
  for (size_t t = 0; t < a.size(); ++t) {
    both.push_back(a[t] & e[t]);
    either.push_back(a[t] | e[t]);
  }
  EXPECT_EQ(Candidates({name, error}, true), both);
  EXPECT_EQ(Candidates({name, error}, false), either);
  EXPECT_NE(both, same_span) << "the random data should tell the two apart";
}

TEST_F(RowGroupFilterTest, NamedAttributesAreASupersetOfTheTruth) {
  const model::SpanBatch& b = group_.spans;
  for (const char* key : {"http.method", "db.system", "peer.service"}) {
    for (int v = 0; v < 5; ++v) {
      std::string value = "value-" + std::to_string(v);
      auto got = Candidates({{Attribute::Named(Scope::kSpan, key), Op::kEq, {Static::String(value)}}}, true);
      auto truth = Truth([&](uint32_t s) {
        const model::Value* x = Find(b, b.span_attributes[s], key);
        return x != nullptr && x->kind == model::ValueKind::kString && x->string() == value;
      });
      ASSERT_EQ(got.size(), truth.size());
      for (size_t t = 0; t < got.size(); ++t) EXPECT_GE(got[t], truth[t]) << key << "=" << value << " trace " << t;
    }
  }
  // Unknown conditions (events) keep every trace.
  auto all = Candidates({{Attribute::Named(Scope::kEvent, "x"), Op::kEq, {Static::String("y")}}}, true);
  EXPECT_EQ(all, std::vector<uint8_t>(group_.traces.size(), 1));
}

TEST_F(RowGroupFilterTest, CorruptBytesAreAnErrorNotACrash) {
  scan::FetchRequest req;
  req.conditions = {{Attribute::Of(Intrinsic::kStatus), Op::kEq, {Static::Status(2)}}};
  std::vector<PreparedCondition> prepared = PrepareConditions(req);
  for (size_t cut : {size_t{0}, size_t{3}, bytes_.size() / 2, bytes_.size() - 1}) {
    std::string broken = bytes_.substr(0, cut);
    RowGroupFilter f(broken, *columns_);
    EXPECT_FALSE(f.Candidates(prepared, true).ok()) << "cut at " << cut;
  }
  // A flipped header byte fails the header checksum; a flipped byte anywhere else fails the
  // checksum of its page if the filter reads that page, and is never a crash.
  std::string flipped = bytes_;
  flipped[2] ^= 0x5a;
  EXPECT_FALSE(RowGroupFilter(flipped, *columns_).Candidates(prepared, true).ok());
  size_t failures = 0;
  for (size_t at = 0; at < bytes_.size(); at += 7) {
    flipped = bytes_;
    flipped[at] ^= 0x5a;
    RowGroupFilter f(flipped, *columns_);
    if (!f.Candidates(prepared, true).ok()) ++failures;
  }
  EXPECT_GT(failures, 0u);
}

}  // namespace
}  // namespace vivace::blocks
