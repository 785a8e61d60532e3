#include "processors/ottl_condition.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "processors/attr_values.h"

namespace vivace::processors {

using model::SpanBatch;
using model::Value;
using model::ValueKind;

namespace {

enum class Field : uint8_t {
  kLiteral,
  kIsMatch,
  kSpanAttribute,
  kResourceAttribute,
  kScopeAttribute,
  kName,
  kKind,
  kKindString,
  kStatusCode,
  kStatusMessage,
  kTraceId,
  kSpanId,
  kParentSpanId,
  kTraceState,
  kFlags,
  kStartTime,
  kEndTime,
  kDroppedAttributes,
  kDroppedEvents,
  kDroppedLinks,
  kResourceDroppedAttributes,
  kScopeName,
  kScopeVersion,
  kScopeDroppedAttributes,
};

enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
enum class NodeKind : uint8_t { kOr, kAnd, kNot, kCompare, kBool };

// A value as OTTL's getters return it.
struct OVal {
  enum class Kind : uint8_t { kNil, kString, kInt, kDouble, kBool, kOther };
  Kind kind = Kind::kNil;
  std::string_view s;
  int64_t i = 0;
  double d = 0;
  bool b = false;

  static OVal Str(std::string_view v) {
    OVal o;
    o.kind = Kind::kString;
    o.s = v;
    return o;
  }
  static OVal Int(int64_t v) {
    OVal o;
    o.kind = Kind::kInt;
    o.i = v;
    return o;
  }
  static OVal Bool(bool v) {
    OVal o;
    o.kind = Kind::kBool;
    o.b = v;
    return o;
  }
};

OVal FromValue(const Value* v) {
  if (v == nullptr) return OVal();
  OVal o;
  switch (v->kind) {
    case ValueKind::kEmpty:
      return o;
    case ValueKind::kString:
      return OVal::Str(v->string());
    case ValueKind::kInt:
      return OVal::Int(v->i);
    case ValueKind::kDouble:
      o.kind = OVal::Kind::kDouble;
      o.d = v->d;
      return o;
    case ValueKind::kBool:
      return OVal::Bool(v->b);
    default:
      o.kind = OVal::Kind::kOther;
      return o;
  }
}

template <typename T>
bool Ordered(const T& a, const T& b, Op op) {
  switch (op) {
    case Op::kEq:
      return a == b;
    case Op::kNe:
      return a != b;
    case Op::kLt:
      return a < b;
    case Op::kLe:
      return a <= b;
    case Op::kGt:
      return a > b;
    case Op::kGe:
      return a >= b;
  }
  return false;
}

// OTTL's compare (pkg/ottl/compare.go).
bool Compare(const OVal& a, const OVal& b, Op op) {
  using K = OVal::Kind;
  if (a.kind == K::kNil && b.kind == K::kNil)
    return op == Op::kEq || op == Op::kLe || op == Op::kGe;
  bool invalid = op == Op::kNe;  // values of different types are only unequal
  switch (a.kind) {
    case K::kBool:
      if (b.kind != K::kBool) return invalid;
      return Ordered(static_cast<int>(a.b), static_cast<int>(b.b), op);
    case K::kInt:
      if (b.kind == K::kInt) return Ordered(a.i, b.i, op);
      if (b.kind == K::kDouble) return Ordered(static_cast<double>(a.i), b.d, op);
      return invalid;
    case K::kDouble:
      if (b.kind == K::kInt) return Ordered(a.d, static_cast<double>(b.i), op);
      if (b.kind == K::kDouble) return Ordered(a.d, b.d, op);
      return invalid;
    case K::kString:
      if (b.kind != K::kString) return invalid;
      return Ordered(a.s, b.s, op);
    default:
      return invalid;
  }
}

std::string_view HexId(const uint8_t* bytes, size_t n, char* buf) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool zero = true;
  for (size_t k = 0; k < n; ++k) zero &= bytes[k] == 0;
  if (zero) return {};  // pcommon: an empty id's String() is ""
  for (size_t k = 0; k < n; ++k) {
    buf[2 * k] = kHex[bytes[k] >> 4];
    buf[2 * k + 1] = kHex[bytes[k] & 15];
  }
  return {buf, 2 * n};
}

constexpr std::string_view kKindStrings[] = {"Unspecified", "Internal", "Server",
                                             "Client",      "Producer", "Consumer"};

struct Enum {
  std::string_view name;
  int64_t value;
};
constexpr Enum kEnums[] = {
    {"SPAN_KIND_UNSPECIFIED", 0}, {"SPAN_KIND_INTERNAL", 1}, {"SPAN_KIND_SERVER", 2},
    {"SPAN_KIND_CLIENT", 3},      {"SPAN_KIND_PRODUCER", 4}, {"SPAN_KIND_CONSUMER", 5},
    {"STATUS_CODE_UNSET", 0},     {"STATUS_CODE_OK", 1},     {"STATUS_CODE_ERROR", 2},
};

// Paths by context, relative to the context prefix.
struct PathField {
  std::string_view path;
  Field field;
};
constexpr PathField kSpanFields[] = {
    {"name", Field::kName},
    {"attributes", Field::kSpanAttribute},
    {"kind", Field::kKind},
    {"kind.string", Field::kKindString},
    {"status.code", Field::kStatusCode},
    {"status.message", Field::kStatusMessage},
    {"trace_id.string", Field::kTraceId},
    {"span_id.string", Field::kSpanId},
    {"parent_span_id.string", Field::kParentSpanId},
    {"trace_state", Field::kTraceState},
    {"flags", Field::kFlags},
    {"start_time_unix_nano", Field::kStartTime},
    {"end_time_unix_nano", Field::kEndTime},
    {"dropped_attributes_count", Field::kDroppedAttributes},
    {"dropped_events_count", Field::kDroppedEvents},
    {"dropped_links_count", Field::kDroppedLinks},
};
constexpr PathField kResourceFields[] = {
    {"attributes", Field::kResourceAttribute},
    {"dropped_attributes_count", Field::kResourceDroppedAttributes},
};
constexpr PathField kScopeFields[] = {
    {"name", Field::kScopeName},
    {"version", Field::kScopeVersion},
    {"attributes", Field::kScopeAttribute},
    {"dropped_attributes_count", Field::kScopeDroppedAttributes},
};

enum class Tok : uint8_t {
  kEnd,
  kIdent,
  kString,
  kInt,
  kFloat,
  kLBracket,
  kRBracket,
  kLParen,
  kRParen,
  kComma,
  kDot,
  kOp
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;  // as written
  size_t pos = 0;
  std::string str;  // kString: the unescaped value
  Op op = Op::kEq;
};

}  // namespace

struct OttlCondition::Operand {
  Field field = Field::kLiteral;
  OVal literal;         // kLiteral; a string literal's bytes are in `text`
  std::string text;     // string literal, or the attribute key
  uint32_t target = 0;  // kIsMatch: operand index of the target
  uint32_t regex = 0;   // kIsMatch: index into regexes_
};

struct OttlCondition::Node {
  NodeKind kind = NodeKind::kBool;
  Op op = Op::kEq;
  uint32_t a =
      0;  // kOr/kAnd: first index into children_; kNot: child node; kCompare/kBool: operand
  uint32_t b = 0;  // kOr/kAnd: child count; kCompare: right operand
};

class OttlCondition::Parser {
 public:
  Parser(OttlCondition& out, OttlContext context) : out_(out), context_(context) {}

  Status Run() {
    VV_RETURN_IF_ERROR(Lex());
    VV_ASSIGN_OR_RETURN(uint32_t root, ParseOr());
    (void)root;  // the root is the last node pushed
    if (Cur().kind != Tok::kEnd)
      return Error(Cur(), "unexpected \"" + std::string(Cur().text) + "\"");
    if (context_ == OttlContext::kInferred) {
      out_.context_ = used_span_       ? OttlContext::kSpan
                      : used_scope_    ? OttlContext::kScope
                      : used_resource_ ? OttlContext::kResource
                                       : OttlContext::kSpan;
    } else {
      out_.context_ = context_;
    }
    return Status::OK();
  }

 private:
  Status Error(size_t pos, std::string_view what) const {
    return InvalidArgument("condition `" + out_.text_ + "`: " + std::string(what) + " (at offset " +
                           std::to_string(pos) + ")");
  }
  Status Error(const Token& t, std::string_view what) const { return Error(t.pos, what); }

  const Token& Cur() const { return tokens_[pos_]; }
  bool IsWord(std::string_view w) const { return Cur().kind == Tok::kIdent && Cur().text == w; }
  Status Expect(Tok kind, std::string_view what) {
    if (Cur().kind != kind) return Error(Cur(), "expected " + std::string(what));
    ++pos_;
    return Status::OK();
  }

  Status Lex() {
    std::string_view s = out_.text_;
    size_t i = 0;
    auto digit = [&](size_t k) {
      return k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]));
    };
    while (true) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      Token t;
      t.pos = i;
      if (i == s.size()) {
        tokens_.push_back(std::move(t));
        return Status::OK();
      }
      char c = s[i];
      size_t start = i;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
        t.kind = Tok::kIdent;
      } else if (digit(i) || ((c == '-' || c == '+') && digit(i + 1))) {
        ++i;
        while (digit(i)) ++i;
        t.kind = Tok::kInt;
        if (i < s.size() && s[i] == '.' && digit(i + 1)) {
          ++i;
          while (digit(i)) ++i;
          t.kind = Tok::kFloat;
        }
        if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
          size_t k = i + 1;
          if (k < s.size() && (s[k] == '-' || s[k] == '+')) ++k;
          if (digit(k)) {
            i = k;
            while (digit(i)) ++i;
            t.kind = Tok::kFloat;
          }
        }
      } else if (c == '"') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          char d = s[i++];
          if (d == '"') {
            closed = true;
            break;
          }
          if (d == '\\' && i < s.size()) {
            char e = s[i++];
            switch (e) {
              case 'n':
                t.str += '\n';
                break;
              case 't':
                t.str += '\t';
                break;
              case 'r':
                t.str += '\r';
                break;
              default:
                t.str += e;  // \" \\ and anything else: the character itself
            }
            continue;
          }
          t.str += d;
        }
        if (!closed) return Error(start, "unterminated string");
        t.kind = Tok::kString;
      } else if ((c == '=' || c == '!' || c == '<' || c == '>') && i + 1 < s.size() &&
                 s[i + 1] == '=') {
        t.kind = Tok::kOp;
        t.op = c == '=' ? Op::kEq : c == '!' ? Op::kNe : c == '<' ? Op::kLe : Op::kGe;
        i += 2;
      } else if (c == '<' || c == '>') {
        t.kind = Tok::kOp;
        t.op = c == '<' ? Op::kLt : Op::kGt;
        ++i;
      } else {
        switch (c) {
          case '[':
            t.kind = Tok::kLBracket;
            break;
          case ']':
            t.kind = Tok::kRBracket;
            break;
          case '(':
            t.kind = Tok::kLParen;
            break;
          case ')':
            t.kind = Tok::kRParen;
            break;
          case ',':
            t.kind = Tok::kComma;
            break;
          case '.':
            t.kind = Tok::kDot;
            break;
          default:
            return Error(start,
                         std::string("unsupported character '") + c +
                             "' (math expressions, map literals and editors are not supported)");
        }
        ++i;
      }
      t.text = s.substr(start, i - start);
      tokens_.push_back(std::move(t));
    }
  }

  uint32_t PushNode(Node n) {
    out_.nodes_.push_back(n);
    return static_cast<uint32_t>(out_.nodes_.size() - 1);
  }
  uint32_t PushOperand(Operand o) {
    out_.operands_.push_back(std::move(o));
    return static_cast<uint32_t>(out_.operands_.size() - 1);
  }

  // or / and chains.
  Result<uint32_t> ParseChain(NodeKind kind) {
    std::string_view word = kind == NodeKind::kOr ? "or" : "and";
    auto sub = [&]() { return kind == NodeKind::kOr ? ParseChain(NodeKind::kAnd) : ParseTerm(); };
    VV_ASSIGN_OR_RETURN(uint32_t first, sub());
    if (!IsWord(word)) return first;
    std::vector<uint32_t> kids{first};
    while (IsWord(word)) {
      ++pos_;
      VV_ASSIGN_OR_RETURN(uint32_t k, sub());
      kids.push_back(k);
    }
    Node n;
    n.kind = kind;
    n.a = static_cast<uint32_t>(out_.children_.size());
    n.b = static_cast<uint32_t>(kids.size());
    out_.children_.insert(out_.children_.end(), kids.begin(), kids.end());
    return PushNode(n);
  }
  Result<uint32_t> ParseOr() { return ParseChain(NodeKind::kOr); }

  Result<uint32_t> ParseTerm() {
    if (++depth_ > 64) return Error(Cur(), "expression nested too deeply");
    Result<uint32_t> r = ParseTermInner();
    --depth_;
    return r;
  }

  Result<uint32_t> ParseTermInner() {
    if (IsWord("not")) {
      ++pos_;
      VV_ASSIGN_OR_RETURN(uint32_t child, ParseTerm());
      Node n;
      n.kind = NodeKind::kNot;
      n.a = child;
      return PushNode(n);
    }
    if (Cur().kind == Tok::kLParen) {
      ++pos_;
      VV_ASSIGN_OR_RETURN(uint32_t inner, ParseOr());
      VV_RETURN_IF_ERROR(Expect(Tok::kRParen, "\")\""));
      return inner;
    }
    const Token& start = Cur();
    VV_ASSIGN_OR_RETURN(uint32_t lhs, ParseOperand());
    if (Cur().kind == Tok::kOp) {
      Op op = Cur().op;
      ++pos_;
      VV_ASSIGN_OR_RETURN(uint32_t rhs, ParseOperand());
      Node n;
      n.kind = NodeKind::kCompare;
      n.op = op;
      n.a = lhs;
      n.b = rhs;
      return PushNode(n);
    }
    const Operand& o = out_.operands_[lhs];
    bool boolean = o.field == Field::kIsMatch ||
                   (o.field == Field::kLiteral && o.literal.kind == OVal::Kind::kBool);
    if (!boolean) {
      return Error(Cur(), "expected a comparison operator (==, !=, <, <=, >, >=) after \"" +
                              std::string(start.text) + "\"");
    }
    Node n;
    n.kind = NodeKind::kBool;
    n.a = lhs;
    return PushNode(n);
  }

  Result<uint32_t> ParseOperand() {
    const Token& t = Cur();
    Operand o;
    switch (t.kind) {
      case Tok::kString:
        o.literal.kind = OVal::Kind::kString;
        o.text = t.str;
        ++pos_;
        return PushOperand(std::move(o));
      case Tok::kInt: {
        std::string_view digits = t.text;
        if (digits[0] == '+') digits.remove_prefix(1);
        int64_t v = 0;
        auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
          return Error(t, "integer " + std::string(t.text) + " out of range");
        }
        o.literal = OVal::Int(v);
        ++pos_;
        return PushOperand(std::move(o));
      }
      case Tok::kFloat:
        o.literal.kind = OVal::Kind::kDouble;
        o.literal.d = std::strtod(std::string(t.text).c_str(), nullptr);
        ++pos_;
        return PushOperand(std::move(o));
      case Tok::kIdent:
        break;
      case Tok::kLBracket:
        return Error(t, "list literals are not supported");
      case Tok::kEnd:
        return Error(t, "expected a value, found the end of the condition");
      default:
        return Error(t, "expected a value, found \"" + std::string(t.text) + "\"");
    }
    if (t.text == "nil") {
      ++pos_;
      return PushOperand(std::move(o));
    }
    if (t.text == "true" || t.text == "false") {
      o.literal = OVal::Bool(t.text == "true");
      ++pos_;
      return PushOperand(std::move(o));
    }
    if (t.text == "and" || t.text == "or" || t.text == "not") {
      return Error(t, "expected a value, found \"" + std::string(t.text) + "\"");
    }
    if (tokens_[pos_ + 1].kind == Tok::kLParen) {
      if (t.text != "IsMatch") {
        return Error(
            t, "unsupported function " + std::string(t.text) + " (only IsMatch is supported)");
      }
      return ParseIsMatch();
    }
    if (std::isupper(static_cast<unsigned char>(t.text[0]))) {
      for (const Enum& e : kEnums) {
        if (e.name == t.text) {
          o.literal = OVal::Int(e.value);
          ++pos_;
          return PushOperand(std::move(o));
        }
      }
      return Error(t, "enum symbol " + std::string(t.text) + " not found");
    }
    return ParsePath();
  }

  Result<uint32_t> ParseIsMatch() {
    pos_ += 2;  // IsMatch (
    VV_ASSIGN_OR_RETURN(uint32_t target, ParseOperand());
    VV_RETURN_IF_ERROR(Expect(Tok::kComma, "\",\" between the arguments of IsMatch"));
    if (Cur().kind != Tok::kString)
      return Error(Cur(), "the pattern of IsMatch must be a string literal");
    auto re = CompileGoRegexp(Cur().str);
    if (!re.ok()) return Error(Cur(), re.status().message());
    ++pos_;
    VV_RETURN_IF_ERROR(Expect(Tok::kRParen, "\")\" closing IsMatch(target, pattern)"));
    Operand o;
    o.field = Field::kIsMatch;
    o.target = target;
    o.regex = static_cast<uint32_t>(out_.regexes_.size());
    out_.regexes_.push_back(std::move(re).value());
    return PushOperand(std::move(o));
  }

  Result<uint32_t> ParsePath() {
    const Token& first = Cur();
    std::vector<std::string_view> segs{first.text};
    ++pos_;
    while (Cur().kind == Tok::kDot) {
      ++pos_;
      if (Cur().kind != Tok::kIdent) return Error(Cur(), "expected a path segment after \".\"");
      segs.push_back(Cur().text);
      ++pos_;
    }
    Operand o;
    bool has_key = false;
    if (Cur().kind == Tok::kLBracket) {
      ++pos_;
      if (Cur().kind != Tok::kString)
        return Error(Cur(), "only string keys are supported in [...]");
      o.text = Cur().str;
      ++pos_;
      VV_RETURN_IF_ERROR(Expect(Tok::kRBracket, "\"]\""));
      has_key = true;
      if (Cur().kind == Tok::kLBracket || Cur().kind == Tok::kDot) {
        return Error(Cur(), "indexing into nested values is not supported");
      }
    }
    std::string path;
    for (std::string_view s : segs) path += (path.empty() ? "" : ".") + std::string(s);
    VV_ASSIGN_OR_RETURN(o.field, Resolve(segs, first, path));
    bool attribute = o.field == Field::kSpanAttribute || o.field == Field::kResourceAttribute ||
                     o.field == Field::kScopeAttribute;
    if (attribute && !has_key)
      return Error(first,
                   "path \"" + path + "\" must be indexed with a key: " + path + "[\"key\"]");
    if (!attribute && has_key) return Error(first, "path \"" + path + "\" cannot be indexed");
    return PushOperand(std::move(o));
  }

  // `path` is the whole dotted path; its first segment may name the context.
  Result<Field> Resolve(const std::vector<std::string_view>& segs, const Token& at,
                        const std::string& path) {
    std::string_view head = segs[0];
    std::string_view rest = segs.size() > 1 ? std::string_view(path).substr(head.size() + 1) : "";
    if (head == "spanevent") {
      return Error(
          at, "span event paths (spanevent.*) are not supported: this filter drops whole spans");
    }
    if (head == "resource") return Lookup(kResourceFields, rest, at, path, used_resource_);
    if (head == "scope" || head == "instrumentation_scope") {
      if (context_ == OttlContext::kResource) {
        return Error(at, "scope paths are not available in the resource context");
      }
      return Lookup(kScopeFields, rest, at, path, used_scope_);
    }
    if (head == "span") {
      if (context_ == OttlContext::kResource || context_ == OttlContext::kScope) {
        return Error(at,
                     "span paths are not available in the " +
                         std::string(context_ == OttlContext::kResource ? "resource" : "scope") +
                         " context");
      }
      return Lookup(kSpanFields, rest, at, path, used_span_);
    }
    switch (context_) {
      case OttlContext::kSpan:
        return Lookup(kSpanFields, path, at, path, used_span_);
      case OttlContext::kResource:
        return Lookup(kResourceFields, path, at, path, used_resource_);
      case OttlContext::kScope:
        return Lookup(kScopeFields, path, at, path, used_scope_);
      case OttlContext::kInferred:
        break;
    }
    return Error(
        at, "path \"" + path +
                "\" has no context prefix, so its context cannot be inferred: write span." + path +
                ", resource." + path + " or scope." + path);
  }

  template <size_t N>
  Result<Field> Lookup(const PathField (&fields)[N], std::string_view rel, const Token& at,
                       const std::string& path, bool& used) {
    used = true;
    for (const PathField& f : fields) {
      if (f.path == rel) return f.field;
    }
    return Error(at, "unsupported path \"" + path + "\"");
  }

  OttlCondition& out_;
  OttlContext context_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool used_span_ = false;
  bool used_scope_ = false;
  bool used_resource_ = false;
};

OttlCondition::OttlCondition() = default;
OttlCondition::OttlCondition(OttlCondition&&) noexcept = default;
OttlCondition& OttlCondition::operator=(OttlCondition&&) noexcept = default;
OttlCondition::~OttlCondition() = default;

Result<OttlCondition> OttlCondition::Parse(std::string_view text, OttlContext context) {
  OttlCondition c;
  c.text_ = std::string(text);
  Parser parser(c, context);
  VV_RETURN_IF_ERROR(parser.Run());
  return c;
}

bool OttlCondition::Eval(const SpanBatch& batch, size_t span) const {
  return EvalNode(static_cast<uint32_t>(nodes_.size() - 1), batch, span);
}

namespace {

// The value of one operand for one span; `buf` (32 bytes) holds the hex text of an id.
OVal EvalOperand(const std::vector<OttlCondition::Operand>& operands,
                 const std::vector<std::unique_ptr<re2::RE2>>& regexes, uint32_t index,
                 const SpanBatch& b, size_t i, char* buf) {
  const OttlCondition::Operand& o = operands[index];
  auto scope = [&]() -> const model::Scope& { return b.scopes[b.span_scope[i]]; };
  auto resource = [&]() -> const model::Resource& { return b.resources[scope().resource]; };
  switch (o.field) {
    case Field::kLiteral: {
      OVal v = o.literal;
      if (v.kind == OVal::Kind::kString) v.s = o.text;
      return v;
    }
    case Field::kIsMatch: {
      char target_buf[32];
      OVal t = EvalOperand(operands, regexes, o.target, b, i, target_buf);
      Value as_value;
      switch (t.kind) {
        case OVal::Kind::kString:
          return OVal::Bool(RegexpFind(*regexes[o.regex], t.s));
        case OVal::Kind::kInt:
          as_value = Value::Int(t.i);
          break;
        case OVal::Kind::kDouble:
          as_value = Value::Double(t.d);
          break;
        case OVal::Kind::kBool:
          as_value = Value::Bool(t.b);
          break;
        default:
          return OVal::Bool(false);  // nil never matches; maps, lists and bytes are not converted
      }
      ScalarText text;
      text.Set(as_value);
      return OVal::Bool(RegexpFind(*regexes[o.regex], text.view()));
    }
    case Field::kSpanAttribute:
      return FromValue(FindAttribute(b, b.span_attributes[i], o.text));
    case Field::kResourceAttribute:
      return FromValue(FindAttribute(b, resource().attributes, o.text));
    case Field::kScopeAttribute:
      return FromValue(FindAttribute(b, scope().attributes, o.text));
    case Field::kName:
      return OVal::Str(b.name[i]);
    case Field::kKind:
      return OVal::Int(static_cast<int64_t>(b.kind[i]));
    case Field::kKindString: {
      auto k = static_cast<size_t>(b.kind[i]);
      return OVal::Str(k < std::size(kKindStrings) ? kKindStrings[k] : std::string_view());
    }
    case Field::kStatusCode:
      return OVal::Int(static_cast<int64_t>(b.status_code[i]));
    case Field::kStatusMessage:
      return OVal::Str(b.status_message[i]);
    case Field::kTraceId:
      return OVal::Str(HexId(b.trace_id[i].bytes.data(), 16, buf));
    case Field::kSpanId:
      return OVal::Str(HexId(b.span_id[i].bytes.data(), 8, buf));
    case Field::kParentSpanId:
      return OVal::Str(HexId(b.parent_span_id[i].bytes.data(), 8, buf));
    case Field::kTraceState:
      return OVal::Str(b.trace_state[i]);
    case Field::kFlags:
      return OVal::Int(b.flags[i]);
    case Field::kStartTime:
      return OVal::Int(static_cast<int64_t>(b.start_unix_nano[i]));
    case Field::kEndTime:
      return OVal::Int(static_cast<int64_t>(b.end_unix_nano[i]));
    case Field::kDroppedAttributes:
      return OVal::Int(b.dropped_attributes_count[i]);
    case Field::kDroppedEvents:
      return OVal::Int(b.dropped_events_count[i]);
    case Field::kDroppedLinks:
      return OVal::Int(b.dropped_links_count[i]);
    case Field::kResourceDroppedAttributes:
      return OVal::Int(resource().dropped_attributes_count);
    case Field::kScopeName:
      return OVal::Str(scope().name);
    case Field::kScopeVersion:
      return OVal::Str(scope().version);
    case Field::kScopeDroppedAttributes:
      return OVal::Int(scope().dropped_attributes_count);
  }
  return OVal();
}

}  // namespace

bool OttlCondition::EvalNode(uint32_t index, const SpanBatch& batch, size_t span) const {
  const Node& n = nodes_[index];
  switch (n.kind) {
    case NodeKind::kOr:
      for (uint32_t k = 0; k < n.b; ++k) {
        if (EvalNode(children_[n.a + k], batch, span)) return true;
      }
      return false;
    case NodeKind::kAnd:
      for (uint32_t k = 0; k < n.b; ++k) {
        if (!EvalNode(children_[n.a + k], batch, span)) return false;
      }
      return true;
    case NodeKind::kNot:
      return !EvalNode(n.a, batch, span);
    case NodeKind::kCompare: {
      char lbuf[32];
      char rbuf[32];
      OVal l = EvalOperand(operands_, regexes_, n.a, batch, span, lbuf);
      OVal r = EvalOperand(operands_, regexes_, n.b, batch, span, rbuf);
      return Compare(l, r, n.op);
    }
    case NodeKind::kBool: {
      char buf[32];
      OVal v = EvalOperand(operands_, regexes_, n.a, batch, span, buf);
      return v.kind == OVal::Kind::kBool && v.b;
    }
  }
  return false;
}

}  // namespace vivace::processors
