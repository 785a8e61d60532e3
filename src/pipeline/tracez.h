#pragma once
// The process's own spans for zpages' /debug/tracez: every receiver request and every export
// is recorded by name into latency buckets (the zpages boundaries: 0, 10µs, 100µs, 1ms, 10ms,
// 100ms, 1s, 10s, 1m) with the latest samples of each bucket and of errors, plus what is in
// flight now. Thread-safe; recording is one lock per span.

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "base/status.h"

namespace vivace::pipeline {

class Tracez {
 public:
  static constexpr int kBuckets = 9;
  static constexpr size_t kSamplesPerBucket = 8;

  struct Sample {
    uint64_t start_unix_nano = 0;
    uint64_t duration_ns = 0;
    uint64_t items = 0;
    std::string error;  // empty when OK
  };
  struct Summary {
    uint64_t running = 0;
    std::array<uint64_t, kBuckets> latency{};
    uint64_t errors = 0;
    std::array<std::deque<Sample>, kBuckets> samples;
    std::deque<Sample> error_samples;
  };

  /// Marks a span of `name` started; returns its start time (unix ns) for End.
  uint64_t Begin(std::string_view name);
  void End(std::string_view name, uint64_t start_unix_nano, uint64_t items, const Status& status);

  /// Index of the latency bucket for a duration.
  static int Bucket(uint64_t duration_ns);
  static std::string_view BucketLabel(int bucket);

  std::map<std::string, Summary, std::less<>> Snapshot() const;
  /// The HTML page; `span_name`, `type` (0 running, 1 latency, 2 error) and `bucket` select
  /// the samples to list, as the zpages query parameters zspanname/ztype/zlatencybucket do.
  std::string Html(std::string_view span_name, int type, int bucket) const;

 private:
  mutable Mutex mu_;
  std::map<std::string, Summary, std::less<>> spans_ VV_GUARDED_BY(mu_);
};

}  // namespace vivace::pipeline
