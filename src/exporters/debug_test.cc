#include "exporters/debug.h"

#include <gtest/gtest.h>

#include "conf/yaml.h"
#include "exporters/test_util.h"

namespace vivace::exporters {
namespace {

using model::KeyValue;
using model::Value;

struct Captured {
  std::vector<std::string> texts;
  DebugSink sink() {
    return [this](std::string_view t) { texts.emplace_back(t); };
  }
};

model::ConsumeResult Consume(DebugExporter& e, std::unique_ptr<model::SpanBatch> b) {
  model::ConsumeResult out{Internal("not called")};
  e.Consume(std::move(b), [&](model::ConsumeResult r) { out = std::move(r); });
  return out;
}

ComponentContext Ctx(MetricsRegistry* m) {
  ComponentContext c;
  c.id = "debug";
  c.metrics = m;
  return c;
}

TEST(DebugExporterTest, BasicWritesOneLinePerBatch) {
  Captured out;
  MetricsRegistry metrics;
  DebugExporter e(Ctx(&metrics), DebugOptions{}, out.sink());
  EXPECT_TRUE(Consume(e, testing::MakeBatch(0, 3)).status.ok());
  ASSERT_EQ(out.texts.size(), 1u);
  EXPECT_EQ(out.texts[0], R"(Traces {"resource spans": 1, "spans": 3})");
  EXPECT_EQ(metrics.CounterValue("otelcol_exporter_sent_spans_total", {{"exporter", "debug"}}), 3u);
}

TEST(DebugExporterTest, NormalWritesOneLinePerSpan) {
  Captured out;
  DebugOptions o;
  o.verbosity = DebugVerbosity::kNormal;
  DebugExporter e(Ctx(nullptr), o, out.sink());
  auto b = testing::MakeBatch(1, 2);
  // A second resource: the count line says 2 resource spans.
  model::Range ra = b->AllocAttributes(1);
  b->attributes[ra.first] = KeyValue{"service.name", Value::String("other")};
  b->resources.push_back(model::Resource{ra, 0, ""});
  b->scopes.push_back(model::Scope{1, "lib2", "", {}, 0, ""});
  b->span_scope[1] = 1;
  EXPECT_TRUE(Consume(e, std::move(b)).status.ok());
  ASSERT_EQ(out.texts.size(), 2u);
  EXPECT_EQ(out.texts[0], R"(Traces {"resource spans": 2, "spans": 2})");
  EXPECT_EQ(out.texts[1],
            "op-1 ab000000000000000000000000000001 0000000000000001 i=1\n"
            "op-2 ab000000000000000000000000000002 0000000000000002 i=2\n");
}

TEST(DebugExporterTest, DetailedWritesEveryField) {
  model::SpanBatch b;
  model::Range res = b.AllocAttributes(1);
  b.attributes[res.first] = KeyValue{"resource-attr", Value::String("resource-attr-val-1")};
  b.resources.push_back(model::Resource{res, 0, "https://schema"});
  b.scopes.push_back(model::Scope{0, "lib", "1.2", {}, 0, ""});
  model::SpanRow row;
  for (int i = 0; i < 16; ++i) row.trace_id.bytes[i] = static_cast<uint8_t>(i + 1);
  for (int i = 0; i < 8; ++i) row.span_id.bytes[i] = static_cast<uint8_t>(0x11 + i);
  row.name = "operationA";
  row.trace_state = "ot=th:0";
  row.start_unix_nano = 1581452772000000321ull;
  row.end_unix_nano = 1581452773000000789ull;
  row.status_code = model::StatusCode::kError;
  row.status_message = "status-cancelled";
  row.dropped_attributes_count = 1;
  row.attributes = b.AllocAttributes(4);
  model::Range arr = b.AllocValues(2);
  b.values[arr.first] = Value::Int(1);
  b.values[arr.first + 1] = Value::String("two");
  model::Range kv = b.AllocAttributes(2);
  b.attributes[kv.first] = KeyValue{"z", Value::Bool(true)};
  b.attributes[kv.first + 1] = KeyValue{"a", Value::Double(2.5)};
  b.attributes[row.attributes.first] = KeyValue{"http.status_code", Value::Int(200)};
  b.attributes[row.attributes.first + 1] = KeyValue{"ratio", Value::Double(0.25)};
  b.attributes[row.attributes.first + 2] = KeyValue{"list", Value::Array(arr)};
  b.attributes[row.attributes.first + 3] = KeyValue{"map", Value::KvList(kv)};
  row.events = b.AllocEvents(1);
  model::Range ev_attrs = b.AllocAttributes(1);
  b.attributes[ev_attrs.first] = KeyValue{"span-event-attr", Value::String("span-event-attr-val")};
  b.events[row.events.first] = model::Event{1581452773000000123ull, "event-with-attr", ev_attrs, 2};
  row.dropped_events_count = 1;
  row.links = b.AllocLinks(1);
  b.links[row.links.first] = model::Link{};
  b.links[row.links.first].dropped_attributes_count = 4;
  row.dropped_links_count = 3;
  b.Append(row);

  EXPECT_EQ(FormatDebugText(b, DebugVerbosity::kDetailed),
            "ResourceSpans #0\n"
            "Resource SchemaURL: https://schema\n"
            "Resource attributes:\n"
            "     -> resource-attr: Str(resource-attr-val-1)\n"
            "ScopeSpans #0\n"
            "ScopeSpans SchemaURL: \n"
            "InstrumentationScope lib 1.2\n"
            "Span #0\n"
            "    Trace ID       : 0102030405060708090a0b0c0d0e0f10\n"
            "    Parent ID      : \n"
            "    ID             : 1112131415161718\n"
            "    Name           : operationA\n"
            "    Kind           : Unspecified\n"
            "    TraceState     : ot=th:0\n"
            "    Start time     : 2020-02-11 20:26:12.000000321 +0000 UTC\n"
            "    End time       : 2020-02-11 20:26:13.000000789 +0000 UTC\n"
            "    Status code    : Error\n"
            "    Status message : status-cancelled\n"
            "    DroppedAttributesCount: 1\n"
            "Attributes:\n"
            "     -> http.status_code: Int(200)\n"
            "     -> ratio: Double(0.25)\n"
            "     -> list: Slice([1,\"two\"])\n"
            "     -> map: Map({\"a\":2.5,\"z\":true})\n"
            "Events:\n"
            "SpanEvent #0\n"
            "     -> Name: event-with-attr\n"
            "     -> Timestamp: 2020-02-11 20:26:13.000000123 +0000 UTC\n"
            "     -> DroppedAttributesCount: 2\n"
            "     -> Attributes::\n"
            "          -> span-event-attr: Str(span-event-attr-val)\n"
            "    DroppedEventsCount: 1\n"
            "Links:\n"
            "SpanLink #0\n"
            "     -> Trace ID: \n"
            "     -> ID: \n"
            "     -> TraceState: \n"
            "     -> DroppedAttributesCount: 4\n"
            "    DroppedLinksCount: 3\n");
}

TEST(DebugExporterTest, SamplingPerSecond) {
  struct Case {
    int64_t initial, thereafter;
    int batches;
    size_t written;
  };
  const Case cases[] = {{2, 1, 10, 10}, {2, 3, 11, 5}, {1, 0, 10, 1}, {0, 0, 5, 0}};
  for (const Case& c : cases) {
    Captured out;
    uint64_t now = 5'000'000'000;
    DebugOptions o;
    o.sampling_initial = c.initial;
    o.sampling_thereafter = c.thereafter;
    DebugExporter e(Ctx(nullptr), o, out.sink(), [&] { return now; });
    for (int i = 0; i < c.batches; ++i)
      EXPECT_TRUE(Consume(e, testing::MakeBatch(0, 1)).status.ok());
    EXPECT_EQ(out.texts.size(), c.written) << c.initial << "/" << c.thereafter;
    // A new second starts a new window.
    now += 1'000'000'000;
    out.texts.clear();
    Consume(e, testing::MakeBatch(0, 1));
    EXPECT_EQ(out.texts.size(), c.initial > 0 ? 1u : 0u);
  }
}

TEST(DebugExporterTest, EmptyBatchCompletes) {
  Captured out;
  DebugExporter e(Ctx(nullptr), DebugOptions{}, out.sink());
  EXPECT_TRUE(Consume(e, std::make_unique<model::SpanBatch>()).status.ok());
  EXPECT_TRUE(out.texts.empty());
}

TEST(DebugConfigTest, DefaultsAndKeys) {
  auto parse = [](const std::string& text) -> Result<DebugOptions> {
    VV_ASSIGN_OR_RETURN(YAML::Node n, conf::LoadYaml(text));
    return ParseDebugOptions(n, "exporters.debug");
  };
  Result<DebugOptions> d = parse("{}");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verbosity, DebugVerbosity::kBasic);
  EXPECT_EQ(d->sampling_initial, 2);
  EXPECT_EQ(d->sampling_thereafter, 1);
  EXPECT_TRUE(d->use_internal_logger);
  Result<DebugOptions> f =
      parse("verbosity: detailed\nsampling_initial: 5\nsampling_thereafter: 200\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->verbosity, DebugVerbosity::kDetailed);
  EXPECT_EQ(f->sampling_initial, 5);
  EXPECT_EQ(f->sampling_thereafter, 200);
  Result<DebugOptions> bad = parse("verbosity: loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("exporters.debug.verbosity (line 1)"),
            std::string_view::npos);
  EXPECT_FALSE(parse("loglevel: debug").ok());
}

}  // namespace
}  // namespace vivace::exporters
