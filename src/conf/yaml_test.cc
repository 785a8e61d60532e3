#include "conf/yaml.h"

#include <gtest/gtest.h>

namespace vivace::conf {
namespace {

TEST(YamlSectionTest, UnknownKeysNameThePathAndLine) {
  auto root = LoadYaml("a:\n  b: 1\n  c: 2\n");
  ASSERT_TRUE(root.ok());
  int b = 0;
  Status s = Section(*root, "").On("a", [&](const YAML::Node& n, const std::string& p) {
    return Section(n, p).On("b", Int(&b, 0, 10)).Run();
  }).Run();
  EXPECT_EQ(b, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("a.c (line 3): unknown key"), std::string::npos) << s.ToString();
}

TEST(YamlSectionTest, OtherwiseTakesUnlistedKeys) {
  auto root = LoadYaml("x: 1\ny: 2\n");
  ASSERT_TRUE(root.ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(Section(*root, "p").Otherwise([&](const YAML::Node&, const YAML::Node&, const std::string& p) {
    seen.push_back(p);
    return Status::OK();
  }).Run().ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"p.x", "p.y"}));
}

TEST(YamlSectionTest, TypedValuesAreChecked) {
  auto root = LoadYaml("d: 1.5s\nf: 0.25\nl: [a, b]\nbad: 2x\n");
  ASSERT_TRUE(root.ok());
  std::chrono::milliseconds d{0};
  double f = 0;
  std::vector<std::string> l;
  EXPECT_TRUE(Duration(&d)((*root)["d"], "d").ok());
  EXPECT_EQ(d.count(), 1500);
  EXPECT_TRUE(Double(&f, 0, 1)((*root)["f"], "f").ok());
  EXPECT_EQ(f, 0.25);
  EXPECT_FALSE(Double(&f, 0, 0.1)((*root)["f"], "f").ok());
  EXPECT_TRUE(StringList(&l)((*root)["l"], "l").ok());
  EXPECT_EQ(l, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(Duration(&d)((*root)["bad"], "bad").ok());
}

TEST(ParseDurationTest, GoSyntax) {
  EXPECT_EQ(ParseDuration("200ms")->count(), 200);
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400000);
  EXPECT_EQ(ParseDuration("0")->count(), 0);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("5 parsecs").ok());
  EXPECT_FALSE(ParseDuration("1..5s").ok());
}

TEST(LoadYamlTest, InvalidYamlNamesTheLine) {
  auto r = LoadYaml("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line"), std::string::npos);
}

}  // namespace
}  // namespace vivace::conf
