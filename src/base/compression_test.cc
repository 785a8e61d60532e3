#include "base/compression.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

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

// Storage-page codecs: raw LZ4 blocks and exact-size zstd.

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Repetitive(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "{\"service\":\"checkout\",\"span\":" + std::to_string(i % 251) + "}";
  s.resize(n);
  return s;
}

std::vector<std::string> PageInputs() {
  return {"", "a", "hello, hello, hello, hello", RandomBytes(1 << 20, 1), Repetitive(1 << 20),
          std::string(1 << 20, '\0')};
}

TEST(Lz4BlockTest, RoundTrips) {
  for (const std::string& in : PageInputs()) {
    std::string block = Lz4CompressBlock(in);
    auto out = Lz4DecompressBlock(block, in.size());
    ASSERT_TRUE(out.ok()) << in.size() << ": " << out.status().ToString();
    EXPECT_EQ(*out, in) << in.size();
  }
  EXPECT_LT(Lz4CompressBlock(Repetitive(1 << 20)).size(), (1u << 20) / 4);
}

TEST(Lz4BlockTest, WrongSizeIsInvalid) {
  for (const std::string& in : PageInputs()) {
    std::string block = Lz4CompressBlock(in);
    auto larger = Lz4DecompressBlock(block, in.size() + 1);
    EXPECT_EQ(larger.status().code(), StatusCode::kInvalidArgument) << in.size();
    if (!in.empty()) {
      auto smaller = Lz4DecompressBlock(block, in.size() - 1);
      EXPECT_EQ(smaller.status().code(), StatusCode::kInvalidArgument) << in.size();
    }
  }
  // Beyond what the input can expand to: rejected before allocating.
  auto huge = Lz4DecompressBlock(Lz4CompressBlock("abc"), size_t{1} << 40);
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Lz4DecompressBlock("", 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(Lz4BlockTest, MaximalExpansionIsAccepted) {
  std::string zeros(16 << 20, '\0');
  std::string block = Lz4CompressBlock(zeros);
  EXPECT_GT(zeros.size() / block.size(), 250u);
  auto out = Lz4DecompressBlock(block, zeros.size());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, zeros);
}

TEST(Lz4BlockTest, CorruptIsInvalid) {
  std::string in = Repetitive(64 << 10);
  std::string block = Lz4CompressBlock(in);
  for (size_t len : {size_t{0}, size_t{1}, block.size() / 2, block.size() - 1}) {
    auto out = Lz4DecompressBlock(block.substr(0, len), in.size());
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << len;
  }
  EXPECT_EQ(Lz4DecompressBlock(block + "x", in.size()).status().code(), StatusCode::kInvalidArgument);
  // Raw LZ4 has no checksum: a flipped literal goes unnoticed, but damage to the sequence
  // structure must be an error, never a crash or an out-of-bounds read (ASan builds check).
  std::mt19937_64 rng(7);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bad = block;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    auto out = Lz4DecompressBlock(bad, in.size());
    if (!out.ok()) {
      EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_FALSE(Lz4DecompressBlock("this is not an lz4 block at all", 1000).ok());
}

TEST(ZstdExactTest, RoundTripsAtLevels) {
  for (int level : {-5, 1, 3, 19}) {
    for (const std::string& in : PageInputs()) {
      std::string block = ZstdCompressLevel(in, level);
      auto out = ZstdDecompressExact(block, in.size());
      ASSERT_TRUE(out.ok()) << level << "/" << in.size() << ": " << out.status().ToString();
      EXPECT_EQ(*out, in);
    }
  }
  std::string rep = Repetitive(1 << 20);
  EXPECT_LE(ZstdCompressLevel(rep, 19).size(), ZstdCompressLevel(rep, 1).size());
  // Compress(kZstd) is level 3 and readable by both decoders.
  EXPECT_EQ(*Compress(Codec::kZstd, rep), ZstdCompressLevel(rep, 3));
  // Concatenated frames are one page.
  auto two = ZstdDecompressExact(ZstdCompressLevel("ab", 3) + ZstdCompressLevel("cd", 3), 4);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(*two, "abcd");
}

TEST(ZstdExactTest, WrongSizeIsInvalid) {
  for (const std::string& in : PageInputs()) {
    std::string block = ZstdCompressLevel(in, 3);
    EXPECT_EQ(ZstdDecompressExact(block, in.size() + 1).status().code(), StatusCode::kInvalidArgument);
    if (!in.empty()) {
      EXPECT_EQ(ZstdDecompressExact(block, in.size() - 1).status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ZstdExactTest, CorruptIsInvalid) {
  std::string in = Repetitive(64 << 10);
  std::string block = ZstdCompressLevel(in, 3);
  for (size_t len : {size_t{0}, size_t{1}, size_t{4}, block.size() / 2, block.size() - 1}) {
    EXPECT_EQ(ZstdDecompressExact(block.substr(0, len), in.size()).status().code(), StatusCode::kInvalidArgument)
        << len;
  }
  EXPECT_EQ(ZstdDecompressExact(block + "junk", in.size()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ZstdDecompressExact("this is not zstd", 16).status().code(), StatusCode::kInvalidArgument);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::string bad = block;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    auto out = ZstdDecompressExact(bad, in.size());
    if (!out.ok()) {
      EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(CompressionTest, PageCodecsAreNotHttpEncodings) {
  EXPECT_FALSE(CodecFromName("lz4").ok());
  EXPECT_FALSE(CodecFromName("x-lz4").ok());
}

}  // namespace
}  // namespace vivace
