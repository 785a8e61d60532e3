#include "exporters/exporter_helper.h"

#include <algorithm>

#include "base/clock.h"
#include "base/hash.h"
#include "base/logging.h"
#include "model/tenant.h"
#include "otlp/json_encode.h"
#include "otlp/proto_encode.h"

namespace vivace::exporters {
namespace {

// The Collector drains for the exporter's timeout; with no timeout, this long.
constexpr Millis kDefaultDrain{5000};

ExportRequest Encode(model::SpanBatch& batch, RequestEncoding encoding) {
  ExportRequest r;
  r.spans = batch.size();
  r.tenant = batch.tenant;
  r.encoding = encoding;
  if (encoding == RequestEncoding::kJson) {
    otlp::EncodeJsonTrace(batch, otlp::JsonFlavor::kOtlp, "resourceSpans", &r.body);
  } else if (!batch.otlp_proto.empty()) {
    // The batch is ours and dies next: take the receiver's buffer instead of copying it.
    r.body = batch.arena.TakeAdopted(batch.otlp_proto);
  } else {
    otlp::EncodeProtoTrace(batch, &r.body);
  }
  return r;
}

}  // namespace

ExporterHelper::ExporterHelper(ComponentContext ctx, ExporterHelperOptions options,
                               std::unique_ptr<ExportTransport> transport,
                               std::unique_ptr<RetryClock> clock)
    : ctx_(std::move(ctx)),
      options_(std::move(options)),
      transport_(std::move(transport)),
      clock_(clock ? std::move(clock) : std::make_unique<SystemRetryClock>()),
      seed_(Hash64(ctx_.id, NowUnixNanos())) {
  MetricsRegistry* metrics = ctx_.metrics;
  if (metrics == nullptr) {
    own_metrics_ = std::make_unique<MetricsRegistry>();
    metrics = own_metrics_.get();
  }
  Labels labels = {{"exporter", ctx_.id}};
  sent_spans_ = metrics->GetCounter("otelcol_exporter_sent_spans_total",
                                    "Number of spans successfully sent to destination.", labels);
  send_failed_spans_ =
      metrics->GetCounter("otelcol_exporter_send_failed_spans_total",
                          "Number of spans in failed attempts to send to destination.", labels);
  if (options_.queue.enabled) {
    std::string dir;
    if (!options_.queue.storage.empty() && !ctx_.data_dir.empty()) {
      dir = ctx_.data_dir + "/" + SanitizeComponentId(ctx_.id);
    }
    QueueHandler* handler = this;
    queue_ =
        std::make_unique<SendingQueue>(options_.queue, std::move(dir), handler, metrics, labels);
  }
}

ExporterHelper::~ExporterHelper() { Shutdown(); }

Status ExporterHelper::Start() {
  if (options_.queue.enabled && !options_.queue.storage.empty() && ctx_.data_dir.empty()) {
    return FailedPrecondition("exporter " + ctx_.id + ": sending_queue.storage \"" +
                              options_.queue.storage + "\" needs a data directory");
  }
  VV_RETURN_IF_ERROR(transport_->Start());
  if (queue_ != nullptr) VV_RETURN_IF_ERROR(queue_->Start());
  return Status::OK();
}

void ExporterHelper::Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) {
  if (batch == nullptr || batch->empty()) {
    done(model::ConsumeResult{});
    return;
  }
  ExportRequest request = Encode(*batch, options_.encoding);
  batch.reset();
  if (queue_ != nullptr) {
    queue_->Offer(std::move(request), std::move(done)).IgnoreError();  // done has the outcome
    return;
  }
  if (shut_down_.load()) {
    done(model::ConsumeResult{Unavailable("exporter " + ctx_.id + " is shut down")});
    return;
  }
  Delivery d = Send(request);
  if (!d.final) Dropped(request.spans, d.result.status);
  done(std::move(d.result));
}

Delivery ExporterHelper::Send(const ExportRequest& request) {
  uint64_t seed = seed_.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed);
  SendResult r = SendWithRetry(options_.retry, clock_.get(), seed, ctx_.id,
                               [&] { return transport_->Export(request); });
  Delivery d;
  switch (r.outcome) {
    case SendOutcome::kSent: {
      uint64_t rejected = std::min(r.last.rejected_spans, request.spans);
      if (rejected > 0 || !r.last.rejected_message.empty()) {
        log::Warn("exporter={} Partial success response message=\"{}\" dropped_spans={}", ctx_.id,
                  r.last.rejected_message, rejected);
      }
      sent_spans_->Add(request.spans - rejected);
      send_failed_spans_->Add(rejected);
      d.result.rejected_spans = rejected;
      d.result.rejected_message = std::move(r.last.rejected_message);
      break;
    }
    case SendOutcome::kFailed: {
      const Status& err = r.last.status;
      log::Error("exporter={} Exporting failed. Dropping data. error=\"{}{}\" dropped_items={}",
                 ctx_.id, r.exhausted ? "no more retries left: " : "", err.ToString(),
                 request.spans);
      send_failed_spans_->Add(request.spans);
      // For a caller waiting on the result: retryable failures stay retryable for its client;
      // permanent ones become non-retryable (bad data keeps its code).
      if (r.last.retryable) {
        d.result.status = Unavailable(std::string(r.exhausted ? "no more retries left: " : "") +
                                      std::string(err.message()));
      } else if (err.code() == StatusCode::kInvalidArgument) {
        d.result.status = err;
      } else {
        d.result.status = Internal("not retryable error: " + err.ToString());
      }
      break;
    }
    case SendOutcome::kInterrupted:
      d.final = false;
      d.result.status = Unavailable("exporter " + ctx_.id + " shut down while retrying: " +
                                    std::string(r.last.status.message()));
      break;
  }
  return d;
}

void ExporterHelper::Dropped(uint64_t spans, const Status& why) {
  send_failed_spans_->Add(spans);
  log::Error("exporter={} Dropping data. error=\"{}\" dropped_items={}", ctx_.id, why.ToString(),
             spans);
}

void ExporterHelper::Shutdown() {
  if (shut_down_.exchange(true)) return;
  if (queue_ != nullptr) {
    Millis drain = options_.timeout.count() > 0 ? options_.timeout : kDefaultDrain;
    queue_->Shutdown(drain, [this] { clock_->Interrupt(); });
  } else {
    clock_->Interrupt();
  }
  transport_->Shutdown();
}

}  // namespace vivace::exporters
