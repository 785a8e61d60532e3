#include "receivers/otlp/otlp_receiver.h"

#include <gtest/gtest.h>

#include "base/compression.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace vivace::receivers {
namespace {

namespace pb = opentelemetry::proto;

// A sink that keeps what it is given and answers with a configurable result.
class RecordingSink : public model::SpanSink {
 public:
  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override {
    batches.push_back(std::move(batch));
    model::ConsumeResult r;
    r.status = next_status;
    r.retry_after_seconds = retry_after;
    done(std::move(r));
  }
  std::vector<std::unique_ptr<model::SpanBatch>> batches;
  Status next_status;
  uint32_t retry_after = 0;
};

std::string Request(int spans, bool zero_trace_id = false) {
  pb::collector::trace::v1::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  for (int i = 0; i < spans; ++i) {
    auto* sp = ss->add_spans();
    sp->set_trace_id(std::string(16, zero_trace_id && i == 0 ? '\0' : '\x07'));
    sp->set_span_id(std::string(7, '\x01') + static_cast<char>(i + 1));
    sp->set_name("span");
  }
  return req.SerializeAsString();
}

class OtlpReceiverTest : public ::testing::Test {
 protected:
  OtlpHttpResponse Http(OtlpHttpRequest req) {
    OtlpHttpResponse out;
    bool called = false;
    receiver_.HandleHttp(std::move(req), [&](OtlpHttpResponse r) {
      out = std::move(r);
      called = true;
    });
    EXPECT_TRUE(called);
    return out;
  }
  OtlpGrpcResponse Grpc(std::string msg, std::string_view tenant = "") {
    OtlpGrpcResponse out;
    receiver_.HandleGrpc(std::move(msg), tenant, [&](OtlpGrpcResponse r) { out = std::move(r); });
    return out;
  }
  static OtlpHttpRequest Post(std::string body, std::string_view type = "application/x-protobuf") {
    OtlpHttpRequest r;
    r.method = "POST";
    r.content_type = type;
    r.body = std::move(body);
    return r;
  }

  RecordingSink sink_;
  MetricsRegistry metrics_;
  OtlpReceiver receiver_{&sink_, OtlpReceiverOptions{.max_request_bytes = 1 << 20}, &metrics_};
};

TEST_F(OtlpReceiverTest, AcceptsProtobufAndCountsSpans) {
  auto r = Http(Post(Request(3)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  EXPECT_EQ(r.body, "");  // full success: partial_success unset
  ASSERT_EQ(sink_.batches.size(), 1u);
  EXPECT_EQ(sink_.batches[0]->size(), 3u);
  EXPECT_EQ(sink_.batches[0]->tenant, "single-tenant");
  EXPECT_FALSE(sink_.batches[0]->otlp_proto.empty());
  EXPECT_EQ(metrics_.CounterValue("otelcol_receiver_accepted_spans_total", {{"transport", "http"}}), 3u);
}

TEST_F(OtlpReceiverTest, AcceptsJsonWithCharsetAndTenant) {
  std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId":"5B8EFFF798038103D269B633813FC700","spanId":"eee19b7ec3c1b100","name":"x","kind":2}]}]}]})";
  auto req = Post(json, "application/json; charset=utf-8");
  req.tenant = "team-a";
  auto r = Http(std::move(req));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{}");
  ASSERT_EQ(sink_.batches.size(), 1u);
  EXPECT_EQ(sink_.batches[0]->tenant, "team-a");
  EXPECT_EQ(sink_.batches[0]->trace_id[0].Hex(), "5b8efff798038103d269b633813fc700");
}

TEST_F(OtlpReceiverTest, DecompressesBodies) {
  for (Codec c : {Codec::kGzip, Codec::kZstd, Codec::kDeflate}) {
    auto req = Post(*Compress(c, Request(2)));
    req.content_encoding = c == Codec::kGzip ? "gzip" : c == Codec::kZstd ? "zstd" : "deflate";
    EXPECT_EQ(Http(std::move(req)).status, 200);
  }
  EXPECT_EQ(sink_.batches.size(), 3u);
  auto bad = Post(Request(1));
  bad.content_encoding = "br";
  EXPECT_EQ(Http(std::move(bad)).status, 400);
}

TEST_F(OtlpReceiverTest, StatusCodesForBadRequests) {
  EXPECT_EQ(Http(Post("\xff\xff\xff\xff")).status, 400);
  EXPECT_EQ(Http(Post("{not json", "application/json")).status, 400);
  EXPECT_EQ(Http(Post(Request(1), "text/plain")).status, 415);
  auto get = Post("");
  get.method = "GET";
  auto r = Http(std::move(get));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  // Limit applies after decompression: a small gzip body that inflates past 1 MiB.
  auto bomb = Post(*Compress(Codec::kGzip, std::string(8 << 20, '\0')));
  bomb.content_encoding = "gzip";
  EXPECT_EQ(Http(std::move(bomb)).status, 413);
  EXPECT_EQ(Http(Post(std::string(2 << 20, '\0'))).status, 413);
  auto bad_tenant = Post(Request(1));
  bad_tenant.tenant = "a/b";
  EXPECT_EQ(Http(std::move(bad_tenant)).status, 400);
  EXPECT_TRUE(sink_.batches.empty());
}

TEST_F(OtlpReceiverTest, BackPressureIsRetryable) {
  sink_.next_status = Unavailable("memory limit");
  auto r = Http(Post(Request(2)));
  EXPECT_EQ(r.status, 503);
  EXPECT_GT(r.retry_after_seconds, 0u);
  sink_.next_status = ResourceExhausted("rate limited");
  EXPECT_EQ(Http(Post(Request(2))).status, 429);
  auto g = Grpc(Request(2));
  EXPECT_EQ(g.code, static_cast<int>(StatusCode::kResourceExhausted));
  EXPECT_NE(g.status_details.find("google.rpc.RetryInfo"), std::string::npos);
  EXPECT_EQ(metrics_.CounterValue("otelcol_receiver_refused_spans_total"), 6u);
}

TEST_F(OtlpReceiverTest, PartialSuccessForInvalidSpans) {
  auto r = Http(Post(Request(3, /*zero_trace_id=*/true)));
  EXPECT_EQ(r.status, 200);
  pb::collector::trace::v1::ExportTraceServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_EQ(resp.partial_success().rejected_spans(), 1);
  EXPECT_FALSE(resp.partial_success().error_message().empty());
  ASSERT_EQ(sink_.batches.size(), 1u);
  EXPECT_EQ(sink_.batches[0]->size(), 2u);
  EXPECT_TRUE(sink_.batches[0]->otlp_proto.empty());  // re-encoded downstream
}

TEST_F(OtlpReceiverTest, GrpcPath) {
  auto ok = Grpc(Request(4), "tenant-b");
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(sink_.batches.back()->tenant, "tenant-b");
  EXPECT_EQ(Grpc("\xff\xff").code, static_cast<int>(StatusCode::kInvalidArgument));
  EXPECT_EQ(Grpc(std::string(2 << 20, 'a')).code, static_cast<int>(StatusCode::kResourceExhausted));
  EXPECT_EQ(metrics_.CounterValue("otelcol_receiver_accepted_spans_total", {{"transport", "grpc"}}), 4u);
}

}  // namespace
}  // namespace vivace::receivers
