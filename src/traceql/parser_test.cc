#include "traceql/parser.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "traceql/lexer.h"

namespace vivace::traceql {
namespace {

// Tempo's own examples, loaded as they are: every query of each list must give its outcome.
std::vector<std::string> Examples(const std::string& key) {
  std::string path = std::string(VV_TEMPO_FIXTURES) + "/traceql_test_examples.yaml";
  EXPECT_TRUE(std::filesystem::exists(path)) << "missing " << path << " (set -DVV_TEMPO_FIXTURES)";
  YAML::Node root = YAML::LoadFile(path);
  std::vector<std::string> out;
  for (const auto& n : root[key]) out.push_back(n.as<std::string>());
  return out;
}

TEST(TempoExamples, ListsHaveTheirDocumentedSizes) {
  EXPECT_EQ(Examples("valid").size(), 284u);
  EXPECT_EQ(Examples("parse_fails").size(), 87u);
  EXPECT_EQ(Examples("validate_fails").size(), 70u);
  EXPECT_EQ(Examples("unsupported").size(), 22u);
}

TEST(TempoExamples, ValidQueriesParseAndValidate) {
  for (const std::string& q : Examples("valid")) {
    auto parsed = Parse(q);
    ASSERT_TRUE(parsed.ok()) << q << "\n" << parsed.status().ToString();
    Status s = Validate(*parsed);
    EXPECT_TRUE(s.ok()) << q << "\n" << s.ToString();
  }
}

TEST(TempoExamples, ParseFailuresFailToParse) {
  for (const std::string& q : Examples("parse_fails")) {
    auto parsed = Parse(q);
    EXPECT_FALSE(parsed.ok()) << q << " parsed as " << ToString(*parsed);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << q;
      EXPECT_NE(parsed.status().message().find("parse error at line"), std::string_view::npos) << q;
    }
  }
}

TEST(TempoExamples, ValidationFailuresParseButFailValidation) {
  for (const std::string& q : Examples("validate_fails")) {
    auto parsed = Parse(q);
    ASSERT_TRUE(parsed.ok()) << q << "\n" << parsed.status().ToString();
    Status s = Validate(*parsed);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << q << "\n" << s.ToString();
  }
}

TEST(TempoExamples, UnsupportedQueriesParseAndReportUnsupported) {
  for (const std::string& q : Examples("unsupported")) {
    auto parsed = Parse(q);
    ASSERT_TRUE(parsed.ok()) << q << "\n" << parsed.status().ToString();
    Status s = Validate(*parsed);
    EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << q << "\n" << s.ToString();
    EXPECT_NE(s.message().find("unsupported"), std::string_view::npos) << q;
  }
}

// String() parses back to a tree that prints the same (Tempo's TestStringer over the same lists).
TEST(TempoExamples, StringerRoundTrips) {
  std::vector<std::string> queries = Examples("valid");
  for (const std::string& q : Examples("unsupported")) queries.push_back(q);
  for (const std::string& q : queries) {
    auto parsed = Parse(q);
    ASSERT_TRUE(parsed.ok()) << q;
    std::string printed = ToString(*parsed);
    auto again = Parse(printed);
    ASSERT_TRUE(again.ok()) << q << "\nprinted: " << printed << "\n" << again.status().ToString();
    EXPECT_EQ(ToString(*again), printed) << q;
    EXPECT_EQ(Validate(*again).code(), Validate(*parsed).code()) << q << "\nprinted: " << printed;
  }
}

TEST(Parser, ErrorsCarryLineAndColumn) {
  auto r = Parse("{ .a = 1 }\n| { .b < }");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "parse error at line 2, col 10: unexpected '}', expected a value");
  r = Parse("{ .a == 1 }");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("col 7"), std::string_view::npos) << r.status().message();
}

TEST(Parser, PrecedenceFollowsTempo) {
  auto str = [](std::string_view q) {
    auto r = Parse(q);
    return r.ok() ? ToString(*r) : r.status().ToString();
  };
  EXPECT_EQ(str("{ .a = 1 || .b = 2 && .c = 3 }"), "{ (((.a = 1) || (.b = 2)) && (.c = 3)) }");
  EXPECT_EQ(str("{ !.a && .b }"), "{ (!(.a) && .b) }");
  EXPECT_EQ(str("{ !.a * .b = 1 }"), "{ (!((.a * .b)) = 1) }");
  EXPECT_EQ(str("{ 2 ^ 3 ^ 2 = .x }"), "{ ((2 ^ (3 ^ 2)) = .x) }");
  EXPECT_EQ(str("{ -.a ^ 2 = 1 }"), "{ ((-(.a) ^ 2) = 1) }");
  EXPECT_EQ(str("{ .a } && { .b } >> { .c }"), "({ .a }) && (({ .b }) >> ({ .c }))");
  EXPECT_EQ(str("{ .a } | { .b } || { .c }"), "{ .a } | ({ .b }) || ({ .c })");
  EXPECT_EQ(str("{ .a = nil && .b != nil }"), "{ ((.a = nil) && (.b != nil)) }");
  EXPECT_EQ(str("{ nil = nil }"), "{ false }");
}

TEST(Parser, LiteralsAndNames) {
  auto str = [](std::string_view q) {
    auto r = Parse(q);
    return r.ok() ? ToString(*r) : r.status().ToString();
  };
  EXPECT_EQ(str("{ duration > 1h30m }"), "{ (duration > 90m) }");
  EXPECT_EQ(str("{ duration > 1.5s }"), "{ (duration > 1500ms) }");
  EXPECT_EQ(str("{ duration < 2d }"), "{ (duration < 48h) }");
  EXPECT_EQ(str("{ event:timeSinceStart > -5s }"), "{ (event:timeSinceStart > -5s) }");
  EXPECT_EQ(str("{ .a = `raw\\n` }"), "{ (.a = \"raw\\\\n\") }");
  EXPECT_EQ(str("{ .a = \"\\u00e9\\x41\" }"), "{ (.a = \"\xc3\xa9" "A\") }");
  EXPECT_EQ(str("{ span.http.status_code = 200 }"), "{ (span.http.status_code = 200) }");
  EXPECT_EQ(str("{ resource.str-array =~ \"a.*\" }"), "{ (resource.str-array =~ \"a.*\") }");
  EXPECT_EQ(str("{ span.attribute.\"x y\" = 1 }"), "{ (span.\"attribute.x y\" = 1) }");
  EXPECT_EQ(str("{ .a = minInt || .b = maxInt }"), "{ ((.a = minInt) || (.b = 9223372036854775807)) }");
  EXPECT_EQ(str("{ .a = 1.0 }"), "{ (.a = 1.0) }");
  EXPECT_EQ(str("{ .a = 2.5e3 }"), "{ (.a = 2500.0) }");
  EXPECT_FALSE(Parse("{ .a = 1x }").ok());
  EXPECT_FALSE(Parse("{ .a = \"unterminated }").ok());
  EXPECT_FALSE(Parse("{ .\"unterminated = 1 }").ok());
  EXPECT_FALSE(Parse("{ span:nope = 1 }").ok());
}

TEST(Parser, Identifiers) {
  auto a = ParseIdentifier("resource.service.name");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->scope, scan::Scope::kResource);
  EXPECT_EQ(a->name, "service.name");
  a = ParseIdentifier("span:duration");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->intrinsic, scan::Intrinsic::kDuration);
  EXPECT_FALSE(ParseIdentifier("{ .a }").ok());
  EXPECT_FALSE(ParseIdentifier(".a .b").ok());
}

TEST(Parser, LimitsRefuseHostileQueries) {
  std::string deep(100000, '(');
  auto r = Parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nests too deeply"), std::string_view::npos);
  std::string huge(200 << 10, ' ');
  EXPECT_FALSE(Parse(huge).ok());
  std::string deep_field = "{ " + std::string(5000, '!') + "true }";
  EXPECT_FALSE(Parse(deep_field).ok());
}

TEST(Validate, ReasonsAreSpecific) {
  auto check = [](std::string_view q, std::string_view needle) {
    auto r = ParseAndValidate(q);
    ASSERT_FALSE(r.ok()) << q;
    EXPECT_NE(r.status().message().find(needle), std::string_view::npos) << r.status().message();
  };
  check("{ span:status = nil }", "intrinsics cannot be nil");
  check("{ span.foo =~ \"[\" }", "invalid regular expression");
  check("{ 1 + 1 }", "must evaluate to a boolean");
  check("{ true } | by(1)", "must reference the span");
  check("{} | rate() | topk(0)", "k > 0");
}

}  // namespace
}  // namespace vivace::traceql
