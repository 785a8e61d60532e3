#pragma once
// Tempo's search and tag request parameters, parsed and validated the way Tempo does it
// (grafana/tempo pkg/api/http.go ParseSearchRequestWithDefault, pkg/api/search_tags.go, the
// query-frontend's search and tag sharders), with Tempo's error messages: they reach the user
// as the body of a 400.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "query/search_service.h"

namespace vivace::query {

/// A URL's query parameters, percent-decoded, in order of appearance. As in Go's url.Values.Get,
/// lookups take the first occurrence, and an empty value counts as absent.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// Tempo's query-frontend search limits; the defaults are Tempo's.
struct SearchLimits {
  uint32_t default_limit = 20;                 // default_result_limit
  uint32_t max_limit = 256 * 1024;             // max_result_limit; 0 = none
  uint32_t default_spans_per_spanset = 3;      // default_spans_per_span_set
  uint32_t max_spans_per_spanset = 100;        // max_spans_per_span_set; 0 = none
  uint64_t max_duration_seconds = 168 * 3600;  // max_duration (end - start); 0 = none
  size_t max_query_bytes = 128 * 1024;         // max_query_expression_size_bytes
};

/// tempopb.SearchRequest as a client sent it, before defaults and limits.
struct RawSearchRequest {
  std::map<std::string, std::string> tags;  // legacy search: attribute -> value
  uint32_t min_duration_ms = 0;             // 0 = none
  uint32_t max_duration_ms = 0;             // 0 = none
  uint32_t limit = 0;                       // 0 = the default
  uint32_t start_s = 0;                     // unix seconds
  uint32_t end_s = 0;
  std::string query;                          // TraceQL
  std::optional<uint32_t> spans_per_spanset;  // nullopt = the default; 0 = unlimited
};

/// The parameters of `GET /api/search`: q | tags (logfmt), minDuration, maxDuration (Go
/// durations), limit, spss, start, end. Without q, tags, start and end, every other non-empty
/// parameter is taken as a tag (Tempo's oldest Grafana compatibility). InvalidArgument with
/// Tempo's message when malformed.
Result<RawSearchRequest> ParseSearchParams(const QueryParams& params);

/// A serialized tempopb.SearchRequest (the gRPC StreamingQuerier/Search request). Its
/// SpansPerSpanSet is taken as sent (0 = unlimited), as Tempo's frontend does.
Result<RawSearchRequest> DecodeSearchRequestProto(std::string_view message);

/// Validates against `limits`, applies defaults and turns legacy tags into TraceQL.
Result<SearchRequest> FinishSearchRequest(const RawSearchRequest& raw, const SearchLimits& limits);

/// Tempo's `tags` string: logfmt (`key=value key2="quoted \"value\""`, records may be split by
/// newlines; a bare key means an empty value). InvalidArgument "invalid tags: ..." when
/// malformed or when a key repeats.
Result<std::map<std::string, std::string>> ParseLogfmtTags(std::string_view text);

/// The TraceQL equivalent of a legacy tag search, following what Tempo's vParquet block search
/// does with tags (tempodb/encoding/vparquet4/block_search.go): each tag is its own condition,
/// met by any span of the trace, so the result joins one spanset filter per tag with `&&`:
///   root.service.name, root.name   substring of the trace's root service / root span name
///   service.name, cluster, namespace, pod, container, k8s.{cluster,namespace,pod,container}.name
///                                   substring of that resource attribute
///   name, http.method, http.url    substring of the span name / span attribute
///   http.status_code (an integer)  equality of the span attribute as an int
///   status.code                    status = unset|ok|error (unknown words mean unset)
///   anything else                  exact string equality of a span or resource attribute
/// Substrings are case-sensitive (Tempo uses bytes.Contains) and become anchored regexes
/// `.*<quoted>.*`. Durations bound the trace duration in milliseconds, inclusive. No tags and no
/// durations give "{}". Keys are visited in sorted order, so the text is deterministic.
std::string TagsToTraceQL(const std::map<std::string, std::string>& tags, uint32_t min_duration_ms,
                          uint32_t max_duration_ms);

/// The parameters of `/api/search/tags` and `/api/v2/search/tags`: scope (validated: "", none,
/// intrinsic, trace, span, resource, event, link, instrumentation; "none" becomes ""), q, start,
/// end (signed 32-bit, as Tempo parses them), limit and maxStaleValues (lenient: malformed
/// means 0, as Tempo's frontend reads them). A scope of "intrinsic" is returned as is: the
/// caller answers it without the service.
Result<TagsRequest> ParseTagsParams(const QueryParams& params);

/// The parameters of `/api/search/tag/<tag>/values` (v2 = false) and `/api/v2/...` (v2 = true).
/// `tag` is the decoded path segment (DecodeTagName); v2 requires a TraceQL identifier
/// (traceql::ParseIdentifier), else "please provide a valid tagName: <why>". limit and
/// maxStaleValues are strict here ("invalid limit: ..."), as Tempo parses them for tag values.
Result<TagValuesRequest> ParseTagValuesParams(std::string tag, bool v2, const QueryParams& params);

/// Percent-decodes a tag name until it no longer changes (at most a few rounds), so a name that
/// Grafana encoded twice (`encodeURIComponent(encodeURIComponent(tag))`) arrives whole whether
/// or not a proxy decoded it once already. Stops at the first round that is not valid
/// percent-encoding and keeps what it has.
std::string DecodeTagName(std::string_view segment);

}  // namespace vivace::query
