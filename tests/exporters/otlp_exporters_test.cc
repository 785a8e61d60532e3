// The OTLP exporters end to end against Vivace's own gRPC and HTTP servers on loopback.

#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "api/grpc_server.h"
#include "api/http.h"
#include "api/http_server.h"
#include "base/compression.h"
#include "base/protowire.h"
#include "base/test_util.h"
#include "conf/yaml.h"
#include "exporters/otlp_grpc.h"
#include "exporters/otlp_http.h"
#include "exporters/test_util.h"
#include "otlp/json_decode.h"
#include "otlp/proto_decode.h"
#include "otlp/proto_encode.h"
#include "receivers/otlp/otlp_receiver.h"

namespace vivace::exporters {
namespace {

using testing::MakeBatch;
using testing::RecordingClock;
using testing::SpanNumber;

constexpr const char* kExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// What the backend answers to one call.
struct Reply {
  int grpc_code = 0;
  int http_status = 200;
  std::string retry_after;    // HTTP Retry-After
  int64_t retry_info_ms = 0;  // gRPC RetryInfo.retry_delay
  uint64_t rejected = 0;      // partial success
  bool ok() const { return grpc_code == 0 && http_status / 100 == 2; }
};

// A scripted OTLP backend: records the spans of every request it accepts.
class Backend {
 public:
  std::function<Reply(int call)> script = [](int) { return Reply{}; };

  Reply Handle(std::string body, bool json, std::string tenant, std::string encoding,
               std::string content_type) {
    MutexLock lock(mu_);
    Reply r = script(calls_++);
    encodings_.push_back(std::move(encoding));
    content_types_.push_back(std::move(content_type));
    if (r.ok()) {
      bodies_.push_back(body);
      model::SpanBatch b;
      std::string_view view = b.arena.Adopt(std::move(body));
      Status s =
          json ? otlp::DecodeJsonRequest(view, {}, &b) : otlp::DecodeProtoRequest(view, {}, &b);
      EXPECT_TRUE(s.ok()) << s.ToString();
      for (size_t i = 0; i < b.size(); ++i) {
        ++counts_[SpanNumber(b.span_id[i])];
        names_[SpanNumber(b.span_id[i])] = std::string(b.name[i]);
      }
      tenants_.push_back(std::move(tenant));
      ++spans_;
    }
    cv_.NotifyAll();
    return r;
  }

  // Waits until `n` distinct spans arrived; false on timeout.
  bool WaitSpans(size_t n) {
    MutexLock lock(mu_);
    return cv_.WaitFor(mu_, std::chrono::seconds(20),
                       [&]() VV_REQUIRES(mu_) { return counts_.size() >= n; });
  }
  bool WaitCalls(int n) {
    MutexLock lock(mu_);
    return cv_.WaitFor(mu_, std::chrono::seconds(20),
                       [&]() VV_REQUIRES(mu_) { return calls_ >= n; });
  }
  std::map<uint64_t, int> counts() {
    MutexLock lock(mu_);
    return counts_;
  }
  std::map<uint64_t, std::string> names() {
    MutexLock lock(mu_);
    return names_;
  }
  int calls() {
    MutexLock lock(mu_);
    return calls_;
  }
  std::vector<std::string> tenants() {
    MutexLock lock(mu_);
    return tenants_;
  }
  std::vector<std::string> bodies() {
    MutexLock lock(mu_);
    return bodies_;
  }
  std::vector<std::string> encodings() {
    MutexLock lock(mu_);
    return encodings_;
  }
  std::vector<std::string> content_types() {
    MutexLock lock(mu_);
    return content_types_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int calls_ VV_GUARDED_BY(mu_) = 0;
  int spans_ VV_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, int> counts_ VV_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> names_ VV_GUARDED_BY(mu_);
  std::vector<std::string> tenants_ VV_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ VV_GUARDED_BY(mu_);
  std::vector<std::string> encodings_ VV_GUARDED_BY(mu_);
  std::vector<std::string> content_types_ VV_GUARDED_BY(mu_);
};

std::string ExportResponse(uint64_t rejected) {
  std::string out;
  if (rejected == 0) return out;
  protowire::Writer w(&out);
  size_t ps = w.BeginMessage(1);
  w.Varint(1, rejected);
  w.Bytes(2, "some spans were rejected");
  w.EndMessage(ps);
  return out;
}

// google.rpc.Status with RetryInfo{retry_delay = ms}.
std::string StatusWithRetryInfo(int code, int64_t ms) {
  std::string st;
  protowire::Writer w(&st);
  w.Varint(1, static_cast<uint64_t>(code));
  w.Bytes(2, "throttled");
  size_t any = w.BeginMessage(3);
  w.Bytes(1, "type.googleapis.com/google.rpc.RetryInfo");
  size_t value = w.BeginMessage(2);
  size_t delay = w.BeginMessage(1);
  w.Varint(1, static_cast<uint64_t>(ms / 1000));
  w.Varint(2, static_cast<uint64_t>(ms % 1000) * 1000000);
  w.EndMessage(delay);
  w.EndMessage(value);
  w.EndMessage(any);
  return st;
}

class GrpcBackend : public Backend {
 public:
  GrpcBackend() {
    std::map<std::string, api::GrpcHandler> handlers;
    handlers[kExportMethod] = [this](api::GrpcCall&& call, api::GrpcResponder respond) {
      Reply r = Handle(std::move(call.request), false, call.tenant, "", "");
      api::GrpcReply reply;
      reply.code = r.grpc_code;
      if (r.grpc_code == 0) {
        reply.message = ExportResponse(r.rejected);
      } else {
        reply.error_message = "backend says no";
        if (r.retry_info_ms > 0) reply.details = StatusWithRetryInfo(r.grpc_code, r.retry_info_ms);
      }
      respond(std::move(reply));
    };
    api::GrpcServerOptions o;
    o.listen = "127.0.0.1:0";
    auto s = api::GrpcServer::Start(o, std::move(handlers));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  ~GrpcBackend() { server_->Stop(1000); }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(server_->port()); }

 private:
  std::unique_ptr<api::GrpcServer> server_;
};

class HttpBackend : public Backend {
 public:
  HttpBackend() {
    router_.Exact(
        {"POST"}, "/v1/traces", [this](api::HttpRequest&& req, api::HttpResponder respond) {
          std::string encoding(req.Header("Content-Encoding"));
          std::string content_type(req.Header("Content-Type"));
          std::string body = std::move(req.body);
          if (!encoding.empty()) {
            Result<Codec> codec = CodecFromName(encoding);
            EXPECT_TRUE(codec.ok());
            Result<std::string> plain = Decompress(*codec, body, 64 << 20);
            EXPECT_TRUE(plain.ok()) << plain.status().ToString();
            body = std::move(*plain);
          }
          bool json = content_type == "application/json";
          Reply r = Handle(std::move(body), json, std::string(req.Header("X-Scope-OrgID")),
                           encoding, content_type);
          api::HttpResponse resp;
          resp.status = r.http_status;
          resp.content_type = "application/x-protobuf";
          resp.body = r.ok() ? ExportResponse(r.rejected)
                             : receivers::EncodeRpcStatus(14, "backend says no", 0);
          if (!r.retry_after.empty()) resp.headers.emplace_back("Retry-After", r.retry_after);
          respond(std::move(resp));
        });
    api::HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    auto s = api::HttpServer::Start(o, &router_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  ~HttpBackend() { server_->Stop(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  api::Router router_;
  std::unique_ptr<api::HttpServer> server_;
};

RetryOptions FastRetry() {
  RetryOptions r;
  r.initial_interval = Millis(5);
  r.max_interval = Millis(20);
  r.max_elapsed_time = Millis(60000);
  return r;
}

ComponentContext Ctx(const std::string& id, MetricsRegistry* metrics, std::string data_dir = "") {
  ComponentContext c;
  c.id = id;
  c.metrics = metrics;
  c.data_dir = std::move(data_dir);
  return c;
}

// Consume and wait for `done`.
model::ConsumeResult ConsumeSync(Exporter& e, std::unique_ptr<model::SpanBatch> batch) {
  Mutex mu;
  CondVar cv;
  std::optional<model::ConsumeResult> out;
  e.Consume(std::move(batch), [&](model::ConsumeResult r) {
    MutexLock lock(mu);
    out = std::move(r);
    cv.NotifyAll();
  });
  MutexLock lock(mu);
  cv.WaitFor(mu, std::chrono::seconds(30), [&]() VV_REQUIRES(mu) { return out.has_value(); });
  EXPECT_TRUE(out.has_value());
  return out ? std::move(*out) : model::ConsumeResult{Internal("done never called")};
}

void ExpectEachSpanOnce(Backend& b, uint64_t first, uint64_t n) {
  std::map<uint64_t, int> counts = b.counts();
  EXPECT_EQ(counts.size(), n);
  for (uint64_t i = first; i < first + n; ++i) EXPECT_EQ(counts[i], 1) << "span " << i;
}

// --- gRPC ---

OtlpGrpcOptions GrpcOptions(const GrpcBackend& b) {
  OtlpGrpcOptions o;
  o.endpoint = b.endpoint();
  o.tls.insecure = true;
  o.helper.retry = FastRetry();
  o.helper.queue.num_consumers = 2;
  return o;
}

TEST(OtlpGrpcExporterTest, UnavailableWithRetryInfoThenOkDeliversEverythingOnce) {
  GrpcBackend backend;
  backend.script = [](int call) {
    Reply r;
    if (call < 3) {
      r.grpc_code = 14;  // UNAVAILABLE
      r.retry_info_ms = 2500;
    }
    return r;
  };
  MetricsRegistry metrics;
  auto clock = std::make_unique<RecordingClock>(Millis(1));
  RecordingClock* clock_ptr = clock.get();
  auto e = NewOtlpGrpcExporter(Ctx("otlp/grpc", &metrics), GrpcOptions(backend), std::move(clock));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE((*e)->Start().ok());
  for (uint64_t b = 0; b < 5; ++b) {
    model::ConsumeResult r = ConsumeSync(**e, MakeBatch(b * 10, 10, b % 2 == 0 ? "team-a" : ""));
    EXPECT_TRUE(r.status.ok());  // queued
  }
  ASSERT_TRUE(backend.WaitSpans(50));
  (*e)->Shutdown();
  ExpectEachSpanOnce(backend, 0, 50);
  EXPECT_EQ(backend.calls(), 8);  // 3 refusals + 5 deliveries
  // RetryInfo's delay (2.5s, longer than the 5-20ms back-off) was honoured for each retry.
  std::vector<Millis> sleeps = clock_ptr->sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  for (Millis s : sleeps) EXPECT_GE(s, Millis(2500));
  // x-scope-orgid only for the non-default tenant.
  std::vector<std::string> tenants = backend.tenants();
  EXPECT_EQ(std::count(tenants.begin(), tenants.end(), "team-a"), 3);
  EXPECT_EQ(std::count(tenants.begin(), tenants.end(), ""), 2);
  Labels l = {{"exporter", "otlp/grpc"}};
  EXPECT_EQ(metrics.CounterValue("otelcol_exporter_sent_spans_total", l), 50u);
  EXPECT_EQ(metrics.CounterValue("otelcol_exporter_send_failed_spans_total", l), 0u);
}

TEST(OtlpGrpcExporterTest, PermanentErrorIsNotRetried) {
  GrpcBackend backend;
  backend.script = [](int) {
    Reply r;
    r.grpc_code = 3;  // INVALID_ARGUMENT
    return r;
  };
  MetricsRegistry metrics;
  OtlpGrpcOptions o = GrpcOptions(backend);
  o.helper.queue.enabled = false;  // done carries the outcome
  auto e = NewOtlpGrpcExporter(Ctx("otlp", &metrics), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  model::ConsumeResult r = ConsumeSync(**e, MakeBatch(0, 4));
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(backend.calls(), 1);
  EXPECT_EQ(
      metrics.CounterValue("otelcol_exporter_send_failed_spans_total", {{"exporter", "otlp"}}), 4u);
  (*e)->Shutdown();
}

TEST(OtlpGrpcExporterTest, ResourceExhaustedWithoutRetryInfoIsPermanent) {
  GrpcBackend backend;
  backend.script = [](int call) {
    Reply r;
    r.grpc_code = 8;
    if (call == 0) r.retry_info_ms = 10;  // first: throttled, retried; second: too big, dropped
    return r;
  };
  OtlpGrpcOptions o = GrpcOptions(backend);
  o.helper.queue.enabled = false;
  auto e = NewOtlpGrpcExporter(Ctx("otlp", nullptr), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  model::ConsumeResult r = ConsumeSync(**e, MakeBatch(0, 1));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(backend.calls(), 2);
  (*e)->Shutdown();
}

TEST(OtlpGrpcExporterTest, UncompressedAndPartialSuccess) {
  GrpcBackend backend;
  backend.script = [](int) {
    Reply r;
    r.rejected = 3;
    return r;
  };
  MetricsRegistry metrics;
  OtlpGrpcOptions o = GrpcOptions(backend);
  o.compression = Compression::kNone;
  o.helper.queue.enabled = false;
  auto e = NewOtlpGrpcExporter(Ctx("otlp", &metrics), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  auto batch = MakeBatch(100, 10);
  std::string expected;
  otlp::EncodeProtoTrace(*batch, &expected);
  model::ConsumeResult r = ConsumeSync(**e, std::move(batch));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.rejected_spans, 3u);
  EXPECT_EQ(backend.bodies(), std::vector<std::string>{expected});
  EXPECT_EQ(backend.calls(), 1);  // a partial success is not retried
  Labels l = {{"exporter", "otlp"}};
  EXPECT_EQ(metrics.CounterValue("otelcol_exporter_sent_spans_total", l), 7u);
  EXPECT_EQ(metrics.CounterValue("otelcol_exporter_send_failed_spans_total", l), 3u);
  (*e)->Shutdown();
}

TEST(OtlpGrpcExporterTest, DeadlineAndConnectionErrorsAreRetryable) {
  // Nothing listens on the port of a stopped server.
  std::string endpoint;
  {
    GrpcBackend gone;
    endpoint = gone.endpoint();
  }
  OtlpGrpcOptions o;
  o.endpoint = endpoint;
  o.tls.insecure = true;
  o.helper.queue.enabled = false;
  o.helper.retry.enabled = false;
  o.helper.timeout = Millis(2000);
  auto e = NewOtlpGrpcExporter(Ctx("otlp", nullptr), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  model::ConsumeResult r = ConsumeSync(**e, MakeBatch(0, 1));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
  (*e)->Shutdown();
}

// --- HTTP ---

OtlpHttpOptions HttpOptions(const HttpBackend& b) {
  OtlpHttpOptions o;
  o.endpoint = b.endpoint();
  o.helper.retry = FastRetry();
  o.helper.queue.num_consumers = 2;
  return o;
}

TEST(OtlpHttpExporterTest, ServiceUnavailableWithRetryAfterThenOkDeliversEverythingOnce) {
  HttpBackend backend;
  backend.script = [](int call) {
    Reply r;
    if (call < 2) {
      r.http_status = 503;
      r.retry_after = "3";
    } else if (call == 2) {
      r.http_status = 429;  // no Retry-After: the back-off alone
    }
    return r;
  };
  MetricsRegistry metrics;
  auto clock = std::make_unique<RecordingClock>(Millis(1));
  RecordingClock* clock_ptr = clock.get();
  OtlpHttpOptions o = HttpOptions(backend);
  o.helper.queue.num_consumers = 1;  // one sequence of retries, so the recorded waits are in order
  auto e = NewOtlpHttpExporter(Ctx("otlphttp", &metrics), o, std::move(clock));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE((*e)->Start().ok());
  for (uint64_t b = 0; b < 4; ++b) {
    EXPECT_TRUE(ConsumeSync(**e, MakeBatch(b * 25, 25)).status.ok());
  }
  ASSERT_TRUE(backend.WaitSpans(100));
  (*e)->Shutdown();
  ExpectEachSpanOnce(backend, 0, 100);
  EXPECT_EQ(backend.calls(), 7);
  std::vector<Millis> sleeps = clock_ptr->sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  EXPECT_GE(sleeps[0], Millis(3000));  // Retry-After honoured
  EXPECT_GE(sleeps[1], Millis(3000));
  EXPECT_LT(sleeps[2], Millis(1000));  // 429 without Retry-After: back-off (<= 30ms)
  EXPECT_EQ(metrics.CounterValue("otelcol_exporter_sent_spans_total", {{"exporter", "otlphttp"}}),
            100u);
}

TEST(OtlpHttpExporterTest, BadRequestIsNotRetried) {
  HttpBackend backend;
  backend.script = [](int) {
    Reply r;
    r.http_status = 400;
    return r;
  };
  MetricsRegistry metrics;
  OtlpHttpOptions o = HttpOptions(backend);
  o.helper.queue.enabled = false;
  auto e = NewOtlpHttpExporter(Ctx("otlphttp", &metrics), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  model::ConsumeResult r = ConsumeSync(**e, MakeBatch(0, 6));
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("400"), std::string_view::npos) << r.status.ToString();
  EXPECT_EQ(backend.calls(), 1);
  EXPECT_EQ(
      metrics.CounterValue("otelcol_exporter_send_failed_spans_total", {{"exporter", "otlphttp"}}),
      6u);
  (*e)->Shutdown();
}

TEST(OtlpHttpExporterTest, CompressedBodiesDecodeToTheSameSpans) {
  struct Case {
    Compression compression;
    const char* encoding;
  };
  const Case cases[] = {{Compression::kGzip, "gzip"},
                        {Compression::kZstd, "zstd"},
                        {Compression::kDeflate, "deflate"},
                        {Compression::kNone, ""}};
  for (const Case& c : cases) {
    HttpBackend backend;
    OtlpHttpOptions o = HttpOptions(backend);
    o.compression = c.compression;
    o.helper.queue.enabled = false;
    auto e = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Start().ok());
    auto batch = MakeBatch(7, 20);
    std::string expected;
    otlp::EncodeProtoTrace(*batch, &expected);
    EXPECT_TRUE(ConsumeSync(**e, std::move(batch)).status.ok());
    EXPECT_EQ(backend.encodings(), std::vector<std::string>{c.encoding});
    EXPECT_EQ(backend.content_types(), std::vector<std::string>{"application/x-protobuf"});
    EXPECT_EQ(backend.bodies(), std::vector<std::string>{expected}) << c.encoding;
    EXPECT_EQ(backend.names()[7], "op-7");
    (*e)->Shutdown();
  }
}

TEST(OtlpHttpExporterTest, TenantHeaderAndConfiguredHeadersAreSent) {
  HttpBackend backend;
  OtlpHttpOptions o = HttpOptions(backend);
  o.helper.queue.enabled = false;
  o.headers = {{"X-Scope-OrgID", "from-config"}};  // a batch's own tenant wins
  auto e = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  EXPECT_TRUE(ConsumeSync(**e, MakeBatch(0, 1, "tenant-1")).status.ok());
  EXPECT_TRUE(ConsumeSync(**e, MakeBatch(1, 1, "single-tenant")).status.ok());
  EXPECT_EQ(backend.tenants(), (std::vector<std::string>{"tenant-1", "from-config"}));
  (*e)->Shutdown();

  HttpBackend plain;
  OtlpHttpOptions p = HttpOptions(plain);
  p.helper.queue.enabled = false;
  auto f = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), p);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Start().ok());
  EXPECT_TRUE(ConsumeSync(**f, MakeBatch(0, 1, "single-tenant")).status.ok());
  EXPECT_TRUE(ConsumeSync(**f, MakeBatch(1, 1, "")).status.ok());
  EXPECT_EQ(plain.tenants(), (std::vector<std::string>{"", ""}));
  (*f)->Shutdown();
}

TEST(OtlpHttpExporterTest, JsonEncoding) {
  HttpBackend backend;
  OtlpHttpOptions o = HttpOptions(backend);
  o.helper.encoding = RequestEncoding::kJson;
  o.helper.queue.enabled = false;
  auto e = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  EXPECT_TRUE(ConsumeSync(**e, MakeBatch(40, 5)).status.ok());
  EXPECT_EQ(backend.content_types(), std::vector<std::string>{"application/json"});
  ExpectEachSpanOnce(backend, 40, 5);
  EXPECT_EQ(backend.names()[44], "op-44");
  (*e)->Shutdown();
}

TEST(OtlpHttpExporterTest, TimeoutsAndRefusedConnectionsAreRetryable) {
  // A backend that never answers in time.
  api::Router router;
  std::vector<api::HttpResponder> held;
  Mutex mu;
  router.Exact({"POST"}, "/v1/traces", [&](api::HttpRequest&&, api::HttpResponder respond) {
    MutexLock lock(mu);
    held.push_back(std::move(respond));
  });
  api::HttpServerOptions so;
  so.listen = "127.0.0.1:0";
  auto server = api::HttpServer::Start(so, &router);
  ASSERT_TRUE(server.ok());
  OtlpHttpOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string((*server)->port());
  o.helper.queue.enabled = false;
  o.helper.retry.enabled = false;
  o.helper.timeout = Millis(100);
  auto e = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  auto start = std::chrono::steady_clock::now();
  model::ConsumeResult r = ConsumeSync(**e, MakeBatch(0, 1));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable)
      << r.status.ToString();  // retryable upstream
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  (*e)->Shutdown();
  {
    MutexLock lock(mu);
    for (auto& respond : held) respond(api::HttpResponse::Text(200, ""));
    held.clear();  // the responders hold sessions, which must go before the server
  }
  (*server)->Stop();

  // Nothing listens any more.
  auto g = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), o);
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Start().ok());
  EXPECT_EQ(ConsumeSync(**g, MakeBatch(0, 1)).status.code(), StatusCode::kUnavailable);
  (*g)->Shutdown();
}

TEST(OtlpHttpExporterTest, PersistentQueueResumesAfterRestart) {
  vivace::testing::TempDir data;
  HttpBackend backend;
  std::atomic<bool> up{false};
  backend.script = [&](int) {
    Reply r;
    if (!up.load()) r.http_status = 503;
    return r;
  };
  OtlpHttpOptions o = HttpOptions(backend);
  o.helper.queue.storage = "file_storage";
  o.helper.retry.max_elapsed_time = Millis(0);  // retry until shutdown
  {
    auto e = NewOtlpHttpExporter(Ctx("otlphttp/persist", nullptr, data.path()), o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Start().ok());
    for (uint64_t b = 0; b < 3; ++b)
      EXPECT_TRUE(ConsumeSync(**e, MakeBatch(b * 10, 10)).status.ok());
    ASSERT_TRUE(backend.WaitCalls(3));  // being retried
    (*e)->Shutdown();
  }
  EXPECT_TRUE(backend.counts().empty());
  up = true;
  MetricsRegistry metrics;
  auto e = NewOtlpHttpExporter(Ctx("otlphttp/persist", &metrics, data.path()), o);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  ASSERT_TRUE(backend.WaitSpans(30));
  (*e)->Shutdown();
  ExpectEachSpanOnce(backend, 0, 30);
  EXPECT_EQ(
      metrics.CounterValue("otelcol_exporter_sent_spans_total", {{"exporter", "otlphttp/persist"}}),
      30u);
  EXPECT_TRUE(std::filesystem::is_empty(data.path() + "/otlphttp_persist"));
}

TEST(OtlpHttpExporterTest, StorageNeedsADataDirectory) {
  OtlpHttpOptions o;
  o.endpoint = "http://127.0.0.1:1";
  o.helper.queue.storage = "file_storage";
  auto e = NewOtlpHttpExporter(Ctx("otlphttp", nullptr), o);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Start().code(), StatusCode::kFailedPrecondition);
}

// --- configuration ---

template <typename T, typename Parse>
Result<T> ParseText(const std::string& text, Parse parse) {
  VV_ASSIGN_OR_RETURN(YAML::Node n, conf::LoadYaml(text));
  return parse(n, "exporters.x");
}

TEST(OtlpExporterConfigTest, GrpcDefaultsAndKeys) {
  auto o = ParseText<OtlpGrpcOptions>("endpoint: tempo:4317", ParseOtlpGrpcOptions);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->compression, Compression::kGzip);
  EXPECT_FALSE(o->tls.insecure);
  EXPECT_EQ(o->helper.timeout, Millis(5000));
  EXPECT_TRUE(o->helper.queue.enabled);
  EXPECT_TRUE(o->helper.retry.enabled);

  auto full = ParseText<OtlpGrpcOptions>(
      "endpoint: https://tempo:4317\ntls:\n  insecure: true\n  ca_file: /ca.pem\ncompression: "
      "none\n"
      "headers:\n  X-Scope-OrgID: acme\n  authorization: Bearer x\ntimeout: 2s\n"
      "sending_queue:\n  num_consumers: 3\nretry_on_failure:\n  enabled: false\n",
      ParseOtlpGrpcOptions);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->compression, Compression::kNone);
  EXPECT_TRUE(full->tls.insecure);
  EXPECT_EQ(full->tls.ca_file, "/ca.pem");
  EXPECT_EQ(full->headers, (HeaderList{{"X-Scope-OrgID", "acme"}, {"authorization", "Bearer x"}}));
  EXPECT_EQ(full->helper.timeout, Millis(2000));
  EXPECT_EQ(full->helper.queue.num_consumers, 3);
  EXPECT_FALSE(full->helper.retry.enabled);

  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case bad[] = {
      {"tls:\n  insecure: true", "requires a non-empty \"endpoint\""},
      {"endpoint: tempo", "must be host:port"},
      {"endpoint: tempo:4317\ncompression: zstd", "unsupported compression \"zstd\""},
      {"endpoint: tempo:4317\ntls:\n  cert_file: a.pem",
       "cert_file and key_file must be given together"},
      {"endpoint: tempo:4317\nkeepalive: {}", "exporters.x.keepalive (line 2): unknown key"},
  };
  for (const Case& c : bad) {
    auto e = ParseText<OtlpGrpcOptions>(c.yaml, ParseOtlpGrpcOptions);
    ASSERT_FALSE(e.ok()) << c.yaml;
    EXPECT_NE(e.status().message().find(c.error), std::string_view::npos) << e.status().ToString();
  }
}

TEST(OtlpExporterConfigTest, HttpUrlsAndKeys) {
  auto o = ParseText<OtlpHttpOptions>("endpoint: http://tempo:4318/", ParseOtlpHttpOptions);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(*OtlpHttpTracesUrl(*o), "http://tempo:4318/v1/traces");
  EXPECT_EQ(o->compression, Compression::kGzip);
  EXPECT_EQ(o->helper.encoding, RequestEncoding::kProto);

  auto t = ParseText<OtlpHttpOptions>(
      "endpoint: http://ignored:1\ntraces_endpoint: "
      "https://otlp.example.com/otlp/v1/traces\nencoding: json\n"
      "compression: zstd\n",
      ParseOtlpHttpOptions);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*OtlpHttpTracesUrl(*t), "https://otlp.example.com/otlp/v1/traces");
  EXPECT_EQ(t->helper.encoding, RequestEncoding::kJson);
  EXPECT_EQ(t->compression, Compression::kZstd);

  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case bad[] = {
      {"compression: gzip", "either endpoint or traces_endpoint must be specified"},
      {"endpoint: tempo:4318", "is not an http:// or https:// URL"},
      {"endpoint: http://tempo:4318\nencoding: thrift", "must be one of proto, json"},
      {"endpoint: http://tempo:4318\ncompression: snappy", "unsupported compression"},
  };
  for (const Case& c : bad) {
    auto e = ParseText<OtlpHttpOptions>(c.yaml, ParseOtlpHttpOptions);
    ASSERT_FALSE(e.ok()) << c.yaml;
    EXPECT_NE(e.status().message().find(c.error), std::string_view::npos) << e.status().ToString();
  }
}

}  // namespace
}  // namespace vivace::exporters
