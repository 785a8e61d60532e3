#pragma once
// Tempo's search API over a query::SearchService: `GET /api/search`, the tag-name and
// tag-value autocomplete routes (v1 and v2), and gRPC `tempopb.StreamingQuerier/Search`.

#include <chrono>
#include <cstddef>
#include <string_view>

#include "api/grpc_server.h"
#include "api/http.h"
#include "base/status.h"
#include "query/search_request.h"
#include "query/search_service.h"

namespace vivace::api {

inline constexpr std::string_view kStreamingSearchMethod = "/tempopb.StreamingQuerier/Search";

struct SearchApiOptions {
  query::SearchLimits limits;  // Tempo's query-frontend defaults
  /// Largest message of a streaming search (Tempo's max_grpc_streaming_packet_size).
  size_t max_stream_message_bytes = 1 << 20;
  /// Least time between two progress messages of a streaming search: found traces are held and
  /// sent together (Tempo's frontend sends its diff at most every 500 ms). 0 = each batch.
  std::chrono::milliseconds stream_interval{500};
};

/// Registers, for GET:
///   /api/search                                    q | tags+minDuration+maxDuration, limit, spss,
///   start, end /api/search/tags, /api/v2/search/tags           scope, q, start, end, limit,
///   maxStaleValues /api/search/tag/<tag>/values, /api/v2/...       q, start, end, limit,
///   maxStaleValues
/// Tenant from X-Scope-OrgID (TenantOf). JSON or protobuf by Accept. Errors are plain text:
/// 400 for a bad request or query (InvalidArgument, Unimplemented), 404 NotFound, 429
/// ResourceExhausted, 499 Cancelled, 504 DeadlineExceeded, 500 otherwise. Each request runs on
/// the HTTP thread that received it, for as long as the service takes. `service` must outlive
/// the router.
void RegisterSearchRoutes(Router* router, query::SearchService* service,
                          SearchApiOptions options = {});

/// The handler for kStreamingSearchMethod (GrpcServer::Start's `stream_handlers`): decodes a
/// tempopb.SearchRequest (tenant from x-scope-orgid metadata), streams SearchResponse messages
/// with the traces found since the previous message and the metrics so far while the search
/// runs, then the complete result (all traces, as Tempo's final message), each message within
/// `max_stream_message_bytes`. Errors end the call with the Status code (InvalidArgument for a
/// bad request, with Tempo's message). `service` must outlive the server.
GrpcStreamHandler SearchStreamHandler(query::SearchService* service, SearchApiOptions options = {});

/// The HTTP status Tempo's API answers for a failed search or lookup.
int HttpStatusFor(StatusCode code);

}  // namespace vivace::api
