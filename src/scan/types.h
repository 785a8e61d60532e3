#pragma once
// The vocabulary the TraceQL engine and the storage layers share: typed values (statics),
// attributes (scoped names and intrinsics) and operators. TraceQL's AST is built from these, and
// a FetchRequest (fetch.h) speaks them to the fetchers that prune and scan storage.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vivace::scan {

/// TraceQL's static types (Tempo's enum_statics.go), minus the internal spanset/attribute ones.
enum class StaticType : uint8_t {
  kNil = 0,
  kInt,
  kFloat,
  kString,
  kBool,
  kDuration,
  kStatus,
  kKind,
  kIntArray,
  kFloatArray,
  kStringArray,
  kBoolArray,
};
std::string_view StaticTypeName(StaticType t);
/// int, float and duration mix freely in arithmetic and comparisons.
inline bool IsNumeric(StaticType t) {
  return t == StaticType::kInt || t == StaticType::kFloat || t == StaticType::kDuration;
}

/// A typed value: a literal of a query, or an attribute value in a result. Durations are
/// nanoseconds in `i`; status and kind the OTLP enum numbers (model::StatusCode,
/// model::SpanKind) in `i`. Arrays (attribute values only, never literals) hold their elements
/// in `array`.
struct Static {
  StaticType type = StaticType::kNil;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  std::vector<Static> array;

  static Static Nil() { return {}; }
  static Static Int(int64_t v) { return {StaticType::kInt, v, 0, false, {}, {}}; }
  static Static Float(double v) { return {StaticType::kFloat, 0, v, false, {}, {}}; }
  static Static String(std::string v) { return {StaticType::kString, 0, 0, false, std::move(v), {}}; }
  static Static Bool(bool v) { return {StaticType::kBool, 0, 0, v, {}, {}}; }
  static Static Duration(int64_t ns) { return {StaticType::kDuration, ns, 0, false, {}, {}}; }
  static Static Status(int64_t code) { return {StaticType::kStatus, code, 0, false, {}, {}}; }
  static Static Kind(int64_t kind) { return {StaticType::kKind, kind, 0, false, {}, {}}; }

  /// The value as a double, for numeric types.
  double AsFloat() const { return type == StaticType::kFloat ? f : static_cast<double>(i); }
  bool operator==(const Static& o) const = default;
};

/// Where an attribute is looked up. kNone is the unscoped `.x` (span, else resource) and the
/// legacy unscoped intrinsics (`duration`, `name`...).
enum class Scope : uint8_t { kNone = 0, kSpan, kResource, kEvent, kLink, kInstrumentation, kTrace };
std::string_view ScopeName(Scope s);

/// Fields every span has, addressable by name (Tempo's intrinsics).
enum class Intrinsic : uint8_t {
  kNone = 0,
  kDuration,
  kName,
  kStatus,
  kStatusMessage,
  kKind,
  kSpanId,
  kParentId,
  kChildCount,
  kTraceDuration,
  kTraceRootName,
  kTraceRootService,
  kTraceId,
  kEventName,
  kEventTimeSinceStart,
  kLinkTraceId,
  kLinkSpanId,
  kInstrumentationName,
  kInstrumentationVersion,
  kNestedSetLeft,
  kNestedSetRight,
  kNestedSetParent,
  kParent,  // `parent`: parses, unsupported
};
/// The type an intrinsic evaluates to (kNil for kParent).
StaticType IntrinsicType(Intrinsic i);

/// A field reference: an intrinsic, or a named attribute in a scope. `parent` marks the
/// unsupported `parent.` forms.
struct Attribute {
  Scope scope = Scope::kNone;
  Intrinsic intrinsic = Intrinsic::kNone;
  bool parent = false;
  std::string name;  // attribute name, empty for intrinsics

  static Attribute Named(Scope scope, std::string name) { return {scope, Intrinsic::kNone, false, std::move(name)}; }
  static Attribute Of(Intrinsic i, Scope scope = Scope::kNone) { return {scope, i, false, {}}; }
  bool is_intrinsic() const { return intrinsic != Intrinsic::kNone; }
  bool operator==(const Attribute& o) const = default;
};

/// Operators of field expressions and spanset expressions.
enum class Op : uint8_t {
  kNone = 0,
  // arithmetic
  kAdd, kSub, kMul, kDiv, kMod, kPow,
  // comparison
  kEq, kNeq, kRegex, kNotRegex, kGt, kGte, kLt, kLte,
  // boolean
  kAnd, kOr, kNot,
  // unary minus, and the nil forms: `x != nil` (exists), `x = nil` (not exists)
  kNeg, kExists, kNotExists,
  // spanset operators
  kSpansetAnd, kSpansetUnion,
  kChild, kParent, kDescendant, kAncestor, kSibling,
  kNotChild, kNotParent, kNotDescendant, kNotAncestor, kNotSibling,
  kUnionChild, kUnionParent, kUnionDescendant, kUnionAncestor, kUnionSibling,
};
/// The operator as written in TraceQL ("=~", "&>>"...).
std::string_view OpText(Op op);
inline bool IsComparison(Op op) { return op >= Op::kEq && op <= Op::kLte; }
inline bool IsArithmetic(Op op) { return op >= Op::kAdd && op <= Op::kPow; }
inline bool IsBoolean(Op op) { return op == Op::kAnd || op == Op::kOr; }
inline bool IsSpansetOp(Op op) { return op >= Op::kSpansetAnd; }
/// Whether comparison `op` holds for a three-way comparison result `c` (<0, 0, >0).
inline bool ComparisonHolds(Op op, int c) {
  switch (op) {
    case Op::kEq: return c == 0;
    case Op::kNeq: return c != 0;
    case Op::kLt: return c < 0;
    case Op::kLte: return c <= 0;
    case Op::kGt: return c > 0;
    case Op::kGte: return c >= 0;
    default: return false;
  }
}

}  // namespace vivace::scan
