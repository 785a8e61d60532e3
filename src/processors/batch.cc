#include "processors/batch.h"

#include <algorithm>
#include <atomic>

#include "base/clock.h"
#include "base/logging.h"

namespace vivace::processors {

using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

namespace {

/// Copies of src's strings into dst's arena (except those inside `kept`, a buffer dst's arena
/// now owns), and src's pool indices moved to dst's.
class Rebase {
 public:
  Rebase(SpanBatch& dst, const SpanBatch& src, std::string_view kept)
      : arena_(dst.arena),
        kept_begin_(reinterpret_cast<uintptr_t>(kept.data())),
        kept_end_(kept_begin_ + kept.size()),
        attrs_(static_cast<uint32_t>(dst.attributes.size())),
        values_(static_cast<uint32_t>(dst.values.size())),
        events_(static_cast<uint32_t>(dst.events.size())),
        links_(static_cast<uint32_t>(dst.links.size())),
        resources_(static_cast<uint32_t>(dst.resources.size())),
        scopes_(static_cast<uint32_t>(dst.scopes.size())) {}

  std::string_view S(std::string_view s) {
    auto p = reinterpret_cast<uintptr_t>(s.data());
    if (p >= kept_begin_ && p + s.size() <= kept_end_) return s;
    return arena_.Copy(s);
  }
  Range Attrs(Range r) const { return {r.first + attrs_, r.count}; }
  Range Events(Range r) const { return {r.first + events_, r.count}; }
  Range Links(Range r) const { return {r.first + links_, r.count}; }
  uint32_t Resource(uint32_t i) const { return i + resources_; }
  uint32_t Scope(uint32_t i) const { return i + scopes_; }

  Value V(Value v) {
    switch (v.kind) {
      case ValueKind::kString:
        return Value::String(S(v.string()));
      case ValueKind::kBytes:
        return Value::Bytes(S(v.string()));
      case ValueKind::kArray:
        return Value::Array({v.first + values_, v.size});
      case ValueKind::kKvList:
        return Value::KvList({v.first + attrs_, v.size});
      default:
        return v;
    }
  }

 private:
  Arena& arena_;
  uintptr_t kept_begin_;
  uintptr_t kept_end_;
  uint32_t attrs_, values_, events_, links_, resources_, scopes_;
};

template <typename T>
void AppendColumn(std::vector<T>& dst, const std::vector<T>& src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

/// Whether most of src's pools are reachable from its spans (not left behind by RetainSpans or
/// relocated lists): then copying the pools wholesale wastes little.
bool PoolsDense(const SpanBatch& src) {
  size_t attrs = 0, events = 0, links = 0;
  for (const auto& r : src.resources) attrs += r.attributes.count;
  for (const auto& s : src.scopes) attrs += s.attributes.count;
  for (size_t i = 0; i < src.size(); ++i) {
    attrs += src.span_attributes[i].count;
    Range ev = src.span_events[i], lk = src.span_links[i];
    events += ev.count;
    links += lk.count;
    for (uint32_t k = 0; k < ev.count; ++k) attrs += src.events[ev.first + k].attributes.count;
    for (uint32_t k = 0; k < lk.count; ++k) attrs += src.links[lk.first + k].attributes.count;
  }
  // Nested maps are not counted: they only make the pool look sparser than it is.
  return attrs * 2 >= src.attributes.size() && events * 2 >= src.events.size() &&
         links * 2 >= src.links.size();
}

/// Grows dst's columns and pools once for all of `more` (their first element is dst itself).
void ReserveFor(SpanBatch& dst, const std::vector<std::unique_ptr<SpanBatch>>& more) {
  size_t spans = 0, attrs = 0, values = 0, events = 0, links = 0;
  for (const auto& b : more) {
    if (b == nullptr) continue;
    spans += b->size();
    attrs += b->attributes.size();
    values += b->values.size();
    events += b->events.size();
    links += b->links.size();
  }
  dst.Reserve(dst.size() + spans);
  dst.attributes.reserve(dst.attributes.size() + attrs);
  dst.values.reserve(dst.values.size() + values);
  dst.events.reserve(dst.events.size() + events);
  dst.links.reserve(dst.links.size() + links);
}

void CopySpans(SpanBatch& dst, const SpanBatch& src, size_t begin, size_t end) {
  model::SpanCopier copier(&dst);
  copier.SetSource(&src);
  for (size_t i = begin; i < end; ++i) copier.CopySpan(i);
}

/// Moves src's request buffer (its cached OTLP encoding, adopted by its arena, which the spans
/// of a zero-copy decode view) into dst's arena; returns it, or an empty view when src has none.
std::string_view MoveRequestBuffer(SpanBatch& dst, SpanBatch& src) {
  std::string_view wire = src.otlp_proto;
  // Arena::Adopt copies buffers shorter than a std::string object: those cannot move.
  if (wire.size() < sizeof(std::string)) return {};
  std::string taken = src.arena.TakeAdopted(wire);
  if (taken.data() != wire.data()) return {};  // not an adopted buffer: TakeAdopted copied it
  std::string_view kept = dst.arena.Adopt(std::move(taken));
  return kept.data() == wire.data() ? kept : std::string_view();
}

}  // namespace

void AppendBatch(SpanBatch& dst, SpanBatch&& src) {
  if (src.empty()) return;
  dst.MarkModified();
  if (!PoolsDense(src)) {
    dst.Reserve(dst.size() + src.size());
    CopySpans(dst, src, 0, src.size());
    return;
  }
  Rebase rb(dst, src, MoveRequestBuffer(dst, src));
  size_t a0 = dst.attributes.size();
  dst.attributes.resize(a0 + src.attributes.size());
  for (size_t k = 0; k < src.attributes.size(); ++k) {
    const model::KeyValue& kv = src.attributes[k];
    dst.attributes[a0 + k] = model::KeyValue{rb.S(kv.key), rb.V(kv.value)};
  }
  size_t v0 = dst.values.size();
  dst.values.resize(v0 + src.values.size());
  for (size_t k = 0; k < src.values.size(); ++k) dst.values[v0 + k] = rb.V(src.values[k]);
  dst.events.reserve(dst.events.size() + src.events.size());
  for (const model::Event& e : src.events) {
    dst.events.push_back(model::Event{e.time_unix_nano, rb.S(e.name), rb.Attrs(e.attributes),
                                      e.dropped_attributes_count});
  }
  dst.links.reserve(dst.links.size() + src.links.size());
  for (const model::Link& l : src.links) {
    dst.links.push_back(model::Link{l.trace_id, l.span_id, rb.S(l.trace_state),
                                    rb.Attrs(l.attributes), l.dropped_attributes_count, l.flags});
  }
  for (const model::Resource& r : src.resources) {
    dst.resources.push_back(
        model::Resource{rb.Attrs(r.attributes), r.dropped_attributes_count, rb.S(r.schema_url)});
  }
  for (const model::Scope& s : src.scopes) {
    dst.scopes.push_back(model::Scope{rb.Resource(s.resource), rb.S(s.name), rb.S(s.version),
                                      rb.Attrs(s.attributes), s.dropped_attributes_count,
                                      rb.S(s.schema_url)});
  }
  size_t n0 = dst.size();
  size_t n = src.size();
  AppendColumn(dst.trace_id, src.trace_id);
  AppendColumn(dst.span_id, src.span_id);
  AppendColumn(dst.parent_span_id, src.parent_span_id);
  AppendColumn(dst.flags, src.flags);
  AppendColumn(dst.kind, src.kind);
  AppendColumn(dst.start_unix_nano, src.start_unix_nano);
  AppendColumn(dst.end_unix_nano, src.end_unix_nano);
  AppendColumn(dst.dropped_attributes_count, src.dropped_attributes_count);
  AppendColumn(dst.dropped_events_count, src.dropped_events_count);
  AppendColumn(dst.dropped_links_count, src.dropped_links_count);
  AppendColumn(dst.status_code, src.status_code);
  dst.trace_state.resize(n0 + n);
  dst.name.resize(n0 + n);
  dst.status_message.resize(n0 + n);
  dst.span_attributes.resize(n0 + n);
  dst.span_events.resize(n0 + n);
  dst.span_links.resize(n0 + n);
  dst.span_scope.resize(n0 + n);
  for (size_t i = 0; i < n; ++i) {
    dst.trace_state[n0 + i] = rb.S(src.trace_state[i]);
    dst.name[n0 + i] = rb.S(src.name[i]);
    dst.status_message[n0 + i] = rb.S(src.status_message[i]);
    dst.span_attributes[n0 + i] = rb.Attrs(src.span_attributes[i]);
    dst.span_events[n0 + i] = rb.Events(src.span_events[i]);
    dst.span_links[n0 + i] = rb.Links(src.span_links[i]);
    dst.span_scope[n0 + i] = rb.Scope(src.span_scope[i]);
  }
}

struct BatchProcessor::Telemetry {
  std::string id;
  Counter* size_trigger;
  Counter* timeout_trigger;
  Counter* send_size_sum;
  Counter* send_size_count;
  Counter* failed_spans;
  std::atomic<uint64_t> last_log_ns{0};
  Counter unregistered[5];  // used when there is no registry

  explicit Telemetry(const model::ComponentContext& ctx) : id(ctx.id) {
    if (ctx.metrics == nullptr) {
      size_trigger = &unregistered[0];
      timeout_trigger = &unregistered[1];
      send_size_sum = &unregistered[2];
      send_size_count = &unregistered[3];
      failed_spans = &unregistered[4];
      return;
    }
    Labels labels = {{"processor", ctx.id}};
    MetricsRegistry& m = *ctx.metrics;
    size_trigger =
        m.GetCounter("otelcol_processor_batch_batch_size_trigger_send_total",
                     "Number of times the batch was sent due to a size trigger.", labels);
    timeout_trigger =
        m.GetCounter("otelcol_processor_batch_timeout_trigger_send_total",
                     "Number of times the batch was sent due to a timeout trigger.", labels);
    send_size_sum = m.GetCounter("otelcol_processor_batch_batch_send_size_sum",
                                 "Number of units in the batch (sum over sent batches).", labels);
    send_size_count = m.GetCounter("otelcol_processor_batch_batch_send_size_count",
                                   "Number of batches sent.", labels);
    failed_spans =
        m.GetCounter("vivace_processor_batch_send_failed_spans_total",
                     "Spans the batch processor sent that the next stage refused.", labels);
  }

  void Failed(uint64_t spans, std::string_view why) {
    failed_spans->Add(spans);
    // At most one line a second: a failing exporter would otherwise flood the log.
    uint64_t now = MonotonicNanos();
    uint64_t last = last_log_ns.load(std::memory_order_relaxed);
    if (now - last >= 1'000'000'000 && last_log_ns.compare_exchange_strong(last, now)) {
      log::Warn("processor {}: the next stage refused {} spans: {}", id, spans, why);
    }
  }
};

BatchProcessor::BatchProcessor(const BatchOptions& options, const model::ComponentContext& ctx,
                               model::SpanSink* next)
    : options_(options), next_(next), telemetry_(std::make_shared<Telemetry>(ctx)) {
  if (options_.timeout.count() > 0) timer_ = std::thread([this] { TimerLoop(); });
}

BatchProcessor::~BatchProcessor() { Shutdown(); }

void BatchProcessor::Consume(std::unique_ptr<SpanBatch> batch, model::ConsumeCallback done) {
  if (batch->empty()) {
    done(model::ConsumeResult{});
    return;
  }
  size_t n = batch->size();
  std::string tenant = batch->tenant;
  Batches ready;
  bool timeout_zero = options_.timeout.count() == 0;
  bool pass_through = timeout_zero;
  if (!pass_through) {
    MutexLock lock(mu_);
    if (stopped_) {
      pass_through = true;
    } else {
      auto it = held_.find(tenant);
      if (it == held_.end()) it = held_.emplace(tenant, Held{}).first;
      Held& h = it->second;
      if (h.batches.empty()) {
        h.deadline_ns =
            MonotonicNanos() + static_cast<uint64_t>(options_.timeout.count()) * 1'000'000;
        ++wakeups_;
        cv_.NotifyOne();
      }
      h.batches.push_back(std::move(batch));
      h.spans += n;
      if (h.spans >= options_.send_batch_size) {
        ready.swap(h.batches);
        h.spans = 0;
      }
    }
  }
  done(model::ConsumeResult{});
  if (pass_through) {
    ready.push_back(std::move(batch));
    Flush(tenant, std::move(ready), timeout_zero ? Trigger::kImmediate : Trigger::kShutdown);
  } else if (!ready.empty()) {
    Flush(tenant, std::move(ready), Trigger::kSize);
  }
}

void BatchProcessor::Flush(const std::string& tenant, Batches batches, Trigger trigger) {
  while (!batches.empty()) {
    // The largest batch is the base: the others are appended to it.
    auto largest =
        std::max_element(batches.begin(), batches.end(),
                         [](const auto& a, const auto& b) { return a->size() < b->size(); });
    std::iter_swap(batches.begin(), largest);
    std::unique_ptr<SpanBatch> merged = std::move(batches[0]);
    if (batches.size() > 1) {
      ReserveFor(*merged, batches);
      for (size_t k = 1; k < batches.size(); ++k) AppendBatch(*merged, std::move(*batches[k]));
    }
    batches.clear();
    if (merged->empty()) return;

    // Pieces of at most send_batch_max_size; on a size trigger only while send_batch_size
    // spans remain, the rest going back to the held spans.
    size_t remaining = merged->size();
    size_t max = options_.send_batch_max_size;
    std::vector<size_t> pieces;
    while (remaining > 0 && (trigger != Trigger::kSize || remaining >= options_.send_batch_size)) {
      size_t take = max == 0 ? remaining : std::min(remaining, max);
      pieces.push_back(take);
      remaining -= take;
    }
    // All pieces but the last segment are copied out; the last one keeps the merged batch.
    size_t copied = remaining > 0 ? pieces.size() : pieces.size() - 1;
    size_t offset = 0;
    for (size_t k = 0; k < copied; ++k) {
      auto piece = std::make_unique<SpanBatch>();
      piece->tenant = merged->tenant;
      piece->Reserve(pieces[k]);
      CopySpans(*piece, *merged, offset, offset + pieces[k]);
      offset += pieces[k];
      Send(std::move(piece), trigger);
    }
    if (offset > 0) {
      std::vector<uint8_t> keep(merged->size(), 0);
      std::fill(keep.begin() + static_cast<std::ptrdiff_t>(offset), keep.end(), 1);
      merged->RetainSpans(keep);
    }
    if (remaining == 0) {
      Send(std::move(merged), trigger);
      return;
    }
    // Hold the remainder again; if others arrived meanwhile it may reach the size again.
    MutexLock lock(mu_);
    if (stopped_) {
      batches.push_back(std::move(merged));
      trigger = Trigger::kShutdown;
      continue;
    }
    Held& h = held_[tenant];
    if (h.batches.empty()) {
      h.deadline_ns =
          MonotonicNanos() + static_cast<uint64_t>(options_.timeout.count()) * 1'000'000;
      ++wakeups_;
      cv_.NotifyOne();
    }
    h.spans += merged->size();
    h.batches.insert(h.batches.begin(), std::move(merged));
    if (h.spans < options_.send_batch_size) return;
    batches.swap(h.batches);
    h.spans = 0;
  }
}

void BatchProcessor::Send(std::unique_ptr<SpanBatch> batch, Trigger trigger) {
  uint64_t n = batch->size();
  Telemetry& t = *telemetry_;
  if (trigger == Trigger::kSize || trigger == Trigger::kImmediate) t.size_trigger->Add();
  if (trigger == Trigger::kTimeout) t.timeout_trigger->Add();
  t.send_size_sum->Add(n);
  t.send_size_count->Add();
  // The callback may run after this processor is gone: it holds the telemetry, not `this`.
  next_->Consume(std::move(batch), [telemetry = telemetry_, n](model::ConsumeResult r) {
    if (!r.status.ok()) {
      telemetry->Failed(n, r.status.ToString());
    } else if (r.rejected_spans > 0) {
      telemetry->Failed(r.rejected_spans, r.rejected_message);
    }
  });
}

void BatchProcessor::TimerLoop() {
  mu_.Lock();
  while (!stopped_) {
    uint64_t now = MonotonicNanos();
    uint64_t earliest = UINT64_MAX;
    std::vector<std::pair<std::string, Batches>> due;
    for (auto& [tenant, h] : held_) {
      if (h.batches.empty()) continue;
      if (h.deadline_ns <= now) {
        due.emplace_back(tenant, std::move(h.batches));
        h.batches.clear();
        h.spans = 0;
      } else {
        earliest = std::min(earliest, h.deadline_ns);
      }
    }
    if (!due.empty()) {
      mu_.Unlock();
      for (auto& [tenant, batches] : due) Flush(tenant, std::move(batches), Trigger::kTimeout);
      mu_.Lock();
      continue;
    }
    uint64_t seen = wakeups_;
    auto woken = [&] { return stopped_ || wakeups_ != seen; };
    if (earliest == UINT64_MAX) {
      cv_.Wait(mu_, woken);
    } else {
      cv_.WaitFor(mu_, std::chrono::nanoseconds(earliest - now), woken);
    }
  }
  mu_.Unlock();
}

void BatchProcessor::Shutdown() {
  std::vector<std::pair<std::string, Batches>> held;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [tenant, h] : held_) {
      if (!h.batches.empty()) held.emplace_back(tenant, std::move(h.batches));
    }
    held_.clear();
    cv_.NotifyAll();
  }
  if (timer_.joinable()) timer_.join();
  for (auto& [tenant, batches] : held) Flush(tenant, std::move(batches), Trigger::kShutdown);
}

}  // namespace vivace::processors
