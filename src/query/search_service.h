#pragma once
// The seam between Tempo's search API (api/search_routes.h) and whatever answers it: a trace
// search and the two autocomplete lookups. Requests arrive validated, with Tempo's defaults
// applied (search_request.h); the API layer renders the answers (search_render.h).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "traceql/search.h"

namespace vivace::query {

/// A trace search (`GET /api/search`, gRPC StreamingQuerier/Search).
struct SearchRequest {
  /// TraceQL, never empty. When the client sent Tempo's legacy `tags` / `minDuration` /
  /// `maxDuration` instead of `q`, their TraceQL equivalent (TagsToTraceQL); "{}" when it sent
  /// neither.
  std::string query = "{}";
  /// Most traces to return; the default (20) is applied, never 0.
  uint32_t limit = 20;
  /// Most spans listed per spanset (`spss`, default 3); 0 means every matching span (Tempo's
  /// "unlimited").
  uint32_t spans_per_spanset = 3;
  /// Time range in unix seconds. Both 0: no range was given, and Tempo then searches only
  /// recent data (its ingesters, not the blocks); otherwise start_s < end_s.
  uint64_t start_s = 0;
  uint64_t end_s = 0;
};

/// Tag-name autocomplete (`/api/search/tags`, `/api/v2/search/tags`).
struct TagsRequest {
  /// "" (every scope), or one of resource, span, event, link, instrumentation, trace. Never
  /// "intrinsic" or "none": the API layer answers intrinsics itself and maps "none" to "".
  std::string scope;
  /// A TraceQL filter (`{ resource.service.name = "api" }`) restricting the spans whose tags
  /// count; "" for all. May be incomplete, as typed in an editor: ignore what does not parse.
  std::string query;
  uint64_t start_s = 0;  // unix seconds, 0 = open
  uint64_t end_s = 0;
  uint32_t limit = 0;  // most names per scope; 0 = no limit
  uint32_t max_stale_values =
      0;  // Tempo's maxStaleValues: stop after this many already-seen names in a row; 0 = off
};

/// Tag-value autocomplete (`/api/search/tag/<tag>/values`, `/api/v2/...`).
struct TagValuesRequest {
  /// v2: a TraceQL identifier (`resource.service.name`, `.http.method`, `name`, `span:kind`),
  /// already checked with traceql::ParseIdentifier. v1: a bare attribute name, looked up in span
  /// and resource attributes (TraceQL's unscoped `.name`).
  std::string tag;
  bool v2 = true;
  std::string query;  // as TagsRequest::query (v2 only; v1 ignores it, as Tempo does)
  uint64_t start_s = 0;
  uint64_t end_s = 0;
  uint32_t limit = 0;  // most values; 0 = no limit
  uint32_t max_stale_values = 0;
};

/// A value and its TraceQL type: "string", "int", "float", "bool", "duration", "keyword"
/// (status and kind values). TagValueFromStatic (search_render.h) builds one from a scan::Static.
struct TagValue {
  std::string type;
  std::string value;
  bool operator==(const TagValue&) const = default;
};

/// Tempo's MetadataMetrics: the work behind a tags answer.
struct MetadataMetrics {
  uint64_t inspected_bytes = 0;
  uint32_t total_jobs = 0;
  uint32_t completed_jobs = 0;
  uint32_t total_blocks = 0;
  uint64_t total_block_bytes = 0;
};

struct TagNamesResult {
  /// Scope name ("resource", "span", "event", "link", "instrumentation") -> attribute names
  /// found there. Any order; the API layer sorts, dedups and truncates to the limit.
  std::map<std::string, std::vector<std::string>> scopes;
  MetadataMetrics metrics;
};

struct TagValuesResult {
  std::vector<TagValue> values;  // any order; the API layer dedups and truncates
  MetadataMetrics metrics;
};

/// Answers searches for the API layer. Thread-safe: HTTP and gRPC threads call it concurrently,
/// and a call may block for as long as the search runs.
class SearchService {
 public:
  virtual ~SearchService() = default;

  /// Runs a search for `tenant`. `progress` (may be empty) receives batches of traces as they
  /// are found, for streaming (traceql::SearchProgress's contract); the returned result is the
  /// complete answer. Errors, mapped to HTTP and gRPC by the API layer: InvalidArgument (bad
  /// query; the message is shown to the user), Unimplemented, DeadlineExceeded,
  /// ResourceExhausted, anything else is internal.
  virtual Result<traceql::SearchResult> Search(std::string_view tenant,
                                               const SearchRequest& request,
                                               const traceql::SearchProgress& progress) = 0;

  /// Attribute names by scope. Intrinsics are not the service's business (the API layer adds
  /// Tempo's fixed list).
  virtual Result<TagNamesResult> TagNames(std::string_view tenant, const TagsRequest& request) = 0;

  /// Distinct values of one tag. Tempo's "virtual" values (status.code / error in v1; status,
  /// kind and duration intrinsics in v2) are added by the API layer, which does not call the
  /// service for the v2 intrinsics that have fixed values.
  virtual Result<TagValuesResult> TagValues(std::string_view tenant,
                                            const TagValuesRequest& request) = 0;
};

}  // namespace vivace::query
