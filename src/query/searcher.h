#pragma once
// The SearchService over this process's data: every block of the tenant (storage::Blocklist)
// and the live traces the ingester still holds (WAL), searched by the TraceQL engine.

#include <chrono>
#include <cstdint>

#include "ingest/ingester.h"
#include "query/search_service.h"
#include "storage/blocklist.h"

namespace vivace::query {

struct SearcherOptions {
  /// A search running longer fails with DeadlineExceeded (Tempo's query_timeout is 30s; ours
  /// is the same default).
  std::chrono::milliseconds timeout{30000};
  /// A search reading more stored bytes fails with ResourceExhausted. 0 = no limit.
  uint64_t max_bytes_per_search = 0;
  /// Tag autocomplete stops reading after this many stored bytes (newest data first) and
  /// answers with what it found, like Tempo's bounded tag lookups.
  uint64_t max_bytes_per_tag_values_query = 64ull << 20;
  uint32_t threads = 0;  // 0 = every core
};

/// Thread-safe. `blocks` and `live` (may be null) must outlive it.
class Searcher : public SearchService {
 public:
  Searcher(storage::Blocklist* blocks, ingest::Ingester* live, SearcherOptions opts = {})
      : blocks_(blocks), live_(live), opts_(opts) {}

  Result<traceql::SearchResult> Search(std::string_view tenant, const SearchRequest& request,
                                       const traceql::SearchProgress& progress) override;
  Result<TagNamesResult> TagNames(std::string_view tenant, const TagsRequest& request) override;
  Result<TagValuesResult> TagValues(std::string_view tenant, const TagValuesRequest& request) override;

 private:
  storage::Blocklist* blocks_;
  ingest::Ingester* live_;
  SearcherOptions opts_;
};

}  // namespace vivace::query
