#pragma once
// Write-ahead log: a directory of append-only segment files holding opaque records, with group
// commit. Layout of the files: docs/formats/wal_v1.md.
//
// Typical use (ingest): Open() replays what a previous process logged, Append() logs each
// request before it is acknowledged, Roll() + DeleteSegmentsBefore() drop what has since been
// persisted elsewhere (in a block).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "wal/internal/file.h"

namespace vivace::wal {

enum class SyncPolicy {
  /// Acknowledge a record only after an fdatasync covers it (group commit). Segment creation,
  /// replay truncation and Close are synced too. The default.
  kAlways,
  /// Acknowledge after write(2); fdatasync at most every `sync_interval` while there is unsynced
  /// data, and on Roll/Close. A process crash loses nothing acknowledged; a machine crash loses
  /// up to one interval.
  kInterval,
  /// Never call fsync/fdatasync (not even for new segments or on Close): for tests and tmpfs.
  kNone,
};

struct Options {
  /// Directory of the segment files; created if missing. One Wal per directory (flock'ed).
  std::string dir;
  SyncPolicy sync = SyncPolicy::kAlways;
  /// Only for kInterval. Must be positive.
  std::chrono::milliseconds sync_interval{100};
  /// Soft limit: before writing a batch, the writer moves to a new segment once the current
  /// one holds at least this many bytes, so a segment may exceed it by one batch.
  uint64_t segment_bytes = 128ull << 20;
  /// Largest payload Append accepts and replay believes (64 MiB request limit + slack for the
  /// tenant and framing the ingest layer adds). Replay with a value at least as large as the
  /// one used to write, or larger records are treated as corrupt. At most kMaxRecordBytesLimit.
  uint32_t max_record_bytes = 80u << 20;
};

/// Upper bound for Options::max_record_bytes (1 GiB).
inline constexpr uint32_t kMaxRecordBytesLimit = 1u << 30;

/// What Open found. Byte counts are payload bytes for `bytes`, file bytes for `truncated_bytes`.
struct ReplayStats {
  uint64_t records = 0;           // records passed to the replay callback
  uint64_t bytes = 0;             // their payload bytes
  uint64_t segments = 0;          // segment files with a valid header that were read
  uint64_t truncated_bytes = 0;   // bytes cut off torn or corrupt segment tails
  uint64_t corrupt_segments = 0;  // segments renamed for a bad header, or with records skipped
};

/// Where a record lives: its segment, the file offset of its record header, and its payload
/// length. Stays valid (for Read) until the segment is deleted.
struct RecordLocation {
  uint64_t segment = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};

/// Called on the writer thread once the record is durable per the SyncPolicy (OK) or can never
/// become so (error). `where` is the record's location (all zero on error).
using AppendCallback = std::function<void(Status status, RecordLocation where)>;

/// Called by Open for every record found, in log order; `payload` is valid only during the call.
/// A non-OK return aborts Open with that status.
using ReplayCallback = std::function<Status(RecordLocation where, std::string_view payload)>;

/// Thread-safe: every method may be called from any thread. One background writer thread owns
/// the current segment file and runs all AppendCallbacks.
class Wal {
 public:
  /// Opens `opts.dir` (creating it), replays every existing record in order through `replay`,
  /// and starts the writer thread. Torn or corrupt data is cut or skipped with a log::Warn and
  /// counted in replay_stats(), never an error (see docs/formats/wal_v1.md); only I/O errors,
  /// bad options, a directory held by another Wal, or an error from `replay` fail Open.
  /// New records always go to a new segment, numbered above every existing one.
  static Result<std::unique_ptr<Wal>> Open(Options opts, const ReplayCallback& replay);

  /// Close().
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  /// Queues one record whose payload is the concatenation of `pieces` and returns at once; the
  /// bytes are copied before returning, so the caller's buffers may die. Records are logged in
  /// the order of Append calls. Concurrent appends share one write(2) and one fdatasync.
  /// `done` always runs exactly once: on the writer thread, except after Close() when it runs
  /// inline. Errors: InvalidArgument if the payload exceeds max_record_bytes; Unavailable once
  /// an I/O error has put the WAL in its (permanent) failed state; FailedPrecondition after
  /// Close(). `done` must not block for long (it delays every other append), must not call
  /// AppendSync/Roll/Close, and may call Append.
  void Append(std::span<const std::string_view> pieces, AppendCallback done);
  void Append(std::string_view payload, AppendCallback done);

  /// Append and wait for `done`. REQUIRES: not called from an AppendCallback.
  Status AppendSync(std::string_view payload);

  /// Makes records appended from now on go to a new segment, after writing and syncing every
  /// record queued before the call. Returns the number of the first segment that will hold new
  /// records: all records whose Append returned before Roll was called are in lower segments.
  /// If the current segment holds no record it is kept and its number returned.
  /// REQUIRES: not called from an AppendCallback.
  Result<uint64_t> Roll();

  /// Reads back the payload of a record that Append acknowledged or replay found, checking its
  /// header and checksum: DataLoss if they do not match, NotFound if the segment is gone.
  /// Any thread; concurrent with appends.
  Result<std::string> Read(const RecordLocation& where) const;

  /// Deletes the segment files numbered below `segment` and below current_segment() (the
  /// current segment is never deleted), then syncs the directory. `.corrupt` files are kept.
  Status DeleteSegmentsBefore(uint64_t segment);

  /// The segment new records currently go to.
  uint64_t current_segment() const { return current_segment_.load(std::memory_order_acquire); }
  /// What Open found.
  const ReplayStats& replay_stats() const { return replay_stats_; }
  /// Number of write batches (one write(2) each) and of fdatasync calls on segment data.
  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

  /// Writes and syncs (per policy) everything queued, runs the pending callbacks and stops the
  /// writer thread. Idempotent. REQUIRES: not called from an AppendCallback.
  void Close();

 private:
  struct Pending {
    AppendCallback done;
    Status status;               // non-OK: rejected before queuing, `done` gets this
    uint64_t queue_offset = 0;   // where its record starts in the queued batch
    uint32_t length = 0;         // payload bytes
  };

  explicit Wal(Options opts);
  Status OpenSegment(uint64_t segment);
  void WriterLoop();
  /// Writes `batch` to the current segment (rolling first if it is full) and returns the file
  /// offset it was written at.
  Result<uint64_t> WriteBatch(const std::string& batch);
  Status SyncCurrent();
  Status DoRoll();
  void Fail(const Status& s);

  const Options opts_;
  internal::Fd dir_fd_;  // also holds the directory's flock

  // Owned by the writer thread (and by Open before it starts, Close after it stops).
  internal::Fd seg_fd_;
  std::string seg_path_;
  uint64_t seg_bytes_ = 0;
  bool seg_has_records_ = false;
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;

  std::atomic<uint64_t> current_segment_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> syncs_{0};
  ReplayStats replay_stats_;

  Mutex mu_;
  CondVar work_cv_;                                  // writer waits for work
  CondVar done_cv_;                                  // Roll waits for the writer
  std::string queued_ VV_GUARDED_BY(mu_);            // encoded records in Append order
  std::vector<Pending> pending_ VV_GUARDED_BY(mu_);  // one per Append, same order
  Status error_ VV_GUARDED_BY(mu_);                  // set once, on the first I/O error
  uint64_t rolls_requested_ VV_GUARDED_BY(mu_) = 0;
  uint64_t rolls_done_ VV_GUARDED_BY(mu_) = 0;
  Status roll_status_ VV_GUARDED_BY(mu_);
  uint64_t roll_segment_ VV_GUARDED_BY(mu_) = 0;
  bool closing_ VV_GUARDED_BY(mu_) = false;
  std::thread writer_;

  Mutex close_mu_;  // serialises Close with itself and with DeleteSegmentsBefore
  bool closed_ VV_GUARDED_BY(close_mu_) = false;
};

}  // namespace vivace::wal
