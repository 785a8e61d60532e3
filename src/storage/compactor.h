#pragma once
// Compactor: merges a tenant's small blocks into larger ones, level by level, and applies
// retention. Like Tempo's: blocks are grouped by time window (and, within the active window, by
// compaction level); a job merges 2–4 of them; split traces are merged and duplicate spans
// dropped.
//
// Memory is bounded by design: inputs are read one row group at a time (one per input), the
// output is streamed to the store one row group at a time, and only one trace's parts are ever
// merged in memory. A trace split over N blocks costs its own size once, not N times.
//
// Crash safety, in commit order:
//   1. the output block is written; its meta.json (written last) lists the inputs in
//      "compactedFrom". Until it exists nothing changed.
//   2. each input is marked compacted: meta.compacted.json is written, then meta.json deleted.
//      Between 1 and 2 an input is "superseded": readers skip it, and the next run marks it.
//   3. after compacted_block_retention a compacted block's objects are deleted, its
//      meta.compacted.json last.
// Every step is idempotent, so a run interrupted anywhere is completed by the next one.
// Expired blocks (retention) go through steps 2 and 3 too, so readers with a stale blocklist
// can finish. Only one compactor may run per store (leases come with scale-out).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/mutex.h"
#include "base/status.h"
#include "blocks/block.h"
#include "io/object_store.h"
#include "storage/blocklist.h"

namespace vivace::storage {

struct CompactorOptions {
  /// Blocks whose end times fall in the same window of this length may be merged.
  uint64_t compaction_window_seconds = 3600;
  /// Within this age (of a block's end time) blocks are grouped by level too; older ones by
  /// window only.
  uint64_t active_window_seconds = 24 * 3600;
  uint32_t min_input_blocks = 2;
  uint32_t max_input_blocks = 4;
  /// A job's inputs together stay within these: bytes (data + index + bloom) and traces.
  uint64_t max_block_bytes = 100ull << 30;
  uint64_t max_compaction_objects = 6'000'000;
  /// Blocks whose newest span ended longer ago than this are deleted. 0 keeps them forever.
  uint64_t block_retention_seconds = 14 * 24 * 3600;
  /// Per-tenant overrides of block_retention_seconds.
  std::map<std::string, uint64_t, std::less<>> tenant_block_retention_seconds;
  /// How long compacted and expired blocks stay readable before their objects are deleted (for
  /// readers that have not polled since); also how long an orphan (objects without a meta)
  /// must have been seen before it is removed.
  uint64_t compacted_block_retention_seconds = 3600;
  /// Output blocks. compaction_level, expected_traces and compacted_from are set per job.
  blocks::BlockWriterOptions block;
  blocks::ReadLimits read_limits;
};

/// What a run did.
struct CompactionStats {
  uint64_t jobs = 0;
  uint64_t blocks_in = 0;
  uint64_t blocks_out = 0;
  uint64_t spans_in = 0;
  uint64_t spans_out = 0;  // spans_in - spans_out duplicates were dropped
  uint64_t traces_out = 0;
  uint64_t traces_combined = 0;  // output traces assembled from more than one input
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t marked_compacted = 0;  // including superseded blocks of interrupted runs
  uint64_t expired = 0;           // marked by retention
  uint64_t deleted = 0;           // compacted blocks whose objects were removed
  uint64_t orphans_deleted = 0;

  CompactionStats& operator+=(const CompactionStats& o);
};

class Compactor {
 public:
  /// `blocklist` (may be null) learns of outputs and removals at once, without a poll.
  Compactor(io::ObjectStore* store, CompactorOptions opts, Blocklist* blocklist, MetricsRegistry* metrics);

  /// One cycle over every tenant of the store: completes interrupted compactions, applies
  /// retention, deletes what has been compacted long enough, then compacts until no job is
  /// left. Errors of one tenant do not stop the others; the first is returned.
  Result<CompactionStats> RunOnce(uint64_t now_unix_seconds);

  /// The jobs for a tenant's live blocks, most urgent first: each is 2..max_input_blocks blocks
  /// of one window (and level, within the active window), smallest blocks first.
  static std::vector<std::vector<blocks::BlockMeta>> Plan(std::vector<blocks::BlockMeta> live,
                                                          const CompactorOptions& opts, uint64_t now_unix_seconds);

  /// Merges `inputs` (of one tenant) into one block of level max(input levels) + 1 and commits
  /// it (step 1); does not mark the inputs. Exposed for tests and benchmarks.
  Result<blocks::BlockMeta> Merge(std::span<const blocks::BlockMeta> inputs, CompactionStats* stats);

  /// Step 2 for one block: writes its meta.compacted.json, then deletes its meta.json.
  Status MarkCompacted(const blocks::BlockMeta& meta, uint64_t now_unix_seconds);

 private:
  Status RunTenant(const std::string& tenant, uint64_t now, CompactionStats* stats) VV_REQUIRES(mu_);
  Status DeleteBlock(std::string_view tenant, std::string_view block_id, bool has_compacted_meta);
  uint64_t RetentionFor(std::string_view tenant) const;

  io::ObjectStore* store_;
  const CompactorOptions opts_;
  Blocklist* blocklist_;
  Mutex mu_;  // serialises runs
  // "<tenant>/<block id>" → when first seen without a meta.
  std::map<std::string, uint64_t> orphans_seen_ VV_GUARDED_BY(mu_);

  Counter* errors_;
  Counter* retention_marked_;
  Counter* retention_deleted_;
  MetricsRegistry* metrics_;
};

}  // namespace vivace::storage
