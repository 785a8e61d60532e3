// The stringer: prints a tree as TraceQL that parses back to the same tree. Binary operations
// are parenthesised, so precedence never has to be reconstructed.

#include <charconv>
#include <cmath>
#include <limits>

#include "traceql/ast.h"
#include "traceql/lexer.h"

namespace vivace::traceql {
namespace {

using scan::Intrinsic;
using scan::Scope;

std::string IntrinsicName(Intrinsic i, Scope scope) {
  switch (i) {
    case Intrinsic::kDuration: return "duration";
    case Intrinsic::kName: return "name";
    case Intrinsic::kStatus: return "status";
    case Intrinsic::kStatusMessage: return "statusMessage";
    case Intrinsic::kKind: return "kind";
    case Intrinsic::kSpanId: return "id";
    case Intrinsic::kParentId: return "parentID";
    case Intrinsic::kChildCount: return "childCount";
    case Intrinsic::kTraceDuration: return scope == Scope::kTrace ? "duration" : "traceDuration";
    case Intrinsic::kTraceRootName: return "rootName";
    case Intrinsic::kTraceRootService: return scope == Scope::kTrace ? "rootService" : "rootServiceName";
    case Intrinsic::kTraceId: return "id";
    case Intrinsic::kEventName: return "name";
    case Intrinsic::kEventTimeSinceStart: return "timeSinceStart";
    case Intrinsic::kLinkTraceId: return "traceID";
    case Intrinsic::kLinkSpanId: return "spanID";
    case Intrinsic::kInstrumentationName: return "name";
    case Intrinsic::kInstrumentationVersion: return "version";
    case Intrinsic::kNestedSetLeft: return "nestedSetLeft";
    case Intrinsic::kNestedSetRight: return "nestedSetRight";
    case Intrinsic::kNestedSetParent: return "nestedSetParent";
    case Intrinsic::kParent: return "parent";
    case Intrinsic::kNone: return "";
  }
  return "";
}

std::string Duration(int64_t ns) {
  std::string sign;
  uint64_t v;
  if (ns < 0) {
    sign = "-";
    v = static_cast<uint64_t>(-(ns + 1)) + 1;
  } else {
    v = static_cast<uint64_t>(ns);
  }
  struct U {
    uint64_t ns;
    const char* name;
  };
  static constexpr U kUnits[] = {{3600000000000ull, "h"}, {60000000000ull, "m"}, {1000000000ull, "s"},
                                 {1000000ull, "ms"},      {1000ull, "us"}};
  if (v != 0) {
    for (const U& u : kUnits) {
      if (v % u.ns == 0) return sign + std::to_string(v / u.ns) + u.name;
    }
  }
  return sign + std::to_string(v) + "ns";
}

std::string Float(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, end);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // stays a float when parsed
  return s;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string ScalarString(const ScalarExpr& s);

std::string Stages(const Pipeline& p);

std::string Spanset(const SpansetExpr& s) {
  switch (s.kind) {
    case SpansetExpr::Kind::kFilter: return s.filter ? "{ " + ToString(*s.filter) + " }" : "{ }";
    case SpansetExpr::Kind::kOperation:
      return "(" + Spanset(*s.lhs) + ") " + std::string(scan::OpText(s.op)) + " (" + Spanset(*s.rhs) + ")";
    case SpansetExpr::Kind::kPipeline: return "(" + Stages(*s.pipeline) + ")";
  }
  return "";
}

std::string AggregateString(AggregateOp op, const FieldExpr* e) {
  return std::string(AggregateName(op)) + "(" + (e ? ToString(*e) : "") + ")";
}

std::string ScalarString(const ScalarExpr& s) {
  switch (s.kind) {
    case ScalarExpr::Kind::kStatic: return ToString(s.value);
    case ScalarExpr::Kind::kAggregate: return AggregateString(s.agg, s.agg_expr.get());
    case ScalarExpr::Kind::kBinary:
      return "(" + ScalarString(*s.lhs) + " " + std::string(scan::OpText(s.op)) + " " + ScalarString(*s.rhs) + ")";
    case ScalarExpr::Kind::kPipeline:
      return "(" + Stages(*s.pipeline) + " | " + AggregateString(s.agg, s.agg_expr.get()) + ")";
  }
  return "";
}

std::string StageString(const Stage& s) {
  switch (s.kind) {
    case Stage::Kind::kSpanset: return Spanset(*s.spanset);
    case Stage::Kind::kScalarFilter:
      return ScalarString(*s.lhs) + " " + std::string(scan::OpText(s.cmp)) + " " + ScalarString(*s.rhs);
    case Stage::Kind::kGroup: return "by(" + ToString(*s.by) + ")";
    case Stage::Kind::kCoalesce: return "coalesce()";
    case Stage::Kind::kSelect: {
      std::string out = "select(";
      for (size_t i = 0; i < s.select.size(); ++i) out += (i ? ", " : "") + ToString(s.select[i]);
      return out + ")";
    }
  }
  return "";
}

std::string Stages(const Pipeline& p) {
  std::string out;
  for (size_t i = 0; i < p.stages.size(); ++i) out += (i ? " | " : "") + StageString(p.stages[i]);
  return out;
}

std::string MetricsFnString(const MetricsAggregate& a) {
  std::string out = std::string(MetricsFnName(a.fn)) + "(";
  switch (a.fn) {
    case MetricsFn::kRate:
    case MetricsFn::kCountOverTime: break;
    case MetricsFn::kCompare:
      out += a.compare_filter ? "{ " + ToString(*a.compare_filter) + " }" : "{ }";
      for (int64_t v : a.compare_args) out += ", " + std::to_string(v);
      break;
    default:
      out += ToString(a.attr);
      for (const Static& q : a.quantiles) out += ", " + ToString(q);
  }
  out += ")";
  if (!a.by.empty()) {
    out += " by (";
    for (size_t i = 0; i < a.by.size(); ++i) out += (i ? ", " : "") + ToString(a.by[i]);
    out += ")";
  }
  return out;
}

std::string SecondStages(const std::vector<SecondStage>& second) {
  std::string out;
  for (const SecondStage& s : second) {
    switch (s.kind) {
      case SecondStage::Kind::kTopK: out += " | topk(" + std::to_string(s.k) + ")"; break;
      case SecondStage::Kind::kBottomK: out += " | bottomk(" + std::to_string(s.k) + ")"; break;
      case SecondStage::Kind::kFilter: out += " " + std::string(scan::OpText(s.op)) + " " + ToString(s.value); break;
    }
  }
  return out;
}

std::string Metrics(const MetricsExpr& m) {
  std::string inner;
  switch (m.kind) {
    case MetricsExpr::Kind::kScalar: return ToString(m.value);
    case MetricsExpr::Kind::kPipeline:
      inner = "(" + Stages(*m.pipeline) + " | " + MetricsFnString(m.agg) + SecondStages(m.second) + ")";
      return inner;
    case MetricsExpr::Kind::kBinary:
      inner = "(" + Metrics(*m.lhs) + " " + std::string(scan::OpText(m.op)) + " " + Metrics(*m.rhs) + ")";
      if (!m.second.empty()) inner = "(" + inner + SecondStages(m.second) + ")";
      return inner;
  }
  return inner;
}

}  // namespace

std::string_view AggregateName(AggregateOp op) {
  switch (op) {
    case AggregateOp::kCount: return "count";
    case AggregateOp::kAvg: return "avg";
    case AggregateOp::kMin: return "min";
    case AggregateOp::kMax: return "max";
    case AggregateOp::kSum: return "sum";
  }
  return "?";
}

std::string_view MetricsFnName(MetricsFn fn) {
  switch (fn) {
    case MetricsFn::kRate: return "rate";
    case MetricsFn::kCountOverTime: return "count_over_time";
    case MetricsFn::kMinOverTime: return "min_over_time";
    case MetricsFn::kMaxOverTime: return "max_over_time";
    case MetricsFn::kSumOverTime: return "sum_over_time";
    case MetricsFn::kAvgOverTime: return "avg_over_time";
    case MetricsFn::kQuantileOverTime: return "quantile_over_time";
    case MetricsFn::kHistogramOverTime: return "histogram_over_time";
    case MetricsFn::kCompare: return "compare";
  }
  return "?";
}

std::string ToString(const Static& s) {
  switch (s.type) {
    case StaticType::kNil: return "nil";
    case StaticType::kInt:
      if (s.i == std::numeric_limits<int64_t>::min()) return "minInt";
      return std::to_string(s.i);
    case StaticType::kFloat: return Float(s.f);
    case StaticType::kString: return Quote(s.s);
    case StaticType::kBool: return s.b ? "true" : "false";
    case StaticType::kDuration: return Duration(s.i);
    case StaticType::kStatus: return s.i == 1 ? "ok" : s.i == 2 ? "error" : "unset";
    case StaticType::kKind: {
      static constexpr const char* kKinds[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
      return s.i >= 0 && s.i < 6 ? kKinds[s.i] : "unspecified";
    }
    default: {
      std::string out = "[";
      for (size_t i = 0; i < s.array.size(); ++i) out += (i ? ", " : "") + ToString(s.array[i]);
      return out + "]";
    }
  }
}

std::string ToString(const Attribute& a) {
  if (a.is_intrinsic()) {
    std::string name = IntrinsicName(a.intrinsic, a.scope);
    if (a.parent) return "parent." + name;
    if (a.scope == Scope::kNone) return name;
    return std::string(scan::ScopeName(a.scope)) + ":" + name;
  }
  std::string prefix = a.parent ? "parent." : "";
  if (a.scope == Scope::kNone) {
    // `.5x` would lex as a number: quote names that start with a digit.
    bool digit = !a.name.empty() && a.name[0] >= '0' && a.name[0] <= '9';
    std::string name = QuoteAttributeName(a.name, digit);
    return a.parent ? prefix + name : "." + name;
  }
  return prefix + std::string(scan::ScopeName(a.scope)) + "." + QuoteAttributeName(a.name);
}

std::string ToString(const FieldExpr& e) {
  switch (e.kind) {
    case FieldExpr::Kind::kStatic: return ToString(e.value);
    case FieldExpr::Kind::kAttribute: return ToString(e.attr);
    case FieldExpr::Kind::kUnary:
      switch (e.op) {
        case Op::kExists: return "(" + ToString(*e.lhs) + " != nil)";
        case Op::kNotExists: return "(" + ToString(*e.lhs) + " = nil)";
        default: return std::string(scan::OpText(e.op)) + "(" + ToString(*e.lhs) + ")";
      }
    case FieldExpr::Kind::kBinary:
      return "(" + ToString(*e.lhs) + " " + std::string(scan::OpText(e.op)) + " " + ToString(*e.rhs) + ")";
  }
  return "";
}

std::string ToString(const Query& q) {
  std::string out;
  if (q.spansets != nullptr) out = Stages(*q.spansets);
  if (q.metrics != nullptr) out = Metrics(*q.metrics);
  if (!q.hints.empty()) {
    out += " with(";
    for (size_t i = 0; i < q.hints.size(); ++i) out += (i ? ", " : "") + q.hints[i].name + "=" + ToString(q.hints[i].value);
    out += ")";
  }
  return out;
}

}  // namespace vivace::traceql
