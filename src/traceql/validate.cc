// Validation: the type rules of Tempo's ast_validate.go (reference/tempo.md §1.4-§1.8) and the
// line between valid and "unsupported" that test_examples.yaml draws.

#include <re2/re2.h>

#include "traceql/parser.h"

namespace vivace::traceql {
namespace {

using scan::Intrinsic;
using scan::Scope;

// A field expression's type: a static type, or kUnknown for attributes (known only per span).
enum class T : uint8_t { kUnknown, kNil, kInt, kFloat, kString, kBool, kDuration, kStatus, kKind };

T FromStatic(StaticType s) {
  switch (s) {
    case StaticType::kNil: return T::kNil;
    case StaticType::kInt: return T::kInt;
    case StaticType::kFloat: return T::kFloat;
    case StaticType::kString: return T::kString;
    case StaticType::kBool: return T::kBool;
    case StaticType::kDuration: return T::kDuration;
    case StaticType::kStatus: return T::kStatus;
    case StaticType::kKind: return T::kKind;
    default: return T::kUnknown;
  }
}

bool Numeric(T t) { return t == T::kInt || t == T::kFloat || t == T::kDuration; }
bool NumericOrUnknown(T t) { return t == T::kUnknown || Numeric(t); }
std::string_view Name(T t) {
  switch (t) {
    case T::kUnknown: return "attribute";
    case T::kNil: return "nil";
    case T::kInt: return "int";
    case T::kFloat: return "float";
    case T::kString: return "string";
    case T::kBool: return "bool";
    case T::kDuration: return "duration";
    case T::kStatus: return "status";
    case T::kKind: return "kind";
  }
  return "?";
}

Status Invalid(std::string why) { return InvalidArgument("invalid query: " + why); }
Status Unsupported(std::string why) { return Unimplemented("unsupported: " + why); }

// --- `parent` anywhere makes a query unsupported, before any other check ---

bool FieldHasParent(const FieldExpr* e) {
  if (e == nullptr) return false;
  if (e->kind == FieldExpr::Kind::kAttribute) return e->attr.parent || e->attr.intrinsic == Intrinsic::kParent;
  return FieldHasParent(e->lhs.get()) || FieldHasParent(e->rhs.get());
}
bool PipelineHasParent(const Pipeline* p);
bool ScalarHasParent(const ScalarExpr* s) {
  if (s == nullptr) return false;
  return FieldHasParent(s->agg_expr.get()) || ScalarHasParent(s->lhs.get()) || ScalarHasParent(s->rhs.get()) ||
         PipelineHasParent(s->pipeline.get());
}
bool SpansetHasParent(const SpansetExpr* s) {
  if (s == nullptr) return false;
  return FieldHasParent(s->filter.get()) || SpansetHasParent(s->lhs.get()) || SpansetHasParent(s->rhs.get()) ||
         PipelineHasParent(s->pipeline.get());
}
bool PipelineHasParent(const Pipeline* p) {
  if (p == nullptr) return false;
  for (const Stage& s : p->stages) {
    if (SpansetHasParent(s.spanset.get()) || ScalarHasParent(s.lhs.get()) || ScalarHasParent(s.rhs.get()) ||
        FieldHasParent(s.by.get())) {
      return true;
    }
    for (const Attribute& a : s.select) {
      if (a.parent || a.intrinsic == Intrinsic::kParent) return true;
    }
  }
  return false;
}
bool MetricsHasParent(const MetricsExpr* m) {
  if (m == nullptr) return false;
  if (PipelineHasParent(m->pipeline.get()) || FieldHasParent(m->agg.compare_filter.get())) return true;
  if (m->agg.attr.parent) return true;
  for (const Attribute& a : m->agg.by) {
    if (a.parent) return true;
  }
  return MetricsHasParent(m->lhs.get()) || MetricsHasParent(m->rhs.get());
}

// --- field expressions ---

bool ReferencesSpan(const FieldExpr* e) {
  if (e == nullptr) return false;
  if (e->kind == FieldExpr::Kind::kAttribute) return true;
  return ReferencesSpan(e->lhs.get()) || ReferencesSpan(e->rhs.get());
}

Result<T> TypeOf(const FieldExpr& e);

Status CheckBinary(Op op, T l, T r, const FieldExpr& e) {
  auto mismatch = [&]() {
    return Invalid("binary operation " + std::string(scan::OpText(op)) + " can't take " + std::string(Name(l)) +
                   " and " + std::string(Name(r)) + ": " + ToString(e));
  };
  bool unknown = l == T::kUnknown || r == T::kUnknown;
  if (scan::IsArithmetic(op)) {
    if (!NumericOrUnknown(l) || !NumericOrUnknown(r)) return mismatch();
    return Status::OK();
  }
  if (op == Op::kAnd || op == Op::kOr) {
    if ((l != T::kBool && l != T::kUnknown) || (r != T::kBool && r != T::kUnknown)) return mismatch();
    return Status::OK();
  }
  if (op == Op::kRegex || op == Op::kNotRegex) {
    if ((l != T::kString && l != T::kUnknown) || (r != T::kString && r != T::kUnknown)) return mismatch();
    if (e.rhs->kind == FieldExpr::Kind::kStatic) {
      RE2::Options o;
      o.set_log_errors(false);
      RE2 re(e.rhs->value.s, o);
      if (!re.ok()) return Invalid("invalid regular expression " + ToString(e.rhs->value) + ": " + re.error());
    }
    return Status::OK();
  }
  if (op == Op::kEq || op == Op::kNeq) {
    if (unknown) return Status::OK();
    if (Numeric(l) && Numeric(r)) return Status::OK();
    if (l == r && l != T::kNil) return Status::OK();
    return mismatch();
  }
  // < <= > >=: numbers and strings only.
  auto orderable = [](T t) { return t == T::kUnknown || Numeric(t) || t == T::kString; };
  if (!orderable(l) || !orderable(r)) return mismatch();
  if (unknown) return Status::OK();
  if ((Numeric(l) && Numeric(r)) || (l == T::kString && r == T::kString)) return Status::OK();
  return mismatch();
}

Result<T> TypeOf(const FieldExpr& e) {
  switch (e.kind) {
    case FieldExpr::Kind::kStatic: return FromStatic(e.value.type);
    case FieldExpr::Kind::kAttribute:
      return e.attr.is_intrinsic() ? FromStatic(scan::IntrinsicType(e.attr.intrinsic)) : T::kUnknown;
    case FieldExpr::Kind::kUnary: {
      VV_ASSIGN_OR_RETURN(T t, TypeOf(*e.lhs));
      switch (e.op) {
        case Op::kNot:
          if (t != T::kBool && t != T::kUnknown) return Invalid("! can't take " + std::string(Name(t)) + ": " + ToString(e));
          return T::kBool;
        case Op::kNeg:
          if (!NumericOrUnknown(t)) return Invalid("- can't take " + std::string(Name(t)) + ": " + ToString(e));
          return t;
        case Op::kNotExists:
          if (e.lhs->kind == FieldExpr::Kind::kAttribute) {
            const Attribute& a = e.lhs->attr;
            if (a.is_intrinsic()) return Invalid("intrinsics cannot be nil: " + ToString(e));
            if (a.scope == Scope::kResource && a.name == "service.name") {
              return Invalid("resource.service.name cannot be nil: " + ToString(e));
            }
          }
          return T::kBool;
        default: return T::kBool;  // kExists
      }
    }
    case FieldExpr::Kind::kBinary: {
      VV_ASSIGN_OR_RETURN(T l, TypeOf(*e.lhs));
      VV_ASSIGN_OR_RETURN(T r, TypeOf(*e.rhs));
      VV_RETURN_IF_ERROR(CheckBinary(e.op, l, r, e));
      if (!scan::IsArithmetic(e.op)) return T::kBool;
      if (l == T::kUnknown) return r == T::kUnknown ? T::kUnknown : r;
      if (r == T::kUnknown) return l;
      if (l == T::kFloat || r == T::kFloat) return T::kFloat;
      if (l == T::kDuration || r == T::kDuration) return T::kDuration;
      return T::kInt;
    }
  }
  return T::kUnknown;
}

Status ValidateFilter(const FieldExpr* e) {
  if (e == nullptr) return Status::OK();
  VV_ASSIGN_OR_RETURN(T t, TypeOf(*e));
  if (t != T::kBool && t != T::kUnknown) {
    return Invalid("a spanset filter must evaluate to a boolean, not " + std::string(Name(t)) + ": { " +
                   ToString(*e) + " }");
  }
  return Status::OK();
}

// --- spanset level ---

Status ValidatePipeline(const Pipeline& p);

Status ValidateAggregate(const ScalarExpr& s) {
  if (s.agg == AggregateOp::kCount) return Status::OK();
  if (!ReferencesSpan(s.agg_expr.get())) {
    return Invalid(std::string(AggregateName(s.agg)) + "() must reference the span: " + ToString(*s.agg_expr));
  }
  VV_ASSIGN_OR_RETURN(T t, TypeOf(*s.agg_expr));
  if (!NumericOrUnknown(t)) {
    return Invalid(std::string(AggregateName(s.agg)) + "() needs a number, not " + std::string(Name(t)));
  }
  return Status::OK();
}

Status ValidateScalar(const ScalarExpr& s) {
  switch (s.kind) {
    case ScalarExpr::Kind::kStatic: return Status::OK();
    case ScalarExpr::Kind::kAggregate: return ValidateAggregate(s);
    case ScalarExpr::Kind::kBinary:
      VV_RETURN_IF_ERROR(ValidateScalar(*s.lhs));
      return ValidateScalar(*s.rhs);
    case ScalarExpr::Kind::kPipeline:
      VV_RETURN_IF_ERROR(ValidatePipeline(*s.pipeline));
      return ValidateAggregate(s);
  }
  return Status::OK();
}

Status ValidateSpanset(const SpansetExpr& s) {
  switch (s.kind) {
    case SpansetExpr::Kind::kFilter: return ValidateFilter(s.filter.get());
    case SpansetExpr::Kind::kOperation:
      VV_RETURN_IF_ERROR(ValidateSpanset(*s.lhs));
      return ValidateSpanset(*s.rhs);
    case SpansetExpr::Kind::kPipeline: return ValidatePipeline(*s.pipeline);
  }
  return Status::OK();
}

Status ValidateStage(const Stage& s) {
  switch (s.kind) {
    case Stage::Kind::kSpanset: return ValidateSpanset(*s.spanset);
    case Stage::Kind::kScalarFilter: {
      VV_RETURN_IF_ERROR(ValidateScalar(*s.lhs));
      VV_RETURN_IF_ERROR(ValidateScalar(*s.rhs));
      bool l_agg = s.lhs->kind == ScalarExpr::Kind::kAggregate, r_agg = s.rhs->kind == ScalarExpr::Kind::kAggregate;
      bool l_static = s.lhs->kind == ScalarExpr::Kind::kStatic, r_static = s.rhs->kind == ScalarExpr::Kind::kStatic;
      if (!((l_agg && r_static) || (l_static && r_agg))) {
        return Unsupported("scalar filters compare one aggregate with a number: ");
      }
      return Status::OK();
    }
    case Stage::Kind::kGroup: {
      if (!ReferencesSpan(s.by.get())) return Invalid("by() must reference the span: " + ToString(*s.by));
      VV_ASSIGN_OR_RETURN(T t, TypeOf(*s.by));
      (void)t;
      return Status::OK();
    }
    case Stage::Kind::kCoalesce:
    case Stage::Kind::kSelect: return Status::OK();
  }
  return Status::OK();
}

Status ValidatePipeline(const Pipeline& p) {
  for (const Stage& s : p.stages) VV_RETURN_IF_ERROR(ValidateStage(s));
  return Status::OK();
}

// --- metrics ---

bool HasCompare(const MetricsExpr& m) {
  if (m.kind == MetricsExpr::Kind::kPipeline) return m.agg.fn == MetricsFn::kCompare;
  if (m.kind == MetricsExpr::Kind::kBinary) return HasCompare(*m.lhs) || HasCompare(*m.rhs);
  return false;
}

Status ValidateMetrics(const MetricsExpr& m, bool in_math) {
  for (const SecondStage& s : m.second) {
    if (s.kind != SecondStage::Kind::kFilter && s.k <= 0) {
      return Invalid("topk() and bottomk() need k > 0");
    }
    if (s.kind == SecondStage::Kind::kFilter && !IsNumeric(s.value.type)) {
      return Invalid("metrics filters compare with a number");
    }
  }
  switch (m.kind) {
    case MetricsExpr::Kind::kScalar: return Status::OK();
    case MetricsExpr::Kind::kBinary:
      if (HasCompare(m)) return Invalid("compare() can't be used in arithmetic");
      VV_RETURN_IF_ERROR(ValidateMetrics(*m.lhs, true));
      return ValidateMetrics(*m.rhs, true);
    case MetricsExpr::Kind::kPipeline: {
      VV_RETURN_IF_ERROR(ValidatePipeline(*m.pipeline));
      const MetricsAggregate& a = m.agg;
      if (a.fn == MetricsFn::kCompare) {
        if (!m.second.empty()) return Invalid("compare() can't be followed by topk(), bottomk() or a filter");
        if (in_math) return Invalid("compare() can't be used in arithmetic");
        VV_RETURN_IF_ERROR(ValidateFilter(a.compare_filter.get()));
        if (!a.compare_args.empty() && (a.compare_args[0] < 1 || a.compare_args[0] > 1000)) {
          return Invalid("compare() topN must be between 1 and 1000");
        }
        if (a.compare_args.size() == 3 && a.compare_args[2] <= a.compare_args[1]) {
          return Invalid("compare() end must be after start");
        }
      }
      for (const Static& q : a.quantiles) {
        if (q.AsFloat() < 0 || q.AsFloat() > 1) return Invalid("quantiles must be between 0 and 1");
      }
      if (a.attr.intrinsic != Intrinsic::kNone && !IsNumeric(scan::IntrinsicType(a.attr.intrinsic)) &&
          a.fn != MetricsFn::kRate && a.fn != MetricsFn::kCountOverTime && a.fn != MetricsFn::kCompare) {
        return Invalid(std::string(MetricsFnName(a.fn)) + "() needs a numeric attribute");
      }
      return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace

Status Validate(const Query& q) {
  if (PipelineHasParent(q.spansets.get()) || MetricsHasParent(q.metrics.get())) {
    return Unsupported("parent is not supported");
  }
  if (q.spansets != nullptr) {
    for (const Stage& s : q.spansets->stages) {
      if (s.kind == Stage::Kind::kScalarFilter && s.lhs->kind == ScalarExpr::Kind::kPipeline) {
        VV_RETURN_IF_ERROR(ValidateScalar(*s.lhs));
        VV_RETURN_IF_ERROR(ValidateScalar(*s.rhs));
        return Unsupported("scalar filters over whole pipelines");
      }
    }
    VV_RETURN_IF_ERROR(ValidatePipeline(*q.spansets));
  }
  if (q.metrics != nullptr) VV_RETURN_IF_ERROR(ValidateMetrics(*q.metrics, false));
  return Status::OK();
}

}  // namespace vivace::traceql
