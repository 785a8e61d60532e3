// Fuzz target for the block readers: a row group (with a fixed dedicated-column layout) and its
// trace-id probe, a search's first pass and partial decode over it, the index object, the data object's footer and meta.json. Any input must give a value or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "blocks/block.h"
#include "blocks/row_group.h"
#include "blocks/row_group_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vivace::blocks;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The layout the seed corpus was written with (see row_group_test.cc, WritesFuzzCorpus).
  static const std::vector<DedicatedColumn> kDedicated = {
      {DedicatedColumn::Owner::kSpan, "http.method", vivace::model::ValueKind::kString},
      {DedicatedColumn::Owner::kSpan, "http.status_code", vivace::model::ValueKind::kInt},
      {DedicatedColumn::Owner::kResource, "service.name", vivace::model::ValueKind::kString},
  };
  ReadLimits limits;
  limits.max_page_bytes = 16 << 20;
  auto g = DecodeRowGroup(in, kDedicated, limits);
  if (g.ok()) {
    vivace::model::SpanBatch out;
    for (size_t t = 0; t < g->traces.size(); ++t) CopyTrace(*g, t, &out);
  }
  // A search's first pass (the conditions' columns only) and its partial decode: every other
  // trace, no attribute tables (which skips spans a column at a time).
  static const ColumnIndex kColumns(kDedicated);
  static const std::vector<vivace::scan::Condition> kConds = [] {
    using namespace vivace::scan;
    std::vector<Condition> c(5);
    c[0].attr.intrinsic = Intrinsic::kStatus;
    c[0].op = Op::kEq;
    c[0].operands = {Static::Status(2)};
    c[1].attr.scope = Scope::kSpan;
    c[1].attr.name = "http.method";
    c[1].op = Op::kEq;
    c[1].operands = {Static::String("GET")};
    c[2].attr.scope = Scope::kSpan;
    c[2].attr.name = "http.status_code";
    c[2].op = Op::kGt;
    c[2].operands = {Static::Int(200)};
    c[3].attr.scope = Scope::kResource;
    c[3].attr.name = "service.name";
    c[3].op = Op::kRegex;
    c[3].operands = {Static::String("s.*")};
    c[4].attr.intrinsic = Intrinsic::kDuration;
    c[4].op = Op::kLt;
    c[4].operands = {Static::Duration(1000)};
    for (auto& x : c) x.group = 1;
    return c;
  }();
  vivace::scan::FetchRequest req;
  req.conditions = kConds;
  req.all_conditions = true;
  std::vector<PreparedCondition> prepared = PrepareConditions(req);
  RowGroupFilter filter(in, kColumns, limits);
  auto may = filter.Candidates(prepared, true, size % 4);
  if (may.ok()) {
    DecodeSelection sel;
    for (size_t t = 0; t < may->size(); ++t) sel.traces.push_back(t % 2 == 0 ? 1 : (*may)[t]);
    req.reads_all = false;
    auto columns = filter.Columns(req);
    if (columns.ok()) sel.columns = *columns;
    (void)DecodeRowGroup(in, kDedicated, limits, &sel);
  }
  (void)RowGroupHasTrace(in, ColumnNames(kDedicated).size(), vivace::model::TraceId(), limits);
  (void)ParseFooter(in);
  (void)ParseIndex(in);
  (void)ParseMetaJson(in);
  return 0;
}
