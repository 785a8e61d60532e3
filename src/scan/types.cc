#include "scan/types.h"

namespace vivace::scan {

std::string_view StaticTypeName(StaticType t) {
  switch (t) {
    case StaticType::kNil: return "nil";
    case StaticType::kInt: return "int";
    case StaticType::kFloat: return "float";
    case StaticType::kString: return "string";
    case StaticType::kBool: return "bool";
    case StaticType::kDuration: return "duration";
    case StaticType::kStatus: return "status";
    case StaticType::kKind: return "kind";
    case StaticType::kIntArray: return "int[]";
    case StaticType::kFloatArray: return "float[]";
    case StaticType::kStringArray: return "string[]";
    case StaticType::kBoolArray: return "bool[]";
  }
  return "?";
}

std::string_view ScopeName(Scope s) {
  switch (s) {
    case Scope::kNone: return "";
    case Scope::kSpan: return "span";
    case Scope::kResource: return "resource";
    case Scope::kEvent: return "event";
    case Scope::kLink: return "link";
    case Scope::kInstrumentation: return "instrumentation";
    case Scope::kTrace: return "trace";
  }
  return "?";
}

StaticType IntrinsicType(Intrinsic i) {
  switch (i) {
    case Intrinsic::kDuration:
    case Intrinsic::kTraceDuration:
    case Intrinsic::kEventTimeSinceStart: return StaticType::kDuration;
    case Intrinsic::kStatus: return StaticType::kStatus;
    case Intrinsic::kKind: return StaticType::kKind;
    case Intrinsic::kChildCount:
    case Intrinsic::kNestedSetLeft:
    case Intrinsic::kNestedSetRight:
    case Intrinsic::kNestedSetParent: return StaticType::kInt;
    case Intrinsic::kNone:
    case Intrinsic::kParent: return StaticType::kNil;
    default: return StaticType::kString;
  }
}

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kNone: return "";
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kPow: return "^";
    case Op::kEq: return "=";
    case Op::kNeq: return "!=";
    case Op::kRegex: return "=~";
    case Op::kNotRegex: return "!~";
    case Op::kGt: return ">";
    case Op::kGte: return ">=";
    case Op::kLt: return "<";
    case Op::kLte: return "<=";
    case Op::kAnd: return "&&";
    case Op::kOr: return "||";
    case Op::kNot: return "!";
    case Op::kNeg: return "-";
    case Op::kExists: return "!= nil";
    case Op::kNotExists: return "= nil";
    case Op::kSpansetAnd: return "&&";
    case Op::kSpansetUnion: return "||";
    case Op::kChild: return ">";
    case Op::kParent: return "<";
    case Op::kDescendant: return ">>";
    case Op::kAncestor: return "<<";
    case Op::kSibling: return "~";
    case Op::kNotChild: return "!>";
    case Op::kNotParent: return "!<";
    case Op::kNotDescendant: return "!>>";
    case Op::kNotAncestor: return "!<<";
    case Op::kNotSibling: return "!~";
    case Op::kUnionChild: return "&>";
    case Op::kUnionParent: return "&<";
    case Op::kUnionDescendant: return "&>>";
    case Op::kUnionAncestor: return "&<<";
    case Op::kUnionSibling: return "&~";
  }
  return "?";
}

}  // namespace vivace::scan
