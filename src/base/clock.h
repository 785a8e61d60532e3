#pragma once
// Time in nanoseconds since the Unix epoch, and process CPU accounting.

#include <cstdint>

namespace vivace {

uint64_t NowUnixNanos();
uint64_t MonotonicNanos();
/// CPU time (user + system) this process has used, in nanoseconds.
uint64_t ProcessCpuNanos();
/// Resident set size now and at its peak, in bytes (from /proc/self/status).
uint64_t ProcessRssBytes();
uint64_t ProcessPeakRssBytes();

}  // namespace vivace
