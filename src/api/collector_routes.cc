#include "api/collector_routes.h"

#include <fmt/format.h>

#include <ctime>

#include "base/clock.h"
#include "pipeline/service.h"

namespace vivace::api {
namespace {

std::string Rfc3339(uint64_t unix_nanos) {
  time_t secs = static_cast<time_t>(unix_nanos / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, unix_nanos % 1000000000);
}

/// Go's time.Duration String() for positive durations at millisecond resolution or finer.
std::string GoDuration(uint64_t ns) {
  uint64_t h = ns / 3600000000000ull;
  uint64_t m = ns / 60000000000ull % 60;
  double s = static_cast<double>(ns % 60000000000ull) / 1e9;
  std::string out;
  if (h > 0) out += fmt::format("{}h", h);
  if (h > 0 || m > 0) out += fmt::format("{}m", m);
  out += fmt::format("{:.9g}s", s);
  return out;
}

int IntParam(const HttpRequest& req, std::string_view name, int fallback) {
  auto v = req.Query(name);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  return *end == '\0' ? static_cast<int>(n) : fallback;
}

HttpResponse Html(std::string body) {
  HttpResponse r = HttpResponse::Text(200, std::move(body));
  r.content_type = "text/html; charset=utf-8";
  return r;
}

}  // namespace

void RegisterHealthCheckRoute(Router* router, HealthCheckOptions options, std::function<bool()> healthy) {
  uint64_t up_since = NowUnixNanos();
  uint64_t started = MonotonicNanos();
  router->Exact({"GET"}, options.path, [options, healthy, up_since, started](HttpRequest&&, HttpResponder respond) {
    bool ok = healthy();
    std::string body;
    if (ok && !options.healthy_body.empty()) {
      body = options.healthy_body;
    } else if (!ok && !options.unhealthy_body.empty()) {
      body = options.unhealthy_body;
    } else if (ok) {
      body = fmt::format(R"({{"status":"Server available","upSince":"{}","uptime":"{}"}})", Rfc3339(up_since),
                         GoDuration(MonotonicNanos() - started));
    } else {
      body = fmt::format(R"({{"status":"Server not available","upSince":"{}","uptime":"{}"}})", Rfc3339(up_since),
                         GoDuration(MonotonicNanos() - started));
    }
    bool json = body.starts_with('{');
    respond(json ? HttpResponse::Json(ok ? 200 : 503, std::move(body))
                 : HttpResponse::Text(ok ? 200 : 503, std::move(body)));
  });
}

void RegisterZpagesRoutes(Router* router, pipeline::Service* service, std::string version) {
  router->Exact({"GET"}, "/debug/pipelinez",
                [service](HttpRequest&&, HttpResponder respond) { respond(Html(service->PipelinezHtml())); });
  router->Exact({"GET"}, "/debug/tracez", [service](HttpRequest&& req, HttpResponder respond) {
    std::string name = req.Query("zspanname").value_or("");
    respond(Html(service->tracez().Html(name, IntParam(req, "ztype", -1), IntParam(req, "zlatencybucket", -1))));
  });
  uint64_t start = NowUnixNanos();
  router->Exact({"GET"}, "/debug/servicez", [version, start](HttpRequest&&, HttpResponder respond) {
    respond(Html(fmt::format("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Service</title></head><body>"
                             "<h1>Vivace</h1><table><tr><td>Version</td><td>{}</td></tr>"
                             "<tr><td>Start time</td><td>{}</td></tr></table>"
                             "<p><a href=\"/debug/pipelinez\">Pipelines</a> · <a href=\"/debug/tracez\">Spans</a></p>"
                             "</body></html>",
                             version, Rfc3339(start))));
  });
}

}  // namespace vivace::api
