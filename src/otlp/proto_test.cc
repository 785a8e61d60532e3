// Round trips between libprotobuf's generated classes (built from our own transcription of the
// OTLP .proto files) and Vivace's direct wire decoder/encoder.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/proto_decode.h"
#include "otlp/proto_encode.h"

namespace vivace::otlp {
namespace {

namespace pb = opentelemetry::proto;

class RandomRequest {
 public:
  explicit RandomRequest(uint32_t seed) : rng_(seed) {}

  pb::collector::trace::v1::ExportTraceServiceRequest Make() {
    pb::collector::trace::v1::ExportTraceServiceRequest req;
    int n_rs = 1 + Uniform(3);
    for (int r = 0; r < n_rs; ++r) {
      auto* rs = req.add_resource_spans();
      if (Uniform(2)) rs->set_schema_url("https://opentelemetry.io/schemas/1." + std::to_string(r));
      Attributes(rs->mutable_resource()->mutable_attributes(), 0);
      rs->mutable_resource()->set_dropped_attributes_count(Uniform(3));
      int n_ss = 1 + Uniform(3);
      for (int s = 0; s < n_ss; ++s) {
        auto* ss = rs->add_scope_spans();
        if (Uniform(2)) ss->set_schema_url("scope-schema");
        if (Uniform(3)) {
          ss->mutable_scope()->set_name("lib-" + std::to_string(s));
          ss->mutable_scope()->set_version("1.2." + std::to_string(s));
          Attributes(ss->mutable_scope()->mutable_attributes(), 0);
        }
        int n_spans = 1 + Uniform(5);
        for (int i = 0; i < n_spans; ++i) Span(ss->add_spans());
      }
    }
    return req;
  }

 private:
  int Uniform(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }

  void Value(pb::common::v1::AnyValue* v, int depth) {
    switch (Uniform(depth < 3 ? 7 : 5)) {
      case 0: v->set_string_value("str-" + std::to_string(rng_())); break;
      case 1: v->set_bool_value(Uniform(2) == 1); break;
      case 2: v->set_int_value(static_cast<int64_t>(rng_()) - (1ll << 31) * static_cast<int64_t>(rng_())); break;
      case 3: v->set_double_value(static_cast<double>(rng_()) / 7.0); break;
      case 4: v->set_bytes_value(Bytes(Uniform(20))); break;
      case 5: {
        auto* arr = v->mutable_array_value();
        int n = Uniform(4);
        for (int k = 0; k < n; ++k) Value(arr->add_values(), depth + 1);
        break;
      }
      default: Attributes(v->mutable_kvlist_value()->mutable_values(), depth + 1); break;
    }
  }

  void Attributes(google::protobuf::RepeatedPtrField<pb::common::v1::KeyValue>* kvs, int depth) {
    int n = Uniform(5);
    for (int k = 0; k < n; ++k) {
      auto* kv = kvs->Add();
      kv->set_key("key." + std::to_string(k));
      Value(kv->mutable_value(), depth);
    }
  }

  void Span(pb::trace::v1::Span* sp) {
    sp->set_trace_id(Bytes(16));
    sp->set_span_id(Bytes(8));
    if (Uniform(2)) sp->set_parent_span_id(Bytes(8));
    if (Uniform(3) == 0) sp->set_trace_state("rojo=00f067aa0ba902b7");
    sp->set_flags(Uniform(2) ? 0x101 : 0);
    sp->set_name("op-" + std::to_string(Uniform(10)));
    sp->set_kind(static_cast<pb::trace::v1::Span::SpanKind>(Uniform(6)));
    uint64_t start = 1700000000000000000ull + rng_();
    sp->set_start_time_unix_nano(start);
    sp->set_end_time_unix_nano(start + rng_());
    Attributes(sp->mutable_attributes(), 0);
    sp->set_dropped_attributes_count(Uniform(2));
    int n_ev = Uniform(3);
    for (int k = 0; k < n_ev; ++k) {
      auto* e = sp->add_events();
      e->set_time_unix_nano(start + k);
      e->set_name("exception");
      Attributes(e->mutable_attributes(), 0);
      e->set_dropped_attributes_count(Uniform(2));
    }
    sp->set_dropped_events_count(Uniform(2));
    int n_ln = Uniform(3);
    for (int k = 0; k < n_ln; ++k) {
      auto* l = sp->add_links();
      l->set_trace_id(Bytes(16));
      l->set_span_id(Bytes(8));
      l->set_trace_state("k=v");
      Attributes(l->mutable_attributes(), 0);
      l->set_dropped_attributes_count(Uniform(2));
      l->set_flags(Uniform(2) ? 1 : 0);
    }
    sp->set_dropped_links_count(Uniform(2));
    if (Uniform(2)) {
      sp->mutable_status()->set_code(static_cast<pb::trace::v1::Status::StatusCode>(Uniform(3)));
      if (Uniform(2)) sp->mutable_status()->set_message("boom");
    }
  }

  std::mt19937 rng_;
};

TEST(ProtoCodecTest, RandomRequestsRoundTripExactly) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    auto req = RandomRequest(seed).Make();
    std::string wire = req.SerializeAsString();
    model::SpanBatch batch;
    ASSERT_TRUE(DecodeProtoRequest(wire, DecodeLimits{}, &batch).ok());
    std::string out;
    EncodeProtoTrace(batch, &out);
    pb::collector::trace::v1::ExportTraceServiceRequest back;
    ASSERT_TRUE(back.ParseFromString(out));
    // Proto3 has no presence for an empty submessage's contents: an empty Status, Resource or
    // scope carries no information, and the encoder omits it.
    for (auto& rs : *req.mutable_resource_spans()) {
      if (rs.resource().ByteSizeLong() == 0) rs.clear_resource();
      for (auto& ss : *rs.mutable_scope_spans()) {
        if (ss.scope().ByteSizeLong() == 0) ss.clear_scope();
        for (auto& sp : *ss.mutable_spans()) {
          if (sp.status().ByteSizeLong() == 0) sp.clear_status();
        }
      }
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(req, back)) << "seed " << seed << ": " << diff;
  }
}

TEST(ProtoCodecTest, DecodesFieldsIntoColumns) {
  pb::collector::trace::v1::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("checkout");
  auto* sp = rs->add_scope_spans()->add_spans();
  sp->set_trace_id(std::string(16, '\x01'));
  sp->set_span_id(std::string(8, '\x02'));
  sp->set_name("GET /cart");
  sp->set_kind(pb::trace::v1::Span::SPAN_KIND_SERVER);
  sp->set_start_time_unix_nano(10);
  sp->set_end_time_unix_nano(25);
  sp->mutable_status()->set_code(pb::trace::v1::Status::STATUS_CODE_ERROR);
  std::string wire = req.SerializeAsString();
  model::SpanBatch b;
  ASSERT_TRUE(DecodeProtoRequest(wire, DecodeLimits{}, &b).ok());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.name[0], "GET /cart");
  EXPECT_EQ(b.kind[0], model::SpanKind::kServer);
  EXPECT_EQ(b.status_code[0], model::StatusCode::kError);
  EXPECT_EQ(b.end_unix_nano[0] - b.start_unix_nano[0], 15u);
  EXPECT_EQ(b.trace_id[0].bytes[15], 1);
  ASSERT_EQ(b.resources.size(), 1u);
  EXPECT_EQ(b.attributes[b.resources[0].attributes.first].value.string(), "checkout");
  // Zero copy: the name views the wire buffer.
  EXPECT_GE(b.name[0].data(), wire.data());
  EXPECT_LT(b.name[0].data(), wire.data() + wire.size());
}

TEST(ProtoCodecTest, RejectsMalformedInput) {
  auto req = RandomRequest(7).Make();
  std::string wire = req.SerializeAsString();
  int rejected = 0;
  for (size_t cut = 1; cut < wire.size(); cut += 13) {
    model::SpanBatch b;
    rejected += !DecodeProtoRequest(wire.substr(0, cut), DecodeLimits{}, &b).ok();
  }
  EXPECT_GT(rejected, 0);
  model::SpanBatch b;
  Status s = DecodeProtoRequest("\xff\xff\xff", DecodeLimits{}, &b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // A trace id of the wrong length.
  pb::collector::trace::v1::ExportTraceServiceRequest bad;
  bad.add_resource_spans()->add_scope_spans()->add_spans()->set_trace_id("short");
  s = DecodeProtoRequest(bad.SerializeAsString(), DecodeLimits{}, &b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("trace_id"), std::string_view::npos);
}

TEST(ProtoCodecTest, LimitsValueNesting) {
  pb::collector::trace::v1::ExportTraceServiceRequest req;
  auto* kv = req.add_resource_spans()->add_scope_spans()->add_spans()->add_attributes();
  kv->set_key("deep");
  pb::common::v1::AnyValue* v = kv->mutable_value();
  for (int i = 0; i < 40; ++i) v = v->mutable_array_value()->add_values();
  v->set_int_value(1);
  model::SpanBatch b;
  DecodeLimits limits;
  Status s = DecodeProtoRequest(req.SerializeAsString(), limits, &b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  limits.max_value_depth = 64;
  model::SpanBatch b2;
  EXPECT_TRUE(DecodeProtoRequest(req.SerializeAsString(), limits, &b2).ok());
}

TEST(ProtoCodecTest, EmptyRequestIsValid) {
  model::SpanBatch b;
  EXPECT_TRUE(DecodeProtoRequest("", DecodeLimits{}, &b).ok());
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace vivace::otlp
