#include "blocks/row_group_filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/coding.h"

namespace vivace::blocks {

using scan::Intrinsic;
using scan::Op;
using scan::Scope;
using scan::Static;
using scan::StaticType;

namespace {

Status Corrupt(std::string_view why) { return DataLoss("corrupt row group: " + std::string(why)); }

int Sign(auto a, auto b) { return a < b ? -1 : a > b ? 1 : 0; }

bool Holds(Op op, int c) { return scan::ComparisonHolds(op, c); }

// The comparisons below follow the evaluator's (traceql/eval.cc CompareScalar): numbers of any
// kind compare with each other, integers as integers, anything with a float as doubles (NaN is
// only ever unequal); other kinds compare only with their own kind.
bool IntHolds(Op op, int64_t v, const Static& x) {
  if (op == Op::kExists) return true;
  if (!scan::IsNumeric(x.type)) return false;
  if (x.type != StaticType::kFloat) return Holds(op, Sign(v, x.i));
  double y = x.f;
  if (std::isnan(y)) return op == Op::kNeq;
  return Holds(op, Sign(static_cast<double>(v), y));
}

bool DoubleHolds(Op op, double v, const Static& x) {
  if (op == Op::kExists) return true;
  if (!scan::IsNumeric(x.type)) return false;
  double y = x.AsFloat();
  if (std::isnan(v) || std::isnan(y)) return op == Op::kNeq;
  return Holds(op, Sign(v, y));
}

bool BoolHolds(Op op, bool v, const Static& x) {
  if (op == Op::kExists) return true;
  if (x.type != StaticType::kBool || (op != Op::kEq && op != Op::kNeq)) return false;
  return Holds(op, v == x.b ? 0 : 1);
}

// `v op x` for every int64 v as one range test, `lo <= v <= hi` (or its negation), so that a
// column evaluates in a tight loop. `exact` false: the comparison has no such form (a float
// operand with a fraction...), use IntHolds.
struct IntRange {
  bool exact = false;
  int64_t lo = 0, hi = 0;
  bool negate = false;

  bool Holds(int64_t v) const {
    bool in = static_cast<uint64_t>(v) - static_cast<uint64_t>(lo) <= static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    return in != negate;
  }
};

IntRange IntRangeOf(Op op, const Static& x) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  IntRange r;
  if (op == Op::kExists) return {true, kMin, kMax, false};
  if (!scan::IsNumeric(x.type)) return {true, kMin, kMax, true};  // nothing holds
  if (x.type == StaticType::kFloat) return r;
  int64_t v = x.i;
  r.exact = true;
  switch (op) {
    case Op::kEq: r.lo = r.hi = v; break;
    case Op::kNeq: r.lo = r.hi = v; r.negate = true; break;
    case Op::kLt:
      if (v == kMin) return {true, kMin, kMax, true};
      r.lo = kMin; r.hi = v - 1; break;
    case Op::kLte: r.lo = kMin; r.hi = v; break;
    case Op::kGt:
      if (v == kMax) return {true, kMin, kMax, true};
      r.lo = v + 1; r.hi = kMax; break;
    case Op::kGte: r.lo = v; r.hi = kMax; break;
    default: return {true, kMin, kMax, true};
  }
  return r;
}

bool StringHolds(Op op, std::string_view v, const Static& x, const re2::RE2* re) {
  if (op == Op::kExists) return true;
  if (op == Op::kRegex || op == Op::kNotRegex) {
    bool m = re != nullptr && RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re);
    return op == Op::kRegex ? m : !m;
  }
  if (x.type != StaticType::kString) return false;
  return Holds(op, Sign(v.compare(x.s), 0));
}

// Whether the filter evaluates `op` at all (others hold for every trace).
bool Evaluable(const PreparedCondition& pc) {
  const scan::Condition& c = *pc.condition;
  switch (c.op) {
    case Op::kExists: return true;
    case Op::kRegex:
    case Op::kNotRegex: return pc.regex != nullptr;
    case Op::kEq: case Op::kNeq: case Op::kLt: case Op::kLte: case Op::kGt: case Op::kGte:
      return c.operands.size() == 1 && c.operands[0].type != StaticType::kNil &&
             c.operands[0].array.empty();
    default: return false;
  }
}

const Static& Operand(const scan::Condition& c) {
  static const Static kNil;
  return c.operands.empty() ? kNil : c.operands[0];
}

}  // namespace

// --- ColumnIndex ---

ColumnIndex::ColumnIndex(std::span<const DedicatedColumn> dedicated)
    : dedicated_(dedicated), names_(ColumnNames(dedicated)), strings_(StringColumns(dedicated)) {}

int ColumnIndex::Find(std::string_view name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  return it == names_.end() ? -1 : static_cast<int>(it - names_.begin());
}

std::vector<PreparedCondition> PrepareConditions(const scan::FetchRequest& req) {
  std::vector<PreparedCondition> out;
  for (const scan::Condition& c : req.conditions) {
    PreparedCondition p;
    p.condition = &c;
    if ((c.op == Op::kRegex || c.op == Op::kNotRegex) && c.operands.size() == 1 &&
        c.operands[0].type == StaticType::kString) {
      RE2::Options o;
      o.set_log_errors(false);
      auto re = std::make_shared<re2::RE2>(c.operands[0].s, o);
      if (re->ok()) p.regex = std::move(re);
    }
    out.push_back(std::move(p));
  }
  return out;
}

// --- RowGroupFilter ---

// Which rows satisfy a condition: per span, per trace, or unknown (every trace may).
struct RowGroupFilter::Mask {
  enum class Level : uint8_t { kUnknown, kSpan, kTrace };
  Level level = Level::kUnknown;
  std::vector<uint8_t> bits;
};

RowGroupFilter::RowGroupFilter(std::string_view bytes, const ColumnIndex& columns, const ReadLimits& limits)
    : bytes_(bytes), columns_(columns), limits_(limits) {}

RowGroupFilter::RowGroupFilter(RowGroupChunks* chunks, const ColumnIndex& columns, const ReadLimits& limits)
    : chunks_(chunks), columns_(columns), limits_(limits) {}

Status RowGroupFilter::Header() {
  if (chunks_ != nullptr) return Status::OK();
  VV_ASSIGN_OR_RETURN(RowGroupChunks c, RowGroupChunks::FromBytes(bytes_, columns_.size()));
  owned_ = std::make_unique<RowGroupChunks>(std::move(c));
  chunks_ = owned_.get();
  return Status::OK();
}

Result<std::string_view> RowGroupFilter::Chunk(std::string_view name) {
  VV_RETURN_IF_ERROR(Header());
  int i = columns_.Find(name);
  if (i < 0) return NotFound("no column " + std::string(name));
  return chunks_->Chunk(static_cast<size_t>(i));
}

Result<const std::vector<uint64_t>*> RowGroupFilter::Ints(std::string_view name) {
  VV_RETURN_IF_ERROR(Header());
  int i = columns_.Find(name);
  if (i < 0) return NotFound("no column " + std::string(name));
  for (const auto& [pos, values] : ints_) {
    if (pos == i) return &values;
  }
  VV_ASSIGN_OR_RETURN(std::string_view chunk, chunks_->Chunk(static_cast<size_t>(i)));
  auto r = ReadIntChunk(chunk, limits_);
  if (!r.ok()) return r.status().WithContext("column " + std::string(name));
  ints_.emplace_back(i, std::move(*r));
  return &ints_.back().second;
}

Status RowGroupFilter::TraceTable() {
  if (traced_) return Status::OK();
  VV_ASSIGN_OR_RETURN(std::string_view id_chunk, Chunk("trace.id"));
  auto ids = ReadFixedChunk(id_chunk, 16, limits_);
  if (!ids.ok()) return ids.status().WithContext("column trace.id");
  size_t n = ids->size() / 16;
  VV_ASSIGN_OR_RETURN(const std::vector<uint64_t>* counts, Ints("trace.span_count"));
  VV_ASSIGN_OR_RETURN(const std::vector<uint64_t>* starts, Ints("trace.start"));
  if (counts->size() != n || starts->size() != n) return Corrupt("trace columns disagree on the number of traces");
  ids_.resize(n);
  starts_.resize(n);
  first_span_.resize(n + 1);
  uint64_t total = 0;
  for (size_t t = 0; t < n; ++t) {
    std::memcpy(ids_[t].bytes.data(), ids->data() + 16 * t, 16);
    starts_[t] = chunks_->base_start() + (*starts)[t];
    first_span_[t] = static_cast<uint32_t>(total);
    total += (*counts)[t];
    if (total > limits_.max_values) return Corrupt("too many spans");
  }
  first_span_[n] = static_cast<uint32_t>(total);
  traced_ = true;
  return Status::OK();
}

Result<std::span<const model::TraceId>> RowGroupFilter::TraceIds() {
  VV_RETURN_IF_ERROR(TraceTable());
  return std::span<const model::TraceId>(ids_);
}

Result<std::span<const uint64_t>> RowGroupFilter::TraceStarts() {
  VV_RETURN_IF_ERROR(TraceTable());
  return std::span<const uint64_t>(starts_);
}

Result<RowGroupFilter::Mask> RowGroupFilter::Evaluate(const PreparedCondition& pc) {
  Mask m;
  if (!Evaluable(pc)) return m;
  const scan::Condition& c = *pc.condition;
  const Static& x = Operand(c);
  const re2::RE2* re = pc.regex.get();
  size_t spans = first_span_.back();
  size_t traces = ids_.size();

  auto ints = [&](std::string_view column, size_t rows, auto&& holds) -> Status {
    m.bits.resize(rows);
    // A run-length column: the predicate once per run.
    VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(column));
    auto rle = ReadIntRuns(chunk, limits_, &runs_);
    if (!rle.ok()) return rle.status().WithContext("column " + std::string(column));
    if (*rle) {
      size_t at = 0;
      for (const IntRun& r : runs_) {
        if (r.length > rows - at) return Corrupt("column " + std::string(column) + " has the wrong number of values");
        std::memset(m.bits.data() + at, holds(r.value) ? 1 : 0, r.length);
        at += r.length;
      }
      if (at != rows) return Corrupt("column " + std::string(column) + " has the wrong number of values");
      return Status::OK();
    }
    VV_ASSIGN_OR_RETURN(const std::vector<uint64_t>* v, Ints(column));
    if (v->size() != rows) return Corrupt("column " + std::string(column) + " has the wrong number of values");
    const uint64_t* values = v->data();
    for (size_t i = 0; i < rows; ++i) m.bits[i] = holds(values[i]) ? 1 : 0;
    return Status::OK();
  };
  auto strings = [&](std::string_view column, size_t rows) -> Status {
    VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(column));
    auto s = ReadStringChunkIndexed(chunk, limits_, &arena_);
    if (!s.ok()) return s.status().WithContext("column " + std::string(column));
    if (s->indexes.size() != rows) return Corrupt("column " + std::string(column) + " has the wrong number of values");
    std::vector<uint8_t> holds(s->values.size());
    for (size_t d = 0; d < s->values.size(); ++d) holds[d] = StringHolds(c.op, s->values[d], x, re) ? 1 : 0;
    m.bits.resize(rows);
    for (size_t i = 0; i < rows; ++i) m.bits[i] = holds[s->indexes[i]];
    return Status::OK();
  };
  auto enum_holds = [&](StaticType type) {
    return [&, type](uint64_t v) {
      if (x.type != type || (c.op != Op::kEq && c.op != Op::kNeq)) return c.op == Op::kExists;
      return Holds(c.op, static_cast<int64_t>(v) == x.i ? 0 : 1);
    };
  };

  switch (c.attr.intrinsic) {
    case Intrinsic::kDuration:
      m.level = Mask::Level::kSpan;
      if (IntRange r = IntRangeOf(c.op, x); r.exact) {
        VV_RETURN_IF_ERROR(ints("span.duration", spans, [r](uint64_t v) { return r.Holds(UnZigZag(v)); }));
      } else {
        VV_RETURN_IF_ERROR(ints("span.duration", spans, [&](uint64_t v) { return IntHolds(c.op, UnZigZag(v), x); }));
      }
      return m;
    case Intrinsic::kStatus:
      m.level = Mask::Level::kSpan;
      VV_RETURN_IF_ERROR(ints("span.status_code", spans, enum_holds(StaticType::kStatus)));
      return m;
    case Intrinsic::kKind:
      m.level = Mask::Level::kSpan;
      VV_RETURN_IF_ERROR(ints("span.kind", spans, enum_holds(StaticType::kKind)));
      return m;
    case Intrinsic::kName:
      m.level = Mask::Level::kSpan;
      VV_RETURN_IF_ERROR(strings("span.name", spans));
      return m;
    case Intrinsic::kStatusMessage:
      m.level = Mask::Level::kSpan;
      VV_RETURN_IF_ERROR(strings("span.status_message", spans));
      return m;
    case Intrinsic::kTraceRootService:
      m.level = Mask::Level::kTrace;
      VV_RETURN_IF_ERROR(strings("trace.root_service", traces));
      return m;
    case Intrinsic::kTraceRootName:
      m.level = Mask::Level::kTrace;
      VV_RETURN_IF_ERROR(strings("trace.root_name", traces));
      return m;
    case Intrinsic::kTraceDuration:
      m.level = Mask::Level::kTrace;
      VV_RETURN_IF_ERROR(ints("trace.duration", traces, [&](uint64_t v) {
        return IntHolds(c.op, static_cast<int64_t>(v), x);
      }));
      return m;
    case Intrinsic::kNone: break;
    default: return m;  // events, links, ids, nested sets...: unknown
  }
  if (c.attr.parent) return m;
  switch (c.attr.scope) {
    case Scope::kSpan: return OwnerMask(pc, false);
    case Scope::kResource: return OwnerMask(pc, true);
    case Scope::kNone: {  // the span's value, else the resource's: either may hold
      VV_ASSIGN_OR_RETURN(Mask span, OwnerMask(pc, false));
      if (span.level == Mask::Level::kUnknown) return span;
      VV_ASSIGN_OR_RETURN(Mask resource, OwnerMask(pc, true));
      if (resource.level == Mask::Level::kUnknown) return resource;
      for (size_t i = 0; i < span.bits.size(); ++i) span.bits[i] |= resource.bits[i];
      return span;
    }
    default: return m;
  }
}

// A named span or resource attribute, per span: its dedicated column and its generic table.
Result<RowGroupFilter::Mask> RowGroupFilter::OwnerMask(const PreparedCondition& pc, bool resource) {
  Mask m;
  size_t spans = first_span_.back();
  size_t rows = spans;
  const std::vector<uint64_t>* span_resource = nullptr;
  if (resource) {
    VV_ASSIGN_OR_RETURN(const std::vector<uint64_t>* counts, Ints("resource.attr_count"));
    rows = counts->size();
    VV_ASSIGN_OR_RETURN(span_resource, Ints("span.resource"));
    if (span_resource->size() != spans) return Corrupt("column span.resource has the wrong number of values");
  }
  std::vector<uint8_t> owner(rows, 0);
  VV_ASSIGN_OR_RETURN(bool known, Dedicated(pc, resource, &owner));
  if (!known) return m;
  VV_ASSIGN_OR_RETURN(known, Generic(pc, resource, &owner));
  if (!known) return m;
  m.level = Mask::Level::kSpan;
  if (!resource) {
    m.bits = std::move(owner);
    return m;
  }
  m.bits.resize(spans);
  for (size_t s = 0; s < spans; ++s) {
    uint64_t r = (*span_resource)[s];
    if (r >= rows) return Corrupt("span resource out of range");
    m.bits[s] = owner[r];
  }
  return m;
}

Result<bool> RowGroupFilter::Dedicated(const PreparedCondition& pc, bool resource, std::vector<uint8_t>* rows) {
  const scan::Condition& c = *pc.condition;
  const Static& x = Operand(c);
  auto want = resource ? DedicatedColumn::Owner::kResource : DedicatedColumn::Owner::kSpan;
  const DedicatedColumn* d = nullptr;
  for (const DedicatedColumn& col : columns_.dedicated()) {
    if (col.owner == want && col.key == c.attr.name) d = &col;
  }
  if (d == nullptr) return true;
  std::string base = std::string(resource ? "resource" : "span") + ".attr." + d->key;
  // Which rows hold a value: the k-th row with presence 1 holds the k-th value.
  VV_ASSIGN_OR_RETURN(std::string_view present_chunk, Chunk(base + ".present"));
  Status ps = ReadFlagChunkInto(present_chunk, limits_, &present_);
  if (!ps.ok()) return ps.WithContext("column " + base + ".present");
  if (present_.size() != rows->size()) return Corrupt("column " + base + ".present has the wrong number of values");
  VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(base));
  // Per value whether it holds (a tight loop per column type), then spread over the rows that
  // hold values.
  std::vector<uint8_t>& vals = value_bits_;
  auto scatter = [&]() -> Status {
    size_t n = vals.size();
    size_t present = 0;
    for (uint8_t p : present_) present += p != 0;
    if (present != n) return Corrupt("column " + base + " has " + std::to_string(n) + " values for " + std::to_string(present) + " present rows");
    vals.push_back(0);  // read (and masked out) after the last value
    uint8_t* out = rows->data();
    const uint8_t* in = vals.data();
    size_t k = 0;
    for (size_t r = 0; r < present_.size(); ++r) {  // branch-free: presence alternates often
      uint8_t p = present_[r] != 0;
      out[r] |= in[k] & p;
      k += p;
    }
    return Status::OK();
  };
  switch (d->kind) {
    case model::ValueKind::kString: {
      if (x.type != StaticType::kString && c.op != Op::kExists && c.op != Op::kRegex && c.op != Op::kNotRegex) {
        return true;  // a string never equals or orders against another kind
      }
      auto s = ReadStringChunkIndexed(chunk, limits_, &arena_);
      if (!s.ok()) return s.status().WithContext("column " + base);
      std::vector<uint8_t> holds(s->values.size());
      for (size_t i = 0; i < s->values.size(); ++i) holds[i] = StringHolds(c.op, s->values[i], x, pc.regex.get());
      vals.resize(s->indexes.size());
      const uint32_t* idx = s->indexes.data();
      for (size_t i = 0; i < vals.size(); ++i) vals[i] = holds[idx[i]];
      VV_RETURN_IF_ERROR(scatter());
      return true;
    }
    case model::ValueKind::kInt: {
      IntRange range = IntRangeOf(c.op, x);
      auto holds = [&](uint64_t v) {
        return range.exact ? range.Holds(UnZigZag(v)) : IntHolds(c.op, UnZigZag(v), x);
      };
      auto rle = ReadIntRuns(chunk, limits_, &runs_);
      if (!rle.ok()) return rle.status().WithContext("column " + base);
      if (*rle) {
        vals.clear();
        for (const IntRun& r : runs_) vals.insert(vals.end(), r.length, holds(r.value) ? 1 : 0);
      } else {
        auto v = ReadIntChunk(chunk, limits_);
        if (!v.ok()) return v.status().WithContext("column " + base);
        vals.resize(v->size());
        if (range.exact) {
          for (size_t i = 0; i < vals.size(); ++i) vals[i] = range.Holds(UnZigZag((*v)[i])) ? 1 : 0;
        } else {
          for (size_t i = 0; i < vals.size(); ++i) vals[i] = holds((*v)[i]) ? 1 : 0;
        }
      }
      VV_RETURN_IF_ERROR(scatter());
      return true;
    }
    case model::ValueKind::kBool: {
      auto v = ReadIntChunk(chunk, limits_);
      if (!v.ok()) return v.status().WithContext("column " + base);
      vals.resize(v->size());
      for (size_t i = 0; i < vals.size(); ++i) vals[i] = BoolHolds(c.op, (*v)[i] != 0, x) ? 1 : 0;
      VV_RETURN_IF_ERROR(scatter());
      return true;
    }
    case model::ValueKind::kDouble: {
      auto v = ReadFixedChunk(chunk, 8, limits_);
      if (!v.ok()) return v.status().WithContext("column " + base);
      vals.resize(v->size() / 8);
      for (size_t i = 0; i < vals.size(); ++i) {
        double f;
        std::memcpy(&f, v->data() + 8 * i, 8);
        vals[i] = DoubleHolds(c.op, f, x) ? 1 : 0;
      }
      VV_RETURN_IF_ERROR(scatter());
      return true;
    }
    default: return false;
  }
}

// The owner's generic table: rows of (key, type, value in the type's column), `attr_count` rows
// per owner. Only rows with the condition's key are evaluated; arrays, kvlists, bytes and empty
// values make their owner a "may".
Result<bool> RowGroupFilter::Generic(const PreparedCondition& pc, bool resource, std::vector<uint8_t>* rows) {
  const scan::Condition& c = *pc.condition;
  const Static& x = Operand(c);
  std::string owner = resource ? "resource" : "span";
  VV_ASSIGN_OR_RETURN(std::string_view key_chunk, Chunk(owner + "_attr.key"));
  auto keys = ReadStringChunkIndexed(key_chunk, limits_, &arena_);
  if (!keys.ok()) return keys.status().WithContext("column " + owner + "_attr.key");
  std::vector<uint8_t> is_key(keys->values.size());
  bool any = false;
  for (size_t i = 0; i < keys->values.size(); ++i) {
    is_key[i] = keys->values[i] == c.attr.name ? 1 : 0;
    any = any || is_key[i] != 0;
  }
  if (!any) return true;
  VV_ASSIGN_OR_RETURN(const std::vector<uint64_t>* counts, Ints(owner + ".attr_count"));
  VV_ASSIGN_OR_RETURN(const std::vector<uint64_t>* types, Ints(owner + "_attr.type"));
  if (counts->size() != rows->size() || types->size() != keys->indexes.size()) {
    return Corrupt(owner + " attribute columns disagree");
  }
  // Value columns, read when a matching row first needs one.
  std::unique_ptr<IndexedStrings> strs;
  std::vector<int8_t> str_holds;  // per distinct string: -1 not yet evaluated
  const std::vector<uint64_t>* int_values = nullptr;
  const std::vector<uint64_t>* bool_values = nullptr;
  std::unique_ptr<std::string> doubles;
  size_t cursor[8] = {};  // next value per model::ValueKind
  size_t row = 0, left = 0;
  for (size_t k = 0; k < types->size(); ++k) {
    while (left == 0) {
      if (row >= counts->size()) return Corrupt(owner + " attribute rows exceed their owners");
      left = (*counts)[row++];
    }
    --left;
    uint64_t type = (*types)[k];
    if (type >= 8) return Corrupt("attribute type out of range");
    size_t at = cursor[type]++;
    if (is_key[keys->indexes[k]] == 0) continue;
    uint8_t& out = (*rows)[row - 1];
    switch (static_cast<model::ValueKind>(type)) {
      case model::ValueKind::kString: {
        if (strs == nullptr) {
          VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(owner + "_attr.string"));
          auto s = ReadStringChunkIndexed(chunk, limits_, &arena_);
          if (!s.ok()) return s.status().WithContext("column " + owner + "_attr.string");
          strs = std::make_unique<IndexedStrings>(std::move(*s));
          str_holds.assign(strs->values.size(), -1);
        }
        if (at >= strs->indexes.size()) return Corrupt("attribute string column is short");
        int8_t& h = str_holds[strs->indexes[at]];
        if (h < 0) h = StringHolds(c.op, strs->values[strs->indexes[at]], x, pc.regex.get()) ? 1 : 0;
        out |= static_cast<uint8_t>(h);
        break;
      }
      case model::ValueKind::kInt: {
        if (int_values == nullptr) {
          VV_ASSIGN_OR_RETURN(int_values, Ints(owner + "_attr.int"));
        }
        if (at >= int_values->size()) return Corrupt("attribute int column is short");
        out |= IntHolds(c.op, UnZigZag((*int_values)[at]), x) ? 1 : 0;
        break;
      }
      case model::ValueKind::kBool: {
        if (bool_values == nullptr) {
          VV_ASSIGN_OR_RETURN(bool_values, Ints(owner + "_attr.bool"));
        }
        if (at >= bool_values->size()) return Corrupt("attribute bool column is short");
        out |= BoolHolds(c.op, (*bool_values)[at] != 0, x) ? 1 : 0;
        break;
      }
      case model::ValueKind::kDouble: {
        if (doubles == nullptr) {
          VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(owner + "_attr.double"));
          auto d = ReadFixedChunk(chunk, 8, limits_);
          if (!d.ok()) return d.status().WithContext("column " + owner + "_attr.double");
          doubles = std::make_unique<std::string>(std::move(*d));
        }
        if (8 * at + 8 > doubles->size()) return Corrupt("attribute double column is short");
        double f;
        std::memcpy(&f, doubles->data() + 8 * at, 8);
        out |= DoubleHolds(c.op, f, x) ? 1 : 0;
        break;
      }
      default: out = 1; break;  // arrays, kvlists, bytes, empty: the evaluator decides
    }
  }
  return true;
}

Result<ColumnPeek> RowGroupFilter::Peek(std::string_view name) {
  ColumnPeek out;
  int i = columns_.Find(name);
  if (i < 0) return out;
  VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(name));
  out.exists = true;
  VV_ASSIGN_OR_RETURN(ChunkInfo info, InspectChunk(chunk));
  out.values = info.values;
  VV_ASSIGN_OR_RETURN(ChunkDictionary d, ReadChunkDictionary(chunk, limits_, &arena_));
  if (d.has_dictionary) {
    out.has_dictionary = true;
    out.dictionary = std::move(d.values);
    return out;
  }
  if (columns_.is_string(static_cast<size_t>(i))) {  // a plain string column: its distinct values
    VV_ASSIGN_OR_RETURN(std::vector<std::string_view> values, ReadStringChunk(chunk, limits_, &arena_));
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    out.has_dictionary = true;
    out.dictionary = std::move(values);
  }
  return out;
}

// Whether an owner's generic table may hold `key`: its key dictionary (one small page) says; a
// plain key column may hold anything.
Result<bool> RowGroupFilter::GenericMayHold(const std::string& owner, std::string_view key) {
  VV_ASSIGN_OR_RETURN(std::string_view chunk, Chunk(owner + "_attr.key"));
  auto d = ReadChunkDictionary(chunk, limits_, &arena_);
  if (!d.ok()) return d.status().WithContext("column " + owner + "_attr.key");
  if (!d->has_dictionary) return true;
  return std::find(d->values.begin(), d->values.end(), key) != d->values.end();
}

Result<std::vector<uint8_t>> RowGroupFilter::Columns(const scan::FetchRequest& req) {
  std::vector<uint8_t> keep;
  if (req.reads_all) return keep;
  keep.assign(columns_.size(), 0);
  auto take = [&](const std::string& name) {
    int i = columns_.Find(name);
    if (i >= 0) keep[static_cast<size_t>(i)] = 1;
  };
  auto table = [&](std::string_view owner) {
    for (const char* c : {"key", "type", "string", "int", "double", "bool", "bytes", "composite"}) {
      take(std::string(owner) + "_attr." + c);
    }
  };
  // The basics every result and every structural operator needs.
  for (const char* c :
       {"trace.id", "trace.span_count", "trace.start", "trace.duration", "trace.root_service", "trace.root_name",
        "trace.service_count", "trace_service.name", "trace_service.spans", "trace_service.errors",
        "resource.dropped_attributes", "resource.attr_count", "scope.name", "scope.version",
        "scope.dropped_attributes", "scope.attr_count", "span.id", "span.parent_kind", "span.parent_id",
        "span.nested_left", "span.nested_right", "span.nested_parent", "span.resource", "span.scope", "span.name",
        "span.kind", "span.status_code", "span.start", "span.duration", "span.attr_count", "span.event_count",
        "span.link_count"}) {
    take(c);
  }
  bool events = false, links = false;
  for (const scan::Attribute& a : req.reads) {
    if (a.parent) return std::vector<uint8_t>();  // unsupported forms: read everything
    switch (a.intrinsic) {
      case Intrinsic::kStatusMessage: take("span.status_message"); continue;
      case Intrinsic::kEventName:
      case Intrinsic::kEventTimeSinceStart: events = true; continue;
      case Intrinsic::kLinkTraceId:
      case Intrinsic::kLinkSpanId: links = true; continue;
      case Intrinsic::kNone: break;
      default: continue;  // in the basics
    }
    bool span = a.scope == Scope::kSpan || a.scope == Scope::kNone;
    bool resource = a.scope == Scope::kResource || a.scope == Scope::kNone;
    events = events || a.scope == Scope::kEvent;
    links = links || a.scope == Scope::kLink;
    if (a.scope == Scope::kInstrumentation) table("scope");
    for (const DedicatedColumn& d : columns_.dedicated()) {
      bool owner = d.owner == DedicatedColumn::Owner::kSpan ? span : resource;
      if (!owner || d.key != a.name) continue;
      std::string base = std::string(d.owner == DedicatedColumn::Owner::kSpan ? "span" : "resource") + ".attr." + d.key;
      take(base + ".present");
      take(base);
    }
    for (const char* owner : {"span", "resource"}) {
      if (!(owner[0] == 's' ? span : resource)) continue;
      VV_ASSIGN_OR_RETURN(bool may, GenericMayHold(owner, a.name));
      if (may) table(owner);
    }
  }
  if (events) {
    for (const char* c : {"event.time", "event.name", "event.dropped_attributes", "event.attr_count"}) take(c);
    table("event");
  }
  if (links) {
    for (const char* c :
         {"link.trace_id", "link.span_id", "link.trace_state", "link.flags", "link.dropped_attributes", "link.attr_count"}) {
      take(c);
    }
    table("link");
  }
  return keep;
}

Result<std::vector<uint8_t>> RowGroupFilter::Candidates(std::span<const PreparedCondition> conds, bool all,
                                                        uint32_t min_spans) {
  VV_RETURN_IF_ERROR(TraceTable());
  size_t traces = ids_.size();
  size_t spans = first_span_.back();
  std::vector<uint8_t> out(traces, 1);
  if (conds.empty()) {
    // Only the span count can say a trace has too few spans.
    for (size_t t = 0; t < traces && min_spans > 1; ++t) out[t] = first_span_[t + 1] - first_span_[t] >= min_spans;
    return out;
  }
  if (!all) std::fill(out.begin(), out.end(), 0);
  // The alternatives: each group of conditions (holding on one span together), and each
  // ungrouped condition on its own.
  std::vector<std::vector<size_t>> alternatives;
  std::vector<std::pair<uint32_t, size_t>> group_at;  // group id → alternative
  for (size_t i = 0; i < conds.size(); ++i) {
    uint32_t g = conds[i].condition->group;
    auto it = std::find_if(group_at.begin(), group_at.end(), [&](const auto& p) { return p.first == g; });
    if (g != 0 && it != group_at.end()) {
      alternatives[it->second].push_back(i);
      continue;
    }
    if (g != 0) group_at.emplace_back(g, alternatives.size());
    alternatives.push_back({i});
  }
  // A minimum of matching spans is a bound on one alternative's spans only.
  if (!all || alternatives.size() != 1) min_spans = 0;
  std::vector<uint8_t> span_bits, trace_bits;
  for (const std::vector<size_t>& alt : alternatives) {
    bool span_known = false, trace_known = false;
    for (size_t i : alt) {
      VV_ASSIGN_OR_RETURN(Mask m, Evaluate(conds[i]));
      if (m.level == Mask::Level::kUnknown) continue;  // holds on every span as far as we know
      bool span_level = m.level == Mask::Level::kSpan;
      std::vector<uint8_t>& bits = span_level ? span_bits : trace_bits;
      bool& known = span_level ? span_known : trace_known;
      if (!known) {
        bits = std::move(m.bits);
        known = true;
      } else {
        if (m.bits.size() != bits.size()) return Corrupt("masks disagree on the number of rows");
        for (size_t k = 0; k < bits.size(); ++k) bits[k] &= m.bits[k];
      }
      // No row left: the alternative holds nowhere, whatever its other conditions say.
      if (std::find(bits.begin(), bits.end(), 1) == bits.end()) break;
    }
    if (!span_known && !trace_known) {
      if (all) {
        for (size_t t = 0; t < traces && min_spans > 1; ++t) {
          if (first_span_[t + 1] - first_span_[t] < min_spans) out[t] = 0;
        }
        continue;
      }
      std::fill(out.begin(), out.end(), 1);  // one unknown alternative admits every trace
      return out;
    }
    if (span_known && span_bits.size() != spans) return Corrupt("span mask has the wrong size");
    for (size_t t = 0; t < traces; ++t) {
      uint8_t holds = trace_known ? trace_bits[t] : 1;
      if (holds != 0 && min_spans > 1) {
        size_t n = first_span_[t + 1] - first_span_[t];
        if (span_known) n = static_cast<size_t>(std::count(span_bits.data() + first_span_[t], span_bits.data() + first_span_[t + 1], 1));
        holds = n >= min_spans ? 1 : 0;
      } else if (holds != 0 && span_known) {
        const uint8_t* first = span_bits.data() + first_span_[t];
        const uint8_t* end = span_bits.data() + first_span_[t + 1];
        holds = std::find(first, end, 1) != end ? 1 : 0;
      }
      out[t] = all ? (out[t] & holds) : (out[t] | holds);
    }
  }
  return out;
}

}  // namespace vivace::blocks
