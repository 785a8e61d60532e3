#include "api/routes.h"

#include <fmt/format.h>

#include "base/strings.h"
#include "model/tenant.h"
#include "query/trace_by_id.h"

namespace vivace::api {
namespace {

// Parses unix seconds from a query parameter; 0 when absent. nullopt when malformed.
std::optional<uint64_t> UnixSeconds(const HttpRequest& req, std::string_view name) {
  auto v = req.Query(name);
  if (!v || v->empty()) return 0;
  uint64_t out = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || out > UINT64_MAX / 10) return std::nullopt;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return out;
}

void TraceByIdRoute(model::TraceSource* source, query::TraceApiVersion version, std::string_view prefix,
                    HttpRequest&& req, HttpResponder respond) {
  std::string_view id_text = std::string_view(req.path).substr(prefix.size());
  if (!id_text.empty() && id_text.back() == '/') id_text.remove_suffix(1);
  auto id = model::ParseTraceIdHex(id_text);
  if (!id || id->IsZero()) {
    respond(HttpResponse::Text(400, fmt::format("invalid trace id \"{}\": want 1 to 32 hex digits\n", id_text)));
    return;
  }
  auto start = UnixSeconds(req, "start");
  auto end = UnixSeconds(req, "end");
  if (!start || !end) {
    respond(HttpResponse::Text(400, "invalid start or end: want unix seconds\n"));
    return;
  }
  if (*start != 0 && *end != 0 && *end < *start) {
    respond(HttpResponse::Text(400, "invalid time range: end before start\n"));
    return;
  }
  std::string tenant = TenantOf(req);
  if (Status s = model::ValidateTenant(tenant); !s.ok()) {
    respond(HttpResponse::Text(400, std::string(s.message()) + "\n"));
    return;
  }
  auto trace = source->FindTrace(tenant, *id, *start, *end);
  if (!trace.ok()) {
    respond(HttpResponse::Text(500, trace.status().ToString() + "\n"));
    return;
  }
  if ((*trace)->empty()) {
    respond(HttpResponse::Text(404, "trace not found\n"));
    return;
  }
  auto rendered = query::RenderTrace(**trace, version, query::FormatFromAccept(req.Header("Accept")),
                                     (*trace)->MemoryBytes());
  HttpResponse resp;
  resp.content_type = std::move(rendered.content_type);
  resp.body = std::move(rendered.body);
  respond(std::move(resp));
}

}  // namespace

std::string TenantOf(const HttpRequest& request) {
  std::string_view t = Trim(request.Header("X-Scope-OrgID"));
  return t.empty() ? std::string(model::kDefaultTenant) : std::string(t);
}

void RegisterTraceRoutes(Router* router, model::TraceSource* source) {
  router->Prefix({"GET"}, "/api/traces/", [source](HttpRequest&& req, HttpResponder respond) {
    TraceByIdRoute(source, query::TraceApiVersion::kV1, "/api/traces/", std::move(req), std::move(respond));
  });
  router->Prefix({"GET"}, "/api/v2/traces/", [source](HttpRequest&& req, HttpResponder respond) {
    TraceByIdRoute(source, query::TraceApiVersion::kV2, "/api/v2/traces/", std::move(req), std::move(respond));
  });
}

void RegisterFlushRoute(Router* router, std::function<Status()> flush) {
  router->Exact({"GET", "POST"}, "/flush", [flush](HttpRequest&&, HttpResponder respond) {
    Status s = flush();
    if (s.ok()) {
      HttpResponse r;
      r.status = 204;
      respond(std::move(r));
    } else {
      respond(HttpResponse::Text(500, "flush failed: " + s.ToString() + "\n"));
    }
  });
}

void RegisterStatusRoutes(Router* router, BuildInfo info, MetricsRegistry* metrics, std::function<bool()> ready) {
  router->Exact({"GET"}, "/ready", [ready](HttpRequest&&, HttpResponder respond) {
    if (ready()) {
      respond(HttpResponse::Text(200, "ready\n"));
    } else {
      respond(HttpResponse::Text(503, "not ready\n"));
    }
  });
  router->Exact({"GET"}, "/api/echo", [](HttpRequest&&, HttpResponder respond) {
    respond(HttpResponse::Text(200, "echo"));
  });
  std::string body = "{\"version\":\"";
  AppendJsonEscaped(&body, info.version);
  body += "\",\"revision\":\"";
  AppendJsonEscaped(&body, info.revision);
  body += "\",\"branch\":\"";
  AppendJsonEscaped(&body, info.branch);
  body += "\",\"buildUser\":\"\",\"buildDate\":\"";
  AppendJsonEscaped(&body, info.build_date);
  body += "\",\"goVersion\":\"\"}";
  router->Exact({"GET"}, "/api/status/buildinfo", [body](HttpRequest&&, HttpResponder respond) {
    respond(HttpResponse::Json(200, body));
  });
  RegisterMetricsRoute(router, metrics);
}

void RegisterMetricsRoute(Router* router, MetricsRegistry* metrics) {
  router->Exact({"GET"}, "/metrics", [metrics](HttpRequest&&, HttpResponder respond) {
    HttpResponse r = HttpResponse::Text(200, metrics->Expose());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    respond(std::move(r));
  });
}

void RegisterOtlpHttpRoutes(Router* router, receivers::OtlpReceiver* receiver, std::string path) {
  // Every method reaches the receiver, which answers 405 itself, as the Collector does.
  router->Exact({}, std::move(path), [receiver](HttpRequest&& req, HttpResponder respond) {
    receivers::OtlpHttpRequest r;
    r.method = req.method;
    r.content_type = req.Header("Content-Type");
    r.content_encoding = req.Header("Content-Encoding");
    r.tenant = Trim(req.Header("X-Scope-OrgID"));
    r.body = std::move(req.body);
    receiver->HandleHttp(std::move(r), [respond = std::move(respond)](receivers::OtlpHttpResponse out) {
      HttpResponse resp;
      resp.status = out.status;
      resp.content_type = std::move(out.content_type);
      resp.body = std::move(out.body);
      if (out.retry_after_seconds > 0) resp.headers.emplace_back("Retry-After", std::to_string(out.retry_after_seconds));
      if (!out.allow.empty()) resp.headers.emplace_back("Allow", out.allow);
      respond(std::move(resp));
    });
  });
}

GrpcHandler OtlpGrpcHandler(receivers::OtlpReceiver* receiver) {
  return [receiver](GrpcCall&& call, GrpcResponder respond) {
    receiver->HandleGrpc(std::move(call.request), call.tenant,
                         [respond = std::move(respond)](receivers::OtlpGrpcResponse out) {
                           GrpcReply reply;
                           reply.code = out.code;
                           reply.message = std::move(out.message);
                           reply.error_message = std::move(out.error_message);
                           reply.details = std::move(out.status_details);
                           respond(std::move(reply));
                         });
  };
}

}  // namespace vivace::api
