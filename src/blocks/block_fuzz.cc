// Fuzz target for the block readers: a row group (with a fixed dedicated-column layout) and its
// trace-id probe, the index object, the data object's footer and meta.json. Any input must give a value or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "blocks/block.h"
#include "blocks/row_group.h"

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
  (void)RowGroupHasTrace(in, ColumnNames(kDedicated).size(), vivace::model::TraceId(), limits);
  (void)ParseFooter(in);
  (void)ParseIndex(in);
  (void)ParseMetaJson(in);
  return 0;
}
