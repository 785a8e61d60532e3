#include "query/search_render.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/protowire.h"
#include "base/strings.h"

namespace vivace::query {
namespace {

using scan::Static;

model::SpanId SpanIdOf(std::string_view hex) {
  model::SpanId id;
  EXPECT_TRUE(HexDecode(hex, id.bytes.data(), 8));
  return id;
}

// The trace of Tempo's documented search answer (docs/.../pushing-spans-with-http.md).
traceql::TraceResult DocTrace() {
  traceql::TraceResult t;
  t.id = *model::ParseTraceIdHex("5b8efff798038103d269b633813fc700");
  t.root_service_name = "my.service";
  t.root_trace_name = "I am a span!";
  t.start_unix_nano = 1694718625557000000ull;
  t.duration_ms = 10000;
  traceql::SpansetResult ss;
  traceql::SpanResult sp;
  sp.id = SpanIdOf("eee19b7ec3c1b100");
  sp.start_unix_nano = 1694718625557000000ull;
  sp.duration_nanos = 10000000000ull;
  sp.attributes.push_back({"service.name", Static::String("my.service")});
  ss.spans.push_back(sp);
  ss.matched = 1;
  t.spansets.push_back(ss);
  return t;
}

TEST(SearchRenderTest, JsonMatchesTempoDocExample) {
  traceql::SearchResult r;
  r.traces.push_back(DocTrace());
  r.metrics.inspected_bytes = 292781;
  r.metrics.completed_jobs = 1;
  r.metrics.total_jobs = 1;
  auto out = RenderSearch(r, TraceFormat::kJson);
  EXPECT_EQ(out.content_type, "application/json");
  const std::string span_set =
      R"({"spans":[{"spanID":"eee19b7ec3c1b100","startTimeUnixNano":"1694718625557000000",)"
      R"("durationNanos":"10000000000","attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]}],)"
      R"("matched":1})";
  EXPECT_EQ(
      out.body,
      R"({"traces":[{"traceID":"5b8efff798038103d269b633813fc700","rootServiceName":"my.service",)"
      R"("rootTraceName":"I am a span!","startTimeUnixNano":"1694718625557000000","durationMs":10000,)"
      R"("spanSet":)" +
          span_set + R"(,"spanSets":[)" + span_set +
          R"(]}],)"
          R"("metrics":{"inspectedBytes":"292781","completedJobs":1,"totalJobs":1}})");
}

TEST(SearchRenderTest, JsonEmptyAndDefaults) {
  EXPECT_EQ(RenderSearch({}, TraceFormat::kJson).body, R"({"metrics":{}})");
  traceql::SearchResult r;
  traceql::TraceResult t;
  t.id = *model::ParseTraceIdHex("abc");  // Tempo prints ids without leading zeros
  t.service_stats["api"] = {3, 1};
  t.service_stats["db"] = {2, 0};
  t.service_stats["z\"q"] = {0, 0};
  r.traces.push_back(t);
  r.metrics = {5, 6, 7, 1, 2, 3, 8};
  EXPECT_EQ(
      RenderSearch(r, TraceFormat::kJson).body,
      R"({"traces":[{"traceID":"abc","serviceStats":{"api":{"spanCount":3,"errorCount":1},)"
      R"("db":{"spanCount":2},"z\"q":{}}}],"metrics":{"inspectedTraces":5,"inspectedBytes":"6",)"
      R"("totalBlocks":1,"completedJobs":2,"totalJobs":3,"totalBlockBytes":"8","inspectedSpans":"7"}})");
}

TEST(SearchRenderTest, JsonAttributeValues) {
  traceql::SearchResult r;
  traceql::TraceResult t;
  t.id = *model::ParseTraceIdHex("1");
  traceql::SpansetResult ss;
  traceql::SpanResult sp;
  sp.id = SpanIdOf("00000000000000ff");
  sp.name = "GET /";
  Static ints;
  ints.type = scan::StaticType::kIntArray;
  ints.array = {Static::Int(1), Static::Int(-2)};
  Static strs;
  strs.type = scan::StaticType::kStringArray;
  sp.attributes = {
      {"i", Static::Int(42)},
      {"f", Static::Float(1.5)},
      {"f3", Static::Float(3)},
      {"b", Static::Bool(false)},
      {"d", Static::Duration(10000000)},
      {"status", Static::Status(2)},
      {"kind", Static::Kind(2)},
      {"n", Static::Nil()},
      {"ia", ints},
      {"sa", strs},
  };
  ss.spans.push_back(sp);
  ss.matched = 4;
  ss.attributes.push_back({"by(resource.service.name)", Static::String("api")});
  t.spansets = {ss, traceql::SpansetResult{}};
  r.traces.push_back(t);
  std::string body = RenderSearch(r, TraceFormat::kJson).body;
  EXPECT_EQ(
      body,
      R"({"traces":[{"traceID":"1","spanSet":{"spans":[{"spanID":"00000000000000ff","name":"GET /",)"
      R"("attributes":[{"key":"i","value":{"intValue":"42"}},{"key":"f","value":{"doubleValue":1.5}},)"
      R"({"key":"f3","value":{"doubleValue":3}},{"key":"b","value":{"boolValue":false}},)"
      R"({"key":"d","value":{"stringValue":"10ms"}},{"key":"status","value":{"stringValue":"error"}},)"
      R"({"key":"kind","value":{"stringValue":"server"}},{"key":"n","value":{"stringValue":"nil"}},)"
      R"({"key":"ia","value":{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"}]}}},)"
      R"({"key":"sa","value":{"arrayValue":{}}}]}],"matched":4,)"
      R"j("attributes":[{"key":"by(resource.service.name)","value":{"stringValue":"api"}}]},)j"
      R"("spanSets":[{"spans":[{"spanID":"00000000000000ff","name":"GET /","attributes":[)"
      R"({"key":"i","value":{"intValue":"42"}},{"key":"f","value":{"doubleValue":1.5}},)"
      R"({"key":"f3","value":{"doubleValue":3}},{"key":"b","value":{"boolValue":false}},)"
      R"({"key":"d","value":{"stringValue":"10ms"}},{"key":"status","value":{"stringValue":"error"}},)"
      R"({"key":"kind","value":{"stringValue":"server"}},{"key":"n","value":{"stringValue":"nil"}},)"
      R"({"key":"ia","value":{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"}]}}},)"
      R"({"key":"sa","value":{"arrayValue":{}}}]}],"matched":4,)"
      R"j("attributes":[{"key":"by(resource.service.name)","value":{"stringValue":"api"}}]},{}]}],)j"
      R"("metrics":{}})");
}

// Fields of a message, by number, for decode checks.
std::vector<protowire::Field> Fields(std::string_view message) {
  std::vector<protowire::Field> out;
  protowire::Reader r(message);
  protowire::Field f;
  while (r.Next(&f)) out.push_back(f);
  EXPECT_TRUE(r.ok());
  return out;
}

std::vector<protowire::Field> FieldsNumbered(std::string_view message, uint32_t number) {
  std::vector<protowire::Field> out;
  for (const auto& f : Fields(message)) {
    if (f.number == number) out.push_back(f);
  }
  return out;
}

TEST(SearchRenderTest, ProtobufDecodes) {
  traceql::SearchResult r;
  r.traces.push_back(DocTrace());
  r.traces[0].spansets[0].spans[0].attributes.push_back({"n", Static::Int(-1)});
  r.traces[0].spansets[0].spans[0].attributes.push_back({"f", Static::Float(0.25)});
  r.traces[0].service_stats["my.service"] = {1, 0};
  r.metrics.inspected_bytes = 292781;
  r.metrics.inspected_traces = 9;
  auto out = RenderSearch(r, TraceFormat::kProtobuf);
  EXPECT_EQ(out.content_type, "application/protobuf");

  auto top = Fields(out.body);  // SearchResponse{traces = 1, metrics = 2}
  ASSERT_EQ(top.size(), 2u);
  ASSERT_EQ(top[0].number, 1u);
  ASSERT_EQ(top[1].number, 2u);
  auto metrics = Fields(top[1].bytes);
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].number, 1u);  // inspectedTraces
  EXPECT_EQ(metrics[0].varint, 9u);
  EXPECT_EQ(metrics[1].number, 2u);  // inspectedBytes
  EXPECT_EQ(metrics[1].varint, 292781u);

  auto trace = Fields(top[0].bytes);
  ASSERT_EQ(trace.size(), 8u);
  EXPECT_EQ(trace[0].number, 1u);
  EXPECT_EQ(trace[0].bytes, "5b8efff798038103d269b633813fc700");
  EXPECT_EQ(trace[1].bytes, "my.service");
  EXPECT_EQ(trace[2].bytes, "I am a span!");
  EXPECT_EQ(trace[3].number, 4u);
  EXPECT_EQ(trace[3].varint, 1694718625557000000ull);
  EXPECT_EQ(trace[4].number, 5u);
  EXPECT_EQ(trace[4].varint, 10000u);
  EXPECT_EQ(trace[5].number, 6u);  // spanSet
  EXPECT_EQ(trace[6].number, 7u);  // spanSets[0]
  EXPECT_EQ(trace[5].bytes, trace[6].bytes);
  EXPECT_EQ(trace[7].number, 8u);  // serviceStats entry
  auto entry = Fields(trace[7].bytes);
  ASSERT_EQ(entry.size(), 2u);
  EXPECT_EQ(entry[0].bytes, "my.service");
  auto stats = Fields(entry[1].bytes);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].varint, 1u);

  auto spanset = Fields(trace[6].bytes);  // SpanSet{spans = 1, matched = 2}
  ASSERT_EQ(spanset.size(), 2u);
  EXPECT_EQ(spanset[1].number, 2u);
  EXPECT_EQ(spanset[1].varint, 1u);
  auto span = Fields(
      spanset[0]
          .bytes);  // Span{spanID = 1, startTimeUnixNano = 3, durationNanos = 4, attributes = 5}
  ASSERT_EQ(span.size(), 6u);
  EXPECT_EQ(span[0].bytes, "eee19b7ec3c1b100");
  EXPECT_EQ(span[1].number, 3u);
  EXPECT_EQ(span[2].number, 4u);
  EXPECT_EQ(span[2].varint, 10000000000ull);
  auto kv = Fields(span[3].bytes);  // KeyValue{key = 1, value = 2 AnyValue{string_value = 1}}
  EXPECT_EQ(kv[0].bytes, "service.name");
  EXPECT_EQ(Fields(kv[1].bytes)[0].number, 1u);
  EXPECT_EQ(Fields(kv[1].bytes)[0].bytes, "my.service");
  auto int_value = Fields(Fields(span[4].bytes)[1].bytes);  // int_value = 3, two's complement
  EXPECT_EQ(int_value[0].number, 3u);
  EXPECT_EQ(static_cast<int64_t>(int_value[0].varint), -1);
  auto double_value = Fields(Fields(span[5].bytes)[1].bytes);  // double_value = 4, fixed64
  EXPECT_EQ(double_value[0].number, 4u);
  EXPECT_EQ(double_value[0].type, protowire::WireType::kFixed64);
  EXPECT_EQ(protowire::AsDouble(double_value[0].varint), 0.25);

  // No traces: just the (empty) metrics message, as Tempo always sets it.
  EXPECT_EQ(RenderSearch({}, TraceFormat::kProtobuf).body, std::string("\x12\x00", 2));
}

TEST(SearchRenderTest, StreamSegments) {
  std::vector<traceql::TraceResult> traces(3, DocTrace());
  traceql::SearchMetrics m;
  m.total_jobs = 4;
  auto one = EncodeSearchSegments(traces, m, 1 << 20);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(protowire::CountField(one[0], 1), 3);
  EXPECT_EQ(protowire::CountField(one[0], 2), 1);
  EXPECT_EQ(one[0], RenderSearch({traces, m}, TraceFormat::kProtobuf).body);

  auto split = EncodeSearchSegments(traces, m, 10);  // smaller than one trace: one trace each
  ASSERT_EQ(split.size(), 3u);
  for (const auto& s : split) {
    EXPECT_EQ(protowire::CountField(s, 1), 1);
    EXPECT_EQ(protowire::CountField(s, 2), 1);
  }
  size_t trace_bytes = FieldsNumbered(one[0], 1)[0].bytes.size() + 4;
  auto two = EncodeSearchSegments(traces, m, 2 * trace_bytes + 8);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(protowire::CountField(two[0], 1), 2);
  EXPECT_EQ(protowire::CountField(two[1], 1), 1);

  auto none = EncodeSearchSegments({}, m, 10);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(protowire::CountField(none[0], 1), 0);
  EXPECT_EQ(protowire::CountField(none[0], 2), 1);
}

std::vector<std::string> SortedIntrinsics() {
  std::vector<std::string> v(IntrinsicTagNames().begin(), IntrinsicTagNames().end());
  std::sort(v.begin(), v.end());
  return v;
}

std::string JsonList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ",\"" : "\"") + v[i] + "\"";
  return out + "]";
}

TEST(SearchRenderTest, TagNames) {
  TagNamesResult found;
  found.scopes["resource"] = {"service.name", "cluster"};
  found.scopes["span"] = {"http.method", "service.name"};
  found.scopes["event"] = {};
  EXPECT_EQ(RenderTagNames(found, "", 0, false, TraceFormat::kJson).body,
            R"({"tagNames":["cluster","http.method","service.name"],"metrics":{}})");
  EXPECT_EQ(RenderTagNames(found, "", 2, false, TraceFormat::kJson).body,
            R"({"tagNames":["cluster","http.method"],"metrics":{}})");
  EXPECT_EQ(RenderTagNames({}, "intrinsic", 0, false, TraceFormat::kJson).body,
            R"({"tagNames":)" + JsonList(SortedIntrinsics()) + R"(,"metrics":{}})");
  EXPECT_EQ(RenderTagNames({}, "span", 0, false, TraceFormat::kJson).body, R"({"metrics":{}})");

  found.metrics.inspected_bytes = 10;
  found.metrics.total_blocks = 2;
  EXPECT_EQ(
      RenderTagNames(found, "resource", 1, true, TraceFormat::kJson).body,
      R"({"scopes":[{"name":"resource","tags":["cluster"]},{"name":"span","tags":["http.method"]}],)"
      R"("metrics":{"inspectedBytes":"10","totalBlocks":2}})");
  EXPECT_EQ(RenderTagNames({}, "", 0, true, TraceFormat::kJson).body,
            R"({"scopes":[{"name":"intrinsic","tags":)" + JsonList(SortedIntrinsics()) +
                R"(}],"metrics":{}})");

  auto pb = RenderTagNames(found, "", 0, true, TraceFormat::kProtobuf);
  EXPECT_EQ(pb.content_type, "application/protobuf");
  auto scopes = FieldsNumbered(pb.body, 1);  // SearchTagsV2Response{scopes = 1, metrics = 2}
  ASSERT_EQ(scopes.size(), 3u);              // intrinsic, resource, span
  auto resource = Fields(scopes[1].bytes);   // SearchTagsV2Scope{name = 1, tags = 2}
  ASSERT_EQ(resource.size(), 3u);
  EXPECT_EQ(resource[0].bytes, "resource");
  EXPECT_EQ(resource[1].bytes, "cluster");
  EXPECT_EQ(resource[2].bytes, "service.name");
  auto metrics = Fields(
      FieldsNumbered(pb.body, 2)[0].bytes);  // MetadataMetrics{inspectedBytes = 1, totalBlocks = 4}
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].varint, 10u);
  EXPECT_EQ(metrics[1].number, 4u);

  auto v1 = RenderTagNames(found, "", 0, false,
                           TraceFormat::kProtobuf);  // SearchTagsResponse{tagNames = 1}
  auto names = FieldsNumbered(v1.body, 1);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2].bytes, "service.name");
}

TEST(SearchRenderTest, TagValues) {
  TagValuesResult found;
  found.values = {{"string", "zzz"}, {"string", "error"}, {"string", "zzz"}};
  EXPECT_EQ(RenderTagValues(found, "status.code", 0, false, TraceFormat::kJson).body,
            R"({"tagValues":["error","ok","unset","zzz"],"metrics":{}})");
  EXPECT_EQ(RenderTagValues(found, "error", 0, false, TraceFormat::kJson).body,
            R"({"tagValues":["error","true","zzz"],"metrics":{}})");
  EXPECT_EQ(RenderTagValues({}, "x", 0, false, TraceFormat::kJson).body, R"({"metrics":{}})");

  found.values = {{"string", "a"}, {"int", "1"}, {"string", "a"}, {"string", "b"}};
  found.metrics.inspected_bytes = 3;
  EXPECT_EQ(RenderTagValues(found, "span.x", 0, true, TraceFormat::kJson).body,
            R"({"tagValues":[{"type":"string","value":"a"},{"type":"int","value":"1"},)"
            R"({"type":"string","value":"b"}],"metrics":{"inspectedBytes":"3"}})");
  EXPECT_EQ(RenderTagValues(found, "span.x", 2, true, TraceFormat::kJson).body,
            R"({"tagValues":[{"type":"string","value":"a"},{"type":"int","value":"1"}],)"
            R"("metrics":{"inspectedBytes":"3"}})");

  auto pb = RenderTagValues(found, "span.x", 0, true, TraceFormat::kProtobuf);
  auto values = FieldsNumbered(
      pb.body, 1);  // SearchTagValuesV2Response{tagValues = 1 TagValue{type = 1, value = 2}}
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(Fields(values[1].bytes)[0].bytes, "int");
  EXPECT_EQ(Fields(values[1].bytes)[1].bytes, "1");
  EXPECT_EQ(FieldsNumbered(pb.body, 2).size(), 1u);
  auto v1 = RenderTagValues(found, "x", 0, false,
                            TraceFormat::kProtobuf);  // SearchTagValuesResponse{tagValues = 1}
  EXPECT_EQ(protowire::CountField(v1.body, 1), 3);
}

TEST(SearchRenderTest, FixedAndStaticTagValues) {
  EXPECT_EQ(FixedTagValuesV2("span:status")->size(), 3u);
  EXPECT_EQ((*FixedTagValuesV2("kind"))[1], (TagValue{"keyword", "server"}));
  EXPECT_TRUE(FixedTagValuesV2("traceDuration")->empty());
  EXPECT_FALSE(FixedTagValuesV2("resource.service.name").has_value());
  EXPECT_FALSE(FixedTagValuesV2("trace:duration").has_value());  // not in Tempo's list either

  struct Case {
    Static value;
    TagValue want;
  };
  const Case cases[] = {
      {Static::String("a b"), {"string", "a b"}},
      {Static::Int(-3), {"int", "-3"}},
      {Static::Float(1.5), {"float", "1.5"}},
      {Static::Float(3), {"float", "3.0"}},
      {Static::Float(1e6), {"float", "1e+06"}},
      {Static::Bool(true), {"bool", "true"}},
      {Static::Duration(1500000000), {"duration", "1.5s"}},
      {Static::Status(1), {"keyword", "ok"}},
      {Static::Kind(3), {"keyword", "client"}},
  };
  for (const auto& c : cases) EXPECT_EQ(TagValueFromStatic(c.value), c.want) << c.want.value;
  EXPECT_FALSE(TagValueFromStatic(Static::Nil()).has_value());
}

}  // namespace
}  // namespace vivace::query
