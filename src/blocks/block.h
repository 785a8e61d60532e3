#pragma once
// Blocks of format v1: immutable sets of whole traces, sorted by trace id, stored as a few
// objects under "<tenant>/<block id>/": `data` (row groups + footer), `index` (row-group trace-id
// ranges), `bloom-NNNN` (bloom filter shards over trace ids) and `meta.json`, written last: a
// block exists once its meta exists. Byte layout: docs/formats/block_v1.md.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "blocks/bloom.h"
#include "blocks/columns.h"
#include "blocks/row_group.h"
#include "blocks/row_group_cache.h"
#include "blocks/row_group_chunks.h"
#include "io/object_store.h"
#include "model/ids.h"
#include "model/span_batch.h"

namespace vivace::blocks {

inline constexpr std::string_view kFormatName = "vivace-block-v1";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr std::string_view kMetaName = "meta.json";
inline constexpr std::string_view kDataName = "data";
inline constexpr std::string_view kIndexName = "index";
/// A compacted (or expired) block's meta, renamed: readers ignore the block; it is deleted after
/// compacted_block_retention.
inline constexpr std::string_view kCompactedMetaName = "meta.compacted.json";

struct BlockMeta {
  std::string block_id;  // a UUID, as Tempo's
  std::string tenant;
  uint32_t format_version = kFormatVersion;
  uint64_t start_unix_nano = 0;  // earliest span start
  uint64_t end_unix_nano = 0;    // latest span end
  uint64_t total_traces = 0;
  uint64_t total_spans = 0;
  uint64_t data_bytes = 0;
  uint64_t index_bytes = 0;
  uint64_t bloom_bytes = 0;
  uint32_t row_groups = 0;
  uint32_t bloom_shards = 0;
  double bloom_false_positive_rate = 0;
  uint64_t footer_offset = 0;
  uint64_t footer_bytes = 0;
  uint32_t compaction_level = 0;
  Compression compression = Compression::kZstd;
  std::vector<DedicatedColumn> dedicated;
  uint64_t created_unix_seconds = 0;
  /// The blocks a compaction merged into this one ("compactedFrom"): once this block exists
  /// they are superseded, even before they are marked compacted.
  std::vector<std::string> compacted_from;
  /// Set in meta.compacted.json only: when the block was marked compacted.
  uint64_t compacted_unix_seconds = 0;

  std::string prefix() const { return tenant + "/" + block_id + "/"; }
  std::string key(std::string_view name) const { return prefix() + std::string(name); }
  /// Total bytes of every object of the block (meta.json excluded).
  uint64_t total_bytes() const { return data_bytes + index_bytes + bloom_bytes; }
};

std::string EncodeMetaJson(const BlockMeta& meta);
/// Errors name what is wrong; unknown fields are ignored (newer writers may add some).
Result<BlockMeta> ParseMetaJson(std::string_view json);
/// "bloom-0007".
std::string BloomShardName(uint32_t shard);
/// A random (version 4) UUID.
std::string NewBlockId();

/// Statistics of one row group, kept in the data object's footer so that a scan can skip row
/// groups that cannot match (TraceQL). "Present" counts are the complement of null counts.
struct RowGroupStats {
  uint64_t min_duration_nano = 0;  // of its spans (end - start, 0 when end < start)
  uint64_t max_duration_nano = 0;
  uint32_t status_codes = 0;  // bit c set: some span has status code c (0 unset, 1 ok, 2 error)
  uint32_t kinds = 0;         // bit k set: some span has kind k (0..5)
  uint32_t error_spans = 0;
  struct Dedicated {
    uint32_t present = 0;  // spans holding a value (for resource columns: in their resource)
    int64_t min_int = 0;   // int columns only, when present > 0
    int64_t max_int = 0;
    bool operator==(const Dedicated&) const = default;
  };
  std::vector<Dedicated> dedicated;  // one per BlockMeta::dedicated column

  bool operator==(const RowGroupStats&) const = default;
};
RowGroupStats ComputeRowGroupStats(const RowGroup& g, std::span<const DedicatedColumn> dedicated);

/// One row group as the index lists it.
struct RowGroupEntry {
  model::TraceId min_id;
  model::TraceId max_id;
  uint64_t offset = 0;  // in the data object
  uint64_t length = 0;
  uint32_t traces = 0;
  uint32_t spans = 0;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
};

/// What the footer of a data object holds.
struct Footer {
  uint32_t format_version = 0;
  std::vector<std::string> columns;
  std::vector<RowGroupEntry> row_groups;
  std::vector<RowGroupStats> stats;  // one per row group
};
Result<Footer> ParseFooter(std::string_view bytes);

std::string EncodeIndex(std::span<const RowGroupEntry> entries);
Result<std::vector<RowGroupEntry>> ParseIndex(std::string_view bytes);

struct BlockWriterOptions {
  PageOptions page;
  /// A row group is closed after the trace that brings it to this many spans.
  uint32_t row_group_spans = 2048;
  DedicatedOptions dedicated;
  BloomParams bloom;
  uint32_t compaction_level = 0;
  /// Sizes the bloom filter up front (an upper bound is fine) so that trace ids need not be
  /// kept until Finish: compaction knows the inputs' total. 0: keep the ids (16 bytes each) and
  /// size the filter exactly.
  uint64_t expected_traces = 0;
  /// Blocks this one replaces (compaction inputs); recorded in the meta.
  std::vector<std::string> compacted_from;
};

/// Writes one block, streaming the data object to the store row group by row group, so memory
/// holds one row group (plus the trace ids when expected_traces is 0). Finish writes the index
/// and bloom shards, then meta.json. Destroying an unfinished writer discards the data object.
class BlockWriter {
 public:
  BlockWriter(io::ObjectStore* store, std::string tenant, BlockWriterOptions opts,
              std::string block_id = NewBlockId());
  ~BlockWriter();

  /// Spans `idx` of `src` form one trace (or part of one, merged with nothing: each id once per
  /// block). Trace ids must be strictly increasing: InvalidArgument otherwise. Errors of the
  /// store (when a row group is written out) are returned too; the writer is then unusable.
  Status AddTrace(const model::SpanBatch& src, std::span<const uint32_t> idx);

  /// Writes the rest: last row group, footer, index, bloom shards, then meta.json. Nothing is
  /// visible before the meta: an error leaves at most orphan objects without one.
  /// REQUIRES: at least one trace.
  Result<BlockMeta> Finish();

  uint64_t spans() const { return spans_; }
  uint64_t traces() const { return traces_; }
  /// Encoded bytes so far (the data object's size once finished, less the footer).
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  Status FlushRowGroup();
  Status Write(std::string_view bytes);

  io::ObjectStore* store_;
  BlockWriterOptions opts_;
  BlockMeta meta_;
  RowGroupBuilder builder_;
  bool dedicated_chosen_ = false;
  std::unique_ptr<io::ObjectWriter> data_;
  Status error_;  // sticky
  uint64_t data_bytes_ = 0;
  std::vector<RowGroupEntry> entries_;
  std::vector<RowGroupStats> stats_;
  std::vector<model::TraceId> ids_;  // when opts_.expected_traces == 0
  std::unique_ptr<ShardedBloomBuilder> bloom_;  // when opts_.expected_traces > 0
  model::TraceId last_id_;
  uint64_t traces_ = 0;
  uint64_t spans_ = 0;
};

/// Reads one block. Thread-safe. Caches the index and bloom shards it has read (a few bytes per
/// trace), and the row groups FindTrace decodes in `cache` when one is given.
class BlockReader {
 public:
  BlockReader(io::ObjectStore* store, BlockMeta meta, ReadLimits limits = {}, RowGroupCache* cache = nullptr);

  const BlockMeta& meta() const { return meta_; }

  /// Appends the spans of trace `id` to `out` (nothing if the block lacks it). Reads the bloom
  /// shard and index once, then one row group. Errors name the block.
  Status FindTrace(const model::TraceId& id, model::SpanBatch* out);

  /// The row-group entries of the block.
  Result<std::vector<RowGroupEntry>> Index();
  /// The same, shared rather than copied (read once, then kept).
  Result<std::shared_ptr<const std::vector<RowGroupEntry>>> SharedIndex();
  /// The data object's footer: per row group its location and statistics. Not cached.
  Result<Footer> ReadFooter();
  /// Reads and decodes row group `i`.
  Result<RowGroup> ReadRowGroup(size_t i);
  /// The encoded bytes of row group `i`, and their decoding (checked against the index), for
  /// readers that look at a few columns before deciding to decode (search).
  Result<std::string> ReadRowGroupBytes(size_t i);
  /// Decodes row group `i` from its bytes, or the part `sel` selects (see DecodeSelection).
  Result<RowGroup> DecodeRowGroupBytes(size_t i, std::string_view bytes, const DecodeSelection* sel = nullptr);
  /// Row group `i` for reading chunk by chunk (search): its header now, chunks when asked, through
  /// a reader of the data object that the block keeps open. `chunks` stays valid while the
  /// BlockReader lives.
  Result<RowGroupChunks> OpenRowGroup(size_t i);
  /// Reads the chunks `sel` selects (all when it selects no columns) and decodes them.
  Result<RowGroup> DecodeRowGroupChunks(size_t i, RowGroupChunks& chunks, const DecodeSelection* sel = nullptr);
  /// The footer, read once and then kept (statistics for search pruning).
  Result<std::shared_ptr<const Footer>> CachedFooter();

  /// Reads every object of the block and checks every checksum and structure: index, bloom
  /// shards, footer, each row group fully decoded, and counts against the meta.
  Status Verify();

 private:
  Status Error(const Status& s) const;
  Result<RowGroup> DecodeGroup(size_t i, const RowGroupEntry& e, std::string_view bytes,
                               const DecodeSelection* sel = nullptr);
  Result<bool> BloomMayContain(const model::TraceId& id);
  Result<io::ObjectReader*> DataReader();

  io::ObjectStore* store_;
  const BlockMeta meta_;
  const ReadLimits limits_;
  const size_t columns_;  // of each row group, from meta_.dedicated
  RowGroupCache* cache_;
  Mutex mu_;
  std::shared_ptr<const std::vector<RowGroupEntry>> index_ VV_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<const BloomShard>> bloom_ VV_GUARDED_BY(mu_);
  std::shared_ptr<const Footer> footer_ VV_GUARDED_BY(mu_);
  std::unique_ptr<io::ObjectReader> data_ VV_GUARDED_BY(mu_);  // opened once, kept
};

/// What one listing of a tenant's objects finds.
struct TenantListing {
  /// Blocks with a meta.json that are neither compacted nor superseded: what readers use.
  /// Oldest first by start time.
  std::vector<BlockMeta> live;
  /// Blocks with a meta.json that a live block's compactedFrom names: a compaction committed its
  /// output but was interrupted before marking its inputs compacted.
  std::vector<BlockMeta> superseded;
  /// Blocks with a meta.compacted.json (with compacted_unix_seconds set).
  std::vector<BlockMeta> compacted;
  /// Block ids with objects but neither meta: a write in progress, or one a crash interrupted.
  std::vector<std::string> orphans;
  /// Metas that do not parse: "<tenant>/<block id>/<name>: <error>". The blocks are left alone.
  std::vector<std::pair<std::string, Status>> corrupt;
};
Result<TenantListing> ListTenant(io::ObjectStore* store, std::string_view tenant);

/// The live blocks of `tenant` (see TenantListing), oldest first by start time. An unparseable
/// meta is an error naming it.
Result<std::vector<BlockMeta>> ListBlocks(io::ObjectStore* store, std::string_view tenant);

}  // namespace vivace::blocks
