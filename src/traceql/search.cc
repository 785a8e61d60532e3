// Search: plans the fetch (which conditions a trace needs), runs the fetchers newest first on a
// few threads, evaluates each candidate trace, and keeps the `limit` most recent matches.

#include "traceql/search.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

#include "base/mutex.h"
#include "traceql/internal/eval.h"
#include "traceql/parser.h"

namespace vivace::traceql {
namespace {

using internal::EvalSpanset;
using internal::Evaluator;

// --- planning: necessary conditions for the fetch ---

// What a trace must be able to satisfy for an expression to match it: all of `conds`, any of
// them, or nothing known (no pruning).
struct Need {
  std::vector<scan::Condition> conds;
  bool all = false;
  bool none = true;
};

Need NoNeed() { return Need{}; }

void AddUnique(std::vector<scan::Condition>* out, const scan::Condition& c) {
  for (const scan::Condition& x : *out) {
    if (x.attr == c.attr && x.op == c.op && x.operands == c.operands && x.group == c.group) return;
  }
  out->push_back(c);
}

Need And(Need a, Need b) {
  if (a.none) return b;
  if (b.none) return a;
  if (a.all && b.all) {
    for (const auto& c : b.conds) AddUnique(&a.conds, c);
    return a;
  }
  if (a.all) return a;
  return b.all ? b : a;
}

Need Or(Need a, Need b) {
  if (a.none || b.none) return NoNeed();
  for (const auto& c : b.conds) AddUnique(&a.conds, c);
  a.all = a.conds.size() == 1;  // both sides named the same single condition
  return a;
}

Need Leaf(scan::Condition c) {
  Need n;
  n.none = false;
  n.all = true;
  n.conds.push_back(std::move(c));
  return n;
}

Need FieldNeed(const FieldExpr* e) {
  if (e == nullptr) return NoNeed();
  if (e->kind == FieldExpr::Kind::kBinary) {
    if (e->op == Op::kAnd) return And(FieldNeed(e->lhs.get()), FieldNeed(e->rhs.get()));
    if (e->op == Op::kOr) return Or(FieldNeed(e->lhs.get()), FieldNeed(e->rhs.get()));
    bool cmp = scan::IsComparison(e->op);
    const FieldExpr* a = e->lhs.get();
    const FieldExpr* s = e->rhs.get();
    if (a->kind == FieldExpr::Kind::kStatic && s->kind == FieldExpr::Kind::kAttribute) std::swap(a, s);
    if (cmp && a->kind == FieldExpr::Kind::kAttribute && s->kind == FieldExpr::Kind::kStatic) {
      Op op = e->op;
      if (a != e->lhs.get()) {  // static op attr: mirror the comparison
        switch (op) {
          case Op::kLt: op = Op::kGt; break;
          case Op::kLte: op = Op::kGte; break;
          case Op::kGt: op = Op::kLt; break;
          case Op::kGte: op = Op::kLte; break;
          case Op::kRegex:
          case Op::kNotRegex: return NoNeed();
          default: break;
        }
      }
      return Leaf({a->attr, op, {s->value}});
    }
    return NoNeed();
  }
  if (e->kind == FieldExpr::Kind::kUnary && e->op == Op::kExists && e->lhs->kind == FieldExpr::Kind::kAttribute) {
    return Leaf({e->lhs->attr, Op::kExists, {}});
  }
  if (e->kind == FieldExpr::Kind::kAttribute) return Leaf({e->attr, Op::kEq, {Static::Bool(true)}});
  return NoNeed();
}

Need PipelineNeed(const Pipeline& p, uint32_t* groups);

Need SpansetNeed(const SpansetExpr& s, uint32_t* groups) {
  switch (s.kind) {
    case SpansetExpr::Kind::kFilter: {
      // Conditions all of which one filter needs must hold on one span together.
      Need n = FieldNeed(s.filter.get());
      if (n.all && n.conds.size() > 1) {
        ++*groups;
        for (scan::Condition& c : n.conds) c.group = *groups;
      }
      return n;
    }
    case SpansetExpr::Kind::kPipeline: return PipelineNeed(*s.pipeline, groups);
    case SpansetExpr::Kind::kOperation: break;
  }
  Need l = SpansetNeed(*s.lhs, groups), r = SpansetNeed(*s.rhs, groups);
  if (s.op == Op::kSpansetUnion) return Or(std::move(l), std::move(r));
  if (s.op >= Op::kNotChild && s.op <= Op::kNotSibling) return r;  // the lhs may be empty
  return And(std::move(l), std::move(r));
}

Need PipelineNeed(const Pipeline& p, uint32_t* groups) {
  Need n;
  for (const Stage& s : p.stages) {
    if (s.kind == Stage::Kind::kSpanset) n = And(std::move(n), SpansetNeed(*s.spanset, groups));
  }
  return n;
}

// `{ filter } | ... | count() > n`: a trace matches only if at least n + 1 of its spans satisfy
// the filter (by, select, coalesce and other scalar filters only split or drop spansets, never
// add spans). 0 when the query has no such form, or when later spanset stages add conditions
// of their own (the fetch's conditions would then not be the counted filter's).
uint32_t MinMatchingSpans(const Pipeline& p) {
  if (p.stages.empty() || p.stages[0].kind != Stage::Kind::kSpanset ||
      p.stages[0].spanset->kind != SpansetExpr::Kind::kFilter) {
    return 0;
  }
  // Later spanset stages add conditions the count does not apply to.
  for (size_t i = 1; i < p.stages.size(); ++i) {
    if (p.stages[i].kind == Stage::Kind::kSpanset) return 0;
  }
  for (size_t i = 1; i < p.stages.size(); ++i) {
    const Stage& st = p.stages[i];
    if (st.kind != Stage::Kind::kScalarFilter) continue;  // by, select, coalesce
    const ScalarExpr* count = st.lhs.get();
    const ScalarExpr* n = st.rhs.get();
    Op op = st.cmp;
    if (n != nullptr && n->kind == ScalarExpr::Kind::kAggregate) {  // n < count()
      std::swap(count, n);
      op = op == Op::kLt ? Op::kGt : op == Op::kLte ? Op::kGte : Op::kNone;
    }
    bool is_count = count != nullptr && count->kind == ScalarExpr::Kind::kAggregate &&
                    count->agg == AggregateOp::kCount && count->agg_expr == nullptr;
    bool is_int = n != nullptr && n->kind == ScalarExpr::Kind::kStatic && n->value.type == StaticType::kInt &&
                  n->value.i >= 0 && n->value.i < (int64_t{1} << 31);
    if (!is_count || !is_int) continue;  // another scalar filter: it only drops spansets
    if (op == Op::kGt) return static_cast<uint32_t>(n->value.i) + 1;
    if (op == Op::kGte || op == Op::kEq) return static_cast<uint32_t>(n->value.i);
  }
  return 0;
}

// --- what the query reads ---

void Reads(const FieldExpr* e, std::vector<Attribute>* out);
void Reads(const Pipeline& p, std::vector<Attribute>* out);

void Reads(const ScalarExpr* e, std::vector<Attribute>* out) {
  if (e == nullptr) return;
  Reads(e->agg_expr.get(), out);
  Reads(e->lhs.get(), out);
  Reads(e->rhs.get(), out);
  if (e->pipeline != nullptr) Reads(*e->pipeline, out);
}

void Reads(const FieldExpr* e, std::vector<Attribute>* out) {
  if (e == nullptr) return;
  if (e->kind == FieldExpr::Kind::kAttribute) out->push_back(e->attr);
  Reads(e->lhs.get(), out);
  Reads(e->rhs.get(), out);
}

void Reads(const SpansetExpr* s, std::vector<Attribute>* out) {
  if (s == nullptr) return;
  Reads(s->filter.get(), out);
  Reads(s->lhs.get(), out);
  Reads(s->rhs.get(), out);
  if (s->pipeline != nullptr) Reads(*s->pipeline, out);
}

void Reads(const Pipeline& p, std::vector<Attribute>* out) {
  for (const Stage& st : p.stages) {
    Reads(st.spanset.get(), out);
    Reads(st.lhs.get(), out);
    Reads(st.rhs.get(), out);
    Reads(st.by.get(), out);
    for (const Attribute& a : st.select) out->push_back(a);
  }
}

// --- results ---

TraceResult Shape(const scan::TraceView& t, std::vector<EvalSpanset>& sets, Evaluator& ev, uint32_t spss) {
  TraceResult r;
  r.id = t.id;
  r.root_service_name = t.root_service.empty() ? "<root span not yet received>" : std::string(t.root_service);
  r.root_trace_name = std::string(t.root_name);
  r.start_unix_nano = t.start_unix_nano;
  r.duration_ms = static_cast<uint32_t>((t.end_unix_nano - t.start_unix_nano) / 1000000);
  for (const scan::ServiceStat& s : t.services) {
    ServiceStats& st = r.service_stats[std::string(s.name)];
    st.span_count += s.spans;
    st.error_count += s.errors;
  }
  const model::SpanBatch& b = *t.batch;
  for (EvalSpanset& ss : sets) {
    SpansetResult out;
    out.matched = static_cast<uint32_t>(ss.spans.size());
    out.attributes = std::move(ss.attributes);
    std::sort(ss.spans.begin(), ss.spans.end(), [&](uint32_t x, uint32_t y) {
      if (b.start_unix_nano[x] != b.start_unix_nano[y]) return b.start_unix_nano[x] < b.start_unix_nano[y];
      return b.span_id[x].view() < b.span_id[y].view();
    });
    if (spss != 0 && ss.spans.size() > spss) ss.spans.resize(spss);  // 0: every span (Tempo)
    for (uint32_t row : ss.spans) {
      SpanResult sp;
      sp.id = b.span_id[row];
      sp.name = std::string(b.name[row]);
      sp.start_unix_nano = b.start_unix_nano[row];
      sp.duration_nanos = b.end_unix_nano[row] - b.start_unix_nano[row];
      for (const Attribute& a : ev.returned_attributes()) {
        if (a.scope == scan::Scope::kEvent || a.scope == scan::Scope::kLink) continue;
        switch (a.intrinsic) {
          case scan::Intrinsic::kDuration: case scan::Intrinsic::kName: case scan::Intrinsic::kSpanId:
          case scan::Intrinsic::kTraceId: case scan::Intrinsic::kTraceDuration: case scan::Intrinsic::kTraceRootName:
          case scan::Intrinsic::kTraceRootService: case scan::Intrinsic::kEventName:
          case scan::Intrinsic::kEventTimeSinceStart: case scan::Intrinsic::kLinkSpanId:
          case scan::Intrinsic::kLinkTraceId:
            continue;
          default: break;
        }
        internal::V v = ev.Lookup(a, row);
        if (v.k == internal::V::K::kNil) continue;
        std::string key = a.is_intrinsic() ? ToString(a) : a.name;
        if (a.is_intrinsic() && a.scope != scan::Scope::kNone) key = key.substr(key.find(':') + 1);
        sp.attributes.push_back({std::move(key), internal::ToStatic(v, b)});
      }
      out.spans.push_back(std::move(sp));
    }
    r.spansets.push_back(std::move(out));
  }
  return r;
}

bool NewerFirst(const TraceResult& a, const TraceResult& b) {
  if (a.start_unix_nano != b.start_unix_nano) return a.start_unix_nano > b.start_unix_nano;
  return a.id.view() < b.id.view();
}

// Parts of one trace found in several sources: one result.
void Merge(TraceResult* into, TraceResult&& part) {
  uint64_t end = std::max(into->start_unix_nano + uint64_t{into->duration_ms} * 1000000,
                          part.start_unix_nano + uint64_t{part.duration_ms} * 1000000);
  into->start_unix_nano = std::min(into->start_unix_nano, part.start_unix_nano);
  into->duration_ms = static_cast<uint32_t>((end - into->start_unix_nano) / 1000000);
  if (into->root_trace_name.empty() && !part.root_trace_name.empty()) {
    into->root_service_name = std::move(part.root_service_name);
    into->root_trace_name = std::move(part.root_trace_name);
  }
  for (auto& [name, s] : part.service_stats) {
    into->service_stats[name].span_count += s.span_count;
    into->service_stats[name].error_count += s.error_count;
  }
  if (into->spansets.size() == 1 && part.spansets.size() == 1 && into->spansets[0].attributes.empty() &&
      part.spansets[0].attributes.empty()) {
    SpansetResult& a = into->spansets[0];
    a.matched += part.spansets[0].matched;
    for (auto& s : part.spansets[0].spans) a.spans.push_back(std::move(s));
    std::sort(a.spans.begin(), a.spans.end(),
              [](const SpanResult& x, const SpanResult& y) { return x.start_unix_nano < y.start_unix_nano; });
    return;
  }
  for (auto& s : part.spansets) into->spansets.push_back(std::move(s));
}

// The best `limit` results so far. Thread-safe.
class TopK {
 public:
  explicit TopK(uint32_t limit) : limit_(limit) {}

  void Add(TraceResult&& r) {
    MutexLock l(mu_);
    auto it = index_.find(r.id);
    if (it != index_.end()) {
      Merge(&results_[it->second], std::move(r));
      return;
    }
    if (results_.size() >= limit_) {
      size_t worst = Worst();
      if (!NewerFirst(r, results_[worst])) return;
      index_.erase(results_[worst].id);
      results_[worst] = std::move(r);
      index_[results_[worst].id] = worst;
      return;
    }
    index_[r.id] = results_.size();
    results_.push_back(std::move(r));
  }

  /// What a new trace must beat (see scan::ResultBound).
  scan::ResultBound Bound() {
    MutexLock l(mu_);
    scan::ResultBound b;
    if (results_.size() < limit_ || results_.empty()) {
      b.room = static_cast<uint32_t>(limit_ - results_.size());
      return b;
    }
    const TraceResult& worst = results_[Worst()];
    b.full = true;
    b.start_unix_nano = worst.start_unix_nano;
    b.id = worst.id;
    for (const TraceResult& r : results_) b.held.push_back(r.id);
    std::sort(b.held.begin(), b.held.end(),
              [](const model::TraceId& x, const model::TraceId& y) { return x.view() < y.view(); });
    return b;
  }

  /// The start time a new trace must beat, once the results are full (0 before).
  uint64_t threshold() {
    MutexLock l(mu_);
    if (results_.size() < limit_ || results_.empty()) return 0;
    return results_[Worst()].start_unix_nano;
  }

  std::vector<TraceResult> Sorted() {
    MutexLock l(mu_);
    std::vector<TraceResult> out = results_;
    std::sort(out.begin(), out.end(), NewerFirst);
    return out;
  }

 private:
  size_t Worst() VV_REQUIRES(mu_) {
    size_t w = 0;
    for (size_t i = 1; i < results_.size(); ++i) {
      if (NewerFirst(results_[w], results_[i])) w = i;
    }
    return w;
  }

  const uint32_t limit_;
  Mutex mu_;
  std::vector<TraceResult> results_ VV_GUARDED_BY(mu_);
  std::unordered_map<model::TraceId, size_t, model::IdHash> index_ VV_GUARDED_BY(mu_);
};

}  // namespace

struct SpanMatcher::Compiled {
  Query query;
  std::unique_ptr<Evaluator> ev;
};

SpanMatcher::~SpanMatcher() = default;

Result<std::unique_ptr<SpanMatcher>> SpanMatcher::Create(std::string_view text) {
  VV_ASSIGN_OR_RETURN(Query query, ParseAndValidate(text));
  if (query.metrics != nullptr) return Unimplemented("a metrics query cannot filter spans");
  std::unique_ptr<SpanMatcher> m(new SpanMatcher());
  m->compiled_ = std::make_unique<Compiled>();
  m->compiled_->query = std::move(query);
  m->compiled_->ev = std::make_unique<Evaluator>(m->compiled_->query);
  uint32_t groups = 0;
  Need need = PipelineNeed(*m->compiled_->query.spansets, &groups);
  if (!need.none) {
    m->plan_.conditions = std::move(need.conds);
    m->plan_.all_conditions = need.all;
  }
  return m;
}

std::vector<uint32_t> SpanMatcher::Match(const scan::TraceView& trace) {
  std::vector<uint32_t> rows;
  for (EvalSpanset& ss : compiled_->ev->Run(trace)) rows.insert(rows.end(), ss.spans.begin(), ss.spans.end());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

Result<SearchResult> Search(std::string_view text, std::span<const FetchSource> sources, const SearchOptions& opts,
                            const SearchProgress& progress) {
  VV_ASSIGN_OR_RETURN(Query query, ParseAndValidate(text));
  if (query.metrics != nullptr) {
    return Unimplemented("metrics queries are answered by /api/metrics/query_range, not search");
  }
  if (opts.limit == 0) return InvalidArgument("limit must be positive");

  scan::FetchRequest req;
  req.start_unix_nano = opts.start_unix_nano;
  req.end_unix_nano = opts.end_unix_nano;
  uint32_t groups = 0;
  Need need = PipelineNeed(*query.spansets, &groups);
  if (!need.none) {
    req.conditions = std::move(need.conds);
    req.all_conditions = need.all;
  }
  req.min_matching_spans = MinMatchingSpans(*query.spansets);

  // Newest sources first, so that older ones can be skipped once the results are full.
  std::vector<const FetchSource*> order;
  for (const FetchSource& s : sources) {
    if (opts.start_unix_nano != 0 && s.end_unix_nano != 0 && s.end_unix_nano < opts.start_unix_nano) continue;
    if (opts.end_unix_nano != 0 && s.start_unix_nano > opts.end_unix_nano) continue;
    order.push_back(&s);
  }
  std::sort(order.begin(), order.end(), [](const FetchSource* a, const FetchSource* b) {
    return a->end_unix_nano > b->end_unix_nano;
  });

  TopK top(opts.limit);
  req.bound = [&top] { return top.Bound(); };
  Reads(*query.spansets, &req.reads);
  req.reads_all = false;
  Mutex mu;
  SearchMetrics metrics;
  metrics.total_jobs = static_cast<uint32_t>(order.size());
  for (const FetchSource& s : sources) {
    metrics.total_block_bytes += s.bytes;
    metrics.total_blocks += s.blocks;
  }
  Status error;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};

  auto worker = [&]() {
    Evaluator ev(query);
    while (!stop.load()) {
      size_t i = next.fetch_add(1);
      if (i >= order.size()) return;
      const FetchSource& src = *order[i];
      uint64_t threshold = top.threshold();
      if (threshold != 0 && src.end_unix_nano != 0 && src.end_unix_nano < threshold) {
        MutexLock l(mu);
        ++metrics.completed_jobs;
        continue;
      }
      uint64_t seen = 0;
      bool timed_out = false;
      auto visit = [&](const scan::TraceView& t) {
        if ((++seen & 63) == 0 && std::chrono::steady_clock::now() > opts.deadline) {
          timed_out = true;
          return false;
        }
        if (stop.load()) return false;
        if (opts.start_unix_nano != 0 && t.end_unix_nano < opts.start_unix_nano) return true;
        if (opts.end_unix_nano != 0 && t.start_unix_nano > opts.end_unix_nano) return true;
        std::vector<EvalSpanset> sets = ev.Run(t);
        if (!sets.empty()) top.Add(Shape(t, sets, ev, opts.spans_per_spanset));
        return true;
      };
      auto r = src.fetcher->Fetch(req, visit);
      MutexLock l(mu);
      if (!r.ok()) {
        if (error.ok()) error = r.status();
        stop.store(true);
        return;
      }
      metrics.inspected_bytes += r->inspected_bytes;
      metrics.inspected_traces += r->inspected_traces;
      metrics.inspected_spans += r->inspected_spans;
      ++metrics.completed_jobs;
      if (timed_out || std::chrono::steady_clock::now() > opts.deadline) {
        if (error.ok()) error = Status(StatusCode::kDeadlineExceeded, "search timed out; narrow the time range or the query");
        stop.store(true);
        return;
      }
      if (opts.max_inspected_bytes != 0 && metrics.inspected_bytes > opts.max_inspected_bytes) {
        if (error.ok()) {
          error = ResourceExhausted("search read " + std::to_string(metrics.inspected_bytes) +
                                    " bytes, over the limit of " + std::to_string(opts.max_inspected_bytes) +
                                    "; narrow the time range or the query");
        }
        stop.store(true);
        return;
      }
      if (progress) {
        std::vector<TraceResult> so_far = top.Sorted();
        if (!progress(so_far, metrics)) {
          if (error.ok()) error = Status(StatusCode::kCancelled, "search cancelled by the client");
          stop.store(true);
          return;
        }
      }
    }
  };

  uint32_t threads = opts.threads != 0 ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<uint32_t>(std::min<size_t>(threads, std::max<size_t>(order.size(), 1)));
  std::vector<std::thread> pool;
  for (uint32_t i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  if (!error.ok()) return error;
  SearchResult out;
  out.traces = top.Sorted();
  out.metrics = metrics;
  return out;
}

}  // namespace vivace::traceql
