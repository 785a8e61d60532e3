#include "base/clock.h"

#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vivace {
namespace {
uint64_t ReadClock(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ReadStatusKb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, n) == 0) {
      kb = std::strtoull(line + n, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}
}  // namespace

uint64_t NowUnixNanos() { return ReadClock(CLOCK_REALTIME); }
uint64_t MonotonicNanos() { return ReadClock(CLOCK_MONOTONIC); }
uint64_t ProcessCpuNanos() { return ReadClock(CLOCK_PROCESS_CPUTIME_ID); }
uint64_t ProcessRssBytes() { return ReadStatusKb("VmRSS:"); }
uint64_t ProcessPeakRssBytes() { return ReadStatusKb("VmHWM:"); }

std::string Rfc3339Seconds(uint64_t unix_nano) {
  time_t secs = static_cast<time_t>(unix_nano / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace vivace
