#pragma once
// TraceQL search: runs a query over fetchers (blocks, the live head) and shapes the answer as
// Tempo's SearchResponse — most recent traces first, exactly `limit` of them when that many
// match, at most `spans_per_spanset` spans per spanset with the `matched` count of each.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/ids.h"
#include "scan/fetch.h"
#include "scan/types.h"

namespace vivace::traceql {

/// One unit of work: a fetcher and what it covers, so the engine can order the work (newest
/// first), skip what cannot beat the results it has, and spread it over threads.
struct FetchSource {
  scan::SpansetFetcher* fetcher = nullptr;
  uint64_t start_unix_nano = 0;  // of the spans it holds
  uint64_t end_unix_nano = 0;
  uint64_t bytes = 0;  // stored size, for the totalBlockBytes metric
  uint32_t blocks = 1;  // blocks it counts for in totalBlocks (0 for a block's later jobs)
};

struct SearchOptions {
  uint32_t limit = 20;              // traces; Tempo's default_result_limit
  uint32_t spans_per_spanset = 3;   // spss; Tempo's default_spans_per_span_set
  uint64_t start_unix_nano = 0;     // 0 = open
  uint64_t end_unix_nano = 0;
  /// Exceeding any of these fails the search with a clear error (0 = no limit).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  uint64_t max_inspected_bytes = 0;
  uint32_t threads = 0;  // 0 = hardware concurrency
};

struct ResultAttribute {
  std::string key;
  scan::Static value;
};

struct SpanResult {
  model::SpanId id;
  std::string name;
  uint64_t start_unix_nano = 0;
  uint64_t duration_nanos = 0;
  std::vector<ResultAttribute> attributes;  // those the query names, and select()ed ones
};

struct SpansetResult {
  std::vector<SpanResult> spans;  // at most spans_per_spanset, earliest start first
  uint32_t matched = 0;           // spans in the spanset before the spss cut
  std::vector<ResultAttribute> attributes;  // by() keys and aggregate values
};

struct ServiceStats {
  uint32_t span_count = 0;
  uint32_t error_count = 0;
};

struct TraceResult {
  model::TraceId id;
  std::string root_service_name;  // "<root span not yet received>" when no part has the root
  std::string root_trace_name;
  uint64_t start_unix_nano = 0;
  uint32_t duration_ms = 0;
  std::vector<SpansetResult> spansets;
  std::map<std::string, ServiceStats> service_stats;
};

struct SearchMetrics {
  uint64_t inspected_traces = 0;
  uint64_t inspected_bytes = 0;
  uint64_t inspected_spans = 0;
  uint32_t total_blocks = 0;
  uint32_t completed_jobs = 0;
  uint32_t total_jobs = 0;
  uint64_t total_block_bytes = 0;
};

struct SearchResult {
  std::vector<TraceResult> traces;  // most recent start first; ties by trace id
  SearchMetrics metrics;
};

/// Called with each batch of new traces as they are found (for streaming search), from one
/// thread at a time; `so_far` is the metrics up to now. Returns false to stop the search (the
/// client went away): Search then ends with Cancelled once the jobs running finish.
using SearchProgress = std::function<bool(std::span<const TraceResult> found, const SearchMetrics& so_far)>;

/// A spanset query compiled once, to ask which spans of each trace it matches: tag values
/// filtered by a query (`/api/v2/search/tag/<tag>/values?q=`). Not thread-safe.
class SpanMatcher {
 public:
  /// InvalidArgument for a query that does not parse or validate; Unimplemented for a metrics
  /// query.
  static Result<std::unique_ptr<SpanMatcher>> Create(std::string_view query);
  ~SpanMatcher();

  /// What a fetcher may prune with (the query's necessary conditions); reads everything.
  const scan::FetchRequest& plan() const { return plan_; }
  /// Rows of `trace.batch` in any spanset the query yields for the trace, sorted, each once.
  std::vector<uint32_t> Match(const scan::TraceView& trace);

 private:
  SpanMatcher() = default;
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  scan::FetchRequest plan_;
};

/// Parses, validates and runs `query` (a TraceQL spanset query: filters, structural operators,
/// pipelines). Errors: InvalidArgument with the position for a query that does not parse or
/// validate, Unimplemented for a valid but unsupported one (metrics functions belong to
/// query_range), DeadlineExceeded / ResourceExhausted when a limit is hit.
Result<SearchResult> Search(std::string_view query, std::span<const FetchSource> sources, const SearchOptions& opts,
                            const SearchProgress& progress = nullptr);

}  // namespace vivace::traceql
