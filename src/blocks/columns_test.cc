#include "blocks/columns.h"

#include <gtest/gtest.h>

#include <random>

namespace vivace::blocks {
namespace {

std::vector<Encoding> Encodings(const std::string& chunk) {
  auto info = InspectChunk(chunk);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? info->encodings : std::vector<Encoding>{};
}

TEST(ColumnsTest, IntsPickRunLengthOnlyForRepetitiveData) {
  std::vector<uint64_t> runs(1000, 7);
  runs[500] = 9;
  std::vector<uint64_t> varied;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) varied.push_back(rng() >> (i % 64));
  for (const auto* values : {&runs, &varied}) {
    for (Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
      std::string chunk;
      WriteIntChunk(*values, PageOptions{c, 3}, &chunk);
      EXPECT_EQ(Encodings(chunk), std::vector<Encoding>{values == &runs ? Encoding::kRunLength : Encoding::kVarint});
      auto back = ReadIntChunk(chunk, {});
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, *values);
    }
  }
  std::string empty;
  WriteIntChunk({}, {}, &empty);
  EXPECT_TRUE(ReadIntChunk(empty, {})->empty());
}

TEST(ColumnsTest, StringsUseADictionaryOnlyWhenValuesRepeat) {
  std::vector<std::string> owned;
  for (int i = 0; i < 300; ++i) owned.push_back("GET /api/" + std::to_string(i % 5));
  std::vector<std::string_view> repeated(owned.begin(), owned.end());
  std::vector<std::string> distinct_owned;
  for (int i = 0; i < 300; ++i) distinct_owned.push_back("id-" + std::to_string(i));
  std::vector<std::string_view> distinct(distinct_owned.begin(), distinct_owned.end());

  std::string dict_chunk, plain_chunk;
  EXPECT_TRUE(WriteStringChunk(repeated, {}, &dict_chunk));
  EXPECT_FALSE(WriteStringChunk(distinct, {}, &plain_chunk));
  EXPECT_EQ(Encodings(dict_chunk), (std::vector<Encoding>{Encoding::kDictionary, Encoding::kDictIndexes}));
  EXPECT_EQ(Encodings(plain_chunk), std::vector<Encoding>{Encoding::kPlain});

  Arena arena;
  EXPECT_EQ(*ReadStringChunk(dict_chunk, {}, &arena), repeated);
  EXPECT_EQ(*ReadStringChunk(plain_chunk, {}, &arena), distinct);
  // The dictionary alone, without the data page: what pruning reads.
  auto dict = ReadChunkDictionary(dict_chunk, {}, &arena);
  ASSERT_TRUE(dict.ok());
  EXPECT_TRUE(dict->has_dictionary);
  EXPECT_EQ(dict->values.size(), 5u);
  EXPECT_FALSE(ReadChunkDictionary(plain_chunk, {}, &arena)->has_dictionary);
}

TEST(ColumnsTest, FixedValuesCheckTheirWidth) {
  std::string data(8 * 10, 'x');
  std::string chunk;
  WriteFixedChunk(data, 8, {}, &chunk);
  EXPECT_EQ(*ReadFixedChunk(chunk, 8, {}), data);
  EXPECT_FALSE(ReadFixedChunk(chunk, 16, {}).ok());
  EXPECT_FALSE(ReadIntChunk(chunk, {}).ok());  // wrong kind of chunk
}

TEST(ColumnsTest, ReadLimitsRefusePagesBeyondThem) {
  std::vector<uint64_t> values(10000, 0);
  for (size_t i = 0; i < values.size(); ++i) values[i] = i * 1000003;
  std::string chunk;
  WriteIntChunk(values, {}, &chunk);
  ReadLimits small;
  small.max_page_bytes = 1000;
  EXPECT_EQ(ReadIntChunk(chunk, small).status().code(), StatusCode::kDataLoss);
  ReadLimits few;
  few.max_values = 100;
  EXPECT_EQ(ReadIntChunk(chunk, few).status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(ReadIntChunk(chunk, {}).ok());
}

TEST(ColumnsTest, EveryCorruptionIsDetected) {
  std::vector<std::string_view> values = {"a", "bb", "a", "bb", "a", "ccc", "a", "a"};
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    std::string chunk;
    WriteStringChunk(values, PageOptions{c, 3}, &chunk);
    EXPECT_TRUE(VerifyChunk(chunk).ok());
    Arena arena;
    for (size_t cut = 0; cut < chunk.size(); ++cut) {
      EXPECT_FALSE(ReadStringChunk(chunk.substr(0, cut), {}, &arena).ok()) << cut;
    }
    for (size_t i = 0; i < chunk.size(); ++i) {
      std::string bad = chunk;
      bad[i] ^= 0x21;
      EXPECT_FALSE(VerifyChunk(bad).ok() && ReadStringChunk(bad, {}, &arena).ok()) << i;
    }
  }
}

}  // namespace
}  // namespace vivace::blocks
