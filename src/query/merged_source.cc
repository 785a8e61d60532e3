#include "query/merged_source.h"

#include <unordered_set>

namespace vivace::query {

Result<std::unique_ptr<model::SpanBatch>> MergedTraceSource::FindTrace(std::string_view tenant,
                                                                       const model::TraceId& id, uint64_t start_s,
                                                                       uint64_t end_s) {
  std::vector<std::unique_ptr<model::SpanBatch>> found;
  size_t non_empty = 0;
  for (model::TraceSource* s : sources_) {
    VV_ASSIGN_OR_RETURN(auto batch, s->FindTrace(tenant, id, start_s, end_s));
    non_empty += !batch->empty();
    found.push_back(std::move(batch));
  }
  for (auto& b : found) {
    if (non_empty <= 1 && !b->empty()) return std::move(b);  // the common case: one source has it
  }
  auto out = std::make_unique<model::SpanBatch>();
  out->tenant = std::string(tenant);
  model::SpanCopier copier(out.get());
  std::unordered_set<model::SpanId, model::IdHash> seen;
  for (const auto& b : found) {
    if (b->empty()) continue;
    copier.SetSource(b.get());
    for (size_t i = 0; i < b->size(); ++i) {
      if (seen.insert(b->span_id[i]).second) copier.CopySpan(i);
    }
  }
  return out;
}

}  // namespace vivace::query
