#pragma once
// A minimal HTTP/1.1 GET for the command-line tools (`vivace query --server`): one request over
// a fresh connection, `Connection: close`, plain or chunked bodies. Not a general client.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace vivace::cli {

struct HttpResponse {
  int status = 0;
  std::string body;
};

/// GETs `url` ("http://host:port/path?query"; https is not supported) with `headers`.
/// Unavailable when the server cannot be reached, DeadlineExceeded after `timeout`.
Result<HttpResponse> HttpGet(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                             std::chrono::milliseconds timeout);

}  // namespace vivace::cli
