#include "processors/span_processor.h"

#include <gtest/gtest.h>

#include "processors/attrs_test_util.h"

namespace vivace::processors {
namespace {

using model::SpanBatch;
using model::StatusCode;
using testing::AddResource;
using testing::AddScope;
using testing::AddSpan;
using testing::Attrs;
using testing::Dump;
using testing::SpanSpec;
using testing::Yaml;

std::unique_ptr<SpanTransform> Make(const std::string& yaml) {
  auto options = ParseSpanOptions(Yaml(yaml), "processors.span");
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  if (!options.ok()) return nullptr;
  auto t = SpanTransform::Create(*options);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

struct RenameCase {
  std::string name;
  std::string yaml;
  std::string span_name;
  Attrs attrs;
  std::string want_name;
  std::string want_attrs;
};

void PrintTo(const RenameCase& c, std::ostream* os) { *os << c.name; }

class RenameTest : public ::testing::TestWithParam<RenameCase> {};

TEST_P(RenameTest, Renames) {
  const RenameCase& c = GetParam();
  auto t = Make(c.yaml);
  ASSERT_NE(t, nullptr);
  SpanBatch b;
  AddScope(b, AddResource(b, {}));
  AddSpan(b, SpanSpec{.name = c.span_name, .attrs = c.attrs});
  t->Apply(b);
  EXPECT_EQ(b.name[0], c.want_name);
  EXPECT_EQ(Dump(b, b.span_attributes[0]), c.want_attrs);
}

const Attrs db_attrs = {
    {"db.svc", std::string("location")}, {"operation", std::string("get")}, {"id", int64_t{1234}}};
constexpr char kDocumentRule[] = R"(name:
  to_attributes:
    rules: ['^\/api\/v1\/document\/(?P<documentId>.*)\/update$']
)";

INSTANTIATE_TEST_SUITE_P(
    SpanName, RenameTest,
    ::testing::Values(
        // contrib:processor/spanprocessor/README.md examples.
        RenameCase{"FromAttributesWithSeparator",
                   "name: {from_attributes: [db.svc, operation, id], separator: '::'}", "old",
                   db_attrs, "location::get::1234", R"(db.svc="location" operation="get" id=1234)"},
        RenameCase{"FromAttributesNoSeparator", "name: {from_attributes: [db.svc, operation, id]}",
                   "old", db_attrs, "locationget1234",
                   R"(db.svc="location" operation="get" id=1234)"},
        RenameCase{"FromAttributesMissingKeepsName", "name: {from_attributes: [db.svc, nope]}",
                   "old", db_attrs, "old", R"(db.svc="location" operation="get" id=1234)"},
        RenameCase{"FromAttributesStringifies",
                   "name: {from_attributes: [d, b], separator: ' '}",
                   "old",
                   {{"d", 2.5}, {"b", true}},
                   "2.5 true",
                   "d=d:2.5 b=true"},
        RenameCase{"ToAttributesDocumentId",
                   kDocumentRule,
                   "/api/v1/document/12345678/update",
                   {},
                   "/api/v1/document/{documentId}/update",
                   R"(documentId="12345678")"},
        RenameCase{"ToAttributesNoMatch", kDocumentRule, "/api/v2/other", {}, "/api/v2/other", ""},
        RenameCase{"ToAttributesOverwritesAttribute",
                   kDocumentRule,
                   "/api/v1/document/7/update",
                   {{"documentId", int64_t{1}}},
                   "/api/v1/document/{documentId}/update",
                   R"(documentId="7")"},
        RenameCase{"ToAttributesRulesChain",
                   "name:\n  to_attributes:\n    rules: ['^/api/(?P<version>v\\d+)/', "
                   "'/document/(?P<documentId>\\d+)/']",
                   "/api/v1/document/123/update",
                   {},
                   "/api/{version}/document/{documentId}/update",
                   R"(version="v1" documentId="123")"},
        RenameCase{"ToAttributesBreakAfterMatch",
                   "name:\n  to_attributes:\n    break_after_match: true\n"
                   "    rules: ['^/api/(?P<version>v\\d+)/', '/document/(?P<documentId>\\d+)/']",
                   "/api/v1/document/123/update",
                   {},
                   "/api/{version}/document/123/update",
                   R"(version="v1")"},
        RenameCase{"ToAttributesKeepOriginalName",
                   "name:\n  to_attributes:\n    keep_original_name: true\n"
                   "    rules: ['/document/(?P<documentId>\\d+)/']",
                   "/api/v1/document/123/update",
                   {},
                   "/api/v1/document/123/update",
                   R"(documentId="123")"},
        RenameCase{"FromThenTo",
                   "name:\n  from_attributes: [http.route]\n  to_attributes:\n    rules: "
                   "['/users/(?P<user>\\w+)']",
                   "GET",
                   {{"http.route", std::string("/users/bob")}},
                   "/users/{user}",
                   R"(http.route="/users/bob" user="bob")"}),
    [](const auto& info) { return info.param.name; });

TEST(SpanProcessorTest, SetsStatus) {
  struct Case {
    std::string yaml;
    StatusCode want_code;
    std::string want_message;
  };
  for (const Case& c :
       {Case{"status: {code: Error, description: boom}", StatusCode::kError, "boom"},
        Case{"status: {code: Ok}", StatusCode::kOk, ""},
        Case{"status: {code: Unset}", StatusCode::kUnset, ""}}) {
    auto t = Make(c.yaml);
    ASSERT_NE(t, nullptr);
    SpanBatch b;
    AddScope(b, AddResource(b, {}));
    AddSpan(b, SpanSpec{.status = StatusCode::kError});
    b.status_message[0] = "old message";
    AddSpan(b, SpanSpec{.status = StatusCode::kOk});
    t->Apply(b);
    for (size_t i = 0; i < b.size(); ++i) {
      EXPECT_EQ(b.status_code[i], c.want_code) << c.yaml << " span " << i;
      EXPECT_EQ(b.status_message[i], c.want_message) << c.yaml << " span " << i;
    }
  }
}

TEST(SpanProcessorTest, IncludeExcludeSelectSpans) {
  auto t = Make(
      "status: {code: Error}\n"
      "include: {match_type: strict, services: [api]}\n"
      "exclude: {match_type: regexp, span_names: [health]}\n");
  ASSERT_NE(t, nullptr);
  SpanBatch b;
  uint32_t api = AddScope(b, AddResource(b, {{"service.name", std::string("api")}}));
  uint32_t web = AddScope(b, AddResource(b, {{"service.name", std::string("web")}}));
  AddSpan(b, SpanSpec{.scope = api, .name = "GET /users"});
  AddSpan(b, SpanSpec{.scope = api, .name = "GET /healthz"});
  AddSpan(b, SpanSpec{.scope = web, .name = "GET /users"});
  b.otlp_proto = "cached";
  t->Apply(b);
  EXPECT_EQ(b.status_code[0], StatusCode::kError);
  EXPECT_EQ(b.status_code[1], StatusCode::kUnset);
  EXPECT_EQ(b.status_code[2], StatusCode::kUnset);
  EXPECT_TRUE(b.otlp_proto.empty());
}

TEST(SpanProcessorTest, ConfigErrors) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  for (const Case& c : {
           Case{"name: {separator: '-'}",
                "either \"from_attributes\" or \"to_attributes\" must be specified"},
           Case{"name:\n  to_attributes:\n    rules: []", "must be specified"},
           Case{"status:\n  code: error",
                "processors.span.status (line 2): \"code\" must be \"Ok\", \"Error\" or \"Unset\""},
           Case{"status: {code: Ok, description: fine}",
                "\"description\" can be specified only for \"code\" \"Error\""},
           Case{"name:\n  to_attributes:\n    rules:\n      - '^ok$'\n      - '(?P<x'",
                "processors.span.name.to_attributes.rules[1] (line 5): invalid regular expression"},
           Case{"name: {from_attributes: [a], separate: '-'}",
                "processors.span.name.separate (line 1): unknown key"},
           Case{"status: {code: Error}\ninclude: {services: [a]}",
                "missing required field \"match_type\""},
       }) {
    auto options = ParseSpanOptions(Yaml(c.yaml), "processors.span");
    ASSERT_FALSE(options.ok()) << c.yaml;
    EXPECT_NE(options.status().message().find(c.want), std::string::npos)
        << options.status().ToString();
  }
}

}  // namespace
}  // namespace vivace::processors
