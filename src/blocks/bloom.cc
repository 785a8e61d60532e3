#include "blocks/bloom.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/hash.h"

namespace vivace::blocks {
namespace {

constexpr double kMinFalsePositiveRate = 1e-9;
constexpr double kMaxFalsePositiveRate = 0.5;

struct ProbeHash {
  uint64_t h1;
  uint64_t h2;
};

ProbeHash HashId(const model::TraceId& id) { return {Hash64(id.view(), kBloomSeed1), Hash64(id.view(), kBloomSeed2)}; }

uint32_t ShardOfHash(const ProbeHash& h, uint32_t shards) { return static_cast<uint32_t>((h.h1 >> 32) % shards); }

uint64_t BytesForBits(uint64_t m) { return m / 8 + (m % 8 != 0 ? 1 : 0); }

// Calls f(bit) for the k probe positions of `h` in a shard of m bits while f returns true; true if
// it always did. REQUIRES: 1 <= m <= 2^63.
template <typename F>
bool AllProbes(const ProbeHash& h, uint64_t m, uint32_t k, F f) {
  uint64_t pos = h.h1 % m;
  uint64_t step = h.h2 % m;
  if (step == 0) step = 1;
  for (uint32_t i = 0; i < k; ++i) {
    if (!f(pos)) return false;
    pos += step;  // pos, step < m <= 2^63: no overflow
    if (pos >= m) pos -= m;
  }
  return true;
}

std::string Num(uint64_t v) { return std::to_string(v); }

}  // namespace

ShardedBloomBuilder::ShardedBloomBuilder(uint64_t expected_ids, BloomParams params) {
  const double n = static_cast<double>(std::max<uint64_t>(expected_ids, 1));
  double p = params.false_positive_rate;
  p = std::isnan(p) ? BloomParams{}.false_positive_rate : std::clamp(p, kMinFalsePositiveRate, kMaxFalsePositiveRate);
  const double ln2 = std::log(2.0);
  const double max_total = static_cast<double>(kBloomMaxBits) * kBloomMaxShards;
  const double total_bits = std::min(std::ceil(-n * std::log(p) / (ln2 * ln2)), max_total);
  const double target_bits = 8.0 * std::max<uint32_t>(params.shard_bytes_target, 1);
  const double shards = std::clamp(std::ceil(total_bits / target_bits), 1.0, static_cast<double>(kBloomMaxShards));
  uint64_t m = static_cast<uint64_t>(std::ceil(total_bits / shards));
  m = std::clamp<uint64_t>((m + 63) / 64 * 64, 64, kBloomMaxBits);
  const double k = std::round(static_cast<double>(m) * shards / n * ln2);
  m_ = m;
  k_ = static_cast<uint32_t>(std::clamp(k, 1.0, static_cast<double>(kBloomMaxHashes)));
  bits_.assign(static_cast<size_t>(shards), std::string(BytesForBits(m_), '\0'));
}

void ShardedBloomBuilder::Add(const model::TraceId& id) {
  ProbeHash h = HashId(id);
  std::string& bits = bits_[ShardOfHash(h, shards())];
  AllProbes(h, m_, k_, [&](uint64_t bit) {
    bits[bit / 8] = static_cast<char>(static_cast<uint8_t>(bits[bit / 8]) | (1u << (bit % 8)));
    return true;
  });
}

std::string ShardedBloomBuilder::SerializeShard(uint32_t i) const {
  VV_CHECK(i < shards());
  std::string out;
  out.reserve(kBloomHeaderSize + bits_[i].size() + kBloomTrailerSize);
  out.append(kBloomMagic, sizeof kBloomMagic);
  PutFixed32(&out, i);
  PutFixed32(&out, shards());
  PutFixed32(&out, k_);
  PutFixed64(&out, m_);
  out += bits_[i];
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

uint32_t ShardedBloomBuilder::ShardOf(const model::TraceId& id, uint32_t shards) {
  VV_CHECK(shards >= 1);
  return ShardOfHash(HashId(id), shards);
}

Result<BloomShard> BloomShard::Parse(std::string_view bytes) {
  constexpr size_t kFixed = kBloomHeaderSize + kBloomTrailerSize;
  if (bytes.size() < kFixed) {
    return DataLoss("bloom shard truncated: " + Num(bytes.size()) + " bytes, less than the " + Num(kFixed) +
                    " of header and checksum");
  }
  if (std::memcmp(bytes.data(), kBloomMagic, sizeof kBloomMagic - 1) != 0) {
    return DataLoss("not a bloom shard: bad magic (want \"VVBLOOM1\")");
  }
  if (bytes[7] != kBloomMagic[7]) {
    uint8_t v = static_cast<uint8_t>(bytes[7]);
    return DataLoss("unsupported bloom shard version: magic ends in byte " + Num(v) + ", this reader knows only '1'");
  }
  BloomShard s;
  s.index_ = DecodeFixed32(bytes.data() + 8);
  s.count_ = DecodeFixed32(bytes.data() + 12);
  s.k_ = DecodeFixed32(bytes.data() + 16);
  s.m_ = DecodeFixed64(bytes.data() + 20);
  const uint64_t payload = bytes.size() - kFixed;
  if (BytesForBits(s.m_) != payload) {
    return DataLoss("bloom shard size mismatch: " + Num(s.m_) + " bits take " + Num(BytesForBits(s.m_)) +
                    " bytes, but " + Num(payload) + " bytes are between header and checksum (truncated or corrupt)");
  }
  const size_t crc_at = bytes.size() - kBloomTrailerSize;
  const uint32_t stored = crc32c::Unmask(DecodeFixed32(bytes.data() + crc_at));
  const uint32_t actual = crc32c::Value(bytes.substr(0, crc_at));
  if (stored != actual) return DataLoss("bloom shard checksum mismatch (corrupt)");
  // The CRC matched: what follows can only fail for a shard written wrongly, not for bit rot.
  if (s.count_ < 1 || s.count_ > kBloomMaxShards) {
    return DataLoss("bloom shard count " + Num(s.count_) + " out of range [1, " + Num(kBloomMaxShards) + "]");
  }
  if (s.index_ >= s.count_) {
    return DataLoss("bloom shard index " + Num(s.index_) + " is not below the shard count " + Num(s.count_));
  }
  if (s.k_ < 1 || s.k_ > kBloomMaxHashes) {
    return DataLoss("bloom shard hash count " + Num(s.k_) + " out of range [1, " + Num(kBloomMaxHashes) + "]");
  }
  if (s.m_ < 1 || s.m_ > kBloomMaxBits) {
    return DataLoss("bloom shard bit count " + Num(s.m_) + " out of range [1, " + Num(kBloomMaxBits) + "]");
  }
  s.bits_.assign(bytes.substr(kBloomHeaderSize, payload));
  if (s.m_ % 8 != 0 && (static_cast<uint8_t>(s.bits_.back()) >> (s.m_ % 8)) != 0) {
    return DataLoss("bloom shard has bits set beyond its bit count " + Num(s.m_));
  }
  return s;
}

bool BloomShard::MayContain(const model::TraceId& id) const {
  ProbeHash h = HashId(id);
  if (ShardOfHash(h, count_) != index_) return false;
  return AllProbes(h, m_, k_, [&](uint64_t bit) { return (static_cast<uint8_t>(bits_[bit / 8]) >> (bit % 8)) & 1; });
}

}  // namespace vivace::blocks
