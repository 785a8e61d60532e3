#pragma once
// exporterhelper: what the OTLP exporters share around their transport. Consume encodes the
// batch once (reusing batch.otlp_proto when it is set), then either queues it (sending_queue
// enabled: `done` completes at enqueue) or sends it on the calling thread (`done` completes
// with the final outcome). Sending retries per retry_on_failure, each attempt bounded by
// `timeout` (the transport applies it).
//
// Metrics, labelled exporter=<id>: otelcol_exporter_sent_spans_total,
// otelcol_exporter_send_failed_spans_total (permanent errors, retries exhausted, dropped at
// shutdown, and the spans a partial success rejected), plus the queue's (sending_queue.h).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "exporters/export_request.h"
#include "exporters/exporter.h"
#include "exporters/retry.h"
#include "exporters/sending_queue.h"

namespace vivace::exporters {

/// One attempt at delivering a request over some protocol. Thread-safe.
class ExportTransport {
 public:
  virtual ~ExportTransport() = default;
  virtual Status Start() { return Status::OK(); }
  /// Sends `request` once. Bounded by the exporter's timeout. Never throws.
  virtual Attempt Export(const ExportRequest& request) = 0;
  /// Called after the last Export.
  virtual void Shutdown() {}
};

struct ExporterHelperOptions {
  SendingQueueOptions queue;
  RetryOptions retry;
  Millis timeout{5000};  // per attempt; also how long an in-memory queue drains at shutdown
  RequestEncoding encoding = RequestEncoding::kProto;
};

class ExporterHelper final : public Exporter, private QueueHandler {
 public:
  /// `clock` null: the system clock. A persistent queue lives in
  /// ctx.data_dir/<SanitizeComponentId(ctx.id)>.
  ExporterHelper(ComponentContext ctx, ExporterHelperOptions options,
                 std::unique_ptr<ExportTransport> transport,
                 std::unique_ptr<RetryClock> clock = nullptr);
  ~ExporterHelper() override;

  /// FailedPrecondition when sending_queue.storage is set but ctx.data_dir is empty.
  Status Start() override;
  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override;
  void Shutdown() override;

  /// The queue, or null when sending_queue is disabled (tests).
  const SendingQueue* queue() const { return queue_.get(); }

 private:
  Delivery Send(const ExportRequest& request) override;
  void Dropped(uint64_t spans, const Status& why) override;

  const ComponentContext ctx_;
  const ExporterHelperOptions options_;
  std::unique_ptr<ExportTransport> transport_;
  std::unique_ptr<RetryClock> clock_;
  std::unique_ptr<MetricsRegistry> own_metrics_;  // when ctx.metrics is null
  Counter* sent_spans_;
  Counter* send_failed_spans_;
  std::unique_ptr<SendingQueue> queue_;
  std::atomic<uint64_t> seed_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace vivace::exporters
