#pragma once
// The unit the OTLP exporters queue, persist, retry and send: one batch, already encoded.

#include <cstdint>
#include <string>

namespace vivace::exporters {

enum class RequestEncoding : uint8_t {
  kProto = 0,  // ExportTraceServiceRequest, protobuf
  kJson = 1,   // ExportTraceServiceRequest, OTLP/JSON
};

struct ExportRequest {
  std::string body;    // the encoded ExportTraceServiceRequest, uncompressed
  std::string tenant;  // sent as X-Scope-OrgID unless empty or the default tenant
  uint64_t spans = 0;
  RequestEncoding encoding = RequestEncoding::kProto;
};

}  // namespace vivace::exporters
