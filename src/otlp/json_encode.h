#pragma once
// OTLP/JSON encoding of spans, in the OTLP flavor and in the flavor Grafana Tempo's API emits.

#include <string>
#include <string_view>

#include "model/span_batch.h"

namespace vivace::otlp {

enum class JsonFlavor {
  /// OTLP/JSON as the spec defines it: ids lowercase hex, enums as integers, 64-bit integers as
  /// decimal strings. DecodeJsonRequest reads it back.
  kOtlp,
  /// gogo jsonpb as Grafana Tempo emits it: ids base64 (standard alphabet, padded), enums as
  /// names ("SPAN_KIND_SERVER", "STATUS_CODE_ERROR"), 64-bit integers as strings, uint32 as
  /// numbers, bytes base64.
  kTempo,
};

/// Appends to `out` one compact JSON object holding every span of `batch`:
/// `{"<top_key>":[ResourceSpans...]}`; `top_key` is e.g. "resourceSpans" (an OTLP request, a
/// Tempo v2 trace) or "batches" (a Tempo v1 trace). Spans are grouped by resource then scope:
/// spans sharing a scope index share one ScopeSpans and scopes sharing a resource index share
/// one ResourceSpans, both in order of first appearance; spans keep their batch order within
/// a ScopeSpans. Proto3 defaults (empty strings, zeros, empty arrays, all-zero ids) are omitted,
/// except that every span has a "status" object, empty or not. Keys are lowerCamelCase.
/// REQUIRES: the batch is well formed (scope and pool indexes in range).
void EncodeJsonTrace(const model::SpanBatch& batch, JsonFlavor flavor, std::string_view top_key,
                     std::string* out);

}  // namespace vivace::otlp
