#include "processors/attribute_limits.h"

#include <gtest/gtest.h>

#include "conf/yaml.h"
#include "processors/misc_test_util.h"

namespace vivace::processors {
namespace {

using model::Range;
using model::Value;
using testing::AddSpan;
using testing::AttrMap;
using testing::Attrs;
using Map = std::map<std::string, std::string>;

TEST(AttributeLimitsTest, TruncateUtf8CountsCharacters) {
  struct Case {
    std::string in;
    uint32_t max;
    std::string want;
  };
  const Case cases[] = {
      {"hello", 10, "hello"},
      {"hello", 5, "hello"},
      {"hello", 3, "hel"},
      {"héllo", 2, "hé"},               // é is two bytes, one character
      {"日本語テキスト", 3, "日本語"},  // three bytes each
      {"a😀b", 2, "a😀"},                 // four-byte character kept whole
      {"a😀b", 1, "a"},                  // never cut inside it
      {"", 0, ""},
      {"abc", 0, ""},
      {std::string("\x80\x80z", 3), 1, std::string("\x80\x80z", 3)},  // stray continuation bytes
  };
  for (const Case& c : cases) EXPECT_EQ(TruncateUtf8(c.in, c.max), c.want) << c.in << " " << c.max;
}

TEST(AttributeLimitsTest, LimitsCountsAndLengths) {
  AttributeLimitsOptions o;
  o.attribute_value_length_limit = 4;
  o.attribute_count_limit = 2;
  o.event_count_limit = 1;
  o.link_count_limit = 2;
  AttributeLimitsTransform t(o);

  model::SpanBatch b;
  Range arr = b.AllocValues(2);
  b.values[arr.first] = testing::Str(b, "abcdefgh");
  b.values[arr.first + 1] = Value::Int(7);
  Range inner = Attrs(b, {{"k", Value::String("ünïcödé")}});
  size_t i = AddSpan(b, Attrs(b, {{"s", Value::String("abcdefgh")},
                                  {"list", Value::Array(arr)},
                                  {"third", Value::String("dropped")}}));
  b.dropped_attributes_count[i] = 5;
  b.resources[0].attributes =
      Attrs(b, {{"map", Value::KvList(inner)}, {"bytes", Value::Bytes("0123456789")}});
  b.span_events[i] = b.AllocEvents(3);
  b.events[b.span_events[i].first].attributes =
      Attrs(b, {{"e1", Value::Int(1)}, {"e2", Value::Int(2)}, {"e3", Value::Int(3)}});
  b.span_links[i] = b.AllocLinks(3);
  b.links[b.span_links[i].first + 1].attributes = Attrs(b, {{"l1", Value::String("long value")}});
  b.otlp_proto = "cached";

  t.Apply(b);
  EXPECT_EQ(AttrMap(b, b.span_attributes[i]), (Map{{"s", "abcd"}, {"list", "[abcd,7]"}}));
  EXPECT_EQ(b.dropped_attributes_count[i], 6u);
  EXPECT_EQ(AttrMap(b, b.resources[0].attributes),
            (Map{{"map", "{k=ünïc}"}, {"bytes", "bytes:0123"}}));
  EXPECT_EQ(b.span_events[i].count, 1u);
  EXPECT_EQ(b.dropped_events_count[i], 2u);
  const model::Event& ev = b.events[b.span_events[i].first];
  EXPECT_EQ(AttrMap(b, ev.attributes), (Map{{"e1", "1"}, {"e2", "2"}}));
  EXPECT_EQ(ev.dropped_attributes_count, 1u);
  EXPECT_EQ(b.span_links[i].count, 2u);
  EXPECT_EQ(b.dropped_links_count[i], 1u);
  EXPECT_EQ(AttrMap(b, b.links[b.span_links[i].first + 1].attributes), (Map{{"l1", "long"}}));
  EXPECT_TRUE(b.otlp_proto.empty());
}

TEST(AttributeLimitsTest, DefaultsChangeNothing) {
  AttributeLimitsTransform t(AttributeLimitsOptions{});
  model::SpanBatch b;
  AddSpan(b, Attrs(b, {{"s", Value::String(std::string(10000, 'x'))}, {"n", Value::Int(1)}}));
  b.otlp_proto = "cached";
  t.Apply(b);
  EXPECT_EQ(b.span_attributes[0].count, 2u);
  EXPECT_EQ(b.attributes[b.span_attributes[0].first].value.size, 10000u);
  EXPECT_EQ(b.otlp_proto, "cached");
}

TEST(AttributeLimitsTest, EventAndLinkAttributeLimitsDefaultToTheAttributeLimit) {
  auto node = conf::LoadYaml("attribute_count_limit: 1\nlink_attribute_count_limit: 0\n");
  ASSERT_TRUE(node.ok());
  auto o = ParseAttributeLimitsOptions(*node, "processors.attribute_limits");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  AttributeLimitsTransform t(*o);
  model::SpanBatch b;
  size_t i = AddSpan(b);
  b.span_events[i] = b.AllocEvents(1);
  b.events[b.span_events[i].first].attributes =
      Attrs(b, {{"a", Value::Int(1)}, {"b", Value::Int(2)}});
  b.span_links[i] = b.AllocLinks(1);
  b.links[b.span_links[i].first].attributes =
      Attrs(b, {{"a", Value::Int(1)}, {"b", Value::Int(2)}});
  t.Apply(b);
  EXPECT_EQ(b.events[b.span_events[i].first].attributes.count, 1u);  // the attribute limit
  EXPECT_EQ(b.links[b.span_links[i].first].attributes.count, 2u);    // explicitly unlimited
}

TEST(AttributeLimitsTest, ConfigErrors) {
  for (const char* yaml :
       {"attribute_count_limit: -1\n", "attribute_value_length_limit: lots\n", "span_limit: 3\n"}) {
    auto node = conf::LoadYaml(yaml);
    ASSERT_TRUE(node.ok());
    auto o = ParseAttributeLimitsOptions(*node, "processors.attribute_limits");
    EXPECT_FALSE(o.ok()) << yaml;
    EXPECT_NE(o.status().message().find("(line 1)"), std::string::npos) << o.status().ToString();
  }
}

}  // namespace
}  // namespace vivace::processors
