#pragma once
// Sharded bloom filter over the trace ids of a block, so that a trace-by-id lookup reads one
// small shard per block instead of the block's id index. Spec: docs/formats/block_v1.md ("Bloom filter shards")
// (part of docs/formats/block_v1.md). Changing this file or bloom.cc changes the on-disk format.
//
// Serialized shard (all integers little-endian):
//
//   offset    size         field
//   0         8            magic   "VVBLOOM1"; the last byte is the format version ('1')
//   8         4            index   u32, this shard's number, < count
//   12        4            count   u32, shards in the filter, 1..1024
//   16        4            k       u32, probes per id, 1..16
//   20        8            m       u64, bits in this shard, 1..2^32
//   28        ceil(m/8)    bits    bit j is bit (j % 8) of byte j / 8 (LSB first); unused high
//                                  bits of the last byte are 0
//   28+ceil(m/8)  4        crc     masked CRC32C (crc32c::Mask) of every byte before it
//
// Hashing of a 16-byte trace id (XXH3 as in base/hash.h, which is stable across versions):
//
//   h1 = XXH3_64bits_withSeed(id, kBloomSeed1)    h2 = XXH3_64bits_withSeed(id, kBloomSeed2)
//   shard   = (h1 >> 32) % count                  (the high half of h1)
//   a = h1 % m,  b = h2 % m, or 1 if that is 0
//   probe i = (a + i * b) % m  for i in [0, k)    (double hashing)
//
// The shard choice constrains only the high half of h1; its low 32 bits stay free, so `a` is
// uniform over [0, m) (to within m / 2^32): the shard choice does not bias the probes. Ids are
// hashed rather than used as they are, so non-random ids work as well.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/ids.h"

namespace vivace::blocks {

inline constexpr char kBloomMagic[8] = {'V', 'V', 'B', 'L', 'O', 'O', 'M', '1'};
inline constexpr size_t kBloomHeaderSize = 28;
inline constexpr size_t kBloomTrailerSize = 4;
inline constexpr uint32_t kBloomMaxShards = 1024;
inline constexpr uint32_t kBloomMaxHashes = 16;
/// Bits in one shard at most (512 MiB): keeps the probes uniform (see above) and memory bounded.
inline constexpr uint64_t kBloomMaxBits = uint64_t{1} << 32;
inline constexpr uint64_t kBloomSeed1 = 0x9e3779b97f4a7c15ull;
inline constexpr uint64_t kBloomSeed2 = 0xc2b2ae3d27d4eb4full;

/// Sizing of a ShardedBloomBuilder.
struct BloomParams {
  /// Target false-positive rate once all expected ids are added. Clamped to [1e-9, 0.5]; NaN
  /// means the default 0.01.
  double false_positive_rate = 0.01;
  /// Largest bit array of one shard, in bytes (0 counts as 1). Exceeded by at most 7 bytes (the
  /// bit count is a multiple of 64), or by more when it would take over kBloomMaxShards shards.
  uint32_t shard_bytes_target = 256 << 10;
};

/// Builds the shards of one block's filter in memory.
///
/// With n = max(expected_ids, 1) and p the clamped false-positive rate: the filter has
/// M = ceil(-n ln p / (ln 2)^2) bits in all; shards = ceil(M / (8 * shard_bytes_target)) clamped
/// to [1, kBloomMaxShards]; each shard has m = ceil(M / shards) bits rounded up to a multiple of
/// 64 (at most kBloomMaxBits); k = round(m * shards / n * ln 2) clamped to [1, kBloomMaxHashes].
/// Adding more than expected_ids ids is allowed but raises the false-positive rate.
class ShardedBloomBuilder {
 public:
  explicit ShardedBloomBuilder(uint64_t expected_ids, BloomParams params = {});

  void Add(const model::TraceId& id);

  uint32_t shards() const { return static_cast<uint32_t>(bits_.size()); }
  /// Probes per id (k).
  uint32_t hashes() const { return k_; }
  /// Bits in each shard (m).
  uint64_t bits_per_shard() const { return m_; }

  /// Serialized shard i, in the layout above. REQUIRES: i < shards().
  std::string SerializeShard(uint32_t i) const;

  /// The shard of a filter with `shards` shards that holds `id`. REQUIRES: shards >= 1.
  static uint32_t ShardOf(const model::TraceId& id, uint32_t shards);

 private:
  uint32_t k_;
  uint64_t m_;
  std::vector<std::string> bits_;  // one bit array of ceil(m_/8) bytes per shard
};

/// One parsed shard. Holds its own copy of the bit array.
class BloomShard {
 public:
  /// Validates the whole shard: magic and version, that the length matches m, the CRC, and the
  /// ranges of index, count, k and m. DataLoss (with the reason) for anything invalid; never
  /// crashes on any input.
  static Result<BloomShard> Parse(std::string_view bytes);

  /// False if `id` was certainly not added to this shard's filter. Ids that belong to another
  /// shard (ShardOf(id, shard_count()) != shard_index()) were never added here, so they get false:
  /// ask the shard ShardOf names.
  bool MayContain(const model::TraceId& id) const;

  /// The index and count stored in the shard: a reader checks them against the shard it meant to
  /// read (a misplaced shard would otherwise answer for ids it never saw).
  uint32_t shard_index() const { return index_; }
  uint32_t shard_count() const { return count_; }
  uint32_t hashes() const { return k_; }
  uint64_t bits() const { return m_; }

 private:
  BloomShard() = default;

  uint32_t index_ = 0;
  uint32_t count_ = 1;
  uint32_t k_ = 1;
  uint64_t m_ = 0;
  std::string bits_;
};

}  // namespace vivace::blocks
