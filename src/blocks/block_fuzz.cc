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
    auto cond = [](Intrinsic intrinsic, Scope scope, std::string name, Op op, Static value) {
      Condition c;
      c.attr.intrinsic = intrinsic;
      c.attr.scope = scope;
      c.attr.name = std::move(name);
      c.op = op;
      c.operands = {std::move(value)};
      c.group = 1;
      return c;
    };
    return std::vector<Condition>{
        cond(Intrinsic::kStatus, Scope::kNone, "", Op::kEq, Static::Status(2)),
        cond(Intrinsic::kNone, Scope::kSpan, "http.method", Op::kEq, Static::String("GET")),
        cond(Intrinsic::kNone, Scope::kSpan, "http.status_code", Op::kGt, Static::Int(200)),
        cond(Intrinsic::kNone, Scope::kResource, "service.name", Op::kRegex, Static::String("s.*")),
        cond(Intrinsic::kDuration, Scope::kNone, "", Op::kLt, Static::Duration(1000)),
    };
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
