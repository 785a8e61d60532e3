#pragma once
// An HTTP/1.1 server (Boost.Beast underneath, not visible here). Handlers may answer
// asynchronously; a connection reads its next request only after the answer is written.

#include <cstdint>
#include <memory>
#include <string>

#include "api/http.h"
#include "base/status.h"

namespace vivace::api {

struct HttpServerOptions {
  std::string listen = "0.0.0.0:3200";  // host:port; port 0 picks a free port
  int threads = 2;
  /// Largest request body read from the socket (before decompression). Chunked bodies count
  /// their decoded size. Larger bodies get 413.
  uint64_t max_body_bytes = 64u << 20;
  /// Idle connections are closed after this long.
  int idle_timeout_seconds = 120;
  std::string name = "http";  // for logs
};

class HttpServer {
 public:
  /// Binds and starts serving on background threads. `router` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, const Router* router);
  virtual ~HttpServer() = default;
  /// The bound port (useful with port 0).
  virtual uint16_t port() const = 0;
  /// Stops accepting, closes connections and joins the threads. Idempotent.
  virtual void Stop() = 0;
};

/// Splits "host:port" ("[::1]:80", ":4318" = all interfaces). InvalidArgument if malformed.
Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view listen);

}  // namespace vivace::api
