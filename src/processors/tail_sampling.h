#pragma once
// tail_sampling: the Collector's tail-based sampling processor
// (processor/tailsamplingprocessor). Spans are grouped by (tenant, trace id) and held until
// `decision_wait` after the first span of their trace arrived; then the policies decide, and
// the spans of sampled traces are passed on while the others are dropped.
//
// Memory: incoming batches are held as they came (no copy on arrival); a trace is a short list
// of (batch, span) references plus a summary. A batch is freed once no undecided trace refers
// to it. At most `num_traces` traces are tracked (decided ones included, so late spans follow
// the decision); past that, the oldest is evicted, counted as dropped too early if undecided.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "processors/processor.h"
#include "processors/tail_sampling_policies.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct TailSamplingOptions {
  std::chrono::milliseconds decision_wait{30000};
  uint64_t num_traces = 50000;
  /// Only sizes the trace table up front.
  uint64_t expected_new_traces_per_sec = 0;
  /// decision_cache: trace ids whose decision is remembered after the trace left memory
  /// (0 = off). With a cache on, a trace leaves memory as soon as it is decided.
  uint64_t sampled_cache_size = 0;
  uint64_t non_sampled_cache_size = 0;
  bool sample_on_first_match = false;
  bool drop_pending_traces_on_shutdown = false;
  std::vector<PolicyConfig> policies;

  // Not configuration: seams for tests and benchmarks.
  /// Monotonic nanoseconds; empty = MonotonicNanos.
  std::function<uint64_t()> clock;
  /// Run the decision ticker thread. Without it, call DecideDue.
  bool start_ticker = true;
  /// How often the ticker decides due traces; 0 = min(100ms, decision_wait).
  std::chrono::milliseconds tick_interval{0};
};

/// Parses the `tail_sampling` section (keys and defaults of the Collector). Policy types
/// other than ottl_condition are supported; ottl_condition is refused with an explanation.
Result<TailSamplingOptions> ParseTailSamplingOptions(const YAML::Node& node,
                                                     const std::string& path);

/// Thread-safe: Consume may be called concurrently; decisions run on one ticker thread (or
/// on the caller of DecideDue).
class TailSamplingProcessor : public Processor {
 public:
  /// Builds the policies (may fail: bad regex, ...) and starts the ticker. `next` must outlive
  /// the processor. Metrics go to ctx.metrics (a private registry when null), labelled
  /// processor=<ctx.id>.
  static Result<std::unique_ptr<TailSamplingProcessor>> Create(TailSamplingOptions options,
                                                               const ComponentContext& ctx,
                                                               model::SpanSink* next);
  ~TailSamplingProcessor() override;

  /// Holds the spans of undecided traces, passes on spans of traces already sampled and drops
  /// those of traces not sampled. `done` is called with OK before returning, as the Collector
  /// accepts spans as soon as they are held.
  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override;

  /// Stops the ticker, then decides every pending trace now (or drops them all with
  /// drop_pending_traces_on_shutdown) and passes on what was sampled. Idempotent.
  void Shutdown() override;

  /// Decides every trace whose first span arrived at least decision_wait before `now_ns`
  /// (on the options' clock) and passes on the sampled spans. The ticker calls this.
  void DecideDue(uint64_t now_ns);

  /// Traces in memory (pending and decided), the sampling_traces_on_memory gauge.
  uint64_t traces_on_memory() const;
  /// Batches held for undecided traces.
  uint64_t batches_held() const;

 private:
  struct Impl;
  explicit TailSamplingProcessor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vivace::processors
