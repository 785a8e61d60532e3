#pragma once
// The OTLP trace receiver, independent of sockets: the HTTP and gRPC servers hand it request
// bodies and it answers exactly as the OTLP specification and the Collector's receiver do.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/metrics.h"
#include "model/span_sink.h"
#include "otlp/limits.h"

namespace vivace::receivers {

struct OtlpReceiverOptions {
  /// The component id, the `receiver` label of the otelcol_receiver_* metrics.
  std::string id = "otlp";
  /// Largest request body accepted, measured after decompression (OTLP spec: limit after
  /// decompression). Collector default for HTTP is 20 MiB; gRPC servers default to 4 MiB.
  size_t max_request_bytes = 20u << 20;
  otlp::DecodeLimits decode;
};

/// An HTTP request as the server hands it over. Views are valid during HandleHttp only.
struct OtlpHttpRequest {
  std::string_view method;
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view tenant;  // X-Scope-OrgID, empty for the default
  std::string body;         // the body as received (possibly compressed)
};

struct OtlpHttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  uint32_t retry_after_seconds = 0;  // > 0: send Retry-After
  std::string allow;                 // for 405: the Allow header
};

/// A gRPC reply: `code` 0 with `message` the serialized ExportTraceServiceResponse, or a
/// non-zero canonical code with `error_message` and `status_details` (a serialized
/// google.rpc.Status for grpc-status-details-bin, carrying RetryInfo when retryable).
struct OtlpGrpcResponse {
  int code = 0;
  std::string message;
  std::string error_message;
  std::string status_details;
};

/// Thread-safe; one instance serves every connection.
class OtlpReceiver {
 public:
  OtlpReceiver(model::SpanSink* sink, OtlpReceiverOptions options, MetricsRegistry* metrics);

  /// `done` is called exactly once, possibly on another thread.
  void HandleHttp(OtlpHttpRequest request, std::function<void(OtlpHttpResponse)> done);
  /// `message` is the uncompressed gRPC message (gRPC decompresses before the handler).
  void HandleGrpc(std::string message, std::string_view tenant, std::function<void(OtlpGrpcResponse)> done);

  size_t max_request_bytes() const { return options_.max_request_bytes; }

 private:
  enum class Format { kProto, kJson };
  struct Counters {
    Counter* accepted;
    Counter* refused;
    Counter* failed;
  };
  // Decodes and validates; on success the batch holds only valid spans and `rejected` counts
  // the spans dropped as invalid.
  Result<std::unique_ptr<model::SpanBatch>> Decode(std::string body, Format format, std::string_view tenant,
                                                    uint64_t* rejected, std::string* rejected_message);
  void Consume(std::unique_ptr<model::SpanBatch> batch, uint64_t rejected, std::string rejected_message,
               const Counters& counters, std::function<void(model::ConsumeResult)> done);

  model::SpanSink* sink_;
  OtlpReceiverOptions options_;
  Counters grpc_;
  Counters http_;
};

/// Serialized google.rpc.Status{code, message, details=[RetryInfo{retry_delay}] if retry > 0}.
std::string EncodeRpcStatus(int code, std::string_view message, uint32_t retry_after_seconds);

}  // namespace vivace::receivers
