#include "processors/filter.h"

#include <gtest/gtest.h>

#include "processors/attrs_test_util.h"

namespace vivace::processors {
namespace {

using model::SpanBatch;
using model::SpanKind;
using model::StatusCode;
using testing::AddResource;
using testing::AddScope;
using testing::AddSpan;
using testing::SpanSpec;
using testing::Yaml;

// s0: api/lib-a SERVER "GET /health" {http.route=/health, http.status_code=200, sampled=true}
// s1: api/lib-a SERVER "GET /users"  {http.route=/users, http.status_code=503}  status ERROR
// s2: api/lib-a INTERNAL "cache.get" {cache.hit=false, ratio=0.5}
// s3: web/lib-b CLIENT "say \"hi\""  {http.status_code="404"}                   status OK
// s4: web/lib-b INTERNAL "b"         {}
SpanBatch Fixture() {
  SpanBatch b;
  uint32_t api =
      AddResource(b, {{"service.name", std::string("api")}, {"env", std::string("prod")}});
  uint32_t web = AddResource(b, {{"service.name", std::string("web")}});
  uint32_t lib_a = AddScope(b, api, "lib-a", "1.0");
  uint32_t lib_b = AddScope(b, web, "lib-b", "2.0");
  AddSpan(b, {lib_a,
              "GET /health",
              {{"http.route", std::string("/health")},
               {"http.status_code", int64_t{200}},
               {"sampled", true}},
              SpanKind::kServer});
  AddSpan(b, {lib_a,
              "GET /users",
              {{"http.route", std::string("/users")}, {"http.status_code", int64_t{503}}},
              SpanKind::kServer,
              StatusCode::kError});
  AddSpan(b, {lib_a, "cache.get", {{"cache.hit", false}, {"ratio", 0.5}}, SpanKind::kInternal});
  AddSpan(b, {lib_b,
              "say \"hi\"",
              {{"http.status_code", std::string("404")}},
              SpanKind::kClient,
              StatusCode::kOk});
  AddSpan(b, {lib_b, "b", {}, SpanKind::kInternal});
  return b;
}

// Which spans of the fixture the condition holds for, e.g. "01000".
std::string Holds(const OttlCondition& c) {
  SpanBatch b = Fixture();
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) out += c.Eval(b, i) ? '1' : '0';
  return out;
}

struct ConditionCase {
  std::string condition;
  std::string want;
  OttlContext context = OttlContext::kSpan;
};

void PrintTo(const ConditionCase& c, std::ostream* os) { *os << c.condition; }

class ConditionTest : public ::testing::TestWithParam<ConditionCase> {};

TEST_P(ConditionTest, Evaluates) {
  const ConditionCase& c = GetParam();
  auto cond = OttlCondition::Parse(c.condition, c.context);
  ASSERT_TRUE(cond.ok()) << cond.status().ToString();
  EXPECT_EQ(Holds(*cond), c.want) << c.condition;
}

INSTANTIATE_TEST_SUITE_P(
    Ottl, ConditionTest,
    ::testing::Values(
        ConditionCase{R"(attributes["http.route"] == "/health")", "10000"},
        ConditionCase{R"(attributes["http.route"] != "/health")", "01111"},
        ConditionCase{R"(attributes["http.status_code"] >= 500)", "01000"},
        ConditionCase{R"(attributes["http.status_code"] < 300)", "10000"},
        ConditionCase{R"(attributes["http.status_code"] == 503.0)",
                      "01000"},  // int vs double: numeric
        ConditionCase{R"(attributes["http.status_code"] == "404")", "00010"},  // typed: string only
        ConditionCase{R"(attributes["http.status_code"] != 404)",
                      "11111"},                                     // mismatched types: unequal
        ConditionCase{R"(attributes["http.route"] > 1)", "00000"},  // mismatched types: no order
        ConditionCase{R"(attributes["ratio"] > 0.25)", "00100"},
        ConditionCase{R"(attributes["sampled"] == true)", "10000"},
        ConditionCase{R"(attributes["cache.hit"] < true)", "00100"},  // false < true
        ConditionCase{R"(attributes["missing"] == nil)", "11111"},
        ConditionCase{R"(attributes["http.route"] != nil)", "11000"},
        ConditionCase{R"(nil == nil)", "11111"},
        ConditionCase{R"(attributes["missing"] < 1)", "00000"},
        ConditionCase{R"(name == "GET /users")", "01000"},
        ConditionCase{R"(name < "c")", "11001"},  // bytewise
        ConditionCase{R"(name == "say \"hi\"")", "00010"},
        ConditionCase{R"(kind == SPAN_KIND_INTERNAL)", "00101"},
        ConditionCase{R"(kind == 2)", "11000"},
        ConditionCase{R"(kind.string == "Client")", "00010"},
        ConditionCase{R"(status.code == STATUS_CODE_ERROR)", "01000"},
        ConditionCase{R"(status.code != STATUS_CODE_UNSET)", "01010"},
        ConditionCase{R"(IsMatch(attributes["http.route"], "^/he"))", "10000"},
        ConditionCase{R"(IsMatch(name, "cache\\."))", "00100"},
        ConditionCase{R"(IsMatch(attributes["http.status_code"], "^5"))", "01000"},  // ints as text
        ConditionCase{R"(IsMatch(attributes["missing"], ".*"))", "00000"},  // nil never matches
        ConditionCase{R"(IsMatch(name, "^GET") == false)", "00111"},
        ConditionCase{R"(not IsMatch(name, "^GET"))", "00111"},
        ConditionCase{R"(resource.attributes["service.name"] == "api")", "11100"},
        ConditionCase{R"(resource.attributes["env"] == nil)", "00011"},
        ConditionCase{R"(instrumentation_scope.name == "lib-b")", "00011"},
        ConditionCase{R"(scope.version == "1.0")", "11100"},
        ConditionCase{R"(trace_id.string == "00000000000000000000000000000002")", "01000"},
        ConditionCase{R"(span_id.string == "0000000000000003")", "00100"},
        ConditionCase{R"(parent_span_id.string == "")", "11111"},
        ConditionCase{R"(span.name == "b" or span.attributes["http.route"] == "/users")", "01001"},
        ConditionCase{R"(kind == SPAN_KIND_SERVER and attributes["http.status_code"] < 500)",
                      "10000"},
        ConditionCase{
            R"(name == "b" or kind == SPAN_KIND_SERVER and status.code == STATUS_CODE_ERROR)",
            "01001"},
        ConditionCase{
            R"((name == "b" or kind == SPAN_KIND_SERVER) and status.code == STATUS_CODE_UNSET)",
            "10001"},
        ConditionCase{R"(not (name == "b" or kind == SPAN_KIND_SERVER))", "00110"},
        ConditionCase{R"(not name == "b")", "11110"}, ConditionCase{"true", "11111"},
        ConditionCase{"false", "00000"},
        // Context-inferred conditions (trace_conditions) and other contexts.
        ConditionCase{R"(span.kind == SPAN_KIND_CLIENT)", "00010", OttlContext::kInferred},
        ConditionCase{R"(resource.attributes["service.name"] == "web")", "00011",
                      OttlContext::kInferred},
        ConditionCase{R"(attributes["service.name"] == "web")", "00011", OttlContext::kResource},
        ConditionCase{R"(name == "lib-a")", "11100", OttlContext::kScope}));

TEST(OttlConditionTest, InfersTheContext) {
  auto span = OttlCondition::Parse(R"(resource.attributes["a"] == "b" and span.name == "x")",
                                   OttlContext::kInferred);
  ASSERT_TRUE(span.ok());
  EXPECT_EQ(span->context(), OttlContext::kSpan);
  auto resource =
      OttlCondition::Parse(R"(resource.attributes["a"] == "b")", OttlContext::kInferred);
  ASSERT_TRUE(resource.ok());
  EXPECT_EQ(resource->context(), OttlContext::kResource);
}

struct ParseErrorCase {
  std::string condition;
  std::string want;
  OttlContext context = OttlContext::kSpan;
};

void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.condition; }

class ConditionErrorTest : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(ConditionErrorTest, Rejects) {
  const ParseErrorCase& c = GetParam();
  auto cond = OttlCondition::Parse(c.condition, c.context);
  ASSERT_FALSE(cond.ok()) << c.condition;
  std::string msg(cond.status().message());
  EXPECT_NE(msg.find(c.want), std::string::npos) << msg;
  EXPECT_NE(msg.find("condition `" + c.condition + "`"), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Ottl, ConditionErrorTest,
    ::testing::Values(
        ParseErrorCase{R"(IsString(name))",
                       "unsupported function IsString (only IsMatch is supported)"},
        ParseErrorCase{R"(Len(name) > 3)", "unsupported function Len"},
        ParseErrorCase{R"(spanevent.name == "x")",
                       "span event paths (spanevent.*) are not supported"},
        ParseErrorCase{R"(attributes["a"])", "expected a comparison operator"},
        ParseErrorCase{R"(name ==)", "expected a value, found the end of the condition"},
        ParseErrorCase{R"(attributes == "x")", "must be indexed with a key"},
        ParseErrorCase{R"(name["x"] == "y")", "cannot be indexed"},
        ParseErrorCase{R"(attributes["a"]["b"] == "y")", "nested values"},
        ParseErrorCase{R"(attributes["a"] + 1 == 2)", "unsupported character '+'"},
        ParseErrorCase{R"(name == "x)", "unterminated string"},
        ParseErrorCase{R"(kind == SPAN_KIND_BOGUS)", "enum symbol SPAN_KIND_BOGUS not found"},
        ParseErrorCase{R"(span.foo == 1)", "unsupported path \"span.foo\""},
        ParseErrorCase{R"((name == "x")", "expected \")\""},
        ParseErrorCase{R"(name == "x" and)", "expected a value"},
        ParseErrorCase{R"(name == "x" name == "y")", "unexpected \"name\""},
        ParseErrorCase{R"(IsMatch(name, "("))", "invalid regular expression"},
        ParseErrorCase{R"(IsMatch(name, attributes["p"]))",
                       "pattern of IsMatch must be a string literal"},
        ParseErrorCase{R"(name == ["a"])", "list literals are not supported"},
        ParseErrorCase{R"(name == "x")", "has no context prefix", OttlContext::kInferred},
        ParseErrorCase{R"(span.name == "x")",
                       "span paths are not available in the resource context",
                       OttlContext::kResource}));

// ---- the processor ----

std::unique_ptr<FilterTransform> Make(const std::string& yaml, MetricsRegistry* metrics = nullptr) {
  auto options = ParseFilterOptions(Yaml(yaml), "processors.filter");
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  if (!options.ok()) return nullptr;
  model::ComponentContext ctx{"filter/test", "traces", metrics, ""};
  auto t = FilterTransform::Create(*options, ctx);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::string Kept(FilterTransform& t) {
  SpanBatch b = Fixture();
  t.Apply(b);
  std::string names;
  for (size_t i = 0; i < b.size(); ++i)
    names += (names.empty() ? "" : ",") + std::string(b.name[i]);
  return names;
}

TEST(FilterTest, ConfigurationForms) {
  struct Case {
    std::string yaml;
    std::string kept;
  };
  for (const Case& c : {
           Case{"spans:\n  include: {match_type: strict, services: [web]}", "say \"hi\",b"},
           Case{"spans:\n  exclude: {match_type: regexp, span_names: ['^GET']}",
                "cache.get,say \"hi\",b"},
           Case{"spans:\n  include: {match_type: strict, services: [api]}\n"
                "  exclude: {match_type: strict, span_kinds: [SPAN_KIND_INTERNAL]}",
                "GET /health,GET /users"},
           Case{"traces:\n  span:\n    - attributes[\"http.route\"] == \"/health\"\n    - kind == "
                "SPAN_KIND_INTERNAL",
                "GET /users,say \"hi\""},
           Case{"error_mode: propagate\ntraces:\n  resource:\n    - attributes[\"service.name\"] "
                "== \"web\"",
                "GET /health,GET /users,cache.get"},
           Case{"trace_conditions:\n  - span.status.code == STATUS_CODE_ERROR\n"
                "  - resource.attributes[\"service.name\"] == \"web\"",
                "GET /health,cache.get"},
           Case{"trace_conditions:\n  - context: span\n    conditions: ['name == \"b\"']\n"
                "  - context: resource\n    error_mode: ignore\n    conditions: "
                "['attributes[\"env\"] == \"prod\"']",
                "say \"hi\""},
           Case{"error_mode: ignore", "GET /health,GET /users,cache.get,say \"hi\",b"},
           Case{"metrics:\n  metric: ['name == \"x\"']\nlogs: {}",
                "GET /health,GET /users,cache.get,say \"hi\",b"},
       }) {
    auto t = Make(c.yaml);
    ASSERT_NE(t, nullptr) << c.yaml;
    EXPECT_EQ(Kept(*t), c.kept) << c.yaml;
  }
}

TEST(FilterTest, CountsDroppedSpansAndKeepsUntouchedBatches) {
  MetricsRegistry metrics;
  auto t = Make("traces:\n  span: ['kind == SPAN_KIND_INTERNAL']", &metrics);
  ASSERT_NE(t, nullptr);
  SpanBatch b = Fixture();
  t->Apply(b);
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(metrics.CounterValue("otelcol_processor_filter_spans_filtered_total",
                                 {{"filter", "filter/test"}}),
            2u);

  SpanBatch none;
  AddScope(none, AddResource(none, {}));
  AddSpan(none, SpanSpec{.kind = SpanKind::kServer});
  none.otlp_proto = "cached";
  t->Apply(none);
  EXPECT_EQ(none.size(), 1u);
  EXPECT_EQ(none.otlp_proto, "cached");
  EXPECT_EQ(metrics.CounterValue("otelcol_processor_filter_spans_filtered_total"), 2u);
}

TEST(FilterTest, EmptiedBatchCompletesWithoutReachingNext) {
  struct Next : model::SpanSink {
    int calls = 0;
    void Consume(std::unique_ptr<SpanBatch>, model::ConsumeCallback done) override {
      ++calls;
      done({});
    }
  } next;
  auto t = Make("traces:\n  span: ['true']");
  ASSERT_NE(t, nullptr);
  TransformProcessor p(std::move(t), &next);
  auto batch = std::make_unique<SpanBatch>(Fixture());
  bool done = false;
  p.Consume(std::move(batch), [&done](const model::ConsumeResult& r) {
    EXPECT_TRUE(r.status.ok());
    done = true;
  });
  EXPECT_TRUE(done);
  EXPECT_EQ(next.calls, 0);
}

TEST(FilterTest, ConfigErrors) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  for (const Case& c : {
           Case{"traces:\n  span:\n    - name == \"a\"\n    - Foo(name)",
                "processors.filter.traces.span[1] (line 4): condition `Foo(name)`: unsupported "
                "function Foo"},
           Case{"traces:\n  spanevent: ['name == \"x\"']",
                "processors.filter.traces.spanevent (line 2): span event"},
           Case{"trace_conditions: ['name == \"x\"']",
                "processors.filter.trace_conditions[0] (line 1): condition "},
           Case{"trace_conditions:\n  - context: spanevent\n    conditions: ['name == \"x\"']",
                "processors.filter.trace_conditions[0].context (line 2): context \"spanevent\" is "
                "not supported"},
           Case{"trace_conditions:\n  - 'span.name == \"x\"'\n  - {context: span, conditions: []}",
                "only Basic configuration or only Advanced configuration"},
           Case{"error_mode: loud",
                "processors.filter.error_mode (line 1): unknown error mode \"loud\""},
           Case{"spans:\n  include: {match_type: strict, services: [a]}\ntraces:\n  span: ['true']",
                "processors.filter (line 1): cannot use \"traces.resource\", \"traces.span\""},
           Case{"trace_conditions: ['span.name == \"x\"']\ntraces:\n  span: ['true']",
                "cannot use context inferred trace conditions"},
           Case{"spans:\n  include: {match_type: strict}", "at least one of \"services\""},
           Case{"span: ['true']", "processors.filter.span (line 1): unknown key"},
       }) {
    auto options = ParseFilterOptions(Yaml(c.yaml), "processors.filter");
    ASSERT_FALSE(options.ok()) << c.yaml;
    EXPECT_NE(options.status().message().find(c.want), std::string::npos)
        << options.status().ToString();
  }
}

}  // namespace
}  // namespace vivace::processors
