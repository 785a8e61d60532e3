#include "model/ids.h"

#include <gtest/gtest.h>

namespace vivace::model {
namespace {

TEST(IdsTest, ParsesHexLikeTempo) {
  auto id = ParseTraceIdHex("5b8efff798038103d269b633813fc700");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->Hex(), "5b8efff798038103d269b633813fc700");
  auto short_id = ParseTraceIdHex("abc");  // 64-bit and shorter ids are left-padded
  ASSERT_TRUE(short_id.has_value());
  EXPECT_EQ(short_id->Hex(), "00000000000000000000000000000abc");
  EXPECT_FALSE(ParseTraceIdHex("").has_value());
  EXPECT_FALSE(ParseTraceIdHex("xyz").has_value());
  EXPECT_FALSE(ParseTraceIdHex(std::string(33, 'a')).has_value());
}

TEST(IdsTest, FromBytesAndZero) {
  EXPECT_FALSE(SpanId::FromBytes("1234567").has_value());
  auto s = SpanId::FromBytes("12345678");
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->IsZero());
  EXPECT_TRUE(SpanId().IsZero());
  EXPECT_LT(SpanId(), *s);
}

}  // namespace
}  // namespace vivace::model
