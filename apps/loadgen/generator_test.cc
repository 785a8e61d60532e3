#include "generator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "otlp/proto_decode.h"

namespace vivace::loadgen {
namespace {

TEST(GeneratorTest, TracesHaveTheAdvertisedShape) {
  Generator gen({.seed = 42});
  model::SpanBatch b;
  gen.Fill(&b, 20000);
  std::map<model::TraceId, int> spans_per_trace;
  std::map<model::TraceId, std::set<uint32_t>> services;
  size_t errors = 0, roots = 0;
  std::set<model::SpanId> ids;
  for (size_t i = 0; i < b.size(); ++i) {
    ++spans_per_trace[b.trace_id[i]];
    services[b.trace_id[i]].insert(b.scopes[b.span_scope[i]].resource);
    errors += b.status_code[i] == model::StatusCode::kError;
    roots += b.parent_span_id[i].IsZero();
    ids.insert(b.span_id[i]);
  }
  for (const auto& [t, n] : spans_per_trace) {
    EXPECT_GE(n, 5);
    EXPECT_LE(n, 60);
  }
  EXPECT_EQ(roots, spans_per_trace.size());  // exactly one root per trace
  EXPECT_EQ(ids.size(), b.size());            // unique span ids
  double error_rate = static_cast<double>(errors) / static_cast<double>(b.size());
  EXPECT_GT(error_rate, 0.03);
  EXPECT_LT(error_rate, 0.07);
  EXPECT_EQ(b.resources.size(), 12u);  // a dozen services
  size_t multi_service = 0;
  for (const auto& [t, s] : services) multi_service += s.size() > 1;
  EXPECT_GT(multi_service, spans_per_trace.size() / 2);
}

TEST(GeneratorTest, RequestsAreValidOtlpAndDeterministic) {
  size_t n1, n2;
  std::string r1 = Generator({.seed = 7, .start_unix_nano = 1}).Request(1000, &n1);
  std::string r2 = Generator({.seed = 7, .start_unix_nano = 1}).Request(1000, &n2);
  EXPECT_EQ(r1, r2);
  EXPECT_GE(n1, 1000u);
  model::SpanBatch b;
  ASSERT_TRUE(otlp::DecodeProtoRequest(r1, {}, &b).ok());
  EXPECT_EQ(b.size(), n1);
  double per_span = static_cast<double>(r1.size()) / static_cast<double>(n1);
  EXPECT_GT(per_span, 150);  // realistic size, comparable to the ~340 B/span of real SDK traffic
  EXPECT_LT(per_span, 600);
}

}  // namespace
}  // namespace vivace::loadgen
