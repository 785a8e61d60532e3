#include "exporters/sending_queue.h"

#include <utility>

#include "base/check.h"
#include "base/logging.h"

namespace vivace::exporters {

SendingQueue::SendingQueue(SendingQueueOptions options, std::string dir, QueueHandler* handler,
                           MetricsRegistry* metrics, Labels labels)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      handler_(handler),
      size_gauge_(std::make_shared<std::atomic<int64_t>>(0)) {
  VV_CHECK(options_.enabled && options_.num_consumers > 0 && options_.queue_size > 0);
  if (metrics == nullptr) {
    own_metrics_ = std::make_unique<MetricsRegistry>();
    metrics = own_metrics_.get();
  }
  enqueue_failed_spans_ =
      metrics->GetCounter("otelcol_exporter_enqueue_failed_spans_total",
                          "Number of spans failed to be added to the sending queue.", labels);
  // The gauges read a shared value, so they stay safe to expose after the queue is gone.
  metrics->AddGauge(
      "otelcol_exporter_queue_size", "Current size of the retry queue (in sizer units).", labels,
      [g = size_gauge_] { return static_cast<double>(g->load(std::memory_order_relaxed)); });
  metrics->AddGauge("otelcol_exporter_queue_capacity",
                    "Fixed capacity of the retry queue (in sizer units).", labels,
                    [c = options_.queue_size] { return static_cast<double>(c); });
}

SendingQueue::~SendingQueue() {
  Shutdown(std::chrono::milliseconds(0), [] {});
}

int64_t SendingQueue::SizeOf(uint64_t spans, uint64_t body_bytes) const {
  switch (options_.sizer) {
    case QueueSizer::kRequests:
      return 1;
    case QueueSizer::kItems:
      return static_cast<int64_t>(spans);
    case QueueSizer::kBytes:
      return static_cast<int64_t>(body_bytes);
  }
  return 1;
}

int64_t SendingQueue::size() const {
  MutexLock lock(mu_);
  return used_;
}

Status SendingQueue::Start() {
  if (!dir_.empty()) {
    VV_ASSIGN_OR_RETURN(store_, PersistentQueue::Open(dir_));
    if (store_->damaged_files() > 0) {
      log::Warn("sending queue {}: skipped {} damaged request files", dir_,
                store_->damaged_files());
    }
  }
  MutexLock lock(mu_);
  if (started_ || closed_)
    return FailedPrecondition("sending queue started twice or after shutdown");
  started_ = true;
  if (store_ != nullptr) {
    // Resume what a previous run left, ahead of anything new; capacity may be exceeded if it
    // was lowered since (new requests are then refused until the backlog drains).
    std::deque<Slot> resumed;
    uint64_t spans = 0;
    for (const PersistentQueue::Entry& e : store_->recovered()) {
      Slot s;
      s.seq = e.seq;
      s.spans = e.spans;
      s.size = SizeOf(e.spans, e.body_bytes);
      used_ += s.size;
      spans += e.spans;
      resumed.push_back(std::move(s));
    }
    for (Slot& s : ready_) resumed.push_back(std::move(s));
    ready_ = std::move(resumed);
    if (!store_->recovered().empty()) {
      log::Info("sending queue {}: resuming {} requests ({} spans) from a previous run", dir_,
                store_->recovered().size(), spans);
    }
  }
  size_gauge_->store(used_, std::memory_order_relaxed);
  running_ = options_.num_consumers;
  for (int i = 0; i < options_.num_consumers; ++i) consumers_.emplace_back([this] { Consume(); });
  return Status::OK();
}

Status SendingQueue::Offer(ExportRequest request, model::ConsumeCallback done) {
  const uint64_t spans = request.spans;
  const int64_t size = SizeOf(spans, request.body.size());
  auto fail = [&](Status s) {
    enqueue_failed_spans_->Add(spans);
    if (done) done(model::ConsumeResult{s});
    return s;
  };
  uint64_t seq = 0;
  {
    MutexLock lock(mu_);
    if (closed_) return fail(Unavailable("sending queue is shut down"));
    if (size > options_.queue_size) return fail(Unavailable("sending queue is full"));
    if (used_ + size > options_.queue_size) {
      if (!options_.block_on_overflow) return fail(Unavailable("sending queue is full"));
      room_cv_.Wait(
          mu_, [&]() VV_REQUIRES(mu_) { return closed_ || used_ + size <= options_.queue_size; });
      if (closed_) return fail(Unavailable("sending queue is shut down"));
    }
    if (!dir_.empty() && store_ == nullptr)
      return fail(FailedPrecondition("sending queue not started"));
    used_ += size;  // reserved while the file is written
    size_gauge_->store(used_, std::memory_order_relaxed);
  }
  if (store_ != nullptr) {
    Result<uint64_t> appended = store_->Append(request);
    if (!appended.ok()) {
      {
        MutexLock lock(mu_);
        used_ -= size;
        size_gauge_->store(used_, std::memory_order_relaxed);
        room_cv_.NotifyAll();
      }
      log::Error("sending queue {}: cannot persist a request: {}", dir_,
                 appended.status().ToString());
      return fail(Unavailable("sending queue: " + std::string(appended.status().message())));
    }
    seq = *appended;
  }
  Slot slot;
  slot.seq = seq;
  slot.size = size;
  slot.spans = spans;
  slot.request = std::move(request);
  if (options_.wait_for_result) slot.done = std::move(done);
  {
    MutexLock lock(mu_);
    ready_.push_back(std::move(slot));
    items_cv_.NotifyOne();
  }
  if (!options_.wait_for_result && done) done(model::ConsumeResult{});
  return Status::OK();
}

void SendingQueue::Consume() {
  while (true) {
    Slot slot;
    {
      MutexLock lock(mu_);
      items_cv_.Wait(mu_,
                     [this]() VV_REQUIRES(mu_) { return stop_ || !ready_.empty() || closed_; });
      if (stop_ || ready_.empty()) {  // stopping, or closed and drained
        --running_;
        idle_cv_.NotifyAll();
        return;
      }
      slot = std::move(ready_.front());
      ready_.pop_front();
      used_ -= slot.size;
      size_gauge_->store(used_, std::memory_order_relaxed);
      room_cv_.NotifyOne();
    }
    if (!slot.request) {
      Result<ExportRequest> r = store_->Read(slot.seq);
      if (!r.ok()) {
        log::Error("sending queue {}: dropping request {}: {}", dir_, slot.seq,
                   r.status().ToString());
        handler_->Dropped(slot.spans, r.status());
        store_->Remove(slot.seq).IgnoreError();
        continue;
      }
      slot.request = std::move(*r);
    }
    Delivery d = handler_->Send(*slot.request);
    Finish(slot, d);
  }
}

void SendingQueue::Finish(Slot& slot, const Delivery& d) {
  if (store_ != nullptr) {
    if (d.final) {
      Status s = store_->Remove(slot.seq);
      if (!s.ok()) log::Warn("sending queue {}: {}", dir_, s.ToString());
    }
    // Not final: the file stays for the next start; a waiting caller is told OK, since the
    // request is durable and will be sent then.
    if (slot.done) slot.done(d.final ? d.result : model::ConsumeResult{});
    return;
  }
  if (!d.final) {
    Status why = Unavailable("exporter shut down before the request could be sent");
    handler_->Dropped(slot.spans, why);
    if (slot.done) slot.done(model::ConsumeResult{why});
    return;
  }
  if (slot.done) slot.done(d.result);
}

void SendingQueue::Shutdown(std::chrono::milliseconds drain_timeout,
                            const std::function<void()>& interrupt) {
  {
    MutexLock lock(mu_);
    if (closed_) return;
    closed_ = true;
    if (store_ != nullptr || !started_) stop_ = true;  // persistent: keep the rest on disk
    items_cv_.NotifyAll();
    room_cv_.NotifyAll();
  }
  // Back-off waits end now: a request whose attempt fails is kept (persistent) or dropped.
  interrupt();
  {
    MutexLock lock(mu_);
    if (!stop_) {
      // In memory: let the consumers drain for at most drain_timeout.
      idle_cv_.WaitFor(mu_, drain_timeout, [this]() VV_REQUIRES(mu_) { return running_ == 0; });
      stop_ = true;
      items_cv_.NotifyAll();
    }
  }
  for (std::thread& t : consumers_) t.join();
  consumers_.clear();
  std::deque<Slot> left;
  {
    MutexLock lock(mu_);
    left.swap(ready_);
    used_ = 0;
    size_gauge_->store(0, std::memory_order_relaxed);
  }
  if (store_ != nullptr) {
    for (Slot& s : left) {
      if (s.done) s.done(model::ConsumeResult{});  // durable; sent at the next start
    }
    if (!left.empty())
      log::Info("sending queue {}: {} requests kept for the next start", dir_, left.size());
    return;
  }
  uint64_t spans = 0;
  Status why = Unavailable("exporter shut down before the request could be sent");
  for (Slot& s : left) {
    spans += s.spans;
    handler_->Dropped(s.spans, why);
    if (s.done) s.done(model::ConsumeResult{why});
  }
  if (!left.empty()) {
    log::Error("sending queue: dropped {} requests ({} spans) at shutdown", left.size(), spans);
  }
}

}  // namespace vivace::exporters
