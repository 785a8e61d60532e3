#include "base/strings.h"

#include <gtest/gtest.h>

namespace vivace {
namespace {

TEST(StringsTest, Hex) {
  EXPECT_EQ(HexEncode(std::string("\x00\xab\xff", 3)), "00abff");
  uint8_t out[3];
  ASSERT_TRUE(HexDecode("00ABff", out, 3));
  EXPECT_EQ(out[1], 0xab);
  EXPECT_FALSE(HexDecode("00abf", out, 3));
  EXPECT_FALSE(HexDecode("00abfg", out, 3));
}

TEST(StringsTest, Base64) {
  std::string out;
  AppendBase64(&out, "any carnal pleas");
  EXPECT_EQ(out, "YW55IGNhcm5hbCBwbGVhcw==");
  EXPECT_EQ(*Base64Decode("YW55IGNhcm5hbCBwbGVhcw=="), "any carnal pleas");
  EXPECT_EQ(*Base64Decode("YW55IGNhcm5hbCBwbGVhc3U"), "any carnal pleasu");
  EXPECT_FALSE(Base64Decode("a").has_value());
  EXPECT_FALSE(Base64Decode("ab$d").has_value());
  // Tempo's example trace id.
  EXPECT_EQ(HexEncode(*Base64Decode("W47/95gDgQPSabYzgT/HAA==")), "5b8efff798038103d269b633813fc700");
}

TEST(StringsTest, JsonEscape) {
  std::string out;
  AppendJsonEscaped(&out, std::string("a\"b\\c\n\x01 \xc3\xa9 \xff", 12));
  EXPECT_EQ(out, "a\\\"b\\\\c\\n\\u0001 \xc3\xa9 \xef\xbf\xbd");
}

}  // namespace
}  // namespace vivace
