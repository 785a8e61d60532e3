#pragma once
// OTLP protobuf → SpanBatch, read straight from the wire bytes: no generated message classes,
// no per-span heap allocation, strings are views into the input.

#include <string_view>

#include "base/status.h"
#include "model/span_batch.h"
#include "otlp/limits.h"

namespace vivace::otlp {

/// Decodes an ExportTraceServiceRequest (equally a TracesData or a tempopb.Trace: all three are
/// `repeated ResourceSpans = 1`) and appends its spans to `batch`.
/// REQUIRES: `bytes` outlives `batch` — normally it is a buffer the batch's arena adopted.
/// InvalidArgument naming the offending message on malformed input; `batch` may then hold a
/// partial decode and must be discarded.
Status DecodeProtoRequest(std::string_view bytes, const DecodeLimits& limits, model::SpanBatch* batch);

}  // namespace vivace::otlp
