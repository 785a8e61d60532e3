#pragma once
// MergedTraceSource: trace by ID across several sources (live data, blocks), each span id once.

#include <memory>
#include <vector>

#include "model/trace_source.h"

namespace vivace::query {

class MergedTraceSource : public model::TraceSource {
 public:
  /// Sources are asked in order; a span id found in an earlier source wins.
  explicit MergedTraceSource(std::vector<model::TraceSource*> sources) : sources_(std::move(sources)) {}
  Result<std::unique_ptr<model::SpanBatch>> FindTrace(std::string_view tenant, const model::TraceId& id,
                                                      uint64_t start_s, uint64_t end_s) override;

 private:
  std::vector<model::TraceSource*> sources_;
};

}  // namespace vivace::query
