#pragma once
// The `memory_limiter` processor (opentelemetry-collector processor/memorylimiterprocessor):
// refuses data while the process holds too much memory, so that receivers push back instead of
// the process running out of memory.
//
// Every `check_interval` a background thread reads the process's resident set size (what the
// kernel counts against the process, the analogue of the Go heap the Collector measures):
//   hard limit = limit_mib MiB, or limit_percentage % of total memory (the cgroup limit when set,
//                else MemTotal);
//   soft limit = hard limit - spike limit (spike_limit_mib / spike_limit_percentage, default 20%
//                of the hard limit).
// At or above the hard limit it releases the allocator's free memory (malloc_trim, the analogue
// of the Collector's forced GC) and measures again. At or above the soft limit every batch is
// refused with a retryable UNAVAILABLE "data refused due to high memory usage" and not passed
// on; below it again, batches pass. Refusing() reports the state (health check).
//
// Metrics ({processor=<id>}): otelcol_processor_memory_limiter_accepted_spans_total,
// otelcol_processor_memory_limiter_refused_spans_total.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/metrics.h"
#include "base/mutex.h"
#include "base/status.h"
#include "processors/processor.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct MemoryLimiterOptions {
  std::chrono::milliseconds check_interval{0};  // required > 0
  uint32_t limit_mib = 0;                       // takes precedence over limit_percentage
  uint32_t spike_limit_mib = 0;                 // 0: 20% of the limit
  uint32_t limit_percentage = 0;
  uint32_t spike_limit_percentage = 0;
  std::chrono::milliseconds min_gc_interval_when_soft_limited{10000};
  std::chrono::milliseconds min_gc_interval_when_hard_limited{0};

  // Seams for tests; empty = the process's own.
  std::function<uint64_t()> read_memory;   // bytes in use; default ProcessRssBytes()
  std::function<uint64_t()> total_memory;  // bytes available; default TotalMemoryBytes()
  std::function<void()> release_memory;    // default malloc_trim(0)
};

/// Validates as the Collector does ("'check_interval' must be greater than zero", ...).
Result<MemoryLimiterOptions> ParseMemoryLimiterOptions(const YAML::Node& node,
                                                       const std::string& path);
Status ValidateMemoryLimiterOptions(const MemoryLimiterOptions& options);

/// Memory the process may use: the cgroup limit (v2 memory.max, v1 memory.limit_in_bytes) when
/// one is set below physical memory, else MemTotal from /proc/meminfo; 0 when unknown.
uint64_t TotalMemoryBytes();

/// Thread-safe. Owns one background thread, stopped by Shutdown.
class MemoryLimiterProcessor : public Processor {
 public:
  /// Fails on invalid options, or when limit_percentage is used and total memory is unknown.
  static Result<std::unique_ptr<MemoryLimiterProcessor>> Create(MemoryLimiterOptions options,
                                                                const model::ComponentContext& ctx,
                                                                model::SpanSink* next);
  ~MemoryLimiterProcessor() override;

  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override;
  /// Stops the background thread. Idempotent.
  void Shutdown() override;

  /// True while data is refused.
  bool refusing() const { return refusing_.load(std::memory_order_relaxed); }
  bool Refusing() const override { return refusing(); }
  uint64_t hard_limit_bytes() const { return hard_limit_; }
  uint64_t soft_limit_bytes() const { return hard_limit_ - spike_limit_; }

  /// Measures now and updates refusing() (the background thread's step).
  void CheckMemory();

 private:
  MemoryLimiterProcessor(MemoryLimiterOptions options, uint64_t hard, uint64_t spike,
                         const model::ComponentContext& ctx, model::SpanSink* next);
  uint64_t ReleaseAndRead();
  void Loop();

  const MemoryLimiterOptions options_;
  const uint64_t hard_limit_;
  const uint64_t spike_limit_;
  const std::string id_;
  model::SpanSink* const next_;
  Counter* accepted_;
  Counter* refused_;
  Counter unregistered_[2];  // when there is no registry
  uint32_t retry_after_seconds_;
  std::atomic<bool> refusing_{false};
  // Touched only by CheckMemory, under check_mu_.
  uint64_t last_release_ns_ = 0;
  bool hard_limited_ = false;

  Mutex check_mu_;  // serialises CheckMemory
  Mutex mu_;
  CondVar cv_;
  bool stopped_ VV_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace vivace::processors
