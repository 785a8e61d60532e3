#pragma once
// The `otlphttp` exporter (Collector type `otlp_http`): OTLP/HTTP POST of
// ExportTraceServiceRequest as application/x-protobuf (or application/json with
// `encoding: json`), HTTP/1.1 with keep-alive connections reused across requests (at most
// num_consumers idle ones), over TLS for https:// URLs; behind exporterhelper's sending queue
// and retries.
//
// As the Collector's exporter/otlphttpexporter: 2xx is success (a partial_success in the body
// is logged and its rejected spans counted failed); 429, 502, 503 and 504 are retried, 429 and
// 503 waiting at least their Retry-After (seconds or HTTP-date); every other status is
// permanent. Connection errors and timeouts are retried. `headers` are added to every request;
// a batch's non-default tenant is sent as X-Scope-OrgID.

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "exporters/client_options.h"
#include "exporters/exporter.h"
#include "exporters/exporter_helper.h"
#include "exporters/retry.h"

namespace YAML {
class Node;
}

namespace vivace::exporters {

struct OtlpHttpOptions {
  std::string endpoint;         // base URL: traces go to <endpoint>/v1/traces
  std::string traces_endpoint;  // full URL; overrides endpoint
  TlsOptions tls;               // for https:// URLs (`insecure` has no effect over HTTP)
  HeaderList headers;
  Compression compression = Compression::kGzip;  // gzip, zstd, deflate or none
  bool disable_keep_alives = false;
  ExporterHelperOptions helper;  // sending_queue, retry_on_failure, timeout, encoding
};

/// Parses an `otlphttp` exporter section.
Result<OtlpHttpOptions> ParseOtlpHttpOptions(const YAML::Node& node, const std::string& path);

/// The URL traces are posted to (the Collector's composeSignalURL). InvalidArgument when
/// neither endpoint is set or the URL is not http(s).
Result<std::string> OtlpHttpTracesUrl(const OtlpHttpOptions& options);

/// Builds the exporter (loads TLS files now). `clock` null: the system clock.
Result<std::unique_ptr<Exporter>> NewOtlpHttpExporter(ComponentContext ctx,
                                                      const OtlpHttpOptions& options,
                                                      std::unique_ptr<RetryClock> clock = nullptr);

/// The Attempt for an HTTP response (exported for tests). `retry_after` is the header value
/// (empty if absent), `now_unix_nanos` the wall clock for HTTP-dates.
Attempt HttpAttempt(int status, std::string_view content_type, std::string_view retry_after,
                    std::string_view body, uint64_t now_unix_nanos);

}  // namespace vivace::exporters
