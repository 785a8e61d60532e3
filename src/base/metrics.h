#pragma once
// Self-telemetry: counters and gauges exposed in the Prometheus text format (version 0.0.4).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace vivace {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// Owns every metric of a process (or of a test). Registration takes a lock; updating a
/// Counter does not. Returned pointers live as long as the registry.
class MetricsRegistry {
 public:
  /// Returns the counter for (name, labels), creating it on first use. `name` is the full
  /// exposed name (Prometheus convention: counters end in `_total`).
  Counter* GetCounter(std::string_view name, std::string_view help, Labels labels = {});
  /// Registers a gauge whose value is read when exposed.
  void AddGauge(std::string_view name, std::string_view help, Labels labels, std::function<double()> read);
  /// Registers a counter whose value is read when exposed (e.g. process CPU seconds).
  void AddCounterFunc(std::string_view name, std::string_view help, Labels labels, std::function<double()> read);

  /// The Prometheus text exposition of every metric, grouped by name in registration order.
  std::string Expose() const;

  /// Sum of the counter values with this name whose labels include all of `match` (tests).
  uint64_t CounterValue(std::string_view name, const Labels& match = {}) const;

 private:
  struct Series {
    std::string name;
    std::string help;
    std::string type;
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::function<double()> read;
  };
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Series>> series_ VV_GUARDED_BY(mu_);
};

}  // namespace vivace
