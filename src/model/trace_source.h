#pragma once
// TraceSource: the read path's narrowest interface — every span of one trace. Implemented by
// the ingester (live data and WAL) and, with block storage, by blocks; the query layer combines
// them.

#include <cstdint>
#include <memory>
#include <string_view>

#include "base/status.h"
#include "model/ids.h"
#include "model/span_batch.h"

namespace vivace::model {

class TraceSource {
 public:
  virtual ~TraceSource() = default;
  /// Every stored span of the trace, each span id once; an empty batch when there is none.
  /// `start_s`/`end_s` (unix seconds, 0 = open) restrict to traces overlapping the range.
  /// Thread-safe.
  virtual Result<std::unique_ptr<SpanBatch>> FindTrace(std::string_view tenant, const TraceId& id, uint64_t start_s,
                                                       uint64_t end_s) = 0;
};

}  // namespace vivace::model
