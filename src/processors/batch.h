#pragma once
// The `batch` processor (opentelemetry-collector processor/batchprocessor): gathers the spans
// of many small requests into fewer, larger batches, one batcher per tenant.
//
// Consume completes with OK as soon as the spans are held (the Collector answers the receiver
// the same way): what goes wrong downstream afterwards is logged and counted, not returned.
// A tenant's held spans are sent
//   - when they reach `send_batch_size` (size trigger), in pieces of at most
//     `send_batch_max_size` while at least `send_batch_size` remain; the rest stays held;
//   - `timeout` after the first of them arrived (timeout trigger), all at once;
//   - at Shutdown, all of them.
// `timeout: 0` sends every batch at once, split only by `send_batch_max_size`. A batch of at
// least `send_batch_size` spans arriving while nothing is held passes through without a copy.
// The spans of a sent batch keep their relative order within each incoming batch; the largest
// held batch goes first (it is the one the others are appended to).
//
// Metrics ({processor=<id>}):
//   otelcol_processor_batch_batch_size_trigger_send_total
//   otelcol_processor_batch_timeout_trigger_send_total
//   otelcol_processor_batch_batch_send_size_sum / _count   (spans per sent batch: sum and count
//                                                            of the Collector's histogram)
//   vivace_processor_batch_send_failed_spans_total          (spans the next stage refused)

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "base/mutex.h"
#include "base/status.h"
#include "processors/processor.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct BatchOptions {
  std::chrono::milliseconds timeout{200};
  uint32_t send_batch_size = 8192;
  uint32_t send_batch_max_size = 0;  // 0 = no limit; otherwise >= send_batch_size
};

/// Parses a `batch` section. `metadata_keys` must be empty (batching by client metadata is not
/// supported); `metadata_cardinality_limit` is accepted.
Result<BatchOptions> ParseBatchOptions(const YAML::Node& node, const std::string& path);

/// Thread-safe: Consume may be called concurrently. Runs one timer thread (when timeout > 0).
class BatchProcessor : public Processor {
 public:
  /// `next` must outlive the processor; `ctx.metrics` may be null.
  BatchProcessor(const BatchOptions& options, const model::ComponentContext& ctx,
                 model::SpanSink* next);
  ~BatchProcessor() override;

  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override;
  /// Sends everything held and stops the timer. Idempotent.
  void Shutdown() override;

 private:
  // kImmediate: `timeout: 0` (counted as a size trigger, as in the Collector); kShutdown and
  // kImmediate send everything, split only by send_batch_max_size.
  enum class Trigger { kSize, kTimeout, kShutdown, kImmediate };
  using Batches = std::vector<std::unique_ptr<model::SpanBatch>>;
  struct Held {
    Batches batches;
    size_t spans = 0;
    uint64_t deadline_ns = 0;  // MonotonicNanos() when the timeout fires
  };
  struct Telemetry;  // counters, shared with completion callbacks that may outlive this

  /// Merges `batches` and sends them; for the size trigger, a remainder below send_batch_size
  /// goes back to the tenant's held spans (and may trigger again).
  void Flush(const std::string& tenant, Batches batches, Trigger trigger);
  void Send(std::unique_ptr<model::SpanBatch> batch, Trigger trigger);
  void TimerLoop();

  const BatchOptions options_;
  model::SpanSink* const next_;
  std::shared_ptr<Telemetry> telemetry_;

  Mutex mu_;
  CondVar cv_;
  std::map<std::string, Held, std::less<>> held_ VV_GUARDED_BY(mu_);
  uint64_t wakeups_ VV_GUARDED_BY(mu_) = 0;  // bumped when a tenant starts holding spans
  bool stopped_ VV_GUARDED_BY(mu_) = false;
  std::thread timer_;
};

/// Appends every span of `src` to `dst`, consuming src (destroy it afterwards): the pools are
/// appended wholesale with their ranges offset; strings are copied into dst's arena, except
/// those inside src's request buffer (an unmodified zero-copy decode), which moves to dst's
/// arena whole. Falls back to per-span copies when src's pools are mostly unreferenced (after
/// sampling).
void AppendBatch(model::SpanBatch& dst, model::SpanBatch&& src);

}  // namespace vivace::processors
