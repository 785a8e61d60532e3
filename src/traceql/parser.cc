// A recursive-descent, precedence-climbing parser for TraceQL. Outside braces one operator
// table serves spanset, scalar and metrics expressions; each parsed item carries a category, and
// combining two items checks their categories against Tempo's grammar (reference/tempo.md
// §1.10), so what Tempo's yacc grammar rejects is rejected here with a position.

#include "traceql/parser.h"

#include <cmath>
#include <limits>

#include "traceql/lexer.h"

namespace vivace::traceql {
namespace {

using scan::Intrinsic;
using scan::Scope;

// Top-level binary operator precedence (Tempo's expr.y, lowest first).
constexpr int kPrecPipe = 1;
constexpr int kPrecBool = 2;
constexpr int kPrecCompare = 3;
constexpr int kPrecAdd = 4;
constexpr int kPrecMul = 5;
constexpr int kPrecPow = 6;

// Inside braces: `!` binds tighter than + - and comparisons, looser than * / % ^.
constexpr int kFieldBool = 1;
constexpr int kFieldCompare = 2;
constexpr int kFieldAdd = 3;
constexpr int kFieldMul = 4;
constexpr int kFieldPow = 5;

struct BinOp {
  Op op;
  int prec;
  bool right = false;
};

// What an operator token means between two field expressions.
bool FieldBinOp(Tok t, BinOp* out) {
  switch (t) {
    case Tok::kAnd: *out = {Op::kAnd, kFieldBool}; return true;
    case Tok::kOr: *out = {Op::kOr, kFieldBool}; return true;
    case Tok::kEq: *out = {Op::kEq, kFieldCompare}; return true;
    case Tok::kNeq: *out = {Op::kNeq, kFieldCompare}; return true;
    case Tok::kLt: *out = {Op::kLt, kFieldCompare}; return true;
    case Tok::kLte: *out = {Op::kLte, kFieldCompare}; return true;
    case Tok::kGt: *out = {Op::kGt, kFieldCompare}; return true;
    case Tok::kGte: *out = {Op::kGte, kFieldCompare}; return true;
    case Tok::kRegex: *out = {Op::kRegex, kFieldCompare}; return true;
    case Tok::kNotRegex: *out = {Op::kNotRegex, kFieldCompare}; return true;
    case Tok::kAdd: *out = {Op::kAdd, kFieldAdd}; return true;
    case Tok::kSub: *out = {Op::kSub, kFieldAdd}; return true;
    case Tok::kMul: *out = {Op::kMul, kFieldMul}; return true;
    case Tok::kDiv: *out = {Op::kDiv, kFieldMul}; return true;
    case Tok::kMod: *out = {Op::kMod, kFieldMul}; return true;
    case Tok::kPow: *out = {Op::kPow, kFieldPow, true}; return true;
    default: return false;
  }
}

// Top level: `op` is the comparison/arithmetic reading; `structural` the spanset reading.
struct TopOp {
  int prec;
  Op op;          // kNone when the token has no scalar meaning
  Op structural;  // kNone when the token has no spanset meaning
  bool right = false;
  bool pipe = false;
};

bool TopBinOp(Tok t, TopOp* out) {
  switch (t) {
    case Tok::kPipe: *out = {kPrecPipe, Op::kNone, Op::kNone, false, true}; return true;
    case Tok::kAnd: *out = {kPrecBool, Op::kNone, Op::kSpansetAnd}; return true;
    case Tok::kOr: *out = {kPrecBool, Op::kNone, Op::kSpansetUnion}; return true;
    case Tok::kEq: *out = {kPrecCompare, Op::kEq, Op::kNone}; return true;
    case Tok::kNeq: *out = {kPrecCompare, Op::kNeq, Op::kNone}; return true;
    case Tok::kLt: *out = {kPrecCompare, Op::kLt, Op::kParent}; return true;
    case Tok::kLte: *out = {kPrecCompare, Op::kLte, Op::kNone}; return true;
    case Tok::kGt: *out = {kPrecCompare, Op::kGt, Op::kChild}; return true;
    case Tok::kGte: *out = {kPrecCompare, Op::kGte, Op::kNone}; return true;
    case Tok::kRegex: *out = {kPrecCompare, Op::kNone, Op::kNone}; return true;
    case Tok::kNotRegex: *out = {kPrecCompare, Op::kNone, Op::kNotSibling}; return true;
    case Tok::kDesc: *out = {kPrecCompare, Op::kNone, Op::kDescendant}; return true;
    case Tok::kAnc: *out = {kPrecCompare, Op::kNone, Op::kAncestor}; return true;
    case Tok::kTilde: *out = {kPrecCompare, Op::kNone, Op::kSibling}; return true;
    case Tok::kNotChild: *out = {kPrecCompare, Op::kNone, Op::kNotChild}; return true;
    case Tok::kNotParent: *out = {kPrecCompare, Op::kNone, Op::kNotParent}; return true;
    case Tok::kNotDesc: *out = {kPrecCompare, Op::kNone, Op::kNotDescendant}; return true;
    case Tok::kNotAnc: *out = {kPrecCompare, Op::kNone, Op::kNotAncestor}; return true;
    case Tok::kUnionChild: *out = {kPrecCompare, Op::kNone, Op::kUnionChild}; return true;
    case Tok::kUnionParent: *out = {kPrecCompare, Op::kNone, Op::kUnionParent}; return true;
    case Tok::kUnionDesc: *out = {kPrecCompare, Op::kNone, Op::kUnionDescendant}; return true;
    case Tok::kUnionAnc: *out = {kPrecCompare, Op::kNone, Op::kUnionAncestor}; return true;
    case Tok::kUnionSibling: *out = {kPrecCompare, Op::kNone, Op::kUnionSibling}; return true;
    case Tok::kAdd: *out = {kPrecAdd, Op::kAdd, Op::kNone}; return true;
    case Tok::kSub: *out = {kPrecAdd, Op::kSub, Op::kNone}; return true;
    case Tok::kMul: *out = {kPrecMul, Op::kMul, Op::kNone}; return true;
    case Tok::kDiv: *out = {kPrecMul, Op::kDiv, Op::kNone}; return true;
    case Tok::kMod: *out = {kPrecMul, Op::kMod, Op::kNone}; return true;
    case Tok::kPow: *out = {kPrecPow, Op::kPow, Op::kNone, true}; return true;
    default: return false;
  }
}

// The category of a parsed top-level item.
enum class Cat : uint8_t {
  kSpanset,        // {..}, spanset operation, parenthesised pipeline
  kPipeline,       // a | b, unparenthesised, spanset-valued
  kPipelineAgg,    // a | count(): only valid parenthesised (a scalar pipeline)
  kAggregate,      // count(), avg(x)...
  kScalar,         // arithmetic with an aggregate, or a parenthesised aggregate
  kConst,          // a numeric constant expression
  kScalarFilter,   // scalar CMP scalar
  kScalarPipe,     // (pipeline | aggregate), and arithmetic between those
  kScalarPipeFilter,
  kGroup,
  kCoalesce,
  kSelect,
  kMetricsFn,      // rate() by (...) [second stages], only as a pipeline stage
  kSecondStages,   // topk(k) / bottomk(k) [second stages]
  kMetricsPipeline,  // unparenthesised metrics query
  kMetrics,          // parenthesised metrics query, or arithmetic on them
};

struct Item {
  Cat cat = Cat::kSpanset;
  uint32_t pos = 0;
  SpansetPtr spanset;
  std::unique_ptr<Pipeline> pipeline;
  ScalarPtr scalar;          // kAggregate, kScalar, kConst (kStatic), kScalarPipe
  bool literal = false;      // kConst: a single literal (possibly negated)
  bool has_duration = false;  // kConst: involves a duration
  Stage stage;               // kScalarFilter, kScalarPipeFilter, kGroup, kCoalesce, kSelect
  MetricsAggregate fn;       // kMetricsFn
  std::vector<SecondStage> second;  // kMetricsFn, kSecondStages
  std::unique_ptr<MetricsExpr> metrics;  // kMetricsPipeline, kMetrics
};

Static FoldArithmetic(Op op, const Static& a, const Static& b, bool* ok) {
  *ok = true;
  bool any_float = a.type == StaticType::kFloat || b.type == StaticType::kFloat;
  bool any_duration = a.type == StaticType::kDuration || b.type == StaticType::kDuration;
  if (!any_float) {
    int64_t x = a.i, y = b.i, r = 0;
    switch (op) {
      case Op::kAdd: *ok = !__builtin_add_overflow(x, y, &r); break;
      case Op::kSub: *ok = !__builtin_sub_overflow(x, y, &r); break;
      case Op::kMul: *ok = !__builtin_mul_overflow(x, y, &r); break;
      case Op::kDiv:
      case Op::kMod:
        if (y == 0 || (x == std::numeric_limits<int64_t>::min() && y == -1)) {
          *ok = false;
        } else {
          r = op == Op::kDiv ? x / y : x % y;
        }
        break;
      case Op::kPow: {
        double p = std::pow(static_cast<double>(x), static_cast<double>(y));
        if (!(std::fabs(p) < 9.2e18)) {
          *ok = false;
        } else {
          r = static_cast<int64_t>(p);
        }
        break;
      }
      default: *ok = false;
    }
    return any_duration ? Static::Duration(r) : Static::Int(r);
  }
  double x = a.AsFloat(), y = b.AsFloat(), r = 0;
  switch (op) {
    case Op::kAdd: r = x + y; break;
    case Op::kSub: r = x - y; break;
    case Op::kMul: r = x * y; break;
    case Op::kDiv: r = x / y; break;
    case Op::kMod: r = std::fmod(x, y); break;
    case Op::kPow: r = std::pow(x, y); break;
    default: *ok = false;
  }
  return Static::Float(r);
}

Static Negate(const Static& s) {
  Static r = s;
  if (s.type == StaticType::kFloat) {
    r.f = -s.f;
  } else {
    r.i = s.i == std::numeric_limits<int64_t>::min() ? s.i : -s.i;
  }
  return r;
}

class Parser {
 public:
  Parser(std::string_view q, const ParseLimits& limits) : q_(q), lex_(q), limits_(limits) { Advance(); }

  Result<Query> Root() {
    Query query;
    VV_ASSIGN_OR_RETURN(Item item, Expr(0));
    uint32_t pos = item.pos;
    switch (item.cat) {
      case Cat::kSpanset: {
        query.spansets = std::make_unique<Pipeline>();
        Stage s;
        s.spanset = std::move(item.spanset);
        query.spansets->stages.push_back(std::move(s));
        break;
      }
      case Cat::kPipeline: query.spansets = std::move(item.pipeline); break;
      case Cat::kScalarFilter:
      case Cat::kScalarPipeFilter:
      case Cat::kGroup:
      case Cat::kSelect:
        query.spansets = std::make_unique<Pipeline>();
        query.spansets->stages.push_back(std::move(item.stage));
        break;
      case Cat::kMetricsPipeline:
      case Cat::kMetrics: query.metrics = std::move(item.metrics); break;
      case Cat::kCoalesce: return Err(pos, "pipelines can't start with coalesce()");
      case Cat::kPipelineAgg: return Err(pos, "a pipeline can't end in a bare aggregate; compare it, e.g. | count() > 1");
      case Cat::kAggregate:
      case Cat::kScalar: return Err(pos, "a scalar expression must be compared, e.g. count() > 1");
      case Cat::kConst: return Err(pos, "a constant expression is not a query");
      default: return Err(pos, "incomplete query");
    }
    while (tok_.kind == Tok::kIdent && tok_.text == "with") {
      Advance();
      VV_RETURN_IF_ERROR(Expect(Tok::kOpenParen, "'(' after with"));
      while (true) {
        if (tok_.kind != Tok::kIdent && tok_.kind != Tok::kAttribute) return Unexpected("a hint name");
        Hint h;
        h.name = std::string(tok_.text);
        Advance();
        VV_RETURN_IF_ERROR(Expect(Tok::kEq, "'=' after the hint name"));
        VV_ASSIGN_OR_RETURN(h.value, HintValue());
        query.hints.push_back(std::move(h));
        if (tok_.kind == Tok::kComma) {
          Advance();
          continue;
        }
        VV_RETURN_IF_ERROR(Expect(Tok::kCloseParen, "')' after the hints"));
        break;
      }
    }
    if (tok_.kind != Tok::kEnd) return Unexpected("end of query");
    return query;
  }

  Result<Attribute> Identifier() {
    if (tok_.kind != Tok::kAttribute) return Unexpected("an attribute or intrinsic");
    Attribute a = tok_.attr;
    Advance();
    if (tok_.kind != Tok::kEnd) return Unexpected("end of identifier");
    return a;
  }

 private:
  // --- tokens and errors ---
  void Advance() { tok_ = lex_.Next(); }

  Status Err(uint32_t pos, std::string_view what) const {
    uint32_t line = 1, col = 1;
    for (uint32_t i = 0; i < pos && i < q_.size(); ++i) {
      if (q_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return InvalidArgument("parse error at line " + std::to_string(line) + ", col " + std::to_string(col) + ": " +
                           std::string(what));
  }
  Status Unexpected(std::string_view expected) const {
    if (tok_.kind == Tok::kError) return Err(tok_.pos, tok_.s);
    if (tok_.kind == Tok::kEnd) return Err(tok_.pos, "unexpected end of query, expected " + std::string(expected));
    return Err(tok_.pos, "unexpected '" + std::string(tok_.text) + "', expected " + std::string(expected));
  }
  Status Expect(Tok kind, std::string_view what) {
    if (tok_.kind != kind) return Unexpected(what);
    Advance();
    return Status::OK();
  }
  bool IsIdent(std::string_view word) const { return tok_.kind == Tok::kIdent && tok_.text == word; }
  Status Enter() {
    if (++depth_ > limits_.max_depth) return Err(tok_.pos, "query nests too deeply");
    return Status::OK();
  }

  // --- field expressions (inside braces, aggregates, by) ---

  Result<FieldPtr> Field(int min_prec) {
    VV_RETURN_IF_ERROR(Enter());
    VV_ASSIGN_OR_RETURN(FieldPtr lhs, FieldUnary());
    while (true) {
      BinOp b;
      if (!FieldBinOp(tok_.kind, &b) || b.prec < min_prec) break;
      Advance();
      if ((b.op == Op::kEq || b.op == Op::kNeq) && IsIdent("nil")) {
        Advance();
        lhs = Unary(b.op == Op::kEq ? Op::kNotExists : Op::kExists, std::move(lhs));
        continue;
      }
      VV_ASSIGN_OR_RETURN(FieldPtr rhs, Field(b.right ? b.prec : b.prec + 1));
      auto e = std::make_unique<FieldExpr>();
      e->kind = FieldExpr::Kind::kBinary;
      e->op = b.op;
      e->lhs = std::move(lhs);
      e->rhs = std::move(rhs);
      lhs = std::move(e);
    }
    --depth_;
    return lhs;
  }

  static FieldPtr Unary(Op op, FieldPtr operand) {
    auto e = std::make_unique<FieldExpr>();
    e->kind = FieldExpr::Kind::kUnary;
    e->op = op;
    e->lhs = std::move(operand);
    return e;
  }

  Result<FieldPtr> FieldUnary() {
    if (tok_.kind == Tok::kNot) {
      Advance();
      VV_ASSIGN_OR_RETURN(FieldPtr operand, Field(kFieldMul));
      return Unary(Op::kNot, std::move(operand));
    }
    if (tok_.kind == Tok::kSub) {
      Advance();
      VV_RETURN_IF_ERROR(Enter());
      VV_ASSIGN_OR_RETURN(FieldPtr operand, FieldUnary());
      --depth_;
      if (operand->kind == FieldExpr::Kind::kStatic && IsNumeric(operand->value.type)) {
        operand->value = Negate(operand->value);
        return operand;
      }
      return Unary(Op::kNeg, std::move(operand));
    }
    return FieldPrimary();
  }

  Result<FieldPtr> FieldPrimary() {
    auto e = std::make_unique<FieldExpr>();
    switch (tok_.kind) {
      case Tok::kOpenParen: {
        Advance();
        VV_ASSIGN_OR_RETURN(FieldPtr inner, Field(0));
        VV_RETURN_IF_ERROR(Expect(Tok::kCloseParen, "')'"));
        return inner;
      }
      case Tok::kAttribute:
        e->kind = FieldExpr::Kind::kAttribute;
        e->attr = std::move(tok_.attr);
        Advance();
        return e;
      case Tok::kIdent:
        if (IsIdent("nil")) {
          // nil = x, nil != x; nil = nil and nil != nil are false.
          Advance();
          bool eq = tok_.kind == Tok::kEq;
          if (!eq && tok_.kind != Tok::kNeq) return Unexpected("'=' or '!=' after nil");
          Advance();
          if (IsIdent("nil")) {
            Advance();
            e->kind = FieldExpr::Kind::kStatic;
            e->value = Static::Bool(false);
            return e;
          }
          VV_ASSIGN_OR_RETURN(FieldPtr operand, Field(kFieldAdd));
          return Unary(eq ? Op::kNotExists : Op::kExists, std::move(operand));
        }
        [[fallthrough]];
      default: {
        VV_ASSIGN_OR_RETURN(Static s, StaticLiteral());
        e->kind = FieldExpr::Kind::kStatic;
        e->value = std::move(s);
        return e;
      }
    }
  }

  // A literal: numbers, durations, strings, booleans, status and kind names, minInt/maxInt.
  Result<Static> StaticLiteral() {
    Static s;
    switch (tok_.kind) {
      case Tok::kInt: s = Static::Int(tok_.i); break;
      case Tok::kFloat: s = Static::Float(tok_.f); break;
      case Tok::kDuration: s = Static::Duration(tok_.i); break;
      case Tok::kString: s = Static::String(std::move(tok_.s)); break;
      case Tok::kIdent: {
        std::string_view w = tok_.text;
        if (w == "true" || w == "false") {
          s = Static::Bool(w == "true");
        } else if (w == "ok" || w == "error" || w == "unset") {
          s = Static::Status(w == "unset" ? 0 : w == "ok" ? 1 : 2);
        } else if (w == "unspecified" || w == "internal" || w == "server" || w == "client" || w == "producer" ||
                   w == "consumer") {
          int64_t k = w == "unspecified" ? 0 : w == "internal" ? 1 : w == "server" ? 2 : w == "client" ? 3
                      : w == "producer" ? 4 : 5;
          s = Static::Kind(k);
        } else if (w == "minInt" || w == "maxInt") {
          s = Static::Int(w == "minInt" ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max());
        } else {
          return Err(tok_.pos, "unknown identifier '" + std::string(w) + "'");
        }
        break;
      }
      default: return Unexpected("a value");
    }
    Advance();
    return s;
  }

  Result<Static> HintValue() {
    if (tok_.kind == Tok::kSub) {
      Advance();
      VV_ASSIGN_OR_RETURN(Static s, StaticLiteral());
      if (!IsNumeric(s.type)) return Err(tok_.pos, "only numbers can be negative");
      return Negate(s);
    }
    return StaticLiteral();
  }

  // --- top level ---

  Result<Item> Expr(int min_prec) {
    VV_RETURN_IF_ERROR(Enter());
    VV_ASSIGN_OR_RETURN(Item lhs, Primary());
    while (true) {
      TopOp op;
      if (!TopBinOp(tok_.kind, &op) || op.prec < min_prec) break;
      uint32_t pos = tok_.pos;
      Tok t = tok_.kind;
      Advance();
      VV_ASSIGN_OR_RETURN(Item rhs, Expr(op.right ? op.prec : op.prec + 1));
      VV_ASSIGN_OR_RETURN(lhs, Combine(t, op, pos, std::move(lhs), std::move(rhs)));
    }
    --depth_;
    return lhs;
  }

  static bool IsScalarish(Cat c) { return c == Cat::kAggregate || c == Cat::kScalar || c == Cat::kConst; }
  static bool IsPipelineable(Cat c) {
    return c == Cat::kSpanset || c == Cat::kPipeline || c == Cat::kScalarFilter || c == Cat::kGroup ||
           c == Cat::kSelect || c == Cat::kCoalesce;
  }

  static std::unique_ptr<Pipeline> AsPipeline(Item&& it) {
    if (it.cat == Cat::kPipeline) return std::move(it.pipeline);
    auto p = std::make_unique<Pipeline>();
    if (it.cat == Cat::kSpanset) {
      Stage s;
      s.spanset = std::move(it.spanset);
      p->stages.push_back(std::move(s));
    } else {
      p->stages.push_back(std::move(it.stage));
    }
    return p;
  }

  Result<Item> Combine(Tok t, const TopOp& op, uint32_t pos, Item lhs, Item rhs) {
    Item out;
    out.pos = lhs.pos;
    std::string_view text = lex_text(t);
    if (op.pipe) {
      if (lhs.cat == Cat::kMetricsPipeline || lhs.cat == Cat::kMetrics) {
        if (rhs.cat != Cat::kSecondStages) return Err(rhs.pos, "only topk(), bottomk() or a comparison can follow a metrics function");
        out.cat = Cat::kMetricsPipeline;
        out.metrics = std::move(lhs.metrics);
        for (auto& s : rhs.second) out.metrics->second.push_back(std::move(s));
        return out;
      }
      if (lhs.cat == Cat::kCoalesce) return Err(lhs.pos, "pipelines can't start with coalesce()");
      if (!IsPipelineable(lhs.cat)) return Err(pos, "'|' must follow a spanset expression or pipeline stage");
      std::unique_ptr<Pipeline> p = AsPipeline(std::move(lhs));
      switch (rhs.cat) {
        case Cat::kSpanset:
        case Cat::kScalarFilter:
        case Cat::kGroup:
        case Cat::kCoalesce:
        case Cat::kSelect: {
          std::unique_ptr<Pipeline> r = AsPipeline(std::move(rhs));
          for (auto& s : r->stages) p->stages.push_back(std::move(s));
          out.cat = Cat::kPipeline;
          out.pipeline = std::move(p);
          return out;
        }
        case Cat::kPipeline:
          return Err(rhs.pos, "unexpected pipeline");
        case Cat::kAggregate:
          out.cat = Cat::kPipelineAgg;
          out.pipeline = std::move(p);
          out.scalar = std::move(rhs.scalar);
          return out;
        case Cat::kMetricsFn: {
          auto m = std::make_unique<MetricsExpr>();
          m->kind = MetricsExpr::Kind::kPipeline;
          m->pipeline = std::move(p);
          m->agg = std::move(rhs.fn);
          m->second = std::move(rhs.second);
          out.cat = Cat::kMetricsPipeline;
          out.metrics = std::move(m);
          return out;
        }
        case Cat::kSecondStages: return Err(rhs.pos, "topk() and bottomk() must follow a metrics function");
        default: return Err(rhs.pos, "not a pipeline stage");
      }
    }
    if (op.structural != Op::kNone && lhs.cat == Cat::kSpanset && rhs.cat == Cat::kSpanset) {
      auto e = std::make_unique<SpansetExpr>();
      e->kind = SpansetExpr::Kind::kOperation;
      e->op = op.structural;
      e->lhs = std::move(lhs.spanset);
      e->rhs = std::move(rhs.spanset);
      out.cat = Cat::kSpanset;
      out.spanset = std::move(e);
      return out;
    }
    if (lhs.cat == Cat::kSpanset || rhs.cat == Cat::kSpanset) {
      return Err(pos, "'" + std::string(text) + "' can't combine these spanset expressions");
    }
    if (op.op == Op::kNone) return Err(pos, "unexpected '" + std::string(text) + "'");
    bool compare = scan::IsComparison(op.op);
    if (compare) {
      // Scalar filters: aggregate expressions against numbers.
      if ((IsScalarish(lhs.cat) && IsScalarish(rhs.cat)) && !(lhs.cat == Cat::kConst && rhs.cat == Cat::kConst)) {
        out.cat = Cat::kScalarFilter;
        out.stage.kind = Stage::Kind::kScalarFilter;
        out.stage.cmp = op.op;
        out.stage.lhs = std::move(lhs.scalar);
        out.stage.rhs = std::move(rhs.scalar);
        return out;
      }
      if (lhs.cat == Cat::kScalarPipe && (rhs.cat == Cat::kScalarPipe || (rhs.cat == Cat::kConst && rhs.literal))) {
        out.cat = Cat::kScalarPipeFilter;
        out.stage.kind = Stage::Kind::kScalarFilter;
        out.stage.cmp = op.op;
        out.stage.lhs = std::move(lhs.scalar);
        out.stage.rhs = std::move(rhs.scalar);
        return out;
      }
      // Second-stage filters on metrics.
      bool metrics_lhs = lhs.cat == Cat::kMetricsFn || lhs.cat == Cat::kSecondStages ||
                         lhs.cat == Cat::kMetricsPipeline || lhs.cat == Cat::kMetrics;
      if (metrics_lhs && rhs.cat == Cat::kConst) {
        if (rhs.has_duration && !rhs.literal) return Err(rhs.pos, "durations can't be used in arithmetic here");
        SecondStage s;
        s.kind = SecondStage::Kind::kFilter;
        s.op = op.op;
        s.value = rhs.scalar->value;
        if (lhs.cat == Cat::kMetricsFn || lhs.cat == Cat::kSecondStages) {
          lhs.second.push_back(std::move(s));
          return lhs;
        }
        out.cat = Cat::kMetricsPipeline;
        out.metrics = std::move(lhs.metrics);
        out.metrics->second.push_back(std::move(s));
        return out;
      }
      return Err(pos, "'" + std::string(text) + "' can't compare these expressions");
    }
    // Arithmetic.
    if (lhs.cat == Cat::kConst && rhs.cat == Cat::kConst) {
      bool ok = false;
      Static v = FoldArithmetic(op.op, lhs.scalar->value, rhs.scalar->value, &ok);
      if (!ok) return Err(pos, "constant arithmetic overflows or divides by zero");
      out.cat = Cat::kConst;
      out.scalar = std::make_unique<ScalarExpr>();
      out.scalar->value = v;
      out.has_duration = lhs.has_duration || rhs.has_duration;
      out.literal = false;
      return out;
    }
    if (IsScalarish(lhs.cat) && IsScalarish(rhs.cat)) {
      out.cat = Cat::kScalar;
      out.scalar = ScalarBinary(op.op, std::move(lhs.scalar), std::move(rhs.scalar));
      return out;
    }
    if (lhs.cat == Cat::kScalarPipe && rhs.cat == Cat::kScalarPipe) {
      out.cat = Cat::kScalarPipe;
      out.scalar = ScalarBinary(op.op, std::move(lhs.scalar), std::move(rhs.scalar));
      return out;
    }
    bool lm = lhs.cat == Cat::kMetrics, rm = rhs.cat == Cat::kMetrics;
    if ((lm || rm) && (lm || lhs.cat == Cat::kConst) && (rm || rhs.cat == Cat::kConst)) {
      if (op.op == Op::kMod || op.op == Op::kPow) return Err(pos, "metrics queries combine only with + - * /");
      if ((!lm && lhs.has_duration) || (!rm && rhs.has_duration)) {
        return Err(pos, "durations can't be used in arithmetic with metrics");
      }
      auto m = std::make_unique<MetricsExpr>();
      m->kind = MetricsExpr::Kind::kBinary;
      m->op = op.op;
      m->lhs = lm ? std::move(lhs.metrics) : MetricsScalar(lhs.scalar->value);
      m->rhs = rm ? std::move(rhs.metrics) : MetricsScalar(rhs.scalar->value);
      out.cat = Cat::kMetrics;
      out.metrics = std::move(m);
      return out;
    }
    return Err(pos, "'" + std::string(text) + "' can't combine these expressions");
  }

  std::string_view lex_text(Tok t) const {
    switch (t) {
      case Tok::kPipe: return "|";
      default: return OpTextOf(t);
    }
  }
  static std::string_view OpTextOf(Tok t) {
    TopOp op;
    if (!TopBinOp(t, &op)) return "?";
    if (op.op != Op::kNone) return scan::OpText(op.op);
    if (t == Tok::kRegex) return "=~";
    return scan::OpText(op.structural);
  }

  static ScalarPtr ScalarBinary(Op op, ScalarPtr l, ScalarPtr r) {
    auto s = std::make_unique<ScalarExpr>();
    s->kind = ScalarExpr::Kind::kBinary;
    s->op = op;
    s->lhs = std::move(l);
    s->rhs = std::move(r);
    return s;
  }
  static std::unique_ptr<MetricsExpr> MetricsScalar(const Static& v) {
    auto m = std::make_unique<MetricsExpr>();
    m->kind = MetricsExpr::Kind::kScalar;
    m->value = v;
    return m;
  }

  Result<Item> Primary() {
    Item it;
    it.pos = tok_.pos;
    switch (tok_.kind) {
      case Tok::kOpenBrace: {
        Advance();
        auto e = std::make_unique<SpansetExpr>();
        e->kind = SpansetExpr::Kind::kFilter;
        if (tok_.kind != Tok::kCloseBrace) {
          VV_ASSIGN_OR_RETURN(e->filter, Field(0));
        }
        VV_RETURN_IF_ERROR(Expect(Tok::kCloseBrace, "'}'"));
        it.cat = Cat::kSpanset;
        it.spanset = std::move(e);
        return it;
      }
      case Tok::kOpenParen: {
        Advance();
        VV_ASSIGN_OR_RETURN(Item inner, Expr(0));
        VV_RETURN_IF_ERROR(Expect(Tok::kCloseParen, "')'"));
        inner.pos = it.pos;
        switch (inner.cat) {
          case Cat::kPipeline: {
            auto e = std::make_unique<SpansetExpr>();
            e->kind = SpansetExpr::Kind::kPipeline;
            e->pipeline = std::move(inner.pipeline);
            inner.cat = Cat::kSpanset;
            inner.spanset = std::move(e);
            return inner;
          }
          case Cat::kGroup:
          case Cat::kSelect:
          case Cat::kScalarFilter: {
            auto e = std::make_unique<SpansetExpr>();
            e->kind = SpansetExpr::Kind::kPipeline;
            e->pipeline = AsPipeline(std::move(inner));
            Item w;
            w.pos = it.pos;
            w.cat = Cat::kSpanset;
            w.spanset = std::move(e);
            return w;
          }
          case Cat::kPipelineAgg: {
            auto s = std::make_unique<ScalarExpr>();
            s->kind = ScalarExpr::Kind::kPipeline;
            s->pipeline = std::move(inner.pipeline);
            s->agg = inner.scalar->agg;
            s->agg_expr = std::move(inner.scalar->agg_expr);
            inner.cat = Cat::kScalarPipe;
            inner.scalar = std::move(s);
            return inner;
          }
          case Cat::kMetricsPipeline: inner.cat = Cat::kMetrics; return inner;
          case Cat::kAggregate: inner.cat = Cat::kScalar; return inner;
          case Cat::kSpanset:
          case Cat::kScalar:
          case Cat::kConst:
          case Cat::kScalarPipe:
          case Cat::kMetrics: return inner;
          default: return Err(it.pos, "unexpected parenthesised expression");
        }
      }
      case Tok::kInt:
      case Tok::kFloat:
      case Tok::kDuration: {
        it.cat = Cat::kConst;
        it.literal = true;
        it.has_duration = tok_.kind == Tok::kDuration;
        it.scalar = std::make_unique<ScalarExpr>();
        VV_ASSIGN_OR_RETURN(it.scalar->value, StaticLiteral());
        return it;
      }
      case Tok::kSub: {
        Advance();
        VV_RETURN_IF_ERROR(Enter());
        VV_ASSIGN_OR_RETURN(Item operand, Primary());
        --depth_;
        if (operand.cat != Cat::kConst) return Err(it.pos, "only numbers can be negated here");
        operand.scalar->value = Negate(operand.scalar->value);
        operand.pos = it.pos;
        return operand;
      }
      case Tok::kIdent: return Function();
      case Tok::kAttribute: return Err(it.pos, "attributes must be inside { }");
      default: return Unexpected("a spanset filter '{', '(' or a pipeline function");
    }
  }

  Result<Item> Function() {
    Item it;
    it.pos = tok_.pos;
    std::string_view w = tok_.text;
    Advance();
    auto open = [&]() { return Expect(Tok::kOpenParen, "'(' after " + std::string(w)); };
    auto close = [&]() { return Expect(Tok::kCloseParen, "')'"); };
    static constexpr std::pair<std::string_view, AggregateOp> kAggs[] = {
        {"count", AggregateOp::kCount}, {"avg", AggregateOp::kAvg}, {"min", AggregateOp::kMin},
        {"max", AggregateOp::kMax},     {"sum", AggregateOp::kSum}};
    for (const auto& [name, op] : kAggs) {
      if (w != name) continue;
      VV_RETURN_IF_ERROR(open());
      it.cat = Cat::kAggregate;
      it.scalar = std::make_unique<ScalarExpr>();
      it.scalar->kind = ScalarExpr::Kind::kAggregate;
      it.scalar->agg = op;
      if (op != AggregateOp::kCount) {
        VV_ASSIGN_OR_RETURN(it.scalar->agg_expr, Field(0));
      }
      VV_RETURN_IF_ERROR(close());
      return it;
    }
    if (w == "by") {
      VV_RETURN_IF_ERROR(open());
      it.cat = Cat::kGroup;
      it.stage.kind = Stage::Kind::kGroup;
      VV_ASSIGN_OR_RETURN(it.stage.by, Field(0));
      VV_RETURN_IF_ERROR(close());
      return it;
    }
    if (w == "coalesce") {
      VV_RETURN_IF_ERROR(open());
      VV_RETURN_IF_ERROR(close());
      it.cat = Cat::kCoalesce;
      it.stage.kind = Stage::Kind::kCoalesce;
      return it;
    }
    if (w == "select") {
      VV_RETURN_IF_ERROR(open());
      it.cat = Cat::kSelect;
      it.stage.kind = Stage::Kind::kSelect;
      VV_ASSIGN_OR_RETURN(it.stage.select, AttributeList());
      VV_RETURN_IF_ERROR(close());
      return it;
    }
    if (w == "topk" || w == "bottomk") {
      VV_RETURN_IF_ERROR(open());
      if (tok_.kind != Tok::kInt) return Unexpected("a non-negative integer");
      SecondStage s;
      s.kind = w == "topk" ? SecondStage::Kind::kTopK : SecondStage::Kind::kBottomK;
      s.k = tok_.i;
      Advance();
      VV_RETURN_IF_ERROR(close());
      it.cat = Cat::kSecondStages;
      it.second.push_back(std::move(s));
      return it;
    }
    static constexpr std::pair<std::string_view, MetricsFn> kFns[] = {
        {"rate", MetricsFn::kRate},
        {"count_over_time", MetricsFn::kCountOverTime},
        {"min_over_time", MetricsFn::kMinOverTime},
        {"max_over_time", MetricsFn::kMaxOverTime},
        {"sum_over_time", MetricsFn::kSumOverTime},
        {"avg_over_time", MetricsFn::kAvgOverTime},
        {"quantile_over_time", MetricsFn::kQuantileOverTime},
        {"histogram_over_time", MetricsFn::kHistogramOverTime},
        {"compare", MetricsFn::kCompare},
    };
    for (const auto& [name, fn] : kFns) {
      if (w != name) continue;
      VV_RETURN_IF_ERROR(open());
      it.cat = Cat::kMetricsFn;
      it.fn.fn = fn;
      switch (fn) {
        case MetricsFn::kRate:
        case MetricsFn::kCountOverTime: break;
        case MetricsFn::kCompare: {
          VV_RETURN_IF_ERROR(Expect(Tok::kOpenBrace, "'{' in compare()"));
          if (tok_.kind != Tok::kCloseBrace) {
            VV_ASSIGN_OR_RETURN(it.fn.compare_filter, Field(0));
          }
          VV_RETURN_IF_ERROR(Expect(Tok::kCloseBrace, "'}'"));
          while (tok_.kind == Tok::kComma && it.fn.compare_args.size() < 3) {
            Advance();
            if (tok_.kind != Tok::kInt) return Unexpected("an integer");
            it.fn.compare_args.push_back(tok_.i);
            Advance();
          }
          if (it.fn.compare_args.size() == 2) return Unexpected("',' and the end of the time range");
          break;
        }
        default: {
          if (tok_.kind != Tok::kAttribute) return Unexpected("an attribute");
          it.fn.attr = std::move(tok_.attr);
          Advance();
          if (fn == MetricsFn::kQuantileOverTime) {
            while (tok_.kind == Tok::kComma) {
              Advance();
              if (tok_.kind == Tok::kInt) {
                it.fn.quantiles.push_back(Static::Float(static_cast<double>(tok_.i)));
              } else if (tok_.kind == Tok::kFloat) {
                it.fn.quantiles.push_back(Static::Float(tok_.f));
              } else {
                return Unexpected("a quantile");
              }
              Advance();
            }
            if (it.fn.quantiles.empty()) return Unexpected("',' and a quantile");
          }
        }
      }
      VV_RETURN_IF_ERROR(close());
      if (IsIdent("by")) {
        Advance();
        VV_RETURN_IF_ERROR(Expect(Tok::kOpenParen, "'(' after by"));
        VV_ASSIGN_OR_RETURN(it.fn.by, AttributeList());
        VV_RETURN_IF_ERROR(close());
      }
      return it;
    }
    return Err(it.pos, "unknown function or identifier '" + std::string(w) + "'");
  }

  Result<std::vector<Attribute>> AttributeList() {
    std::vector<Attribute> out;
    while (true) {
      if (tok_.kind != Tok::kAttribute) return Unexpected("an attribute");
      out.push_back(std::move(tok_.attr));
      Advance();
      if (tok_.kind != Tok::kComma) break;
      Advance();
    }
    return out;
  }

  std::string_view q_;
  Lexer lex_;
  ParseLimits limits_;
  Token tok_;
  uint32_t depth_ = 0;
};

}  // namespace

Result<Query> Parse(std::string_view query, const ParseLimits& limits) {
  if (query.size() > limits.max_query_bytes) {
    return InvalidArgument("query is " + std::to_string(query.size()) + " bytes, over the limit of " +
                           std::to_string(limits.max_query_bytes));
  }
  Parser p(query, limits);
  return p.Root();
}

Result<Query> ParseAndValidate(std::string_view query, const ParseLimits& limits) {
  VV_ASSIGN_OR_RETURN(Query q, Parse(query, limits));
  VV_RETURN_IF_ERROR(Validate(q));
  return q;
}

Result<Attribute> ParseIdentifier(std::string_view text) {
  Parser p(text, ParseLimits{});
  return p.Identifier();
}

}  // namespace vivace::traceql
