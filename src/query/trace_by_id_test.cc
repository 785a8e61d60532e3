#include "query/trace_by_id.h"

#include <gtest/gtest.h>

#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace vivace::query {
namespace {

model::SpanBatch OneSpan() {
  model::SpanBatch b;
  b.resources.push_back(model::Resource{b.AllocAttributes(1), 0, ""});
  b.attributes[0] = model::KeyValue{"service.name", model::Value::String("my.service")};
  b.scopes.push_back(model::Scope{0, "my.library", "1.0.0", {}, 0, ""});
  model::SpanRow r;
  r.trace_id = *model::ParseTraceIdHex("5b8efff798038103d269b633813fc700");
  r.span_id = *model::SpanId::FromBytes(std::string("\xee\xe1\x9b\x7e\xc3\xc1\xb1\x00", 8));
  r.name = "I am a span!";
  r.kind = model::SpanKind::kServer;
  r.start_unix_nano = 1689969302000000000ull;
  r.end_unix_nano = 1689970000000000000ull;
  b.Append(r);
  return b;
}

TEST(TraceByIdTest, V1JsonUsesBatchesAndJsonpbConventions) {
  auto out = RenderTrace(OneSpan(), TraceApiVersion::kV1, TraceFormat::kJson, 0);
  EXPECT_EQ(out.content_type, "application/json");
  EXPECT_EQ(out.body.rfind("{\"batches\":[", 0), 0u) << out.body;
  EXPECT_NE(out.body.find("\"traceId\":\"W47/95gDgQPSabYzgT/HAA==\""), std::string::npos) << out.body;
  EXPECT_NE(out.body.find("\"spanId\":\"7uGbfsPBsQA=\""), std::string::npos);
  EXPECT_NE(out.body.find("\"kind\":\"SPAN_KIND_SERVER\""), std::string::npos);
  EXPECT_NE(out.body.find("\"startTimeUnixNano\":\"1689969302000000000\""), std::string::npos);
  EXPECT_NE(out.body.find("\"status\":{}"), std::string::npos);
}

TEST(TraceByIdTest, V2JsonWrapsTraceWithMetrics) {
  auto out = RenderTrace(OneSpan(), TraceApiVersion::kV2, TraceFormat::kJson, 42);
  EXPECT_EQ(out.body.rfind("{\"trace\":{\"resourceSpans\":[", 0), 0u) << out.body;
  EXPECT_NE(out.body.find("\"metrics\":{\"inspectedBytes\":\"42\"}"), std::string::npos);
}

TEST(TraceByIdTest, ProtobufParsesAsTrace) {
  auto v1 = RenderTrace(OneSpan(), TraceApiVersion::kV1, TraceFormat::kProtobuf, 0);
  EXPECT_EQ(v1.content_type, "application/protobuf");
  opentelemetry::proto::trace::v1::TracesData td;  // same layout as tempopb.Trace
  ASSERT_TRUE(td.ParseFromString(v1.body));
  ASSERT_EQ(td.resource_spans_size(), 1);
  EXPECT_EQ(td.resource_spans(0).scope_spans(0).spans(0).name(), "I am a span!");
  // v2: TraceByIDResponse{trace = 1}: field 1 holds the same Trace bytes.
  auto v2 = RenderTrace(OneSpan(), TraceApiVersion::kV2, TraceFormat::kProtobuf, 7);
  EXPECT_NE(v2.body.find(v1.body), std::string::npos);
  EXPECT_EQ(v2.body[0], '\x0a');
}

TEST(TraceByIdTest, AcceptHeader) {
  EXPECT_EQ(FormatFromAccept("application/protobuf"), TraceFormat::kProtobuf);
  EXPECT_EQ(FormatFromAccept("application/json, application/protobuf;q=0.9"), TraceFormat::kProtobuf);
  EXPECT_EQ(FormatFromAccept("*/*"), TraceFormat::kJson);
  EXPECT_EQ(FormatFromAccept(""), TraceFormat::kJson);
}

}  // namespace
}  // namespace vivace::query
