#include "blocks/bloom.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/hash.h"

namespace vivace::blocks {
namespace {

using model::TraceId;

std::vector<TraceId> RandomIds(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TraceId> ids(n);
  for (TraceId& id : ids) {
    uint64_t a = rng(), b = rng();
    EncodeFixed64(reinterpret_cast<char*>(id.bytes.data()), a);
    EncodeFixed64(reinterpret_cast<char*>(id.bytes.data()) + 8, b);
  }
  return ids;
}

// Ids that are anything but random: a big-endian counter in the last bytes, zeros elsewhere.
TraceId CounterId(uint64_t i) {
  TraceId id;
  for (int b = 0; b < 8; ++b) id.bytes[15 - b] = static_cast<uint8_t>(i >> (8 * b));
  return id;
}

std::vector<BloomShard> BuildAndParse(const ShardedBloomBuilder& b) {
  std::vector<BloomShard> shards;
  for (uint32_t i = 0; i < b.shards(); ++i) {
    auto s = BloomShard::Parse(b.SerializeShard(i));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return {};
    EXPECT_EQ(s->shard_index(), i);
    EXPECT_EQ(s->shard_count(), b.shards());
    shards.push_back(std::move(s).value());
  }
  return shards;
}

bool MayContain(const std::vector<BloomShard>& shards, const TraceId& id) {
  return shards[ShardedBloomBuilder::ShardOf(id, static_cast<uint32_t>(shards.size()))].MayContain(id);
}

// Recomputes the CRC after a deliberate edit, so that Parse gets past the checksum.
std::string Reseal(std::string s) {
  size_t at = s.size() - kBloomTrailerSize;
  EncodeFixed32(s.data() + at, crc32c::Mask(crc32c::Value(std::string_view(s).substr(0, at))));
  return s;
}

TEST(BloomTest, NoFalseNegativesAcrossShards) {
  std::vector<TraceId> ids = RandomIds(100000, 1);
  ShardedBloomBuilder b(ids.size(), {.false_positive_rate = 0.01, .shard_bytes_target = 8 << 10});
  ASSERT_GT(b.shards(), 10u);
  for (const TraceId& id : ids) b.Add(id);
  std::vector<BloomShard> shards = BuildAndParse(b);
  ASSERT_EQ(shards.size(), b.shards());
  std::vector<size_t> per_shard(shards.size());
  for (const TraceId& id : ids) {
    uint32_t s = ShardedBloomBuilder::ShardOf(id, b.shards());
    ++per_shard[s];
    ASSERT_TRUE(shards[s].MayContain(id));
    // Every other shard answers "no" for an id that is not its own.
    EXPECT_FALSE(shards[(s + 1) % shards.size()].MayContain(id));
  }
  // The ids spread evenly over the shards.
  double mean = static_cast<double>(ids.size()) / shards.size();
  for (size_t n : per_shard) EXPECT_NEAR(n, mean, mean * 0.1);
}

struct FpCase {
  double rate;
  uint32_t shard_bytes_target;
  bool counter_ids;
};

class BloomFpTest : public ::testing::TestWithParam<FpCase> {};

TEST_P(BloomFpTest, FalsePositiveRateIsNearTarget) {
  const FpCase c = GetParam();
  constexpr size_t kN = 100000;
  std::vector<TraceId> present, absent;
  if (c.counter_ids) {
    for (uint64_t i = 0; i < kN; ++i) present.push_back(CounterId(i));
    for (uint64_t i = kN; i < 2 * kN; ++i) absent.push_back(CounterId(i));
  } else {
    present = RandomIds(kN, 2);
    absent = RandomIds(kN, 3);
  }
  ShardedBloomBuilder b(kN, {.false_positive_rate = c.rate, .shard_bytes_target = c.shard_bytes_target});
  for (const TraceId& id : present) b.Add(id);
  std::vector<BloomShard> shards = BuildAndParse(b);
  ASSERT_EQ(shards.size(), b.shards());
  size_t fp = 0;
  for (const TraceId& id : absent) fp += MayContain(shards, id) ? 1 : 0;
  double measured = static_cast<double>(fp) / kN;
  std::printf("target %g, %u shard(s) of %llu bits, k=%u, %s ids: measured false-positive rate %.5f (%zu of %zu)\n",
              c.rate, b.shards(), static_cast<unsigned long long>(b.bits_per_shard()), b.hashes(),
              c.counter_ids ? "counter" : "random", measured, fp, kN);
  RecordProperty("measured_fp_rate", std::to_string(measured));
  EXPECT_LT(measured, 2 * c.rate);
  EXPECT_GT(measured, c.rate / 2);
}

INSTANTIATE_TEST_SUITE_P(Rates, BloomFpTest,
                         ::testing::Values(FpCase{0.01, 256 << 10, false}, FpCase{0.001, 256 << 10, false},
                                           FpCase{0.01, 16 << 10, false}, FpCase{0.001, 16 << 10, false},
                                           FpCase{0.01, 16 << 10, true}, FpCase{0.001, 256 << 10, true}));

TEST(BloomTest, ShardCountFollowsTarget) {
  struct Case {
    uint64_t n;
    double rate;
    uint32_t target;
  };
  for (Case c : {Case{0, 0.01, 256 << 10}, Case{1000, 0.01, 256 << 10}, Case{1000000, 0.01, 256 << 10},
                 Case{1000000, 0.001, 256 << 10}, Case{100000, 0.01, 4 << 10}, Case{100000, 0.01, 1000},
                 Case{5000000, 0.01, 64}}) {
    ShardedBloomBuilder b(c.n, {.false_positive_rate = c.rate, .shard_bytes_target = c.target});
    double total_bits = std::ceil(-static_cast<double>(std::max<uint64_t>(c.n, 1)) * std::log(c.rate) /
                                  (std::log(2.0) * std::log(2.0)));
    uint32_t want = static_cast<uint32_t>(std::clamp(std::ceil(total_bits / (8.0 * c.target)), 1.0, 1024.0));
    EXPECT_EQ(b.shards(), want) << c.n << " " << c.target;
    EXPECT_EQ(b.bits_per_shard() % 64, 0u);
    EXPECT_GE(b.bits_per_shard() * b.shards(), total_bits);  // never smaller than the formula
    if (want < kBloomMaxShards) {
      EXPECT_LE(b.bits_per_shard() / 8, c.target + 7u) << c.n << " " << c.target;
    }
    std::string s = b.SerializeShard(b.shards() - 1);
    EXPECT_EQ(s.size(), kBloomHeaderSize + b.bits_per_shard() / 8 + kBloomTrailerSize);
  }
  // 1e6 ids at 1%: 9.59 bits per id, 1.2 MB in 256 KiB shards.
  ShardedBloomBuilder million(1000000, {});
  EXPECT_EQ(million.shards(), 5u);
  EXPECT_EQ(million.hashes(), 7u);
  EXPECT_EQ(ShardedBloomBuilder(1000000, {.false_positive_rate = 0.001}).hashes(), 10u);
  // A tiny target is capped at 1024 shards, each larger than the target.
  ShardedBloomBuilder capped(5000000, {.shard_bytes_target = 64});
  EXPECT_EQ(capped.shards(), kBloomMaxShards);
  EXPECT_GT(capped.bits_per_shard() / 8, 64u);
}

TEST(BloomTest, ParamsAreClamped) {
  ShardedBloomBuilder empty(0, {});
  EXPECT_EQ(empty.shards(), 1u);
  EXPECT_EQ(empty.bits_per_shard(), 64u);
  EXPECT_GE(empty.hashes(), 1u);
  EXPECT_EQ(ShardedBloomBuilder(100, {.false_positive_rate = 1e-30}).hashes(), kBloomMaxHashes);
  EXPECT_EQ(ShardedBloomBuilder(100, {.false_positive_rate = 0.0}).hashes(), kBloomMaxHashes);
  EXPECT_EQ(ShardedBloomBuilder(100, {.false_positive_rate = 1.0}).hashes(), 1u);
  EXPECT_EQ(ShardedBloomBuilder(100, {.false_positive_rate = -1.0}).hashes(), kBloomMaxHashes);
  ShardedBloomBuilder nan(100, {.false_positive_rate = std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(nan.bits_per_shard(), ShardedBloomBuilder(100, {}).bits_per_shard());
  EXPECT_EQ(ShardedBloomBuilder(100000, {.shard_bytes_target = 0}).shards(), kBloomMaxShards);
  // Every shard of each of these parses, and what was added is found.
  for (ShardedBloomBuilder* b : {&empty, &nan}) {
    TraceId id = CounterId(42);
    b->Add(id);
    EXPECT_TRUE(MayContain(BuildAndParse(*b), id));
  }
}

TEST(BloomTest, SerializationIsDeterministic) {
  std::vector<TraceId> ids = RandomIds(5000, 4);
  BloomParams params{.false_positive_rate = 0.01, .shard_bytes_target = 1024};
  ShardedBloomBuilder a(ids.size(), params), b(ids.size(), params);
  for (const TraceId& id : ids) a.Add(id);
  std::shuffle(ids.begin(), ids.end(), std::mt19937_64(5));
  for (const TraceId& id : ids) {
    b.Add(id);
    b.Add(id);  // duplicates change nothing
  }
  ASSERT_EQ(a.shards(), b.shards());
  ASSERT_GT(a.shards(), 1u);
  for (uint32_t i = 0; i < a.shards(); ++i) EXPECT_EQ(a.SerializeShard(i), b.SerializeShard(i)) << i;
}

TEST(BloomTest, Layout) {
  ShardedBloomBuilder b(1000, {.false_positive_rate = 0.01, .shard_bytes_target = 512});
  ASSERT_EQ(b.shards(), 3u);
  std::string s = b.SerializeShard(2);
  EXPECT_EQ(s.substr(0, 8), "VVBLOOM1");
  EXPECT_EQ(DecodeFixed32(s.data() + 8), 2u);
  EXPECT_EQ(DecodeFixed32(s.data() + 12), 3u);
  EXPECT_EQ(DecodeFixed32(s.data() + 16), b.hashes());
  EXPECT_EQ(DecodeFixed64(s.data() + 20), b.bits_per_shard());
  ASSERT_EQ(s.size(), 28 + b.bits_per_shard() / 8 + 4);
  EXPECT_EQ(s.substr(28, b.bits_per_shard() / 8), std::string(b.bits_per_shard() / 8, '\0'));
  EXPECT_EQ(crc32c::Unmask(DecodeFixed32(s.data() + s.size() - 4)), crc32c::Value(s.substr(0, s.size() - 4)));
}

// The hashing documented in bloom.h, spelled out independently of bloom.cc.
TEST(BloomTest, ProbesFollowTheDocumentedHashing) {
  ShardedBloomBuilder b(1000, {.false_positive_rate = 0.01, .shard_bytes_target = 512});
  TraceId id = CounterId(7);
  b.Add(id);
  uint64_t h1 = Hash64(id.view(), kBloomSeed1), h2 = Hash64(id.view(), kBloomSeed2);
  uint32_t shard = static_cast<uint32_t>((h1 >> 32) % b.shards());
  EXPECT_EQ(ShardedBloomBuilder::ShardOf(id, b.shards()), shard);
  uint64_t m = b.bits_per_shard();
  std::string want(m / 8, '\0');
  uint64_t step = h2 % m == 0 ? 1 : h2 % m;
  for (uint64_t i = 0; i < b.hashes(); ++i) {
    uint64_t bit = (h1 % m + i * step) % m;
    want[bit / 8] = static_cast<char>(want[bit / 8] | (1 << (bit % 8)));
  }
  EXPECT_EQ(b.SerializeShard(shard).substr(kBloomHeaderSize, m / 8), want);
}

TEST(BloomTest, EveryTruncationAndFlipIsRejected) {
  ShardedBloomBuilder b(10, {});
  for (int i = 0; i < 10; ++i) b.Add(CounterId(i));
  std::string good = b.SerializeShard(0);
  ASSERT_TRUE(BloomShard::Parse(good).ok());
  ASSERT_LT(good.size(), 100u);
  for (size_t len = 0; len < good.size(); ++len) {
    auto r = BloomShard::Parse(good.substr(0, len));
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << len;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (int mask = 1; mask < 256; ++mask) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto r = BloomShard::Parse(bad);
      ASSERT_FALSE(r.ok()) << "byte " << i << " ^ " << mask;
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    }
  }
  EXPECT_FALSE(BloomShard::Parse(good + '\0').ok());
  EXPECT_FALSE(BloomShard::Parse("").ok());
}

TEST(BloomTest, ParseExplainsWhatIsWrong) {
  ShardedBloomBuilder b(100, {.false_positive_rate = 0.01, .shard_bytes_target = 64});
  ASSERT_EQ(b.shards(), 2u);
  const std::string good = b.SerializeShard(1);
  auto with = [&](size_t offset, uint64_t v, int width) {
    std::string s = good;
    if (width == 4) EncodeFixed32(s.data() + offset, static_cast<uint32_t>(v));
    else EncodeFixed64(s.data() + offset, v);
    return Reseal(s);
  };
  auto message = [](const std::string& bytes) {
    auto r = BloomShard::Parse(bytes);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    return std::string(r.status().message());
  };
  EXPECT_NE(message(good.substr(0, 20)).find("truncated"), std::string::npos);
  EXPECT_NE(message(good.substr(0, good.size() - 1)).find("size mismatch"), std::string::npos);
  EXPECT_NE(message(Reseal("XXBLOOM1" + good.substr(8))).find("magic"), std::string::npos);
  EXPECT_NE(message(Reseal("VVBLOOM2" + good.substr(8))).find("version"), std::string::npos);
  std::string flipped = good;
  flipped[30] ^= 0x10;
  EXPECT_NE(message(flipped).find("checksum"), std::string::npos);
  EXPECT_NE(message(with(8, 2, 4)).find("index 2"), std::string::npos);
  EXPECT_NE(message(with(12, 0, 4)).find("count 0"), std::string::npos);
  EXPECT_NE(message(with(12, 1025, 4)).find("count 1025"), std::string::npos);
  EXPECT_NE(message(with(16, 0, 4)).find("hash count 0"), std::string::npos);
  EXPECT_NE(message(with(16, 17, 4)).find("hash count 17"), std::string::npos);
  // A bit count that does not fill its last byte: the unused bits must be zero.
  std::string odd = with(20, b.bits_per_shard() - 3, 8);
  char& last = odd[kBloomHeaderSize + b.bits_per_shard() / 8 - 1];
  last = static_cast<char>(last & 0x1f);
  ASSERT_TRUE(BloomShard::Parse(Reseal(odd)).ok());
  last = static_cast<char>(last | 0x80);
  EXPECT_NE(message(Reseal(odd)).find("beyond its bit count"), std::string::npos);
  // m = 0 with no bit bytes.
  std::string zero = good.substr(0, kBloomHeaderSize) + "crc!";
  EncodeFixed64(zero.data() + 20, 0);
  EXPECT_NE(message(Reseal(zero)).find("bit count 0"), std::string::npos);
  // A huge m cannot match any real length, and does not overflow the size computation.
  EXPECT_NE(message(with(20, std::numeric_limits<uint64_t>::max(), 8)).find("size mismatch"), std::string::npos);
}

TEST(BloomTest, MisplacedShardIsDetectable) {
  std::vector<TraceId> ids = RandomIds(2000, 6);
  ShardedBloomBuilder five(ids.size(), {.false_positive_rate = 0.01, .shard_bytes_target = 512});
  ShardedBloomBuilder three(ids.size(), {.false_positive_rate = 0.01, .shard_bytes_target = 1024});
  ASSERT_EQ(five.shards(), 5u);
  ASSERT_EQ(three.shards(), 3u);
  for (const TraceId& id : ids) {
    five.Add(id);
    three.Add(id);
  }
  // A reader that wanted shard 1 of 3 but got shard 1 of 5 (or shard 2 of 3) sees it.
  auto wrong_count = BloomShard::Parse(five.SerializeShard(1));
  ASSERT_TRUE(wrong_count.ok());
  EXPECT_EQ(wrong_count->shard_index(), 1u);
  EXPECT_EQ(wrong_count->shard_count(), 5u);
  auto wrong_index = BloomShard::Parse(three.SerializeShard(2));
  ASSERT_TRUE(wrong_index.ok());
  EXPECT_EQ(wrong_index->shard_index(), 2u);
  EXPECT_EQ(wrong_index->shard_count(), 3u);
  // And a shard only ever claims ids of its own.
  for (const TraceId& id : ids) {
    if (ShardedBloomBuilder::ShardOf(id, 3) != 2) {
      EXPECT_FALSE(wrong_index->MayContain(id));
    }
  }
}

// The seed corpus of bloom_fuzz (tests/fuzz_corpus/bloom) is what today's builder writes for a
// fixed id set: a change to the format or the hashing fails here until the corpus is regenerated
// on purpose with VV_BLOOM_WRITE_CORPUS=<dir>.
TEST(BloomTest, CheckedInCorpusMatchesBuilder) {
  const char* write_to = std::getenv("VV_BLOOM_WRITE_CORPUS");
  auto build = [](uint64_t n, BloomParams params) {
    ShardedBloomBuilder b(n, params);
    for (uint64_t i = 0; i < n; ++i) {
      TraceId id;
      EncodeFixed64(reinterpret_cast<char*>(id.bytes.data()), Hash64(std::to_string(i), 1));
      EncodeFixed64(reinterpret_cast<char*>(id.bytes.data()) + 8, Hash64(std::to_string(i), 2));
      b.Add(id);
    }
    return b;
  };
  ShardedBloomBuilder four = build(200, {.false_positive_rate = 0.01, .shard_bytes_target = 64});
  ASSERT_EQ(four.shards(), 4u);
  ShardedBloomBuilder k16 = build(20, {.false_positive_rate = 1e-6});
  ASSERT_EQ(k16.hashes(), kBloomMaxHashes);
  const std::pair<const char*, std::string> seeds[] = {
      {"empty", build(0, {}).SerializeShard(0)},
      {"ten_ids", build(10, {}).SerializeShard(0)},
      {"shard_0_of_4", four.SerializeShard(0)},
      {"shard_3_of_4", four.SerializeShard(3)},
      {"k16", k16.SerializeShard(0)},
      {"garbage", "VVBLOOM1 is the magic, but this is no bloom shard at all."},
  };
  for (const auto& [name, bytes] : seeds) {
    EXPECT_EQ(BloomShard::Parse(bytes).ok(), std::string_view(name) != "garbage") << name;
    if (write_to != nullptr) {
      std::ofstream out(std::string(write_to) + "/" + name + ".bloom", std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      ASSERT_TRUE(out.good()) << name;
      continue;
    }
    std::string path = std::string(VV_SOURCE_DIR) + "/tests/fuzz_corpus/bloom/" + name + ".bloom";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << path;
    std::string checked_in((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(checked_in, bytes) << "on-disk format changed: " << path;
  }
}

}  // namespace
}  // namespace vivace::blocks
