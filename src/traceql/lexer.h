#pragma once
// TraceQL's lexer: tokens are views into the query text with their byte offset, and a malformed
// input yields an error token (never an exception), so the parser reports positions for free.
// Lexical rules follow Tempo (reference/tempo.md §1.1): Go-style double-quoted and backtick
// strings, numbers tried as durations first, attribute names after a scope taking every rune but
// whitespace and `{}()=~!<>&|^,`, with quoted segments.

#include <cstdint>
#include <string>
#include <string_view>

#include "scan/types.h"

namespace vivace::traceql {

enum class Tok : uint8_t {
  kEnd,
  kError,
  // punctuation
  kOpenBrace, kCloseBrace, kOpenParen, kCloseParen, kComma, kPipe,
  // operators
  kEq, kNeq, kRegex, kNotRegex, kGt, kGte, kLt, kLte,
  kAdd, kSub, kMul, kDiv, kMod, kPow, kAnd, kOr, kNot,
  kDesc, kAnc, kTilde, kNotChild, kNotParent, kNotDesc, kNotAnc,
  kUnionChild, kUnionParent, kUnionDesc, kUnionAnc, kUnionSibling,
  // literals
  kInt, kFloat, kDuration, kString,
  // an attribute (`.x`, `span.x`, ...) or an intrinsic (`duration`, `span:duration`, ...)
  kAttribute,
  // bare identifiers: keywords, enum literals, function names
  kIdent,
};

struct Token {
  Tok kind = Tok::kEnd;
  uint32_t pos = 0;        // byte offset into the query
  std::string_view text;   // the token's source text
  // Decoded values: kInt/kDuration in i (nanoseconds for durations), kFloat in f, kString in s,
  // kAttribute in attr, kError's message in s.
  int64_t i = 0;
  double f = 0;
  std::string s;
  scan::Attribute attr;
};

class Lexer {
 public:
  explicit Lexer(std::string_view query) : q_(query) {}
  /// The next token; kEnd forever after the end, kError at the first malformed input.
  Token Next();

 private:
  Token Make(Tok kind, size_t start, size_t end);
  Token Error(size_t pos, std::string message);
  Token Number(size_t start);
  Token QuotedString(size_t start);
  Token Word(size_t start);
  Token AttributeAfterScope(size_t start, size_t name_start, scan::Scope scope, bool parent);
  Token ScopedIntrinsic(size_t start, scan::Scope scope, size_t name_start);
  /// Reads an attribute name (unquoted runs and quoted segments) from pos_; false on error.
  bool AttributeName(std::string* name, std::string* error);

  std::string_view q_;
  size_t pos_ = 0;
};

/// Whether `c` may appear in an unquoted attribute name.
bool IsAttributeRune(char c);
/// The name as TraceQL would need it written after a scope: bare, or quoted with \" and \\.
/// `force` quotes even a name that could stay bare.
std::string QuoteAttributeName(std::string_view name, bool force = false);

}  // namespace vivace::traceql
