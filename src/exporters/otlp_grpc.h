#pragma once
// The `otlp` exporter (Collector type `otlp_grpc`, formerly `otlp`): OTLP over gRPC, unary
// /opentelemetry.proto.collector.trace.v1.TraceService/Export with raw protobuf bytes (no
// generated classes), behind exporterhelper's sending queue and retries.
//
// Retried (as the Collector's exporter/otlpexporter): CANCELLED, DEADLINE_EXCEEDED, ABORTED,
// OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED only when the status carries a
// google.rpc.RetryInfo, whose retry_delay is then the least wait. Everything else is permanent.
// A partial_success in the response is logged and its rejected spans counted failed.
// `headers` become call metadata (keys lowercased); a batch's non-default tenant is sent as
// x-scope-orgid.

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "exporters/client_options.h"
#include "exporters/exporter.h"
#include "exporters/exporter_helper.h"
#include "exporters/retry.h"

namespace YAML {
class Node;
}

namespace vivace::exporters {

struct OtlpGrpcOptions {
  /// host:port, optionally with an http:// or https:// scheme (https forces TLS), or a gRPC
  /// target such as dns:///host:port.
  std::string endpoint;
  TlsOptions tls;
  HeaderList headers;
  Compression compression = Compression::kGzip;  // gzip or none (gRPC core has no zstd)
  bool wait_for_ready = false;                   // wait for the connection instead of failing fast
  std::string authority;                         // overrides the :authority header
  ExporterHelperOptions helper;                  // sending_queue, retry_on_failure, timeout
};

/// Parses an `otlp` exporter section.
Result<OtlpGrpcOptions> ParseOtlpGrpcOptions(const YAML::Node& node, const std::string& path);

/// Builds the exporter; reads the TLS files now so that errors surface at startup. The
/// connection is made lazily by the first export. `clock` null: the system clock.
Result<std::unique_ptr<Exporter>> NewOtlpGrpcExporter(ComponentContext ctx,
                                                      const OtlpGrpcOptions& options,
                                                      std::unique_ptr<RetryClock> clock = nullptr);

/// The Attempt for a gRPC outcome (exported for tests): `code` canonical, `details` the
/// serialized google.rpc.Status of grpc-status-details-bin, `response` the
/// ExportTraceServiceResponse when code is 0.
Attempt GrpcAttempt(int code, std::string_view message, std::string_view details,
                    std::string_view response);

/// partial_success of a serialized ExportTraceServiceResponse into `attempt`.
void ParsePartialSuccessProto(std::string_view response, Attempt* attempt);

}  // namespace vivace::exporters
