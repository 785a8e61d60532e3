#pragma once
// Time in nanoseconds since the Unix epoch, and process CPU accounting.

#include <cstdint>
#include <string>

namespace vivace {

uint64_t NowUnixNanos();
uint64_t MonotonicNanos();
/// CPU time (user + system) this process has used, in nanoseconds.
uint64_t ProcessCpuNanos();
/// Resident set size now and at its peak, in bytes (from /proc/self/status).
uint64_t ProcessRssBytes();
uint64_t ProcessPeakRssBytes();

/// "2026-11-21T13:24:35Z": RFC 3339 in UTC, to the second (as Tempo's meta.json times).
std::string Rfc3339Seconds(uint64_t unix_nano);

}  // namespace vivace
