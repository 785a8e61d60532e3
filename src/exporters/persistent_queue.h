#pragma once
// The on-disk half of a persistent sending queue (`sending_queue.storage`): one file per queued
// request in one directory, so that requests not yet delivered survive a restart.
//
// Layout (changing it changes the on-disk format):
//   <dir>/<seq, 20 decimal digits>.req   a request; seq increases, so names sort in queue order
//   <dir>/<seq>.tmp                      being written; removed on open
// A .req file is written as .tmp, fsynced, renamed, and the directory fsynced: once Append
// returns, the request survives a crash. It is removed once its fate is final.
// File contents, little-endian:
//   0  magic "VVQ1"
//   4  u8 encoding (RequestEncoding), 3 bytes zero
//   8  u64 span count
//  16  u32 tenant length T
//  20  u32 masked CRC-32C of the T + B payload bytes
//  24  u64 body length B
//  32  u32 masked CRC-32C of bytes 0..32
//  36  tenant, then body
// A file whose header is damaged or whose size is not 36 + T + B (a torn write on a file
// system that reorders) is skipped and removed on open; a payload CRC mismatch is found when
// the request is read.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "exporters/export_request.h"

namespace vivace::exporters {

/// Thread-safe: Append, Read and Remove may run concurrently on different sequence numbers.
class PersistentQueue {
 public:
  /// What Open found of a request, without its payload.
  struct Entry {
    uint64_t seq = 0;
    uint64_t spans = 0;
    uint64_t body_bytes = 0;
  };

  /// Creates `dir` (and parents) if needed, removes .tmp files and damaged .req files, and
  /// lists the requests left by a previous run.
  static Result<std::unique_ptr<PersistentQueue>> Open(std::string dir);

  /// Requests found by Open, in queue order.
  const std::vector<Entry>& recovered() const { return recovered_; }
  /// Files Open removed as damaged.
  uint64_t damaged_files() const { return damaged_files_; }
  const std::string& dir() const { return dir_; }

  /// Writes `request` durably and returns its sequence number.
  Result<uint64_t> Append(const ExportRequest& request);
  /// Reads a request back; DataLoss when its file is corrupt.
  Result<ExportRequest> Read(uint64_t seq) const;
  /// Removes a request whose fate is final. Removing a missing file is not an error.
  Status Remove(uint64_t seq);

 private:
  explicit PersistentQueue(std::string dir) : dir_(std::move(dir)) {}
  Status Scan();
  std::string PathOf(uint64_t seq, const char* suffix) const;

  const std::string dir_;
  std::vector<Entry> recovered_;
  uint64_t damaged_files_ = 0;
  Mutex mu_;
  uint64_t next_seq_ VV_GUARDED_BY(mu_) = 1;
};

/// A directory name for a component id: "otlp/tempo" -> "otlp_tempo" (anything but
/// [A-Za-z0-9._-] becomes '_').
std::string SanitizeComponentId(std::string_view id);

}  // namespace vivace::exporters
