#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace vivace::crc32c {
namespace {

TEST(Crc32cTest, StandardVectors) {
  // RFC 3720 B.4 test vectors.
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(Value("123456789"), 0xe3069283u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "hello world, this is a longer string to cross 8-byte words";
  uint32_t part = Extend(Extend(0, s.data(), 13), s.data() + 13, s.size() - 13);
  EXPECT_EQ(part, Value(s));
}

TEST(Crc32cTest, MaskRoundTrips) {
  uint32_t c = Value("foo");
  EXPECT_NE(Mask(c), c);
  EXPECT_EQ(Unmask(Mask(c)), c);
}

}  // namespace
}  // namespace vivace::crc32c
