#pragma once
// The text forms Go's standard library gives numbers and durations, which Tempo's API exposes
// as is: `time.ParseDuration` / `Duration.String()` (search parameters, TraceQL duration values in
// search results), `strconv.FormatFloat(f, 'g', -1, 64)` (tag values) and encoding/json's float
// form (jsonpb doubles). Implemented from the Go documentation and behaviour, not Go's code.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vivace::query {

/// Go's time.ParseDuration: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units ns us µs μs ms s m h; "0"
/// alone is allowed. Errors are InvalidArgument with Go's message, e.g. `time: invalid duration
/// "x"`, `time: missing unit in duration "1"`, `time: unknown unit "d" in duration "1d"`.
Result<int64_t> ParseGoDuration(std::string_view s);

/// Go's Duration.String(): "0s", "1.5µs", "100ms", "2.5s", "1m0s", "1h2m3.004s", "-10ms".
std::string FormatGoDuration(int64_t nanos);

/// strconv.FormatFloat(f, 'g', -1, 64): shortest round-trip digits; exponent form when the
/// decimal exponent is < -4 or >= 6 (Go's rule for shortest %g): "123456", "1e+06", "1.5e-05",
/// "NaN", "+Inf", "-Inf".
std::string FormatGoFloatG(double f);

/// The JSON number encoding/json writes for a float64 (what gogo jsonpb emits for doubles):
/// shortest round-trip digits in fixed notation, scientific below 1e-6 or from 1e21 up, with a
/// two-digit negative exponent shortened ("1e-7", "1e+21"). NaN and ±Inf become the strings
/// "NaN", "Infinity", "-Infinity" (quoted, as jsonpb writes them).
void AppendJsonDouble(std::string* out, double f);

/// strconv.ParseUint(s, 10, bits) / ParseInt(s, 10, bits), with Go's error text
/// (`strconv.ParseUint: parsing "x": invalid syntax`, `... value out of range`).
Result<uint64_t> ParseGoUint(std::string_view s, int bits);
Result<int64_t> ParseGoInt(std::string_view s, int bits);

/// Go's strconv.Quote for the ASCII cases our messages need: quotes, `\"`, `\\`, control bytes as
/// \n, \t, \r or \xHH. Other bytes pass through.
std::string GoQuote(std::string_view s);

}  // namespace vivace::query
