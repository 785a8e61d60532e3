#include "base/compression.h"

#include <gtest/gtest.h>

namespace vivace {
namespace {

class CompressionTest : public ::testing::TestWithParam<Codec> {};

TEST_P(CompressionTest, RoundTrips) {
  std::string input;
  for (int i = 0; i < 10000; ++i) input += "span-" + std::to_string(i % 97);
  auto compressed = Compress(GetParam(), input);
  ASSERT_TRUE(compressed.ok());
  auto out = Decompress(GetParam(), *compressed, input.size());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, input);
}

TEST_P(CompressionTest, LimitStopsBombs) {
  std::string zeros(10 << 20, '\0');
  auto compressed = Compress(GetParam(), zeros);
  ASSERT_TRUE(compressed.ok());
  auto out = Decompress(GetParam(), *compressed, 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
}

TEST(CompressionTest, CorruptAndTruncatedAreInvalid) {
  std::string input(5000, 'a');
  for (size_t i = 0; i < input.size(); i += 7) input[i] = static_cast<char>('a' + i % 26);
  for (Codec c : {Codec::kGzip, Codec::kDeflate, Codec::kZstd}) {
    auto compressed = Compress(c, input);
    ASSERT_TRUE(compressed.ok());
    auto truncated = Decompress(c, compressed->substr(0, compressed->size() / 2), 1 << 20);
    EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidArgument);
    auto garbage = Decompress(c, "this is not compressed at all", 1 << 20);
    EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressionTest,
                         ::testing::Values(Codec::kNone, Codec::kGzip, Codec::kDeflate, Codec::kZstd));

TEST(CompressionTest, ExactLimitIsAccepted) {
  std::string input(4096, 'z');
  for (Codec c : {Codec::kGzip, Codec::kZstd, Codec::kDeflate}) {
    auto out = Decompress(c, *Compress(c, input), input.size());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->size(), input.size());
    EXPECT_FALSE(Decompress(c, *Compress(c, input), input.size() - 1).ok());
  }
}

TEST(CompressionTest, NamesMapToCodecs) {
  EXPECT_EQ(*CodecFromName("gzip"), Codec::kGzip);
  EXPECT_EQ(*CodecFromName("GZIP"), Codec::kGzip);
  EXPECT_EQ(*CodecFromName(""), Codec::kNone);
  EXPECT_EQ(*CodecFromName("identity"), Codec::kNone);
  EXPECT_EQ(*CodecFromName("zstd"), Codec::kZstd);
  EXPECT_EQ(*CodecFromName("deflate"), Codec::kDeflate);
  EXPECT_FALSE(CodecFromName("br").ok());
}

TEST(CompressionTest, RawDeflateIsAccepted) {
  // Raw RFC 1951 stream for "hello" (as some clients send for Content-Encoding: deflate).
  const unsigned char raw[] = {0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
  auto out = Decompress(Codec::kDeflate, std::string_view(reinterpret_cast<const char*>(raw), sizeof raw), 100);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "hello");
}

}  // namespace
}  // namespace vivace
