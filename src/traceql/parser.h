#pragma once
// TraceQL parsing and validation, with Tempo's acceptance rules: the four outcomes of
// tempo_fixtures/traceql_test_examples.yaml (valid, parse error, validation error, unsupported)
// are what Parse and Validate return.

#include <string_view>

#include "base/status.h"
#include "traceql/ast.h"

namespace vivace::traceql {

/// Limits on what the parser accepts, so a hostile query cannot exhaust the stack or memory.
struct ParseLimits {
  size_t max_query_bytes = 128 << 10;
  uint32_t max_depth = 256;  // nesting of parentheses, braces and operators
};

/// Parses a query. Errors are InvalidArgument: "parse error at line L, col C: <what>".
Result<Query> Parse(std::string_view query, const ParseLimits& limits = {});

/// Checks types and support: InvalidArgument for an invalid query ("invalid query: ..."),
/// Unimplemented for one Tempo also parses but does not run ("unsupported: ...").
Status Validate(const Query& query);

/// Parse, then Validate.
Result<Query> ParseAndValidate(std::string_view query, const ParseLimits& limits = {});

/// Parses a single attribute or intrinsic ("resource.service.name", ".x", "name",
/// "span:duration"), as the tag values API takes it.
Result<Attribute> ParseIdentifier(std::string_view text);

}  // namespace vivace::traceql
