#pragma once
// OTLP/JSON decoding of trace export requests into a SpanBatch.
// Encoding rules: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding

#include <string_view>

#include "base/status.h"
#include "model/span_batch.h"
#include "otlp/limits.h"

namespace vivace::otlp {

/// Decodes an OTLP/JSON ExportTraceServiceRequest (`{"resourceSpans":[...]}`) into `batch`,
/// appending to whatever it already holds. Every decoded string is copied into `batch->arena`,
/// so `json` may be freed afterwards. Sets `batch->otlp_proto = {}`.
///
/// Accepted input, as protojson accepts it: lowerCamelCase or snake_case keys; ids as hex of
/// either case (empty or missing = all-zero id); enums as integers or names
/// ("SPAN_KIND_SERVER"); 64-bit integers and uint32 counts as JSON numbers or decimal strings;
/// doubles as numbers, decimal strings or "NaN"/"Infinity"/"-Infinity"; bytes as base64
/// (standard or URL-safe); `null` for any field means unset; unknown fields are ignored.
/// An AnyValue with no known key is an empty value (ValueKind::kEmpty). A ResourceSpans or
/// ScopeSpans that contributes no span adds no resource or scope to the batch.
///
/// An attribute whose value is an array or kvlist has nesting depth 1, a nested one inside it
/// depth 2, and so on; depth above `limits.max_value_depth` is InvalidArgument.
///
/// Errors: InvalidArgument naming the offending field, e.g.
/// "resourceSpans[0].scopeSpans[1].spans[3].traceId: ...". On error `batch` may hold part of
/// the request (spans already appended stay); callers discard the batch.
///
/// Thread-safe: uses one reusable parser per thread.
Status DecodeJsonRequest(std::string_view json, const DecodeLimits& limits,
                         model::SpanBatch* batch);

}  // namespace vivace::otlp
