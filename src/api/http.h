#pragma once
// Transport-neutral HTTP request/response types and the router. Route code includes only this
// header; Boost.Beast stays inside http_server.cc.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vivace::api {

struct HttpRequest {
  std::string method;
  std::string target;  // as received: path + query
  std::string path;    // percent-decoded path
  std::string query;   // raw query string (after '?')
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  // peer address, for logs

  /// First header with this name (case-insensitive), or empty.
  std::string_view Header(std::string_view name) const;
  /// First query parameter with this name, percent-decoded; nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
  /// Every query parameter, percent-decoded ('+' is a space), in order. As Go's url.ParseQuery,
  /// pairs that are not valid percent-encoding, or hold a ';', are left out.
  std::vector<std::pair<std::string, std::string>> QueryParams() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

/// Called exactly once per request, from any thread.
using HttpResponder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&& request, HttpResponder respond)>;

/// Maps method + path to handlers. Paths are exact, or prefixes when they end in '/'
/// and are registered with Prefix(). Not thread-safe for registration; lookups are const.
class Router {
 public:
  /// `methods` e.g. {"GET"}; an empty list accepts every method.
  void Exact(std::vector<std::string> methods, std::string path, HttpHandler handler);
  void Prefix(std::vector<std::string> methods, std::string prefix, HttpHandler handler);
  /// Dispatches; answers 404 for unknown paths and 405 (with Allow) for known paths with
  /// another method.
  void Dispatch(HttpRequest&& request, HttpResponder respond) const;

 private:
  struct Route {
    std::vector<std::string> methods;
    std::string path;
    bool prefix;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

/// Percent-decodes a URL component ('+' stays '+', as Go's PathUnescape). nullopt if malformed.
std::optional<std::string> PercentDecode(std::string_view s);

}  // namespace vivace::api
