#pragma once
// Search and tag answers as Tempo's API gives them: tempopb.SearchResponse,
// SearchTags(V2)Response and SearchTagValues(V2)Response, as jsonpb JSON (lowerCamel keys,
// proto3 defaults omitted, 64-bit integers as strings) or protobuf. Field numbers are those of
// grafana/tempo pkg/tempopb/tempo.proto; the encoders are our own (base/protowire.h).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "query/search_service.h"
#include "query/trace_by_id.h"
#include "scan/types.h"
#include "traceql/search.h"

namespace vivace::query {

/// A rendered answer: "application/json" or "application/protobuf", and the body.
struct RenderedBody {
  std::string content_type;
  std::string body;
};

/// `GET /api/search`: `{"traces":[...],"metrics":{...}}` (traces omitted when none; metrics always
/// present, `{}` when all zero). Per trace: traceID (lowercase hex without leading zeros, as
/// Tempo prints it), rootServiceName, rootTraceName, startTimeUnixNano, durationMs, spanSet (the
/// first spanset, Tempo's deprecated field), spanSets, serviceStats. Span ids are 16 hex digits.
/// Attribute values are OTLP AnyValues the way Tempo's engine converts TraceQL statics: ints,
/// floats, bools and arrays typed; durations as Go duration strings ("10ms"); status and kind
/// as their TraceQL words ("error", "server"); nil as "nil".
RenderedBody RenderSearch(const traceql::SearchResult& result, TraceFormat format);

/// tempopb.SearchResponse messages for a gRPC stream, each within `max_bytes` (Tempo's
/// max_grpc_streaming_packet_size, 1 MiB) unless a single trace is larger (a message always
/// carries at least one trace), every one carrying `metrics`. No traces: one message, metrics
/// only.
std::vector<std::string> EncodeSearchSegments(std::span<const traceql::TraceResult> traces,
                                              const traceql::SearchMetrics& metrics,
                                              size_t max_bytes);

/// Tag names. `scope` is the request's (after "none" -> ""). Adds Tempo's intrinsic list as
/// its query-frontend does: v1 only for scope "intrinsic", v2 for "" and "intrinsic" (as scope
/// "intrinsic"). Names are sorted and deduplicated; `limit` (0 = none) caps each v2 scope and
/// the v1 list. v1: `{"tagNames":[...],"metrics":{...}}` (all scopes merged); v2:
/// `{"scopes":[{"name":"resource","tags":[...]},...],"metrics":{...}}`, scopes by name, empty
/// ones left out.
RenderedBody RenderTagNames(const TagNamesResult& found, std::string_view scope, uint32_t limit,
                            bool v2, TraceFormat format);

/// Tag values: v1 `{"tagValues":["a",...],"metrics":{...}}` (sorted, deduplicated, plus
/// Tempo's virtual values for status.code and error); v2 `{"tagValues":[{"type":"string",
/// "value":"a"},...],"metrics":{...}}` (deduplicated, in the service's order). `limit` as above.
RenderedBody RenderTagValues(const TagValuesResult& found, std::string_view tag, uint32_t limit,
                             bool v2, TraceFormat format);

/// Tempo's intrinsic tag names for autocomplete (pkg/search GetVirtualIntrinsicValues).
std::span<const std::string_view> IntrinsicTagNames();

/// v2 tags whose values Tempo answers without looking at data: status / span:status and kind /
/// span:kind (their keywords), duration / span:duration / traceDuration (no values). nullopt
/// for every other tag.
std::optional<std::vector<TagValue>> FixedTagValuesV2(std::string_view tag);

/// A TraceQL static as a v2 tag value (Tempo's MakeCollectTagValueFunc): string, int, float
/// ("1.5", "3.0", "1e+06"), bool, duration ("1.5s"), status as "keyword". Kind becomes a
/// "keyword" too (Tempo leaves it untyped). nullopt for nil and arrays, which Tempo does not list.
std::optional<TagValue> TagValueFromStatic(const scan::Static& value);

}  // namespace vivace::query
