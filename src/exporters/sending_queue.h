#pragma once
// exporterhelper's `sending_queue`: a bounded queue of encoded requests between Consume and
// `num_consumers` threads that send them. In memory, or persistent (`storage: <extension id>`)
// in a PersistentQueue directory so that what is not yet sent survives a restart.
//
// Semantics, as the Collector's:
// - Capacity `queue_size` is counted in `sizer` units: requests (default), items (spans) or
//   bytes (of the encoded request). A request that does not fit is refused with Unavailable
//   "sending queue is full" (the receiver turns it into a retryable error for its client),
//   unless `block_on_overflow`, which makes Offer wait for room.
// - Offer completes `done` with OK as soon as the request is queued (for a persistent queue:
//   once it is on disk); with `wait_for_result` only when its fate is final.
// - Shutdown: an in-memory queue keeps sending what it holds for at most the drain timeout,
//   one attempt per request (back-off waits are interrupted); whatever is left is dropped. A
//   persistent queue stops at once and keeps every request not yet delivered for the next Start.
// Metrics: otelcol_exporter_queue_size and otelcol_exporter_queue_capacity (gauges, in sizer
// units), otelcol_exporter_enqueue_failed_spans_total.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "base/mutex.h"
#include "base/status.h"
#include "exporters/export_request.h"
#include "exporters/persistent_queue.h"
#include "model/span_sink.h"

namespace YAML {
class Node;
}

namespace vivace::exporters {

enum class QueueSizer { kRequests, kItems, kBytes };

struct SendingQueueOptions {
  bool enabled = true;
  int num_consumers = 10;
  int64_t queue_size = 1000;
  QueueSizer sizer = QueueSizer::kRequests;
  bool block_on_overflow = false;
  bool wait_for_result = false;
  /// A storage extension id (e.g. "file_storage"); empty = in memory.
  std::string storage;
};

/// Parses a `sending_queue` section. `batch` is rejected (use the batch processor).
Result<SendingQueueOptions> ParseSendingQueueOptions(const YAML::Node& node,
                                                     const std::string& path);

/// What a queue consumer made of one request.
struct Delivery {
  /// False when the send was interrupted by shutdown before its fate was final: a persistent
  /// queue keeps the request, an in-memory one drops it (and calls Dropped).
  bool final = true;
  /// For a caller waiting with wait_for_result.
  model::ConsumeResult result;
};

/// The sending side of a queue. Thread-safe: called from every consumer thread.
class QueueHandler {
 public:
  virtual ~QueueHandler() = default;
  /// Sends one request, with retries. Records metrics for final outcomes.
  virtual Delivery Send(const ExportRequest& request) = 0;
  /// A request dropped without a final send (in-memory queue at shutdown, unreadable file).
  virtual void Dropped(uint64_t spans, const Status& why) = 0;
};

class SendingQueue {
 public:
  /// `dir` empty: in memory; else the PersistentQueue directory. `handler` must outlive the
  /// queue. `metrics` may be null. REQUIRES: options.enabled, num_consumers > 0, queue_size > 0.
  SendingQueue(SendingQueueOptions options, std::string dir, QueueHandler* handler,
               MetricsRegistry* metrics, Labels labels);
  ~SendingQueue();  // shuts down with a zero drain timeout if Shutdown was not called

  /// Opens and resumes a persistent queue, and starts the consumers. Called once.
  Status Start();

  /// Queues `request`; `done` is called exactly once (see the file comment). The returned
  /// status is the enqueue result (also passed to `done` when it fails). Thread-safe.
  Status Offer(ExportRequest request, model::ConsumeCallback done);

  /// Stops taking requests and ends the consumers (see the file comment). `interrupt` is called
  /// once no consumer may start a back-off sleep that should still run (it interrupts them).
  /// Idempotent.
  void Shutdown(std::chrono::milliseconds drain_timeout, const std::function<void()>& interrupt);

  /// Used capacity, in sizer units.
  int64_t size() const;
  int64_t capacity() const { return options_.queue_size; }

 private:
  struct Slot {
    uint64_t seq = 0;  // persistent: the file; 0 in memory
    int64_t size = 0;  // sizer units
    uint64_t spans = 0;
    std::optional<ExportRequest> request;  // unset for a resumed request still on disk only
    model::ConsumeCallback done;           // wait_for_result: called with the outcome
  };

  int64_t SizeOf(uint64_t spans, uint64_t body_bytes) const;
  void Consume();
  void Finish(Slot& slot, const Delivery& d);

  const SendingQueueOptions options_;
  const std::string dir_;
  QueueHandler* const handler_;
  std::unique_ptr<PersistentQueue> store_;
  Counter* enqueue_failed_spans_;
  std::unique_ptr<MetricsRegistry> own_metrics_;  // when none is given
  std::shared_ptr<std::atomic<int64_t>> size_gauge_;

  mutable Mutex mu_;
  CondVar items_cv_;  // an item is ready, or the queue is stopping
  CondVar room_cv_;   // room was made, or the queue is stopping
  CondVar idle_cv_;   // a consumer exited
  std::deque<Slot> ready_ VV_GUARDED_BY(mu_);
  int64_t used_ VV_GUARDED_BY(mu_) = 0;
  bool started_ VV_GUARDED_BY(mu_) = false;
  bool closed_ VV_GUARDED_BY(mu_) = false;  // no more Offers
  bool stop_ VV_GUARDED_BY(mu_) = false;    // consumers take nothing more
  int running_ VV_GUARDED_BY(mu_) = 0;      // live consumer threads
  std::vector<std::thread> consumers_;
};

}  // namespace vivace::exporters
