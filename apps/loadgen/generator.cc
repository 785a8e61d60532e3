#include "generator.h"

#include <array>
#include <cstring>

#include "base/clock.h"
#include "otlp/proto_encode.h"

namespace vivace::loadgen {
namespace {

struct Service {
  const char* name;
  const char* kind;  // what it mostly does downstream: http, rpc, db, messaging
};
constexpr std::array<Service, 12> kServices = {{
    {"frontend", "http"},      {"checkout", "rpc"},  {"cart", "db"},          {"payment", "http"},
    {"shipping", "rpc"},       {"email", "messaging"}, {"currency", "rpc"},   {"recommendation", "db"},
    {"ad", "rpc"},             {"catalog", "db"},    {"auth", "db"},          {"inventory", "messaging"},
}};
constexpr const char* kRoutes[] = {"/api/cart", "/api/checkout", "/api/products/{id}", "/api/users/{id}",
                                   "/api/orders", "/health", "/api/recommendations", "/api/ads"};
constexpr const char* kMethods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
constexpr const char* kDbStatements[] = {
    "SELECT * FROM carts WHERE user_id = ?", "UPDATE inventory SET qty = qty - ? WHERE sku = ?",
    "INSERT INTO orders (id, user_id, total) VALUES (?, ?, ?)", "SELECT id, name, price FROM products WHERE id = ?"};
constexpr const char* kDbSystems[] = {"postgresql", "redis", "mysql"};

}  // namespace

struct Generator::Ctx {
  model::SpanBatch* b;
  model::TraceId trace_id;
  int spans_left;
  std::array<int64_t, kServices.size()> scope_of_service;
};

Generator::Generator(GeneratorOptions options) : opts_(options), rng_(options.seed) {
  clock_ = opts_.start_unix_nano != 0 ? opts_.start_unix_nano : NowUnixNanos();
}

void Generator::Fill(model::SpanBatch* b, size_t min_spans) {
  Ctx ctx{b, {}, 0, {}};
  ctx.scope_of_service.fill(-1);
  // Reuse resources already in the batch (one per service, in kServices order if created here).
  for (size_t s = 0; s < b->scopes.size() && s < kServices.size(); ++s) ctx.scope_of_service[s] = static_cast<int64_t>(s);
  while (b->size() < min_spans) Trace(ctx);
  b->otlp_proto = {};
}

std::string Generator::Request(size_t min_spans, size_t* spans_out) {
  model::SpanBatch b;
  Fill(&b, min_spans);
  std::string out;
  otlp::EncodeProtoTrace(b, &out);
  if (spans_out != nullptr) *spans_out = b.size();
  return out;
}

void Generator::Trace(Ctx& ctx) {
  uint64_t r1 = Rand(), r2 = Rand();
  std::memcpy(ctx.trace_id.bytes.data(), &r1, 8);
  std::memcpy(ctx.trace_id.bytes.data() + 8, &r2, 8);
  ctx.spans_left = opts_.min_spans + static_cast<int>(Rand() % static_cast<uint64_t>(opts_.max_spans - opts_.min_spans + 1));
  clock_ += 1000000 + Rand() % 5000000;  // traces start ~3 ms apart
  uint64_t duration = 5000000 + Rand() % 400000000;
  Span(ctx, 0, model::SpanId{}, clock_, duration, 1, 2);
}

uint32_t Generator::Span(Ctx& ctx, int service, const model::SpanId& parent, uint64_t start, uint64_t duration,
                         int depth, int kind) {
  model::SpanBatch& b = *ctx.b;
  if (ctx.scope_of_service[service] < 0) {
    const Service& sv = kServices[service];
    model::Range attrs = b.AllocAttributes(8);
    char pod[64];
    std::snprintf(pod, sizeof pod, "%s-%05x-%04x", sv.name, static_cast<unsigned>(Rand() & 0xfffff),
                  static_cast<unsigned>(Rand() & 0xffff));
    model::KeyValue kvs[8] = {
        {"service.name", model::Value::String(sv.name)},
        {"service.namespace", model::Value::String("shop")},
        {"service.version", model::Value::String("1.4.2")},
        {"deployment.environment", model::Value::String("production")},
        {"host.name", model::Value::String(b.arena.Copy(std::string("node-") + std::to_string(Rand() % 16)))},
        {"k8s.pod.name", model::Value::String(b.arena.Copy(pod))},
        {"telemetry.sdk.language", model::Value::String(service % 3 == 0 ? "nodejs" : service % 3 == 1 ? "go" : "java")},
        {"telemetry.sdk.version", model::Value::String("1.27.0")},
    };
    for (int k = 0; k < 8; ++k) b.attributes[attrs.first + k] = kvs[k];
    b.resources.push_back(model::Resource{attrs, 0, "https://opentelemetry.io/schemas/1.26.0"});
    b.scopes.push_back(model::Scope{static_cast<uint32_t>(b.resources.size() - 1), "io.opentelemetry.http", "0.52.0",
                                    {}, 0, ""});
    ctx.scope_of_service[service] = static_cast<int64_t>(b.scopes.size() - 1);
  }
  --ctx.spans_left;
  const Service& sv = kServices[service];
  model::SpanRow row;
  row.trace_id = ctx.trace_id;
  uint64_t sid = Rand() | 1;
  std::memcpy(row.span_id.bytes.data(), &sid, 8);
  row.parent_span_id = parent;
  row.flags = 0x301;  // sampled, parent-is-remote known
  row.scope = static_cast<uint32_t>(ctx.scope_of_service[service]);
  row.start_unix_nano = start;
  row.end_unix_nano = start + duration;
  bool error = Uniform() < opts_.error_rate;
  row.kind = static_cast<model::SpanKind>(kind);
  std::string_view downstream = sv.kind;
  model::KeyValue attrs[10];
  int n = 0;
  if (kind == 2 || downstream == "http") {
    const char* route = kRoutes[Rand() % std::size(kRoutes)];
    const char* method = kMethods[Rand() % std::size(kMethods)];
    row.name = b.arena.Copy(std::string(method) + " " + route);
    attrs[n++] = {"http.request.method", model::Value::String(method)};
    attrs[n++] = {"http.route", model::Value::String(route)};
    attrs[n++] = {"http.response.status_code", model::Value::Int(error ? 500 : 200)};
    attrs[n++] = {"url.scheme", model::Value::String("https")};
    attrs[n++] = {"server.address", model::Value::String(sv.name)};
    attrs[n++] = {"network.protocol.version", model::Value::String("1.1")};
  } else if (downstream == "db") {
    const char* stmt = kDbStatements[Rand() % std::size(kDbStatements)];
    const char* sys = kDbSystems[service % std::size(kDbSystems)];
    row.name = b.arena.Copy(std::string(stmt).substr(0, std::string(stmt).find(' ')) + " " + sys);
    attrs[n++] = {"db.system", model::Value::String(sys)};
    attrs[n++] = {"db.statement", model::Value::String(stmt)};
    attrs[n++] = {"db.name", model::Value::String("shop")};
    attrs[n++] = {"server.port", model::Value::Int(5432)};
  } else if (downstream == "rpc") {
    row.name = b.arena.Copy(std::string("shop.") + sv.name + "/Handle");
    attrs[n++] = {"rpc.system", model::Value::String("grpc")};
    attrs[n++] = {"rpc.service", model::Value::String(b.arena.Copy(std::string("shop.") + sv.name))};
    attrs[n++] = {"rpc.method", model::Value::String("Handle")};
    attrs[n++] = {"rpc.grpc.status_code", model::Value::Int(error ? 13 : 0)};
  } else {
    row.name = b.arena.Copy(std::string("publish ") + sv.name + ".events");
    attrs[n++] = {"messaging.system", model::Value::String("kafka")};
    attrs[n++] = {"messaging.destination.name", model::Value::String(b.arena.Copy(std::string(sv.name) + ".events"))};
    attrs[n++] = {"messaging.operation", model::Value::String("publish")};
  }
  attrs[n++] = {"thread.id", model::Value::Int(static_cast<int64_t>(1 + Rand() % 64))};
  attrs[n++] = {"code.namespace", model::Value::String(b.arena.Copy(std::string("shop.") + sv.name + ".handlers"))};
  row.attributes = b.AllocAttributes(static_cast<uint32_t>(n));
  for (int k = 0; k < n; ++k) b.attributes[row.attributes.first + k] = attrs[k];
  if (error) {
    row.status_code = model::StatusCode::kError;
    row.status_message = "internal error";
    row.events = b.AllocEvents(1);
    model::Range ea = b.AllocAttributes(3);
    b.attributes[ea.first] = {"exception.type", model::Value::String("java.lang.IllegalStateException")};
    b.attributes[ea.first + 1] = {"exception.message", model::Value::String("connection pool exhausted")};
    b.attributes[ea.first + 2] = {"exception.stacktrace",
                                  model::Value::String("at shop.Pool.acquire(Pool.java:42)\nat shop.Handler.run(Handler.java:7)")};
    b.events[row.events.first] = model::Event{start + duration / 2, "exception", ea, 0};
  } else if (Rand() % 10 == 0) {
    row.status_code = model::StatusCode::kOk;
  }
  if (Uniform() < opts_.link_rate) {
    row.links = b.AllocLinks(1);
    model::Link l;
    uint64_t a = Rand(), c = Rand(), d = Rand();
    std::memcpy(l.trace_id.bytes.data(), &a, 8);
    std::memcpy(l.trace_id.bytes.data() + 8, &c, 8);
    std::memcpy(l.span_id.bytes.data(), &d, 8);
    b.links[row.links.first] = l;
  }
  uint32_t index = static_cast<uint32_t>(b.size());
  b.Append(row);
  // Children: a SERVER span calls other services (a CLIENT span here, a SERVER span there) and
  // sometimes does internal work; CLIENT spans are leaves whose child lives in the callee.
  if (kind != 3 && depth < opts_.max_depth && ctx.spans_left > 0) {
    int children = kind == 2 ? 1 + static_cast<int>(Rand() % 3) : static_cast<int>(Rand() % 2);
    uint64_t t = start + duration / 20;
    for (int c = 0; c < children && ctx.spans_left > 0; ++c) {
      uint64_t child_duration = duration / static_cast<uint64_t>(children + 1);
      if (kind == 2 && Rand() % 5 != 0) {
        uint32_t client = Span(ctx, service, row.span_id, t, child_duration, depth + 1, 3);
        if (ctx.spans_left > 0) {
          int callee = 1 + static_cast<int>(Rand() % (kServices.size() - 1));
          Span(ctx, callee, b.span_id[client], t + child_duration / 10, child_duration * 8 / 10, depth + 2, 2);
        }
      } else {
        Span(ctx, service, row.span_id, t, child_duration, depth + 1, 1);
      }
      t += child_duration;
    }
  }
  // Guarantee the minimum span count for the trace by adding internal work at the root.
  while (depth == 1 && ctx.spans_left > 0) {
    Span(ctx, service, row.span_id, start + duration / 3, duration / 4, opts_.max_depth, 1);
  }
  return index;
}

}  // namespace vivace::loadgen
