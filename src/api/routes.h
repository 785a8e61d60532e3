#pragma once
// The HTTP routes and gRPC methods Vivace serves, each registered by one function.

#include <functional>
#include <string>

#include "api/grpc_server.h"
#include "api/http.h"
#include "base/metrics.h"
#include "model/trace_source.h"
#include "receivers/otlp/otlp_receiver.h"

namespace vivace::api {

inline constexpr std::string_view kOtlpExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct BuildInfo {
  std::string version;   // what Grafana reads for feature gating (Tempo-compatible version)
  std::string revision;  // Vivace's own version and git revision
  std::string branch;
  std::string build_date;
};

/// GET /api/traces/<id> and /api/v2/traces/<id> (Tempo), tenant from X-Scope-OrgID.
void RegisterTraceRoutes(Router* router, model::TraceSource* source);

/// `GET|POST /flush` (as Tempo's ingester): cuts every live trace into blocks; 204 when done,
/// 500 with the error otherwise. Runs on the HTTP thread that received it.
void RegisterFlushRoute(Router* router, std::function<Status()> flush);
/// GET /ready, /api/echo, /api/status/buildinfo, /metrics.
void RegisterStatusRoutes(Router* router, BuildInfo info, MetricsRegistry* metrics, std::function<bool()> ready);
/// POST /v1/traces (OTLP/HTTP; the receiver's traces_url_path).
void RegisterOtlpHttpRoutes(Router* router, receivers::OtlpReceiver* receiver, std::string path = "/v1/traces");
/// GET /metrics: the Prometheus exposition of `metrics`.
void RegisterMetricsRoute(Router* router, MetricsRegistry* metrics);
/// The gRPC handler for TraceService/Export.
GrpcHandler OtlpGrpcHandler(receivers::OtlpReceiver* receiver);

/// The tenant of a request: X-Scope-OrgID, or "single-tenant".
std::string TenantOf(const HttpRequest& request);

}  // namespace vivace::api
