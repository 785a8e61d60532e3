#pragma once
// Replay of a WAL directory at Open: reads every segment in order, cuts torn tails, sets aside
// segments with bad headers. Internal to wal/; the rules are in docs/formats/wal_v1.md.

#include <cstdint>

#include "base/status.h"
#include "wal/wal.h"

namespace vivace::wal::internal {

struct ReplayOutcome {
  ReplayStats stats;
  /// Highest segment number used by any file in the directory (segments, `.corrupt` and
  /// `.tmp` files); 0 if there is none.
  uint64_t last_segment = 0;
};

/// Replays `opts.dir`, whose descriptor is `dir_fd`. Fails only on I/O errors or when `replay`
/// fails. REQUIRES: the caller holds the directory lock.
Result<ReplayOutcome> ReplayDir(const Options& opts, int dir_fd, const ReplayCallback& replay);

}  // namespace vivace::wal::internal
