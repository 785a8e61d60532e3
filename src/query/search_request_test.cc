#include "query/search_request.h"

#include <gtest/gtest.h>

#include "base/protowire.h"
#include "traceql/parser.h"

namespace vivace::query {
namespace {

Result<SearchRequest> ParseAndFinish(const QueryParams& params) {
  auto raw = ParseSearchParams(params);
  if (!raw.ok()) return raw.status();
  return FinishSearchRequest(*raw, SearchLimits{});
}

struct SearchCase {
  std::string_view name;
  QueryParams params;
  std::string_view query_or_error;  // the TraceQL sent to the service, or the 400 message
  bool ok = true;
  uint32_t limit = 20;
  uint32_t spss = 3;
  uint64_t start = 0;
  uint64_t end = 0;
};

TEST(SearchRequestTest, SearchParameters) {
  const SearchCase cases[] = {
      {"nothing", {}, "{}"},
      {"q", {{"q", "{ .a = 1 }"}}, "{ .a = 1 }"},
      {"q with everything",
       {{"q", "{}"}, {"limit", "5"}, {"spss", "10"}, {"start", "100"}, {"end", "200"}},
       "{}",
       true,
       5,
       10,
       100,
       200},
      {"spss 0 is unlimited", {{"q", "{}"}, {"spss", "0"}}, "{}", true, 20, 0},
      {"empty value is absent", {{"q", "{}"}, {"limit", ""}}, "{}"},
      {"first occurrence wins", {{"q", "{}"}, {"limit", "3"}, {"limit", "4"}}, "{}", true, 3},
      {"tags",
       {{"tags", "service.name=api http.status_code=500"}},
       R"({ span.http.status_code = 500 } && { resource.service.name =~ ".*api.*" })"},
      {"tags quoted", {{"tags", R"(foo="bar baz")"}}, R"({ .foo = "bar baz" })"},
      {"tags escaped quote", {{"tags", R"(a="x\"y")"}}, R"({ .a = "x\"y" })"},
      {"tags bare key", {{"tags", "foo"}}, R"({ .foo = "" })"},
      {"tags on two lines", {{"tags", "a=1\nb=2"}}, R"({ .a = "1" } && { .b = "2" })"},
      {"tags intrinsics",
       {{"tags", "status.code=error root.name=GET root.service.name=fe"}},
       R"({ trace:rootName =~ ".*GET.*" } && { trace:rootService =~ ".*fe.*" } && { status = error })"},
      {"tags unknown status is unset", {{"tags", "status.code=bad"}}, "{ status = unset }"},
      {"tags regex quoting",
       {{"tags", R"(name="GET /api.v1")"}},
       R"({ name =~ ".*GET /api\\.v1.*" })"},
      {"tags span columns",
       {{"tags", "http.method=GE http.url=/x"}},
       R"({ span.http.method =~ ".*GE.*" } && { span.http.url =~ ".*/x.*" })"},
      {"tags non-numeric status code",
       {{"tags", "http.status_code=abc"}},
       R"({ .http.status_code = "abc" })"},
      {"tags odd attribute name", {{"tags", "a(b=1"}}, R"({ ."a(b" = "1" })"},
      {"tags and durations",
       {{"tags", "k8s.pod.name=p"}, {"minDuration", "100ms"}, {"maxDuration", "1.5s"}},
       R"({ resource.k8s.pod.name =~ ".*p.*" } && { traceDuration >= 100ms && traceDuration <= 1500ms })"},
      {"min duration only", {{"minDuration", "2s"}}, "{ traceDuration >= 2000ms }"},
      {"legacy per-parameter tags",
       {{"service.name", "api"}, {"limit", "5"}, {"empty", ""}},
       R"({ resource.service.name =~ ".*api.*" })",
       true,
       5},
      {"no legacy tags with a time range",
       {{"service.name", "api"}, {"start", "1"}, {"end", "2"}},
       "{}",
       true,
       20,
       3,
       1,
       2},
      {"durations ignored with q", {{"q", "{ .x = 1 }"}, {"minDuration", "1s"}}, "{ .x = 1 }"},
      // Errors, with Tempo's messages.
      {"tags and q",
       {{"q", "{}"}, {"tags", "a=1"}},
       "invalid request: can't specify tags and q in the same query",
       false},
      {"tags and q, bad tags",
       {{"q", "{}"}, {"tags", "a=\""}},
       "invalid request: can't specify tags and q in the same query",
       false},
      {"unterminated quote",
       {{"tags", R"(a="b)"}},
       "invalid tags: unterminated quoted value at pos 5",
       false},
      {"quote in value", {{"tags", R"(a=b"c)"}}, "invalid tags: unexpected '\"' at pos 4", false},
      {"quote in key", {{"tags", R"(a"b=c)"}}, "invalid tags: unexpected '\"' at pos 2", false},
      {"no key", {{"tags", "=a"}}, "invalid tags: unexpected '=' at pos 1", false},
      {"bad escape", {{"tags", R"(a="\q")"}}, "invalid tags: invalid quoted value at pos 7", false},
      {"repeated tag", {{"tags", "a=1 a=2"}}, "invalid tags: tag a has been set twice", false},
      {"bad min",
       {{"minDuration", "abc"}},
       R"(invalid minDuration: time: invalid duration "abc")",
       false},
      {"bad max",
       {{"maxDuration", "10"}},
       R"(invalid maxDuration: time: missing unit in duration "10")",
       false},
      {"max below min",
       {{"minDuration", "2s"}, {"maxDuration", "1s"}},
       "invalid maxDuration: must be greater than minDuration",
       false},
      {"max zero with min",
       {{"minDuration", "2s"}, {"maxDuration", "0"}},
       "invalid maxDuration: must be greater than minDuration",
       false},
      {"limit zero", {{"limit", "0"}}, "invalid limit: must be a positive number", false},
      {"limit text",
       {{"limit", "x"}},
       R"(invalid limit: strconv.ParseUint: parsing "x": invalid syntax)",
       false},
      {"limit above max", {{"limit", "300000"}}, "limit 300000 exceeds max limit 262144", false},
      {"spss text",
       {{"spss", "-1"}},
       R"(invalid spss: strconv.ParseUint: parsing "-1": invalid syntax)",
       false},
      {"spss above max", {{"spss", "101"}}, "spans per span set exceeds 100. received 101", false},
      {"start text",
       {{"start", "abc"}},
       R"(invalid start: strconv.ParseUint: parsing "abc": invalid syntax)",
       false},
      {"end too big",
       {{"start", "1"}, {"end", "4294967296"}},
       R"(invalid end: strconv.ParseUint: parsing "4294967296": value out of range)",
       false},
      {"end before start",
       {{"start", "200"}, {"end", "100"}},
       "http parameter start must be before end. received start=200 end=100",
       false},
      {"start without end",
       {{"start", "100"}},
       "http parameter start must be before end. received start=100 end=0",
       false},
      {"range too long",
       {{"start", "1"}, {"end", "1000000"}},
       "range specified by start and end exceeds 168h0m0s. received start=1 end=1000000",
       false},
  };
  for (const auto& c : cases) {
    auto r = ParseAndFinish(c.params);
    if (!c.ok) {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
      EXPECT_EQ(r.status().message(), c.query_or_error) << c.name;
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().ToString();
    EXPECT_EQ(r->query, c.query_or_error) << c.name;
    // What we make of legacy tags must be TraceQL the engine accepts.
    auto parsed = traceql::ParseAndValidate(r->query);
    EXPECT_TRUE(parsed.ok()) << c.name << ": " << parsed.status().ToString();
    EXPECT_EQ(r->limit, c.limit) << c.name;
    EXPECT_EQ(r->spans_per_spanset, c.spss) << c.name;
    EXPECT_EQ(r->start_s, c.start) << c.name;
    EXPECT_EQ(r->end_s, c.end) << c.name;
  }
}

TEST(SearchRequestTest, QuerySizeLimit) {
  SearchLimits limits;
  limits.max_query_bytes = 10;
  RawSearchRequest raw;
  raw.query = "{ .abc = 12345 }";
  auto r = FinishSearchRequest(raw, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "TraceQL expression exceeds the configured maximum size of 10 bytes, reduce the query "
            "expression size or "
            "contact your system administrator");
  limits = SearchLimits{};
  limits.max_limit = 0;
  limits.max_spans_per_spanset = 0;
  limits.max_duration_seconds = 0;
  raw.limit = 1000000;
  raw.spans_per_spanset = 1000;
  raw.start_s = 1;
  raw.end_s = 4000000000;
  EXPECT_TRUE(FinishSearchRequest(raw, limits).ok());
}

TEST(SearchRequestTest, GrpcRequest) {
  std::string msg;
  protowire::Writer w(&msg);
  size_t e = w.BeginMessage(1);  // Tags map entry
  w.Bytes(1, "service.name");
  w.Bytes(2, "api");
  w.EndMessage(e);
  w.Varint(2, 100);  // MinDurationMs
  w.Varint(4, 7);    // Limit
  w.Varint(5, 10);   // start
  w.Varint(6, 20);   // end
  w.Varint(9, 5);    // SpansPerSpanSet
  w.Bytes(12, "ignored unknown field");
  auto raw = DecodeSearchRequestProto(msg);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  auto req = FinishSearchRequest(*raw, SearchLimits{});
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->query, R"({ resource.service.name =~ ".*api.*" } && { traceDuration >= 100ms })");
  EXPECT_EQ(req->limit, 7u);
  EXPECT_EQ(req->spans_per_spanset, 5u);
  EXPECT_EQ(req->start_s, 10u);
  EXPECT_EQ(req->end_s, 20u);

  // Query = 8; an absent SpansPerSpanSet is 0, which Tempo passes on as "unlimited".
  msg.clear();
  w.Bytes(8, "{ status = error }");
  raw = DecodeSearchRequestProto(msg);
  ASSERT_TRUE(raw.ok());
  req = FinishSearchRequest(*raw, SearchLimits{});
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->query, "{ status = error }");
  EXPECT_EQ(req->limit, 20u);
  EXPECT_EQ(req->spans_per_spanset, 0u);

  // Both q and tags, as Tempo's frontend rebuilds the request: the same 400 as over HTTP.
  e = w.BeginMessage(1);
  w.Bytes(1, "a");
  w.Bytes(2, "b");
  w.EndMessage(e);
  req = FinishSearchRequest(*DecodeSearchRequestProto(msg), SearchLimits{});
  ASSERT_FALSE(req.ok());
  EXPECT_EQ(req.status().message(), "invalid request: can't specify tags and q in the same query");

  EXPECT_FALSE(DecodeSearchRequestProto(std::string("\x0a\x05", 2)).ok());
}

TEST(SearchRequestTest, TagsParameters) {
  auto r = ParseTagsParams({{"scope", "resource"},
                            {"q", "{}"},
                            {"start", "10"},
                            {"end", "20"},
                            {"limit", "5000"},
                            {"maxStaleValues", "7"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scope, "resource");
  EXPECT_EQ(r->query, "{}");
  EXPECT_EQ(r->start_s, 10u);
  EXPECT_EQ(r->end_s, 20u);
  EXPECT_EQ(r->limit, 5000u);
  EXPECT_EQ(r->max_stale_values, 7u);

  EXPECT_EQ(ParseTagsParams({{"scope", "none"}})->scope, "");
  EXPECT_EQ(ParseTagsParams({{"scope", "intrinsic"}})->scope, "intrinsic");
  EXPECT_EQ(ParseTagsParams({{"limit", "lots"}})->limit, 0u);  // lenient, as Tempo's frontend
  EXPECT_EQ(ParseTagsParams({{"start", "-5"}})->start_s, 4294967291u);  // Tempo's uint32(int)
  EXPECT_EQ(ParseTagsParams({{"scope", "spans"}}).status().message(), "invalid scope: spans");
  EXPECT_EQ(ParseTagsParams({{"end", "x"}}).status().message(),
            R"(invalid end: strconv.ParseInt: parsing "x": invalid syntax)");
}

TEST(SearchRequestTest, TagValuesParameters) {
  auto r = ParseTagValuesParams("resource.service.name", true,
                                {{"q", "{ span.x = 1 }"}, {"limit", "10"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, "resource.service.name");
  EXPECT_TRUE(r->v2);
  EXPECT_EQ(r->query, "{ span.x = 1 }");
  EXPECT_EQ(r->limit, 10u);
  EXPECT_EQ(ParseTagValuesParams("", false, {}).status().message(),
            "please provide a non-empty tagName");
  // v2 tags are TraceQL identifiers (Tempo's traceql.ParseIdentifier); v1 takes any name.
  EXPECT_TRUE(ParseTagValuesParams("span.test", true, {}).ok());
  EXPECT_TRUE(ParseTagValuesParams("status", true, {}).ok());
  EXPECT_TRUE(ParseTagValuesParams("test", false, {}).ok());
  auto bad = ParseTagValuesParams("test", true, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("please provide a valid tagName: ", 0), 0u)
      << bad.status().message();
  EXPECT_EQ(ParseTagValuesParams("x", false, {{"limit", "x"}}).status().message(),
            R"(invalid limit: strconv.ParseUint: parsing "x": invalid syntax)");
  EXPECT_EQ(ParseTagValuesParams("x", false, {{"maxStaleValues", "-1"}}).status().message(),
            R"(invalid maxStaleValues: strconv.ParseUint: parsing "-1": invalid syntax)");
}

TEST(SearchRequestTest, TagNameDecoding) {
  EXPECT_EQ(DecodeTagName("resource.service.name"), "resource.service.name");
  EXPECT_EQ(DecodeTagName("span.foo%2Fbar"), "span.foo/bar");
  EXPECT_EQ(DecodeTagName("span.foo%252Fbar"), "span.foo/bar");  // encoded twice by Grafana
  EXPECT_EQ(DecodeTagName("span.a%20b"), "span.a b");
  EXPECT_EQ(DecodeTagName("100%"), "100%");  // not percent-encoding: kept
  EXPECT_EQ(DecodeTagName("a+b"), "a+b");
}

}  // namespace
}  // namespace vivace::query
