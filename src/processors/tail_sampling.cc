#include "processors/tail_sampling.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <thread>
#include <unordered_map>
#include <utility>

#include "base/clock.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "base/mutex.h"
#include "processors/tail_sampling_index.h"

namespace vivace::processors {
namespace {

using model::SpanBatch;
using model::TraceId;

using tail_sampling_internal::DecisionCache;
using tail_sampling_internal::KeyHash;
using tail_sampling_internal::kNil;
using tail_sampling_internal::SlotIndex;

// Traces decided per lock hold, so Consume is never locked out for long.
constexpr size_t kDecideChunk = 512;
// Spans per output batch of sampled spans.
constexpr size_t kMaxOutputSpans = 8192;

enum class TraceState : uint8_t { kFree, kPending, kSampled, kNotSampled };

// One trace in memory: its spans as a list of RefNodes (while pending) and a summary.
struct Trace {
  TraceId id;
  uint64_t hash = 0;
  uint64_t arrival_ns = 0;
  uint64_t decided_ns = 0;
  uint64_t min_start = 0;
  uint64_t max_end = 0;
  uint32_t tenant = 0;
  uint32_t generation = 0;  // bumped when the slot is freed: stale ring entries don't match
  uint32_t span_count = 0;
  uint32_t head = kNil;
  uint32_t tail = kNil;
  TraceState state = TraceState::kFree;
};

// Span `span` of held batch `batch`, next node of the same trace.
struct RefNode {
  uint32_t batch;
  uint32_t span;
  uint32_t next;
};

// An incoming batch, kept unchanged while undecided traces refer to its spans.
struct HeldBatch {
  std::unique_ptr<SpanBatch> batch;
  uint32_t pending = 0;  // RefNodes (and pins) pointing here
};

// A sampled span to copy out once the lock is released.
struct CopyItem {
  const SpanBatch* batch;
  uint32_t span;
  uint32_t slot;  // its HeldBatch, released after the copy
};

enum Action : uint8_t { kHold, kForward, kDrop };

uint64_t RingEntry(uint32_t slot, uint32_t generation) {
  return static_cast<uint64_t>(generation) << 32 | slot;
}

std::string PolicyLabel(const std::string& component_id, const std::string& policy) {
  // The Collector labels policies "<component name>.<policy>" ("tail_sampling/x" -> "x.p").
  size_t slash = component_id.find('/');
  if (slash == std::string::npos || slash + 1 == component_id.size()) return policy;
  return component_id.substr(slash + 1) + "." + policy;
}

}  // namespace

struct TailSamplingProcessor::Impl {
  Impl(TailSamplingOptions o, model::SpanSink* n)
      : options(std::move(o)),
        next(n),
        clock(options.clock ? options.clock : std::function<uint64_t()>(MonotonicNanos)),
        wait_ns(static_cast<uint64_t>(options.decision_wait.count()) * 1000000),
        table(InitialTableSize(options)),
        sampled_cache(options.sampled_cache_size),
        non_sampled_cache(options.non_sampled_cache_size) {}

  static size_t InitialTableSize(const TailSamplingOptions& o) {
    uint64_t wait_s = std::max<uint64_t>(1, static_cast<uint64_t>(o.decision_wait.count()) / 1000);
    return std::clamp<uint64_t>(o.expected_new_traces_per_sec * wait_s, 1024,
                                std::max<uint64_t>(o.num_traces, 1024));
  }

  void RegisterMetrics(const ComponentContext& ctx);
  struct Intake;
  void Consume(std::unique_ptr<SpanBatch> batch, model::ConsumeCallback done);
  void ClassifyAndHold(std::unique_ptr<SpanBatch> batch, uint8_t* action, Intake* in)
      VV_REQUIRES(mu);
  void DecidePass(uint64_t now, bool force);
  void DropPending();
  void Send(std::unique_ptr<SpanBatch> batch);

  uint32_t InternTenant(const std::string& tenant) VV_REQUIRES(mu);
  uint32_t NewTrace(const TraceId& id, uint64_t hash, uint32_t tenant, uint64_t now,
                    std::vector<std::unique_ptr<SpanBatch>>* freed) VV_REQUIRES(mu);
  void EvictOldest(std::vector<std::unique_ptr<SpanBatch>>* freed) VV_REQUIRES(mu);
  void RemoveTrace(uint32_t slot) VV_REQUIRES(mu);
  void AppendRef(Trace& t, uint32_t batch_slot, uint32_t span, const SpanBatch& b) VV_REQUIRES(mu);
  void ReleaseRefs(Trace& t, std::vector<std::unique_ptr<SpanBatch>>* freed) VV_REQUIRES(mu);
  void UnrefBatch(uint32_t slot, std::vector<std::unique_ptr<SpanBatch>>* freed) VV_REQUIRES(mu);
  uint32_t AllocBatchSlot() VV_REQUIRES(mu);
  void DecideTrace(uint32_t slot, uint64_t now, std::vector<CopyItem>* to_copy,
                   std::vector<std::unique_ptr<SpanBatch>>* freed) VV_REQUIRES(mu);
  Decision Evaluate(const TraceView& view, uint32_t span_count) VV_REQUIRES(mu);

  const TailSamplingOptions options;
  model::SpanSink* const next;
  const std::function<uint64_t()> clock;
  const uint64_t wait_ns;
  std::vector<std::unique_ptr<Policy>> policies;  // drop policies first: they decide early
  std::shared_ptr<const std::string> component_id;

  // Metrics. Per policy and Decision (indexed by its value): traces and spans.
  std::unique_ptr<MetricsRegistry> own_metrics;
  std::vector<std::array<Counter*, 5>> policy_traces;
  std::vector<std::array<Counter*, 5>> policy_spans;
  std::array<Counter*, 5> global_traces{};
  Counter* new_traces = nullptr;
  Counter* dropped_too_early = nullptr;
  Counter* early_sampled = nullptr;
  Counter* early_not_sampled = nullptr;
  Counter* late_age_sum = nullptr;
  Counter* late_age_count = nullptr;
  std::shared_ptr<std::atomic<uint64_t>> traces_on_memory =
      std::make_shared<std::atomic<uint64_t>>(0);

  mutable Mutex mu;
  SlotIndex table VV_GUARDED_BY(mu);  // KeyHash(id, tenant) -> slot in traces
  std::vector<Trace> traces VV_GUARDED_BY(mu);
  std::vector<uint32_t> free_traces VV_GUARDED_BY(mu);
  std::vector<RefNode> refs VV_GUARDED_BY(mu);
  uint32_t free_refs VV_GUARDED_BY(mu) = kNil;  // free list through RefNode::next
  std::vector<HeldBatch> batches VV_GUARDED_BY(mu);
  std::vector<uint32_t> free_batches VV_GUARDED_BY(mu);
  uint64_t live_batches VV_GUARDED_BY(mu) = 0;
  // Every trace admitted, oldest first (the Collector's num_traces buffer). Entries whose
  // trace already left memory are skipped. [0, cursor) has been passed by the decision pass.
  std::deque<uint64_t> ring VV_GUARDED_BY(mu);
  size_t cursor VV_GUARDED_BY(mu) = 0;
  std::unordered_map<std::string, uint32_t> tenant_ids VV_GUARDED_BY(mu);
  DecisionCache sampled_cache VV_GUARDED_BY(mu);
  DecisionCache non_sampled_cache VV_GUARDED_BY(mu);
  std::vector<SpanLoc> locs VV_GUARDED_BY(mu);  // scratch for one evaluation
  bool shut_down VV_GUARDED_BY(mu) = false;

  // Ticker.
  Mutex tick_mu;
  CondVar tick_cv;
  bool stop_ticker VV_GUARDED_BY(tick_mu) = false;
  std::thread ticker;
  std::atomic<bool> shutdown_started{false};
};

void TailSamplingProcessor::Impl::RegisterMetrics(const ComponentContext& ctx) {
  MetricsRegistry* reg = ctx.metrics;
  if (reg == nullptr) {
    own_metrics = std::make_unique<MetricsRegistry>();
    reg = own_metrics.get();
  }
  const std::string p = "otelcol_processor_tail_sampling_";
  auto with = [&ctx](Labels extra) {
    Labels l{{"processor", ctx.id}};
    for (auto& kv : extra) l.push_back(std::move(kv));
    return l;
  };
  auto decision_labels = [](Decision d) -> Labels {
    return {{"sampled", IsSampled(d) ? "true" : "false"},
            {"decision", std::string(DecisionLabel(d))}};
  };
  constexpr Decision kAll[] = {Decision::kNotSampled, Decision::kSampled, Decision::kDropped,
                               Decision::kInvertSampled, Decision::kInvertNotSampled};
  // Registered in the same order as the policies are evaluated (drop policies first).
  std::vector<const PolicyConfig*> ordered;
  for (const PolicyConfig& c : options.policies) {
    if (c.type == PolicyType::kDrop) ordered.push_back(&c);
  }
  for (const PolicyConfig& c : options.policies) {
    if (c.type != PolicyType::kDrop) ordered.push_back(&c);
  }
  for (const PolicyConfig* c : ordered) {
    std::string label = PolicyLabel(ctx.id, c->name);
    std::array<Counter*, 5> traces_by{}, spans_by{};
    for (Decision d : kAll) {
      Labels l = with({{"policy", label}});
      for (auto& kv : decision_labels(d)) l.push_back(kv);
      traces_by[static_cast<size_t>(d)] =
          reg->GetCounter(p + "count_traces_sampled_total",
                          "Count of traces that were sampled or not per sampling policy", l);
      spans_by[static_cast<size_t>(d)] =
          reg->GetCounter(p + "count_spans_sampled_total",
                          "Count of spans that were sampled or not per sampling policy", l);
    }
    policy_traces.push_back(traces_by);
    policy_spans.push_back(spans_by);
    // Vivace's policies cannot fail to evaluate; the series exists for dashboards.
    reg->GetCounter(p + "sampling_policy_evaluation_error_total",
                    "Count of sampling policy evaluation errors", with({{"policy", label}}));
  }
  for (Decision d : kAll) {
    global_traces[static_cast<size_t>(d)] =
        reg->GetCounter(p + "global_count_traces_sampled_total",
                        "Global count of traces that were sampled or not by at least one policy",
                        with(decision_labels(d)));
  }
  new_traces = reg->GetCounter(p + "new_trace_id_received_total",
                               "Counts the arrival of new traces", with({}));
  dropped_too_early = reg->GetCounter(
      p + "sampling_trace_dropped_too_early_total",
      "Count of traces that needed to be dropped before the configured wait time", with({}));
  const char* early_help =
      "Number of spans that were able to be immediately released due to a decision cache hit.";
  early_sampled = reg->GetCounter(p + "early_releases_from_cache_decision_total", early_help,
                                  with({{"sampled", "true"}}));
  early_not_sampled = reg->GetCounter(p + "early_releases_from_cache_decision_total", early_help,
                                      with({{"sampled", "false"}}));
  const char* age_help =
      "Time (in seconds) from the sampling decision was taken and the arrival of a late span";
  late_age_sum = reg->GetCounter(p + "sampling_late_span_age_seconds_sum", age_help, with({}));
  late_age_count = reg->GetCounter(p + "sampling_late_span_age_seconds_count", age_help, with({}));
  auto on_memory = traces_on_memory;
  reg->AddGauge(
      // One instance per pipeline: the pipeline label keeps the series distinct when a
      // processor id is listed by several pipelines.
      p + "sampling_traces_on_memory", "Tracks the number of traces current on memory",
      with({{"pipeline", ctx.pipeline}}),
      [on_memory] { return static_cast<double>(on_memory->load(std::memory_order_relaxed)); });
}

uint32_t TailSamplingProcessor::Impl::InternTenant(const std::string& tenant) {
  auto it = tenant_ids.find(tenant);
  if (it != tenant_ids.end()) return it->second;
  auto id = static_cast<uint32_t>(tenant_ids.size());
  tenant_ids.emplace(tenant, id);
  return id;
}

uint32_t TailSamplingProcessor::Impl::AllocBatchSlot() {
  ++live_batches;
  if (!free_batches.empty()) {
    uint32_t s = free_batches.back();
    free_batches.pop_back();
    return s;
  }
  batches.emplace_back();
  return static_cast<uint32_t>(batches.size() - 1);
}

void TailSamplingProcessor::Impl::UnrefBatch(uint32_t slot,
                                             std::vector<std::unique_ptr<SpanBatch>>* freed) {
  HeldBatch& hb = batches[slot];
  if (--hb.pending != 0) return;
  freed->push_back(std::move(hb.batch));  // destroyed once the lock is released
  free_batches.push_back(slot);
  --live_batches;
}

void TailSamplingProcessor::Impl::AppendRef(Trace& t, uint32_t batch_slot, uint32_t span,
                                            const SpanBatch& b) {
  uint32_t node;
  if (free_refs != kNil) {
    node = free_refs;
    free_refs = refs[node].next;
    refs[node] = RefNode{batch_slot, span, kNil};
  } else {
    node = static_cast<uint32_t>(refs.size());
    refs.push_back(RefNode{batch_slot, span, kNil});
  }
  if (t.tail == kNil) {
    t.head = node;
    t.min_start = b.start_unix_nano[span];
    t.max_end = b.end_unix_nano[span];
  } else {
    refs[t.tail].next = node;
    t.min_start = std::min(t.min_start, b.start_unix_nano[span]);
    t.max_end = std::max(t.max_end, b.end_unix_nano[span]);
  }
  t.tail = node;
  ++t.span_count;
  ++batches[batch_slot].pending;
}

void TailSamplingProcessor::Impl::ReleaseRefs(Trace& t,
                                              std::vector<std::unique_ptr<SpanBatch>>* freed) {
  if (t.head == kNil) return;
  for (uint32_t n = t.head; n != kNil; n = refs[n].next) UnrefBatch(refs[n].batch, freed);
  refs[t.tail].next = free_refs;
  free_refs = t.head;
  t.head = t.tail = kNil;
}

void TailSamplingProcessor::Impl::RemoveTrace(uint32_t slot) {
  Trace& t = traces[slot];
  table.Erase(t.hash, slot);
  t.state = TraceState::kFree;
  ++t.generation;
  free_traces.push_back(slot);
  traces_on_memory->fetch_sub(1, std::memory_order_relaxed);
}

void TailSamplingProcessor::Impl::EvictOldest(std::vector<std::unique_ptr<SpanBatch>>* freed) {
  uint64_t e = ring.front();
  ring.pop_front();
  if (cursor > 0) --cursor;
  auto slot = static_cast<uint32_t>(e);
  Trace& t = traces[slot];
  if (t.state == TraceState::kFree || t.generation != static_cast<uint32_t>(e >> 32))
    return;  // already gone
  if (t.state == TraceState::kPending) {
    dropped_too_early->Add();
    ReleaseRefs(t, freed);
  }
  RemoveTrace(slot);
}

uint32_t TailSamplingProcessor::Impl::NewTrace(const TraceId& id, uint64_t hash, uint32_t tenant,
                                               uint64_t now,
                                               std::vector<std::unique_ptr<SpanBatch>>* freed) {
  if (ring.size() >= options.num_traces) EvictOldest(freed);
  uint32_t slot;
  if (!free_traces.empty()) {
    slot = free_traces.back();
    free_traces.pop_back();
  } else {
    slot = static_cast<uint32_t>(traces.size());
    traces.emplace_back();
  }
  Trace& t = traces[slot];
  uint32_t generation = t.generation;
  t = Trace{};
  t.id = id;
  t.hash = hash;
  t.tenant = tenant;
  t.arrival_ns = now;
  t.generation = generation;
  t.state = TraceState::kPending;
  table.Insert(hash, slot);
  ring.push_back(RingEntry(slot, generation));
  traces_on_memory->fetch_add(1, std::memory_order_relaxed);
  return slot;
}

void TailSamplingProcessor::Impl::Send(std::unique_ptr<SpanBatch> batch) {
  next->Consume(std::move(batch), [id = component_id](model::ConsumeResult r) {
    if (!r.status.ok())
      log::Warn("{}: error sending sampled spans on: {}", *id, r.status.ToString());
  });
}

// What Consume decided for one incoming batch (filled under the lock, acted on after it).
struct TailSamplingProcessor::Impl::Intake {
  std::unique_ptr<SpanBatch> batch;         // back to us when no span is held
  std::unique_ptr<SpanBatch> forward_copy;  // forwarded spans of a batch that stays held
  std::vector<std::unique_ptr<SpanBatch>> freed;
  size_t forwarded = 0;
  uint64_t new_traces = 0, early_sampled = 0, early_not_sampled = 0, late_age_sum = 0,
           late_count = 0;
};

void TailSamplingProcessor::Impl::Consume(std::unique_ptr<SpanBatch> batch,
                                          model::ConsumeCallback done) {
  if (batch == nullptr || batch->empty()) {
    done(model::ConsumeResult{});
    return;
  }
  const size_t n = batch->size();
  thread_local std::vector<uint8_t> action;
  action.resize(n);
  Intake in;
  bool refused;
  {
    MutexLock lock(mu);
    refused = shut_down;
    if (!refused) ClassifyAndHold(std::move(batch), action.data(), &in);
  }
  if (refused) {
    done(model::ConsumeResult{Unavailable("tail_sampling processor is shut down")});
    return;
  }
  done(model::ConsumeResult{});
  if (in.new_traces) new_traces->Add(in.new_traces);
  if (in.early_sampled) early_sampled->Add(in.early_sampled);
  if (in.early_not_sampled) early_not_sampled->Add(in.early_not_sampled);
  if (in.late_count) {
    late_age_sum->Add(in.late_age_sum);
    late_age_count->Add(in.late_count);
  }
  in.freed.clear();
  if (in.forward_copy) {
    Send(std::move(in.forward_copy));
  } else if (in.batch && in.forwarded > 0) {
    if (in.forwarded < n) {
      for (size_t i = 0; i < n; ++i) action[i] = action[i] == kForward;
      in.batch->RetainSpans(action);
    }
    Send(std::move(in.batch));
  }
}

void TailSamplingProcessor::Impl::ClassifyAndHold(std::unique_ptr<SpanBatch> batch, uint8_t* action,
                                                  Intake* in) {
  const uint64_t now = clock();
  const size_t n = batch->size();
  const uint32_t tenant = InternTenant(batch->tenant);
  const uint32_t bslot = AllocBatchSlot();
  batches[bslot].pending = 1;  // pinned while this loop runs: evictions below may unref it
  batches[bslot].batch = std::move(batch);
  const SpanBatch& b = *batches[bslot].batch;

  uint32_t trace = kNil;
  uint8_t a = kDrop;
  bool from_cache = false;
  for (size_t i = 0; i < n; ++i) {
    const TraceId& id = b.trace_id[i];
    // Spans of one trace usually come together: classify only when the id changes.
    if (i == 0 || id != b.trace_id[i - 1]) {
      const uint64_t h = KeyHash(id, tenant);
      from_cache = false;
      trace = kNil;
      if (sampled_cache.enabled() && sampled_cache.Contains(h, tenant, id)) {
        a = kForward;
        from_cache = true;
      } else if (non_sampled_cache.enabled() && non_sampled_cache.Contains(h, tenant, id)) {
        a = kDrop;
        from_cache = true;
      } else {
        const Trace* ts = traces.data();  // read under the lock held here
        trace = table.Find(
            h, [ts, &id, tenant](uint32_t s) { return ts[s].id == id && ts[s].tenant == tenant; });
        if (trace == kNil) {
          trace = NewTrace(id, h, tenant, now, &in->freed);
          ++in->new_traces;
          a = kHold;
        } else if (traces[trace].state == TraceState::kPending) {
          a = kHold;
        } else {
          // A late span: it follows the decision kept for its trace.
          a = traces[trace].state == TraceState::kSampled ? kForward : kDrop;
          in->late_age_sum += (now - std::min(now, traces[trace].decided_ns)) / 1000000000;
          ++in->late_count;
        }
      }
    }
    action[i] = a;
    if (a == kHold) {
      AppendRef(traces[trace], bslot, static_cast<uint32_t>(i), b);
    } else if (from_cache) {
      ++(a == kForward ? in->early_sampled : in->early_not_sampled);
    }
    in->forwarded += a == kForward;
  }

  HeldBatch& hb = batches[bslot];
  if (--hb.pending == 0) {  // nothing held (or everything evicted again): the batch is ours
    in->batch = std::move(hb.batch);
    free_batches.push_back(bslot);
    --live_batches;
  } else if (in->forwarded > 0) {
    // Late sampled spans mixed with held ones: copy them out now, under the lock that keeps
    // the held batch alive.
    in->forward_copy = std::make_unique<SpanBatch>();
    in->forward_copy->tenant = b.tenant;
    model::SpanCopier copier(in->forward_copy.get());
    copier.SetSource(&b);
    for (size_t i = 0; i < n; ++i) {
      if (action[i] == kForward) copier.CopySpan(i);
    }
  }
}

Decision TailSamplingProcessor::Impl::Evaluate(const TraceView& view, uint32_t span_count) {
  bool dropped = false, invert_not = false, sampled = false, invert_sampled = false,
       not_sampled = false;
  for (size_t i = 0; i < policies.size(); ++i) {
    Decision d = policies[i]->Evaluate(view);
    policy_traces[i][static_cast<size_t>(d)]->Add();
    policy_spans[i][static_cast<size_t>(d)]->Add(span_count);
    switch (d) {
      case Decision::kDropped:
        dropped = true;
        break;
      case Decision::kInvertNotSampled:
        invert_not = true;
        break;
      case Decision::kSampled:
        sampled = true;
        break;
      case Decision::kInvertSampled:
        invert_sampled = true;
        break;
      case Decision::kNotSampled:
        not_sampled = true;
        break;
    }
    if (dropped) break;  // drop policies come first: nothing else can change the outcome
    if (sampled && options.sample_on_first_match) break;
  }
  if (dropped) return Decision::kDropped;
  if (invert_not) return Decision::kNotSampled;
  if (sampled || (invert_sampled && !not_sampled)) return Decision::kSampled;
  return Decision::kNotSampled;
}

void TailSamplingProcessor::Impl::DecideTrace(uint32_t slot, uint64_t now,
                                              std::vector<CopyItem>* to_copy,
                                              std::vector<std::unique_ptr<SpanBatch>>* freed) {
  Trace& t = traces[slot];
  locs.clear();
  for (uint32_t n = t.head; n != kNil; n = refs[n].next)
    locs.push_back(SpanLoc{batches[refs[n].batch].batch.get(), refs[n].span});
  TraceView view;
  view.trace_id = t.id;
  view.spans = locs;
  view.min_start_unix_nano = t.min_start;
  view.max_end_unix_nano = t.max_end;
  view.now_ns = now;
  Decision d = Evaluate(view, t.span_count);
  global_traces[static_cast<size_t>(d)]->Add();
  const bool sampled = d == Decision::kSampled;
  if (sampled && t.head != kNil) {
    // The batches stay referenced until the spans are copied out (then UnrefBatch).
    for (uint32_t n = t.head; n != kNil; n = refs[n].next) {
      to_copy->push_back(CopyItem{batches[refs[n].batch].batch.get(), refs[n].span, refs[n].batch});
    }
    refs[t.tail].next = free_refs;
    free_refs = t.head;
    t.head = t.tail = kNil;
  } else {
    ReleaseRefs(t, freed);
  }
  t.state = sampled ? TraceState::kSampled : TraceState::kNotSampled;
  t.decided_ns = now;
  // With a decision cache, the decision outlives the trace: it leaves memory at once.
  DecisionCache& cache = sampled ? sampled_cache : non_sampled_cache;
  if (cache.enabled()) {
    cache.Put(t.hash, t.tenant, t.id);
    RemoveTrace(slot);
  }
}

void TailSamplingProcessor::Impl::DecidePass(uint64_t now, bool force) {
  for (;;) {
    std::vector<CopyItem> to_copy;
    std::vector<std::unique_ptr<SpanBatch>> freed;
    bool more = false;
    {
      MutexLock lock(mu);
      size_t decided = 0;
      while (cursor < ring.size()) {
        uint64_t e = ring[cursor];
        auto slot = static_cast<uint32_t>(e);
        const Trace& t = traces[slot];
        if (t.state != TraceState::kPending || t.generation != static_cast<uint32_t>(e >> 32)) {
          ++cursor;  // decided, or already left memory
          continue;
        }
        if (!force && t.arrival_ns + wait_ns > now) break;  // the ring is in arrival order
        if (decided == kDecideChunk) {
          more = true;
          break;
        }
        DecideTrace(slot, now, &to_copy, &freed);
        ++cursor;
        ++decided;
      }
    }
    if (!to_copy.empty()) {
      // Copy outside the lock, grouped by source batch (each batch has one tenant).
      std::sort(to_copy.begin(), to_copy.end(), [](const CopyItem& x, const CopyItem& y) {
        return x.batch != y.batch ? x.batch < y.batch : x.span < y.span;
      });
      struct Output {
        std::unique_ptr<SpanBatch> batch;
        std::unique_ptr<model::SpanCopier> copier;
      };
      std::vector<std::unique_ptr<SpanBatch>> ready;
      std::vector<Output> open;  // one per tenant
      size_t out = 0;
      const SpanBatch* source = nullptr;
      for (const CopyItem& item : to_copy) {
        if (item.batch != source) {
          source = item.batch;
          out = open.size();
          for (size_t k = 0; k < open.size(); ++k) {
            if (open[k].batch->tenant == source->tenant) out = k;
          }
          if (out == open.size()) {
            Output o{std::make_unique<SpanBatch>(), nullptr};
            o.batch->tenant = source->tenant;
            o.copier = std::make_unique<model::SpanCopier>(o.batch.get());
            open.push_back(std::move(o));
          }
          open[out].copier->SetSource(source);
        }
        Output& o = open[out];
        if (o.batch->size() >= kMaxOutputSpans) {
          ready.push_back(std::move(o.batch));
          o.batch = std::make_unique<SpanBatch>();
          o.batch->tenant = source->tenant;
          o.copier = std::make_unique<model::SpanCopier>(o.batch.get());
          o.copier->SetSource(source);
        }
        o.copier->CopySpan(item.span);
      }
      for (Output& o : open) {
        if (!o.batch->empty()) ready.push_back(std::move(o.batch));
      }
      {
        MutexLock lock(mu);
        for (const CopyItem& item : to_copy) UnrefBatch(item.slot, &freed);
      }
      freed.clear();
      for (auto& b : ready) Send(std::move(b));
    }
    if (!more) return;
  }
}

void TailSamplingProcessor::Impl::DropPending() {
  std::vector<std::unique_ptr<SpanBatch>> freed;
  MutexLock lock(mu);
  for (; cursor < ring.size(); ++cursor) {
    uint64_t e = ring[cursor];
    auto slot = static_cast<uint32_t>(e);
    Trace& t = traces[slot];
    if (t.state != TraceState::kPending || t.generation != static_cast<uint32_t>(e >> 32)) continue;
    ReleaseRefs(t, &freed);
    RemoveTrace(slot);
  }
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<TailSamplingProcessor>> TailSamplingProcessor::Create(
    TailSamplingOptions options, const ComponentContext& ctx, model::SpanSink* next) {
  if (options.policies.empty()) return InvalidArgument("tail_sampling needs at least one policy");
  if (options.decision_wait.count() <= 0)
    return InvalidArgument("tail_sampling decision_wait must be > 0");
  if (options.num_traces == 0) return InvalidArgument("tail_sampling num_traces must be > 0");
  auto impl = std::make_unique<Impl>(std::move(options), next);
  for (int pass = 0; pass < 2; ++pass) {  // drop policies first
    for (const PolicyConfig& c : impl->options.policies) {
      if ((c.type == PolicyType::kDrop) != (pass == 0)) continue;
      VV_ASSIGN_OR_RETURN(auto p, BuildPolicy(c));
      impl->policies.push_back(std::move(p));
    }
  }
  impl->component_id =
      std::make_shared<const std::string>(ctx.id.empty() ? "tail_sampling" : ctx.id);
  impl->RegisterMetrics(ctx);
  std::unique_ptr<TailSamplingProcessor> p(new TailSamplingProcessor(std::move(impl)));
  Impl* s = p->impl_.get();
  if (s->options.start_ticker) {
    auto interval = s->options.tick_interval.count() > 0
                        ? s->options.tick_interval
                        : std::min(std::chrono::milliseconds(100), s->options.decision_wait);
    s->ticker = std::thread([s, interval] {
      for (;;) {
        {
          MutexLock lock(s->tick_mu);
          s->tick_cv.WaitFor(s->tick_mu, interval,
                             [s]() VV_REQUIRES(s->tick_mu) { return s->stop_ticker; });
          if (s->stop_ticker) return;
        }
        s->DecidePass(s->clock(), /*force=*/false);
      }
    });
  }
  return p;
}

TailSamplingProcessor::TailSamplingProcessor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TailSamplingProcessor::~TailSamplingProcessor() { Shutdown(); }

void TailSamplingProcessor::Consume(std::unique_ptr<model::SpanBatch> batch,
                                    model::ConsumeCallback done) {
  impl_->Consume(std::move(batch), std::move(done));
}

void TailSamplingProcessor::DecideDue(uint64_t now_ns) {
  impl_->DecidePass(now_ns, /*force=*/false);
}

void TailSamplingProcessor::Shutdown() {
  Impl* s = impl_.get();
  if (s->shutdown_started.exchange(true)) return;
  {
    MutexLock lock(s->tick_mu);
    s->stop_ticker = true;
  }
  s->tick_cv.NotifyAll();
  if (s->ticker.joinable()) s->ticker.join();
  {
    MutexLock lock(s->mu);
    s->shut_down = true;  // from now on Consume refuses: nothing would decide what it held
  }
  if (s->options.drop_pending_traces_on_shutdown) {
    s->DropPending();
  } else {
    s->DecidePass(s->clock(), /*force=*/true);
  }
}

uint64_t TailSamplingProcessor::traces_on_memory() const {
  return impl_->traces_on_memory->load(std::memory_order_relaxed);
}

uint64_t TailSamplingProcessor::batches_held() const {
  MutexLock lock(impl_->mu);
  return impl_->live_batches;
}

}  // namespace vivace::processors
