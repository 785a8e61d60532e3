#include "traceql/lexer.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace vivace::traceql {
namespace {

using scan::Attribute;
using scan::Intrinsic;
using scan::Scope;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentRune(char c) { return IsIdentStart(c) || IsDigit(c); }

struct Op2 {
  std::string_view text;
  Tok tok;
};
// Longest first, so that greedy matching picks `&>>` over `&>`.
constexpr Op2 kOperators[] = {
    {"&>>", Tok::kUnionDesc}, {"&<<", Tok::kUnionAnc}, {"!>>", Tok::kNotDesc}, {"!<<", Tok::kNotAnc},
    {"!=", Tok::kNeq},        {"=~", Tok::kRegex},     {"!~", Tok::kNotRegex}, {">=", Tok::kGte},
    {"<=", Tok::kLte},        {"&&", Tok::kAnd},       {"||", Tok::kOr},       {">>", Tok::kDesc},
    {"<<", Tok::kAnc},        {"!>", Tok::kNotChild},  {"!<", Tok::kNotParent}, {"&>", Tok::kUnionChild},
    {"&<", Tok::kUnionParent}, {"&~", Tok::kUnionSibling},
    {"{", Tok::kOpenBrace},   {"}", Tok::kCloseBrace}, {"(", Tok::kOpenParen}, {")", Tok::kCloseParen},
    {",", Tok::kComma},       {"|", Tok::kPipe},       {"=", Tok::kEq},        {">", Tok::kGt},
    {"<", Tok::kLt},          {"+", Tok::kAdd},        {"-", Tok::kSub},       {"*", Tok::kMul},
    {"/", Tok::kDiv},         {"%", Tok::kMod},        {"^", Tok::kPow},       {"!", Tok::kNot},
    {"~", Tok::kTilde},
};

struct NamedIntrinsic {
  std::string_view name;
  Intrinsic intrinsic;
};
// Unscoped (legacy) intrinsic names.
constexpr NamedIntrinsic kLegacyIntrinsics[] = {
    {"duration", Intrinsic::kDuration},
    {"name", Intrinsic::kName},
    {"status", Intrinsic::kStatus},
    {"statusMessage", Intrinsic::kStatusMessage},
    {"kind", Intrinsic::kKind},
    {"traceDuration", Intrinsic::kTraceDuration},
    {"rootName", Intrinsic::kTraceRootName},
    {"rootServiceName", Intrinsic::kTraceRootService},
    {"nestedSetLeft", Intrinsic::kNestedSetLeft},
    {"nestedSetRight", Intrinsic::kNestedSetRight},
    {"nestedSetParent", Intrinsic::kNestedSetParent},
    {"parent", Intrinsic::kParent},
};

struct ScopedIntrinsicName {
  Scope scope;
  std::string_view name;
  Intrinsic intrinsic;
};
constexpr ScopedIntrinsicName kScopedIntrinsics[] = {
    {Scope::kSpan, "duration", Intrinsic::kDuration},
    {Scope::kSpan, "name", Intrinsic::kName},
    {Scope::kSpan, "status", Intrinsic::kStatus},
    {Scope::kSpan, "statusMessage", Intrinsic::kStatusMessage},
    {Scope::kSpan, "kind", Intrinsic::kKind},
    {Scope::kSpan, "id", Intrinsic::kSpanId},
    {Scope::kSpan, "parentID", Intrinsic::kParentId},
    {Scope::kSpan, "childCount", Intrinsic::kChildCount},
    {Scope::kTrace, "duration", Intrinsic::kTraceDuration},
    {Scope::kTrace, "rootName", Intrinsic::kTraceRootName},
    {Scope::kTrace, "rootService", Intrinsic::kTraceRootService},
    {Scope::kTrace, "id", Intrinsic::kTraceId},
    {Scope::kEvent, "name", Intrinsic::kEventName},
    {Scope::kEvent, "timeSinceStart", Intrinsic::kEventTimeSinceStart},
    {Scope::kLink, "traceID", Intrinsic::kLinkTraceId},
    {Scope::kLink, "spanID", Intrinsic::kLinkSpanId},
    {Scope::kInstrumentation, "name", Intrinsic::kInstrumentationName},
    {Scope::kInstrumentation, "version", Intrinsic::kInstrumentationVersion},
};

struct NamedScope {
  std::string_view name;
  Scope scope;
};
constexpr NamedScope kScopes[] = {
    {"span", Scope::kSpan},   {"resource", Scope::kResource}, {"event", Scope::kEvent},
    {"link", Scope::kLink},   {"instrumentation", Scope::kInstrumentation}, {"trace", Scope::kTrace},
};

// Duration units, longest first within a shared prefix. Value in nanoseconds.
struct Unit {
  std::string_view text;
  double ns;
};
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1e3},
    {"\xC2\xB5s", 1e3},  // µs (micro sign)
    {"\xCE\xBCs", 1e3},  // μs (Greek mu)
    {"ms", 1e6},
    {"s", 1e9},
    {"m", 60e9},
    {"h", 3600e9},
    {"d", 86400e9},
    {"w", 7 * 86400e9},
    {"y", 365 * 86400e9},
};

}  // namespace

bool IsAttributeRune(char c) {
  if (IsSpace(c)) return false;
  switch (c) {
    case '{': case '}': case '(': case ')': case '=': case '~': case '!': case '<': case '>':
    case '&': case '|': case '^': case ',': case '"':
      return false;
    default:
      return true;
  }
}

std::string QuoteAttributeName(std::string_view name, bool force) {
  bool bare = !name.empty() && !force;
  for (char c : name) {
    if (!IsAttributeRune(c)) bare = false;
  }
  if (bare) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Token Lexer::Make(Tok kind, size_t start, size_t end) {
  Token t;
  t.kind = kind;
  t.pos = static_cast<uint32_t>(start);
  t.text = q_.substr(start, end - start);
  return t;
}

Token Lexer::Error(size_t pos, std::string message) {
  Token t = Make(Tok::kError, pos, std::min(q_.size(), pos + 1));
  t.s = std::move(message);
  pos_ = q_.size();
  return t;
}

Token Lexer::Next() {
  while (pos_ < q_.size() && IsSpace(q_[pos_])) ++pos_;
  if (pos_ >= q_.size()) return Make(Tok::kEnd, q_.size(), q_.size());
  size_t start = pos_;
  char c = q_[pos_];
  if (IsDigit(c) || (c == '.' && pos_ + 1 < q_.size() && IsDigit(q_[pos_ + 1]))) return Number(start);
  if (c == '"' || c == '`') return QuotedString(start);
  if (c == '.') {
    ++pos_;
    return AttributeAfterScope(start, pos_, Scope::kNone, false);
  }
  if (IsIdentStart(c)) return Word(start);
  for (const Op2& op : kOperators) {
    if (q_.substr(pos_, op.text.size()) == op.text) {
      pos_ += op.text.size();
      return Make(op.tok, start, pos_);
    }
  }
  return Error(start, std::string("unexpected character '") + c + "'");
}

Token Lexer::Number(size_t start) {
  size_t p = pos_;
  while (p < q_.size() && IsDigit(q_[p])) ++p;
  bool is_float = false;
  if (p < q_.size() && q_[p] == '.' && p + 1 < q_.size() && IsDigit(q_[p + 1])) {
    is_float = true;
    ++p;
    while (p < q_.size() && IsDigit(q_[p])) ++p;
  }
  // A duration: one or more (number unit) pairs, e.g. 1h30m, 1.5s, 500ms.
  auto unit_at = [&](size_t at) -> const Unit* {
    const Unit* best = nullptr;
    for (const Unit& u : kUnits) {
      if (q_.substr(at, u.text.size()) == u.text && (best == nullptr || u.text.size() > best->text.size())) best = &u;
    }
    return best;
  };
  if (unit_at(p) != nullptr) {
    double total = 0;
    size_t q = pos_;
    while (true) {
      size_t num_start = q;
      while (q < q_.size() && (IsDigit(q_[q]) || q_[q] == '.')) ++q;
      double v = 0;
      auto [ptr, ec] = std::from_chars(q_.data() + num_start, q_.data() + q, v);
      if (ec != std::errc() || ptr != q_.data() + q) return Error(start, "invalid duration");
      const Unit* u = unit_at(q);
      if (u == nullptr) return Error(start, "invalid duration");
      total += v * u->ns;
      q += u->text.size();
      if (q < q_.size() && (IsDigit(q_[q]) || q_[q] == '.')) continue;
      break;
    }
    if (q < q_.size() && IsIdentRune(q_[q])) return Error(start, "invalid duration");
    if (total > 9.2e18) return Error(start, "duration out of range");
    pos_ = q;
    Token t = Make(Tok::kDuration, start, pos_);
    t.i = static_cast<int64_t>(std::llround(total));
    return t;
  }
  if (p < q_.size() && (q_[p] == 'e' || q_[p] == 'E')) {
    size_t e = p + 1;
    if (e < q_.size() && (q_[e] == '+' || q_[e] == '-')) ++e;
    if (e < q_.size() && IsDigit(q_[e])) {
      is_float = true;
      p = e;
      while (p < q_.size() && IsDigit(q_[p])) ++p;
    }
  }
  if (p < q_.size() && IsIdentRune(q_[p])) return Error(start, "invalid number");
  pos_ = p;
  Token t = Make(is_float ? Tok::kFloat : Tok::kInt, start, pos_);
  if (is_float) {
    auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.f);
    if (ec != std::errc()) return Error(start, "invalid number " + std::string(t.text));
  } else {
    auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.i);
    if (ec != std::errc()) return Error(start, "integer out of range: " + std::string(t.text));
  }
  return t;
}

namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Token Lexer::QuotedString(size_t start) {
  char quote = q_[pos_++];
  std::string value;
  while (true) {
    if (pos_ >= q_.size()) return Error(start, "unterminated string");
    char c = q_[pos_++];
    if (c == quote) break;
    if (quote == '`') {
      value.push_back(c);
      continue;
    }
    if (c == '\n') return Error(start, "newline in string");
    if (c != '\\') {
      value.push_back(c);
      continue;
    }
    if (pos_ >= q_.size()) return Error(start, "unterminated string");
    char e = q_[pos_++];
    switch (e) {
      case 'a': value.push_back('\a'); break;
      case 'b': value.push_back('\b'); break;
      case 'f': value.push_back('\f'); break;
      case 'n': value.push_back('\n'); break;
      case 'r': value.push_back('\r'); break;
      case 't': value.push_back('\t'); break;
      case 'v': value.push_back('\v'); break;
      case '\\': value.push_back('\\'); break;
      case '"': value.push_back('"'); break;
      case '\'': return Error(pos_ - 2, "invalid escape \\' in string");
      case 'x':
      case 'u':
      case 'U': {
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 0; k < digits; ++k) {
          int h = pos_ < q_.size() ? HexValue(q_[pos_]) : -1;
          if (h < 0) return Error(pos_, "invalid escape in string");
          cp = cp * 16 + static_cast<uint32_t>(h);
          ++pos_;
        }
        if (e == 'x') {
          value.push_back(static_cast<char>(cp));
        } else {
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return Error(pos_, "invalid code point in string");
          AppendUtf8(cp, &value);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2; ++k) {
            if (pos_ >= q_.size() || q_[pos_] < '0' || q_[pos_] > '7') return Error(pos_, "invalid octal escape");
            v = v * 8 + static_cast<uint32_t>(q_[pos_++] - '0');
          }
          if (v > 255) return Error(pos_, "invalid octal escape");
          value.push_back(static_cast<char>(v));
          break;
        }
        return Error(pos_ - 2, std::string("invalid escape \\") + e + " in string");
    }
  }
  Token t = Make(Tok::kString, start, pos_);
  t.s = std::move(value);
  return t;
}

bool Lexer::AttributeName(std::string* name, std::string* error) {
  while (pos_ < q_.size()) {
    char c = q_[pos_];
    if (c == '"') {
      ++pos_;
      while (true) {
        if (pos_ >= q_.size()) {
          *error = "unterminated quoted attribute name";
          return false;
        }
        char d = q_[pos_++];
        if (d == '"') break;
        if (d == '\\') {
          if (pos_ >= q_.size() || (q_[pos_] != '"' && q_[pos_] != '\\')) {
            *error = "invalid escape in quoted attribute name (only \\\" and \\\\)";
            return false;
          }
          d = q_[pos_++];
        }
        name->push_back(d);
      }
    } else if (IsAttributeRune(c)) {
      name->push_back(c);
      ++pos_;
    } else {
      break;
    }
  }
  if (name->empty()) {
    *error = "attribute name expected";
    return false;
  }
  return true;
}

Token Lexer::AttributeAfterScope(size_t start, size_t name_start, Scope scope, bool parent) {
  pos_ = name_start;
  std::string name, error;
  if (!AttributeName(&name, &error)) return Error(start, error);
  Token t = Make(Tok::kAttribute, start, pos_);
  t.attr = Attribute::Named(scope, std::move(name));
  t.attr.parent = parent;
  return t;
}

Token Lexer::ScopedIntrinsic(size_t start, Scope scope, size_t name_start) {
  size_t p = name_start;
  while (p < q_.size() && IsIdentRune(q_[p])) ++p;
  std::string_view name = q_.substr(name_start, p - name_start);
  for (const ScopedIntrinsicName& s : kScopedIntrinsics) {
    if (s.scope == scope && s.name == name) {
      pos_ = p;
      Token t = Make(Tok::kAttribute, start, pos_);
      t.attr = Attribute::Of(s.intrinsic, scope);
      return t;
    }
  }
  return Error(start, "unknown intrinsic " + std::string(q_.substr(start, p - start)));
}

Token Lexer::Word(size_t start) {
  size_t p = pos_;
  while (p < q_.size() && IsIdentRune(q_[p])) ++p;
  std::string_view word = q_.substr(start, p - start);
  if (p < q_.size() && (q_[p] == '.' || q_[p] == ':')) {
    bool colon = q_[p] == ':';
    if (word == "parent" && !colon) {
      // parent.x, parent.span.x, parent.resource.x
      size_t n = p + 1;
      Scope scope = Scope::kNone;
      for (std::string_view s : {std::string_view("span."), std::string_view("resource.")}) {
        if (q_.substr(n, s.size()) == s) {
          scope = s[0] == 's' ? Scope::kSpan : Scope::kResource;
          n += s.size();
          break;
        }
      }
      return AttributeAfterScope(start, n, scope, true);
    }
    for (const NamedScope& s : kScopes) {
      if (s.name != word) continue;
      if (colon) return ScopedIntrinsic(start, s.scope, p + 1);
      if (s.scope == Scope::kTrace) break;  // `trace.` is not a scope
      return AttributeAfterScope(start, p + 1, s.scope, false);
    }
  }
  pos_ = p;
  for (const NamedIntrinsic& n : kLegacyIntrinsics) {
    if (n.name == word) {
      Token t = Make(Tok::kAttribute, start, pos_);
      t.attr = Attribute::Of(n.intrinsic);
      return t;
    }
  }
  return Make(Tok::kIdent, start, pos_);
}

}  // namespace vivace::traceql
