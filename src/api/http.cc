#include "api/http.h"

#include "base/strings.h"

namespace vivace::api {

std::optional<std::string> PercentDecode(std::string_view s) { return vivace::PercentDecode(s); }

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

std::optional<std::string> HttpRequest::Query(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    // Query strings use '+' for spaces.
    std::string k(key), v(value);
    for (char& c : k) c = c == '+' ? ' ' : c;
    for (char& c : v) c = c == '+' ? ' ' : c;
    auto dk = PercentDecode(k);
    if (dk && *dk == name) return PercentDecode(v).value_or(v);
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> HttpRequest::QueryParams() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    size_t eq = pair.find('=');
    std::string k(pair.substr(0, eq));
    std::string v(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    for (char& c : k) c = c == '+' ? ' ' : c;
    for (char& c : v) c = c == '+' ? ' ' : c;
    auto dk = PercentDecode(k);
    auto dv = PercentDecode(v);
    if (!dk || !dv) continue;
    out.emplace_back(std::move(*dk), std::move(*dv));
  }
  return out;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

void Router::Exact(std::vector<std::string> methods, std::string path, HttpHandler handler) {
  routes_.push_back(Route{std::move(methods), std::move(path), false, std::move(handler)});
}

void Router::Prefix(std::vector<std::string> methods, std::string prefix, HttpHandler handler) {
  routes_.push_back(Route{std::move(methods), std::move(prefix), true, std::move(handler)});
}

void Router::Dispatch(HttpRequest&& request, HttpResponder respond) const {
  std::string allow;
  for (const Route& r : routes_) {
    bool match = r.prefix ? request.path.compare(0, r.path.size(), r.path) == 0 : request.path == r.path;
    if (!match) continue;
    bool method_ok = r.methods.empty();
    for (const auto& m : r.methods) method_ok |= (m == request.method);
    if (method_ok) {
      r.handler(std::move(request), std::move(respond));
      return;
    }
    for (const auto& m : r.methods) {
      if (!allow.empty()) allow += ", ";
      allow += m;
    }
  }
  if (!allow.empty()) {
    HttpResponse resp = HttpResponse::Text(405, "method not allowed\n");
    resp.headers.emplace_back("Allow", allow);
    respond(std::move(resp));
    return;
  }
  respond(HttpResponse::Text(404, "404 page not found\n"));
}

}  // namespace vivace::api
