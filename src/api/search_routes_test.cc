#include "api/search_routes.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/protowire.h"

namespace vivace::api {
namespace {

traceql::TraceResult Trace(std::string_view hex, std::string root) {
  traceql::TraceResult t;
  t.id = *model::ParseTraceIdHex(hex);
  t.root_service_name = std::move(root);
  t.start_unix_nano = 1000;
  t.duration_ms = 5;
  traceql::SpansetResult ss;
  traceql::SpanResult sp;
  sp.id = *model::SpanId::FromBytes(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  sp.name = "op";
  ss.spans.push_back(sp);
  ss.matched = 1;
  t.spansets.push_back(ss);
  return t;
}

// Records what it is asked; answers with canned results. Search reports each trace of `result`
// as its own progress batch first.
class FakeService : public query::SearchService {
 public:
  Result<traceql::SearchResult> Search(std::string_view tenant, const query::SearchRequest& request,
                                       const traceql::SearchProgress& progress) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      last_tenant = std::string(tenant);
      last_search = request;
      ++searches;
    }
    if (!fail.ok()) return fail;
    if (progress) {
      for (int round = 0; round < rounds; ++round) {
        for (size_t i = 0; i < result.traces.size(); ++i) {
          traceql::SearchMetrics m;
          m.completed_jobs = static_cast<uint32_t>(i + 1);
          if (!progress(std::span(&result.traces[i], 1), m)) {  // the engine stops the search
            stopped = true;
            return Status(StatusCode::kCancelled, "search cancelled by the client");
          }
          if (pause.count() > 0) std::this_thread::sleep_for(pause);
        }
      }
    }
    return result;
  }

  Result<query::TagNamesResult> TagNames(std::string_view tenant,
                                         const query::TagsRequest& request) override {
    std::lock_guard<std::mutex> lock(mu);
    last_tenant = std::string(tenant);
    last_tags = request;
    ++tag_calls;
    if (!fail.ok()) return fail;
    return names;
  }

  Result<query::TagValuesResult> TagValues(std::string_view tenant,
                                           const query::TagValuesRequest& request) override {
    std::lock_guard<std::mutex> lock(mu);
    last_tenant = std::string(tenant);
    last_values = request;
    ++value_calls;
    if (!fail.ok()) return fail;
    return values;
  }

  std::mutex mu;
  std::string last_tenant;
  query::SearchRequest last_search;
  query::TagsRequest last_tags;
  query::TagValuesRequest last_values;
  int searches = 0, tag_calls = 0, value_calls = 0;

  Status fail;
  traceql::SearchResult result;
  query::TagNamesResult names;
  query::TagValuesResult values;
  int rounds = 1;
  std::chrono::milliseconds pause{0};
  std::atomic<bool> stopped{false};  // progress answered false
};

class SearchRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterSearchRoutes(&router_, &service_); }

  HttpResponse Get(std::string path, std::string query = "", std::string accept = "") {
    HttpRequest r;
    r.method = "GET";
    r.path = std::move(path);
    r.query = std::move(query);
    r.headers.emplace_back("X-Scope-OrgID", "team-a");
    if (!accept.empty()) r.headers.emplace_back("Accept", std::move(accept));
    HttpResponse out;
    out.status = -1;
    router_.Dispatch(std::move(r), [&](HttpResponse resp) { out = std::move(resp); });
    return out;
  }

  Router router_;
  FakeService service_;
};

TEST_F(SearchRoutesTest, Search) {
  service_.result.traces.push_back(Trace("0abc", "api"));
  service_.result.metrics.total_jobs = 1;
  auto r = Get("/api/search", "q=%7B+.a+%3D+1+%7D&limit=5&spss=2&start=10&end=20");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body.rfind(R"({"traces":[{"traceID":"abc","rootServiceName":"api",)", 0), 0u)
      << r.body;
  EXPECT_NE(r.body.find(R"("metrics":{"totalJobs":1})"), std::string::npos) << r.body;
  EXPECT_EQ(service_.last_tenant, "team-a");
  EXPECT_EQ(service_.last_search.query, "{ .a = 1 }");
  EXPECT_EQ(service_.last_search.limit, 5u);
  EXPECT_EQ(service_.last_search.spans_per_spanset, 2u);
  EXPECT_EQ(service_.last_search.start_s, 10u);
  EXPECT_EQ(service_.last_search.end_s, 20u);

  r = Get("/api/search", "tags=service.name%3Dapi&minDuration=1s", "application/protobuf");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/protobuf");
  EXPECT_EQ(protowire::CountField(r.body, 1), 1);
  EXPECT_EQ(service_.last_search.query,
            R"({ resource.service.name =~ ".*api.*" } && { traceDuration >= 1000ms })");
}

TEST_F(SearchRoutesTest, SearchErrors) {
  auto r = Get("/api/search", "q=%7B%7D&tags=a%3Db");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "invalid request: can't specify tags and q in the same query");
  EXPECT_EQ(service_.searches, 0);

  r = Get("/api/search", "limit=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "invalid limit: must be a positive number");

  struct Case {
    Status status;
    int http;
  };
  const Case cases[] = {
      {InvalidArgument("parse error at line 1, col 3"), 400},
      {Unimplemented("metrics queries go to /api/metrics/query_range"), 400},
      {Status(StatusCode::kDeadlineExceeded, "search timed out"), 504},
      {ResourceExhausted("inspected bytes limit"), 429},
      {Internal("disk on fire"), 500},
  };
  for (const auto& c : cases) {
    service_.fail = c.status;
    r = Get("/api/search", "q=%7B%7D");
    EXPECT_EQ(r.status, c.http) << c.status.ToString();
    EXPECT_EQ(r.body.rfind(std::string(c.status.message()), 0), 0u) << r.body;
  }
}

TEST_F(SearchRoutesTest, TagNames) {
  service_.names.scopes["span"] = {"http.method"};
  service_.names.scopes["resource"] = {"service.name"};
  auto r = Get("/api/v2/search/tags", "scope=none&q=%7B%7D&limit=10&start=1&end=2");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(
      r.body.find(
          R"({"name":"resource","tags":["service.name"]},{"name":"span","tags":["http.method"]}])"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"({"name":"intrinsic","tags":[)"), std::string::npos) << r.body;
  EXPECT_EQ(service_.last_tags.scope, "");
  EXPECT_EQ(service_.last_tags.query, "{}");
  EXPECT_EQ(service_.last_tags.limit, 10u);

  r = Get("/api/search/tags");
  EXPECT_EQ(r.body, R"({"tagNames":["http.method","service.name"],"metrics":{}})");

  int calls = service_.tag_calls;
  r = Get("/api/v2/search/tags", "scope=intrinsic");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(service_.tag_calls, calls);  // answered without the service
  EXPECT_NE(r.body.find("\"trace:rootService\""), std::string::npos);

  r = Get("/api/v2/search/tags", "scope=bogus");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "invalid scope: bogus");
}

TEST_F(SearchRoutesTest, TagValues) {
  service_.values.values = {{"string", "b"}, {"string", "a"}};
  // The router has decoded the path once; Grafana encoded the tag twice.
  auto r = Get("/api/v2/search/tag/span.http%2Froute/values", "q=%7B%7D&limit=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"tagValues":[{"type":"string","value":"b"}],"metrics":{}})");
  EXPECT_EQ(service_.last_values.tag, "span.http/route");
  EXPECT_TRUE(service_.last_values.v2);
  EXPECT_EQ(service_.last_values.query, "{}");

  r = Get("/api/search/tag/service.name/values");
  EXPECT_EQ(r.body, R"({"tagValues":["a","b"],"metrics":{}})");
  EXPECT_EQ(service_.last_values.tag, "service.name");
  EXPECT_FALSE(service_.last_values.v2);

  int calls = service_.value_calls;
  r = Get("/api/v2/search/tag/status/values");
  EXPECT_EQ(r.body,
            R"({"tagValues":[{"type":"keyword","value":"ok"},{"type":"keyword","value":"error"},)"
            R"({"type":"keyword","value":"unset"}],"metrics":{}})");
  EXPECT_EQ(service_.value_calls, calls);

  r = Get("/api/v2/search/tag/name/values", "", "application/protobuf");
  EXPECT_EQ(r.content_type, "application/protobuf");
  EXPECT_EQ(protowire::CountField(r.body, 1), 2);

  EXPECT_EQ(Get("/api/search/tag/x/valuez").status, 404);
  r = Get("/api/search/tag//values");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "please provide a non-empty tagName");
  service_.fail = InvalidArgument("please provide a valid tagName: bad");
  EXPECT_EQ(Get("/api/v2/search/tag/span.x/values").status, 400);
  r = Get("/api/v2/search/tag/x/values");  // not a TraceQL identifier
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind("please provide a valid tagName: ", 0), 0u) << r.body;
}

// ---- gRPC streaming, with a real client ----

std::string ToString(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(b.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// The trace ids of a SearchResponse message, and its SearchMetrics.completedJobs.
std::vector<std::string> TraceIds(std::string_view message, uint64_t* completed_jobs) {
  std::vector<std::string> ids;
  protowire::Reader r(message);
  protowire::Field f;
  while (r.Next(&f)) {
    protowire::Reader sub(f.bytes);
    protowire::Field g;
    while (sub.Next(&g)) {
      if (f.number == 1 && g.number == 1) ids.emplace_back(g.bytes);
      if (f.number == 2 && g.number == 4) *completed_jobs = g.varint;
    }
  }
  EXPECT_TRUE(r.ok());
  return ids;
}

struct StreamOutcome {
  std::vector<std::string> messages;
  grpc::Status status;
};

// Calls the streaming search with a generic stub over the async API, reading at most
// `max_reads` messages before cancelling.
StreamOutcome CallSearch(uint16_t port, const std::string& request, const std::string& tenant,
                         size_t max_reads = SIZE_MAX) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  if (!tenant.empty()) ctx.AddMetadata("x-scope-orgid", tenant);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, std::string(kStreamingSearchMethod), &cq);
  auto step = [&cq](intptr_t want) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  StreamOutcome out;
  call->StartCall(reinterpret_cast<void*>(1));
  EXPECT_TRUE(step(1));
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1);
  call->WriteLast(req, grpc::WriteOptions(), reinterpret_cast<void*>(2));
  step(2);
  while (out.messages.size() < max_reads) {
    grpc::ByteBuffer msg;
    call->Read(&msg, reinterpret_cast<void*>(3));
    if (!step(3)) break;
    out.messages.push_back(ToString(msg));
  }
  if (out.messages.size() >= max_reads) ctx.TryCancel();
  call->Finish(&out.status, reinterpret_cast<void*>(4));
  step(4);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return out;
}

std::string SearchRequestProto(std::string_view query, uint32_t limit) {
  std::string msg;
  protowire::Writer w(&msg);
  w.Varint(4, limit);  // Limit
  w.Bytes(8, query);   // Query
  w.Varint(9, 3);      // SpansPerSpanSet
  return msg;
}

class StreamingSearchTest : public ::testing::Test {
 protected:
  void Start(SearchApiOptions options) {
    GrpcServerOptions o;
    o.listen = "127.0.0.1:0";
    auto s = GrpcServer::Start(
        o, {}, {{std::string(kStreamingSearchMethod), SearchStreamHandler(&service_, options)}});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  FakeService service_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(StreamingSearchTest, StreamsBatchesThenTheWholeResult) {
  SearchApiOptions options;
  options.stream_interval = std::chrono::milliseconds(0);
  Start(options);
  service_.result.traces = {Trace("a1", "api"), Trace("b2", "db")};
  service_.result.metrics.completed_jobs = 7;

  auto out = CallSearch(server_->port(), SearchRequestProto("{ .x = 1 }", 10), "team-b");
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.messages.size(), 3u);
  uint64_t jobs = 0;
  EXPECT_EQ(TraceIds(out.messages[0], &jobs), std::vector<std::string>({"a1"}));
  EXPECT_EQ(jobs, 1u);
  EXPECT_EQ(TraceIds(out.messages[1], &jobs), std::vector<std::string>({"b2"}));
  EXPECT_EQ(jobs, 2u);
  EXPECT_EQ(TraceIds(out.messages[2], &jobs), std::vector<std::string>({"a1", "b2"}));
  EXPECT_EQ(jobs, 7u);
  EXPECT_EQ(service_.last_tenant, "team-b");
  EXPECT_EQ(service_.last_search.query, "{ .x = 1 }");
  EXPECT_EQ(service_.last_search.limit, 10u);
  EXPECT_EQ(service_.last_search.spans_per_spanset, 3u);
}

TEST_F(StreamingSearchTest, HoldsBatchesWithinTheIntervalAndSplitsLargeMessages) {
  SearchApiOptions options;
  options.stream_interval = std::chrono::hours(1);  // no progress message at all
  options.max_stream_message_bytes = 10;            // one trace per message
  Start(options);
  service_.result.traces = {Trace("a1", "api"), Trace("b2", "db")};
  auto out = CallSearch(server_->port(), SearchRequestProto("{}", 0), "");
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.messages.size(), 2u);
  uint64_t jobs = 0;
  EXPECT_EQ(TraceIds(out.messages[0], &jobs), std::vector<std::string>({"a1"}));
  EXPECT_EQ(TraceIds(out.messages[1], &jobs), std::vector<std::string>({"b2"}));
  EXPECT_EQ(service_.last_tenant, "single-tenant");
  EXPECT_EQ(service_.last_search.limit, 20u);
}

TEST_F(StreamingSearchTest, Errors) {
  Start({});
  std::string both;
  protowire::Writer w(&both);
  size_t e = w.BeginMessage(1);
  w.Bytes(1, "a");
  w.Bytes(2, "b");
  w.EndMessage(e);
  w.Bytes(8, "{}");
  auto out = CallSearch(server_->port(), both, "");
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(out.status.error_message(),
            "invalid request: can't specify tags and q in the same query");
  EXPECT_TRUE(out.messages.empty());

  service_.fail = Status(StatusCode::kDeadlineExceeded, "search timed out");
  out = CallSearch(server_->port(), SearchRequestProto("{}", 0), "");
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(out.status.error_message(), "search timed out");
}

TEST_F(StreamingSearchTest, ClientCancelStopsTheStream) {
  SearchApiOptions options;
  options.stream_interval = std::chrono::milliseconds(0);
  Start(options);
  service_.result.traces = {Trace("a1", "api")};
  service_.rounds = 200;
  service_.pause = std::chrono::milliseconds(1);
  auto out = CallSearch(server_->port(), SearchRequestProto("{}", 0), "", 1);
  EXPECT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::CANCELLED);
  server_->Stop();  // returns once the handler has run to its end
  EXPECT_EQ(service_.searches, 1);
  EXPECT_TRUE(service_.stopped) << "the search ran on after the client went away";
}

}  // namespace
}  // namespace vivace::api
