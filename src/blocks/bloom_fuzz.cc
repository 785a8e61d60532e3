// Fuzzes BloomShard::Parse. Each input is parsed as it is and again with its trailing CRC
// recomputed (so that mutations reach the checks behind the checksum). Whatever parses must have
// fields in range and answer MayContain, deterministically, for ids cut from the input and a few
// fixed ones. Then the input drives a small builder: every shard it writes must parse back and
// contain every id added (no false negatives).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"
#include "blocks/bloom.h"

namespace {

using vivace::blocks::BloomShard;
using vivace::blocks::ShardedBloomBuilder;
using vivace::model::TraceId;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "bloom_fuzz: %s\n", what);
  std::abort();
}

std::vector<TraceId> IdsFrom(std::string_view data) {
  std::vector<TraceId> ids;
  for (size_t i = 0; i + TraceId::kSize <= data.size() && ids.size() < 64; i += TraceId::kSize) {
    ids.push_back(*TraceId::FromBytes(data.substr(i, TraceId::kSize)));
  }
  TraceId all_ones;
  all_ones.bytes.fill(0xff);
  ids.push_back(TraceId{});
  ids.push_back(all_ones);
  return ids;
}

void CheckParsed(std::string_view bytes, const std::vector<TraceId>& ids) {
  auto shard = BloomShard::Parse(bytes);
  if (!shard.ok()) {
    if (shard.status().code() != vivace::StatusCode::kDataLoss) Fail("Parse failed without DataLoss");
    return;
  }
  if (shard->shard_count() < 1 || shard->shard_count() > vivace::blocks::kBloomMaxShards) Fail("count out of range");
  if (shard->shard_index() >= shard->shard_count()) Fail("index out of range");
  if (shard->hashes() < 1 || shard->hashes() > vivace::blocks::kBloomMaxHashes) Fail("k out of range");
  if (shard->bits() < 1 || shard->bits() > vivace::blocks::kBloomMaxBits) Fail("m out of range");
  for (const TraceId& id : ids) {
    bool first = shard->MayContain(id);
    if (shard->MayContain(id) != first) Fail("MayContain is not deterministic");
    if (first && ShardedBloomBuilder::ShardOf(id, shard->shard_count()) != shard->shard_index()) {
      Fail("MayContain true for an id of another shard");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<TraceId> ids = IdsFrom(in);
  CheckParsed(in, ids);
  if (size >= vivace::blocks::kBloomHeaderSize + vivace::blocks::kBloomTrailerSize) {
    std::string sealed(in);
    size_t at = sealed.size() - vivace::blocks::kBloomTrailerSize;
    vivace::EncodeFixed32(sealed.data() + at, vivace::crc32c::Mask(vivace::crc32c::Value(in.substr(0, at))));
    CheckParsed(sealed, ids);
  }

  // Builder round trip: the first bytes choose the sizing, the ids come from the input.
  if (size >= 2) {
    const double rates[] = {0.5, 0.1, 0.01, 0.001, 1e-6, 1e-12};
    vivace::blocks::BloomParams params;
    params.false_positive_rate = rates[data[0] % 6];
    params.shard_bytes_target = 1 + data[1] * 4u;
    ShardedBloomBuilder b(ids.size(), params);
    for (const TraceId& id : ids) b.Add(id);
    std::vector<BloomShard> shards;
    for (uint32_t i = 0; i < b.shards(); ++i) {
      auto s = BloomShard::Parse(b.SerializeShard(i));
      if (!s.ok()) Fail("a serialized shard does not parse");
      if (s->shard_index() != i || s->shard_count() != b.shards()) Fail("shard index/count not preserved");
      shards.push_back(std::move(s).value());
    }
    for (const TraceId& id : ids) {
      if (!shards[ShardedBloomBuilder::ShardOf(id, b.shards())].MayContain(id)) Fail("false negative");
    }
  }
  return 0;
}
