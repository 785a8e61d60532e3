#include "traceql/internal/eval.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace vivace::traceql::internal {
namespace {

using model::SpanBatch;
using scan::Intrinsic;
using scan::Scope;
using K = V::K;

constexpr int64_t kNoParent = -1;

V Nil() { return {}; }
V Int(int64_t i) {
  V v;
  v.k = K::kInt;
  v.i = i;
  return v;
}
V Dur(int64_t i) {
  V v = Int(i);
  v.k = K::kDuration;
  return v;
}
V Float(double f) {
  V v;
  v.k = K::kFloat;
  v.f = f;
  return v;
}
V Str(std::string_view s) {
  V v;
  v.k = K::kString;
  v.s = s;
  return v;
}
V Bool(bool b) {
  V v;
  v.k = K::kBool;
  v.b = b;
  return v;
}

bool Numeric(K k) { return k == K::kInt || k == K::kFloat || k == K::kDuration; }
double AsDouble(const V& v) { return v.k == K::kFloat ? v.f : static_cast<double>(v.i); }

V FromModel(const model::Value& m, const SpanBatch& b) {
  switch (m.kind) {
    case model::ValueKind::kString: return Str(m.string());
    case model::ValueKind::kInt: return Int(m.i);
    case model::ValueKind::kDouble: return Float(m.d);
    case model::ValueKind::kBool: return Bool(m.b);
    case model::ValueKind::kArray: {
      V v;
      v.k = K::kArray;
      v.array = b.values.data() + m.range().first;
      v.array_size = m.range().count;
      return v;
    }
    default: return Nil();
  }
}

const model::Value* Find(const SpanBatch& b, model::Range r, std::string_view key) {
  for (uint32_t k = r.first; k < r.end(); ++k) {
    if (b.attributes[k].key == key) return &b.attributes[k].value;
  }
  return nullptr;
}

// Compares two scalar values; false when their types don't match (Tempo's rule).
bool CompareScalar(Op op, const V& a, const V& b, const re2::RE2* re) {
  if (a.k == K::kNil || b.k == K::kNil) return false;
  if (op == Op::kRegex || op == Op::kNotRegex) {
    if (a.k != K::kString || re == nullptr) return false;
    bool m = RE2::FullMatch(re2::StringPiece(a.s.data(), a.s.size()), *re);
    return op == Op::kRegex ? m : !m;
  }
  int c;
  if (Numeric(a.k) && Numeric(b.k)) {
    if (a.k != K::kFloat && b.k != K::kFloat) {
      c = a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    } else {
      double x = AsDouble(a), y = AsDouble(b);
      if (std::isnan(x) || std::isnan(y)) return op == Op::kNeq;
      c = x < y ? -1 : x > y ? 1 : 0;
    }
  } else if (a.k != b.k) {
    return false;
  } else if (a.k == K::kString) {
    c = a.s.compare(b.s);
    c = c < 0 ? -1 : c > 0 ? 1 : 0;
  } else if (a.k == K::kBool) {
    if (op != Op::kEq && op != Op::kNeq) return false;
    c = a.b == b.b ? 0 : 1;
  } else {  // status, kind
    if (op != Op::kEq && op != Op::kNeq) return false;
    c = a.i == b.i ? 0 : 1;
  }
  return scan::ComparisonHolds(op, c);
}

// Arrays: = =~ and orderings hold if any element matches; != !~ if no element equals / matches.
bool Compare(Op op, const V& a, const V& b, const SpanBatch& batch, const re2::RE2* re) {
  if (a.k == K::kArray || b.k == K::kArray) {
    const V& arr = a.k == K::kArray ? a : b;
    bool left = a.k == K::kArray;
    if ((left ? b : a).k == K::kArray || arr.array_size == 0) return false;
    bool negated = op == Op::kNeq || op == Op::kNotRegex;
    Op positive = op == Op::kNeq ? Op::kEq : op == Op::kNotRegex ? Op::kRegex : op;
    bool any = false, typed = false;
    for (uint32_t i = 0; i < arr.array_size; ++i) {
      V e = FromModel(arr.array[i], batch);
      const V& other = left ? b : a;
      if (e.k == other.k || (Numeric(e.k) && Numeric(other.k))) typed = true;
      if (left ? CompareScalar(positive, e, b, re) : CompareScalar(positive, a, e, re)) {
        any = true;
        break;
      }
    }
    return negated ? (typed && !any) : any;
  }
  return CompareScalar(op, a, b, re);
}

V Arithmetic(Op op, const V& a, const V& b) {
  if (!Numeric(a.k) || !Numeric(b.k)) return Nil();
  if (a.k != K::kFloat && b.k != K::kFloat) {
    int64_t x = a.i, y = b.i, r = 0;
    bool ok = true;
    switch (op) {
      case Op::kAdd: ok = !__builtin_add_overflow(x, y, &r); break;
      case Op::kSub: ok = !__builtin_sub_overflow(x, y, &r); break;
      case Op::kMul: ok = !__builtin_mul_overflow(x, y, &r); break;
      case Op::kDiv:
      case Op::kMod:
        if (y == 0 || (x == INT64_MIN && y == -1)) return Nil();
        r = op == Op::kDiv ? x / y : x % y;
        break;
      case Op::kPow: {
        double p = std::pow(static_cast<double>(x), static_cast<double>(y));
        if (!(std::fabs(p) < 9.2e18)) return Float(p);
        r = static_cast<int64_t>(p);
        break;
      }
      default: return Nil();
    }
    if (!ok) return Float(op == Op::kAdd ? static_cast<double>(x) + static_cast<double>(y)
                          : op == Op::kSub ? static_cast<double>(x) - static_cast<double>(y)
                                           : static_cast<double>(x) * static_cast<double>(y));
    return a.k == K::kDuration || b.k == K::kDuration ? Dur(r) : Int(r);
  }
  double x = AsDouble(a), y = AsDouble(b);
  switch (op) {
    case Op::kAdd: return Float(x + y);
    case Op::kSub: return Float(x - y);
    case Op::kMul: return Float(x * y);
    case Op::kDiv: return Float(x / y);
    case Op::kMod: return Float(std::fmod(x, y));
    case Op::kPow: return Float(std::pow(x, y));
    default: return Nil();
  }
}

void CollectAttributes(const FieldExpr* e, std::vector<Attribute>* out) {
  if (e == nullptr) return;
  if (e->kind == FieldExpr::Kind::kAttribute) {
    if (std::find(out->begin(), out->end(), e->attr) == out->end()) out->push_back(e->attr);
    return;
  }
  CollectAttributes(e->lhs.get(), out);
  CollectAttributes(e->rhs.get(), out);
}
void CollectPipeline(const Pipeline& p, std::vector<Attribute>* out);
void CollectSpanset(const SpansetExpr& s, std::vector<Attribute>* out) {
  if (s.kind == SpansetExpr::Kind::kFilter) CollectAttributes(s.filter.get(), out);
  if (s.lhs) CollectSpanset(*s.lhs, out);
  if (s.rhs) CollectSpanset(*s.rhs, out);
  if (s.pipeline) CollectPipeline(*s.pipeline, out);
}
void CollectPipeline(const Pipeline& p, std::vector<Attribute>* out) {
  for (const Stage& s : p.stages) {
    if (s.spanset) CollectSpanset(*s.spanset, out);
    for (const Attribute& a : s.select) {
      if (std::find(out->begin(), out->end(), a) == out->end()) out->push_back(a);
    }
  }
}

std::string AggregateKey(AggregateOp op, const FieldExpr* e) {
  return std::string(AggregateName(op)) + "(" + (e ? ToString(*e) : "") + ")";
}

}  // namespace

bool UsesScope(const FieldExpr* f, Scope scope) {
  if (f == nullptr) return false;
  if (f->kind == FieldExpr::Kind::kAttribute) {
    if (f->attr.scope == scope) return true;
    Intrinsic i = f->attr.intrinsic;
    if (scope == Scope::kEvent) return i == Intrinsic::kEventName || i == Intrinsic::kEventTimeSinceStart;
    if (scope == Scope::kLink) return i == Intrinsic::kLinkTraceId || i == Intrinsic::kLinkSpanId;
    return false;
  }
  return UsesScope(f->lhs.get(), scope) || UsesScope(f->rhs.get(), scope);
}

V FromStatic(const Static& s) {
  switch (s.type) {
    case StaticType::kInt: return Int(s.i);
    case StaticType::kFloat: return Float(s.f);
    case StaticType::kString: return Str(s.s);
    case StaticType::kBool: return Bool(s.b);
    case StaticType::kDuration: return Dur(s.i);
    case StaticType::kStatus: {
      V v = Int(s.i);
      v.k = K::kStatus;
      return v;
    }
    case StaticType::kKind: {
      V v = Int(s.i);
      v.k = K::kKind;
      return v;
    }
    default: return Nil();
  }
}

Static ToStatic(const V& v, const SpanBatch& batch) {
  switch (v.k) {
    case K::kNil: return Static::Nil();
    case K::kInt: return Static::Int(v.i);
    case K::kFloat: return Static::Float(v.f);
    case K::kString: return Static::String(std::string(v.s));
    case K::kBool: return Static::Bool(v.b);
    case K::kDuration: return Static::Duration(v.i);
    case K::kStatus: return Static::Status(v.i);
    case K::kKind: return Static::Kind(v.i);
    case K::kArray: {
      Static out;
      StaticType elem = StaticType::kNil;
      for (uint32_t i = 0; i < v.array_size; ++i) {
        Static e = ToStatic(FromModel(v.array[i], batch), batch);
        if (elem == StaticType::kNil) elem = e.type;
        out.array.push_back(std::move(e));
      }
      out.type = elem == StaticType::kInt     ? StaticType::kIntArray
                 : elem == StaticType::kFloat ? StaticType::kFloatArray
                 : elem == StaticType::kBool  ? StaticType::kBoolArray
                                              : StaticType::kStringArray;
      return out;
    }
  }
  return Static::Nil();
}

Evaluator::Evaluator(const Query& query) : query_(query) {
  if (query.spansets) CollectPipeline(*query.spansets, &returned_);
}
Evaluator::~Evaluator() = default;

const re2::RE2* Evaluator::Regex(const FieldExpr& e) {
  auto it = regexes_.find(&e);
  if (it != regexes_.end()) return it->second.get();
  std::unique_ptr<re2::RE2> re;
  if (e.rhs && e.rhs->kind == FieldExpr::Kind::kStatic && e.rhs->value.type == StaticType::kString) {
    RE2::Options o;
    o.set_log_errors(false);
    re = std::make_unique<re2::RE2>(e.rhs->value.s, o);
    if (!re->ok()) re.reset();
  }
  return regexes_.emplace(&e, std::move(re)).first->second.get();
}

V Evaluator::Lookup(const Attribute& a, uint32_t row) {
  if (a.is_intrinsic()) return Intrinsic(a, row);
  const SpanBatch& b = *t_->batch;
  auto span = [&]() -> const model::Value* { return Find(b, b.span_attributes[row], a.name); };
  auto resource = [&]() -> const model::Value* {
    return Find(b, b.resources[b.scopes[b.span_scope[row]].resource].attributes, a.name);
  };
  const model::Value* v = nullptr;
  switch (a.scope) {
    case Scope::kNone:
      v = span();
      if (v == nullptr) v = resource();
      break;
    case Scope::kSpan: v = span(); break;
    case Scope::kResource: v = resource(); break;
    case Scope::kInstrumentation: v = Find(b, b.scopes[b.span_scope[row]].attributes, a.name); break;
    case Scope::kEvent:
      if (event_ >= 0) v = Find(b, b.events[event_].attributes, a.name);
      break;
    case Scope::kLink:
      if (link_ >= 0) v = Find(b, b.links[link_].attributes, a.name);
      break;
    case Scope::kTrace: break;
  }
  return v == nullptr ? Nil() : FromModel(*v, b);
}

V Evaluator::Intrinsic(const Attribute& a, uint32_t row) {
  const SpanBatch& b = *t_->batch;
  const scan::NestedSet& n = t_->nested[row];
  auto hex = [&](std::string s) {
    hex_.push_back(std::move(s));
    return Str(hex_.back());
  };
  switch (a.intrinsic) {
    case Intrinsic::kDuration: return Dur(static_cast<int64_t>(b.end_unix_nano[row] - b.start_unix_nano[row]));
    case Intrinsic::kName: return Str(b.name[row]);
    case Intrinsic::kStatus: {
      V v = Int(static_cast<int64_t>(b.status_code[row]));
      v.k = K::kStatus;
      return v;
    }
    case Intrinsic::kStatusMessage: return Str(b.status_message[row]);
    case Intrinsic::kKind: {
      V v = Int(static_cast<int64_t>(b.kind[row]));
      v.k = K::kKind;
      return v;
    }
    case Intrinsic::kSpanId: return hex(b.span_id[row].Hex());
    case Intrinsic::kParentId:
      if (b.parent_span_id[row].IsZero()) return Nil();
      return hex(b.parent_span_id[row].Hex());
    case Intrinsic::kChildCount: {
      if (!child_counts_ready_) {
        child_counts_.assign(t_->span_count, 0);
        // Rows are in nested-set pre-order; map a parent's left to its row.
        std::unordered_map<uint32_t, uint32_t> by_left;
        for (uint32_t r = 0; r < t_->span_count; ++r) by_left[t_->nested[t_->first_span + r].left] = r;
        for (uint32_t r = 0; r < t_->span_count; ++r) {
          uint32_t p = t_->nested[t_->first_span + r].parent;
          auto it = p == 0 ? by_left.end() : by_left.find(p);
          if (it != by_left.end()) ++child_counts_[it->second];
        }
        child_counts_ready_ = true;
      }
      return Int(child_counts_[row - t_->first_span]);
    }
    case Intrinsic::kTraceDuration: return Dur(static_cast<int64_t>(t_->end_unix_nano - t_->start_unix_nano));
    case Intrinsic::kTraceRootName: return t_->root_name.empty() ? Nil() : Str(t_->root_name);
    case Intrinsic::kTraceRootService: return t_->root_service.empty() ? Nil() : Str(t_->root_service);
    case Intrinsic::kTraceId: return hex(t_->id.Hex());
    case Intrinsic::kEventName: return event_ >= 0 ? Str(b.events[event_].name) : Nil();
    case Intrinsic::kEventTimeSinceStart:
      if (event_ < 0) return Nil();
      return Dur(static_cast<int64_t>(b.events[event_].time_unix_nano - b.start_unix_nano[row]));
    case Intrinsic::kLinkTraceId: return link_ >= 0 ? hex(b.links[link_].trace_id.Hex()) : Nil();
    case Intrinsic::kLinkSpanId: return link_ >= 0 ? hex(b.links[link_].span_id.Hex()) : Nil();
    case Intrinsic::kInstrumentationName: return Str(b.scopes[b.span_scope[row]].name);
    case Intrinsic::kInstrumentationVersion: return Str(b.scopes[b.span_scope[row]].version);
    case Intrinsic::kNestedSetLeft: return Int(n.left);
    case Intrinsic::kNestedSetRight: return Int(n.right);
    case Intrinsic::kNestedSetParent: return Int(n.parent == 0 ? kNoParent : n.parent);
    default: return Nil();
  }
}

V Evaluator::Eval(const FieldExpr& e, uint32_t row) {
  switch (e.kind) {
    case FieldExpr::Kind::kStatic: return FromStatic(e.value);
    case FieldExpr::Kind::kAttribute: return Lookup(e.attr, row);
    case FieldExpr::Kind::kUnary: {
      V x = Eval(*e.lhs, row);
      switch (e.op) {
        case Op::kNot: return x.k == K::kBool ? Bool(!x.b) : Nil();
        case Op::kNeg:
          if (x.k == K::kFloat) return Float(-x.f);
          if (x.k == K::kInt || x.k == K::kDuration) {
            x.i = -x.i;
            return x;
          }
          return Nil();
        case Op::kExists: return Bool(x.k != K::kNil);
        case Op::kNotExists: return Bool(x.k == K::kNil);
        default: return Nil();
      }
    }
    case FieldExpr::Kind::kBinary: {
      if (e.op == Op::kAnd || e.op == Op::kOr) {
        V l = Eval(*e.lhs, row);
        bool lt = l.k == K::kBool && l.b;
        if (e.op == Op::kAnd && !lt) return Bool(false);
        if (e.op == Op::kOr && lt) return Bool(true);
        V r = Eval(*e.rhs, row);
        return Bool(r.k == K::kBool && r.b);
      }
      V l = Eval(*e.lhs, row);
      V r = Eval(*e.rhs, row);
      if (scan::IsArithmetic(e.op)) return Arithmetic(e.op, l, r);
      const re2::RE2* re = (e.op == Op::kRegex || e.op == Op::kNotRegex) ? Regex(e) : nullptr;
      return Bool(Compare(e.op, l, r, *t_->batch, re));
    }
  }
  return Nil();
}

bool Evaluator::MatchSpan(const FieldExpr& f, uint32_t row) {
  const SpanBatch& b = *t_->batch;
  auto once = [&]() {
    V v = Eval(f, row);
    hex_.clear();
    return v.k == K::kBool && v.b;
  };
  auto [it, inserted] = scopes_.try_emplace(&f, 0);
  if (inserted) it->second = (UsesScope(&f, Scope::kEvent) ? 1 : 0) | (UsesScope(&f, Scope::kLink) ? 2 : 0);
  uint8_t uses = it->second;
  auto over_links = [&]() {
    if ((uses & 2) == 0) return once();
    model::Range ln = b.span_links[row];
    if (ln.count == 0) return false;  // link conditions hold only through a link (as Tempo)
    for (uint32_t l = ln.first; l < ln.end(); ++l) {
      link_ = static_cast<int32_t>(l);
      if (once()) {
        link_ = -1;
        return true;
      }
    }
    link_ = -1;
    return false;
  };
  if ((uses & 1) == 0) return over_links();
  model::Range ev = b.span_events[row];
  if (ev.count == 0) return false;  // event conditions hold only through an event (as Tempo)
  for (uint32_t e = ev.first; e < ev.end(); ++e) {
    event_ = static_cast<int32_t>(e);
    if (over_links()) {
      event_ = -1;
      return true;
    }
  }
  event_ = -1;
  return false;
}

// --- spansets ---

EvalSpanset Evaluator::Filter(const FieldExpr* f, const EvalSpanset& in) {
  EvalSpanset out;
  out.attributes = in.attributes;
  if (f == nullptr) {
    out.spans = in.spans;
    return out;
  }
  for (uint32_t row : in.spans) {
    if (MatchSpan(*f, row)) out.spans.push_back(row);
  }
  return out;
}

namespace {

std::vector<uint32_t> Union(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The structural relation a (non-negated) operator tests: does `r` relate to some span of `l`?
enum class Rel { kChild, kParent, kDescendant, kAncestor, kSibling };

Rel RelOf(Op op) {
  switch (op) {
    case Op::kChild: case Op::kNotChild: case Op::kUnionChild: return Rel::kChild;
    case Op::kParent: case Op::kNotParent: case Op::kUnionParent: return Rel::kParent;
    case Op::kDescendant: case Op::kNotDescendant: case Op::kUnionDescendant: return Rel::kDescendant;
    case Op::kAncestor: case Op::kNotAncestor: case Op::kUnionAncestor: return Rel::kAncestor;
    default: return Rel::kSibling;
  }
}

Rel Inverse(Rel r) {
  switch (r) {
    case Rel::kChild: return Rel::kParent;
    case Rel::kParent: return Rel::kChild;
    case Rel::kDescendant: return Rel::kAncestor;
    case Rel::kAncestor: return Rel::kDescendant;
    case Rel::kSibling: return Rel::kSibling;
  }
  return r;
}

// For each span of `rhs` (rows, sorted), whether it has relation `rel` to some span of `lhs`.
// Uses the nested-set numbers: O((|l| + |r|) log |l|).
std::vector<bool> Related(Rel rel, const std::vector<uint32_t>& lhs, const std::vector<uint32_t>& rhs,
                          const scan::NestedSet* n) {
  std::vector<bool> out(rhs.size(), false);
  if (lhs.empty()) return out;
  switch (rel) {
    case Rel::kChild: {  // r's parent is in lhs
      std::unordered_set<uint32_t> lefts;
      for (uint32_t l : lhs) lefts.insert(n[l].left);
      for (size_t i = 0; i < rhs.size(); ++i) out[i] = n[rhs[i]].parent != 0 && lefts.count(n[rhs[i]].parent) > 0;
      break;
    }
    case Rel::kParent: {  // r is the parent of some lhs span
      std::unordered_set<uint32_t> parents;
      for (uint32_t l : lhs) {
        if (n[l].parent != 0) parents.insert(n[l].parent);
      }
      for (size_t i = 0; i < rhs.size(); ++i) out[i] = parents.count(n[rhs[i]].left) > 0;
      break;
    }
    case Rel::kDescendant: {  // some lhs interval strictly contains r.left
      std::vector<std::pair<uint32_t, uint32_t>> iv;  // (left, right) sorted by left
      for (uint32_t l : lhs) iv.push_back({n[l].left, n[l].right});
      std::sort(iv.begin(), iv.end());
      std::vector<uint32_t> max_right(iv.size());
      uint32_t m = 0;
      for (size_t k = 0; k < iv.size(); ++k) max_right[k] = m = std::max(m, iv[k].second);
      for (size_t i = 0; i < rhs.size(); ++i) {
        uint32_t x = n[rhs[i]].left;
        auto it = std::lower_bound(iv.begin(), iv.end(), std::make_pair(x, 0u));  // first left >= x
        size_t k = static_cast<size_t>(it - iv.begin());
        out[i] = k > 0 && max_right[k - 1] > x;
      }
      break;
    }
    case Rel::kAncestor: {  // some lhs left lies strictly inside r's interval
      std::vector<uint32_t> lefts;
      for (uint32_t l : lhs) lefts.push_back(n[l].left);
      std::sort(lefts.begin(), lefts.end());
      for (size_t i = 0; i < rhs.size(); ++i) {
        auto it = std::upper_bound(lefts.begin(), lefts.end(), n[rhs[i]].left);
        out[i] = it != lefts.end() && *it < n[rhs[i]].right;
      }
      break;
    }
    case Rel::kSibling: {  // another lhs span shares r's parent
      std::unordered_map<uint32_t, std::pair<uint32_t, uint32_t>> by_parent;  // parent → (count, a left)
      for (uint32_t l : lhs) {
        if (n[l].parent == 0) continue;
        auto& e = by_parent[n[l].parent];
        ++e.first;
        e.second = n[l].left;
      }
      for (size_t i = 0; i < rhs.size(); ++i) {
        const scan::NestedSet& r = n[rhs[i]];
        auto it = r.parent == 0 ? by_parent.end() : by_parent.find(r.parent);
        if (it == by_parent.end()) continue;
        out[i] = it->second.first > 1 || it->second.second != r.left;
      }
      break;
    }
  }
  return out;
}

}  // namespace

std::vector<uint32_t> Evaluator::Relate(Op op, const std::vector<uint32_t>& lhs, const std::vector<uint32_t>& rhs) {
  Rel rel = RelOf(op);
  const scan::NestedSet* n = t_->nested;
  std::vector<uint32_t> out;
  bool negated = op >= Op::kNotChild && op <= Op::kNotSibling;
  bool with_lhs = op >= Op::kUnionChild;
  std::vector<bool> r = Related(rel, lhs, rhs, n);
  for (size_t i = 0; i < rhs.size(); ++i) {
    if (r[i] != negated) out.push_back(rhs[i]);
  }
  if (with_lhs && !out.empty()) {
    std::vector<bool> l = Related(Inverse(rel), rhs, lhs, n);
    std::vector<uint32_t> left;
    for (size_t i = 0; i < lhs.size(); ++i) {
      if (l[i]) left.push_back(lhs[i]);
    }
    out = Union(left, out);
  }
  return out;
}

std::vector<EvalSpanset> Evaluator::Spanset(const SpansetExpr& e, const std::vector<EvalSpanset>& input) {
  std::vector<EvalSpanset> out;
  switch (e.kind) {
    case SpansetExpr::Kind::kFilter:
      for (const EvalSpanset& in : input) {
        EvalSpanset f = Filter(e.filter.get(), in);
        if (!f.spans.empty()) out.push_back(std::move(f));
      }
      return out;
    case SpansetExpr::Kind::kPipeline: return Pipe(*e.pipeline, input);
    case SpansetExpr::Kind::kOperation: break;
  }
  for (const EvalSpanset& in : input) {
    std::vector<EvalSpanset> one{in};
    std::vector<EvalSpanset> ls = Spanset(*e.lhs, one);
    std::vector<EvalSpanset> rs = Spanset(*e.rhs, one);
    bool negated = e.op >= Op::kNotChild && e.op <= Op::kNotSibling;
    if (negated && ls.empty()) ls.push_back(EvalSpanset{});  // nothing to relate to: every rhs span
    for (const EvalSpanset& l : ls) {
      for (const EvalSpanset& r : rs) {
        EvalSpanset o;
        if (e.op == Op::kSpansetAnd) {
          if (l.spans.empty() || r.spans.empty()) continue;
          o.spans = Union(l.spans, r.spans);
        } else if (e.op == Op::kSpansetUnion) {
          o.spans = Union(l.spans, r.spans);
        } else {
          o.spans = Relate(e.op, l.spans, r.spans);
        }
        if (o.spans.empty()) continue;
        o.attributes = l.attributes;
        for (const ResultAttribute& a : r.attributes) o.attributes.push_back(a);
        out.push_back(std::move(o));
      }
    }
    if (e.op == Op::kSpansetUnion) {
      // || also holds when one side is empty.
      if (ls.empty()) {
        for (const EvalSpanset& r : rs) out.push_back(r);
      } else if (rs.empty()) {
        for (const EvalSpanset& l : ls) out.push_back(l);
      }
    }
  }
  return out;
}

V Evaluator::Aggregate(AggregateOp op, const FieldExpr* e, const EvalSpanset& ss) {
  if (op == AggregateOp::kCount) return Int(static_cast<int64_t>(ss.spans.size()));
  double sum = 0, best = 0;
  size_t n = 0;
  bool duration = false, all_int = true;
  for (uint32_t row : ss.spans) {
    V v = Eval(*e, row);
    if (!Numeric(v.k)) continue;
    duration = duration || v.k == K::kDuration;
    all_int = all_int && v.k != K::kFloat;
    double x = AsDouble(v);
    if (n == 0 || (op == AggregateOp::kMin && x < best) || (op == AggregateOp::kMax && x > best)) best = x;
    sum += x;
    ++n;
  }
  hex_.clear();
  if (n == 0) return Nil();
  double r = op == AggregateOp::kSum ? sum : op == AggregateOp::kAvg ? sum / static_cast<double>(n) : best;
  if (duration) return Dur(static_cast<int64_t>(std::llround(r)));
  if (all_int && op != AggregateOp::kAvg) return Int(static_cast<int64_t>(r));
  return Float(r);
}

double Evaluator::ScalarValue(const ScalarExpr& s, const EvalSpanset& ss, bool* ok) {
  switch (s.kind) {
    case ScalarExpr::Kind::kStatic: return s.value.AsFloat();
    case ScalarExpr::Kind::kAggregate: {
      V v = Aggregate(s.agg, s.agg_expr.get(), ss);
      if (!Numeric(v.k)) *ok = false;
      return AsDouble(v);
    }
    default: *ok = false; return 0;  // rejected by validation
  }
}

std::vector<EvalSpanset> Evaluator::Stage_(const Stage& s, std::vector<EvalSpanset> input) {
  std::vector<EvalSpanset> out;
  switch (s.kind) {
    case Stage::Kind::kSpanset: return Spanset(*s.spanset, input);
    case Stage::Kind::kScalarFilter: {
      bool agg_left = s.lhs->kind == ScalarExpr::Kind::kAggregate;
      const ScalarExpr& agg = agg_left ? *s.lhs : *s.rhs;
      std::string key = AggregateKey(agg.agg, agg.agg_expr.get());
      for (EvalSpanset& ss : input) {
        V v = Aggregate(agg.agg, agg.agg_expr.get(), ss);
        if (!Numeric(v.k)) continue;
        bool ok = true;
        double other = ScalarValue(agg_left ? *s.rhs : *s.lhs, ss, &ok);
        double x = AsDouble(v);
        double l = agg_left ? x : other, r = agg_left ? other : x;
        bool keep = false;
        switch (s.cmp) {
          case Op::kEq: keep = l == r; break;
          case Op::kNeq: keep = l != r; break;
          case Op::kLt: keep = l < r; break;
          case Op::kLte: keep = l <= r; break;
          case Op::kGt: keep = l > r; break;
          case Op::kGte: keep = l >= r; break;
          default: break;
        }
        if (!ok || !keep) continue;
        ss.attributes.push_back({key, ToStatic(v, *t_->batch)});
        out.push_back(std::move(ss));
      }
      return out;
    }
    case Stage::Kind::kGroup: {
      std::string key = "by(" + ToString(*s.by) + ")";
      for (const EvalSpanset& ss : input) {
        std::vector<std::pair<Static, EvalSpanset>> groups;
        for (uint32_t row : ss.spans) {
          V v = Eval(*s.by, row);
          Static st = ToStatic(v, *t_->batch);
          hex_.clear();
          auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == st; });
          if (it == groups.end()) {
            EvalSpanset g;
            g.attributes = ss.attributes;
            g.attributes.push_back({key, st});
            groups.push_back({std::move(st), std::move(g)});
            it = groups.end() - 1;
          }
          it->second.spans.push_back(row);
        }
        for (auto& g : groups) out.push_back(std::move(g.second));
      }
      return out;
    }
    case Stage::Kind::kCoalesce: {
      EvalSpanset all;
      for (const EvalSpanset& ss : input) all.spans = Union(all.spans, ss.spans);
      if (!all.spans.empty()) out.push_back(std::move(all));
      return out;
    }
    case Stage::Kind::kSelect: return input;
  }
  return out;
}

std::vector<EvalSpanset> Evaluator::Pipe(const Pipeline& p, std::vector<EvalSpanset> input) {
  for (const Stage& s : p.stages) {
    input = Stage_(s, std::move(input));
    if (input.empty()) break;
  }
  return input;
}

std::vector<EvalSpanset> Evaluator::Run(const scan::TraceView& trace) {
  t_ = &trace;
  child_counts_ready_ = false;
  hex_.clear();
  EvalSpanset all;
  all.spans.resize(trace.span_count);
  for (uint32_t i = 0; i < trace.span_count; ++i) all.spans[i] = trace.first_span + i;
  std::vector<EvalSpanset> in;
  in.push_back(std::move(all));
  std::vector<EvalSpanset> out = Pipe(*query_.spansets, std::move(in));
  std::erase_if(out, [](const EvalSpanset& s) { return s.spans.empty(); });
  return out;
}

}  // namespace vivace::traceql::internal
