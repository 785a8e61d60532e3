// Fuzzes the TraceQL parser, validator and stringer. Any input must parse or fail with
// InvalidArgument (never crash); whatever parses must print as text that parses again to the
// same printed form, and validate to the same outcome.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "traceql/parser.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "parser_fuzz: %s\n  %s\n  %s\n", what, a.c_str(), b.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vivace;
  std::string_view q(reinterpret_cast<const char*>(data), size);
  auto parsed = traceql::Parse(q);
  if (!parsed.ok()) {
    if (parsed.status().code() != StatusCode::kInvalidArgument) Fail("unexpected error code", std::string(q), "");
    return 0;
  }
  Status valid = traceql::Validate(*parsed);
  std::string printed = traceql::ToString(*parsed);
  auto again = traceql::Parse(printed);
  if (!again.ok()) Fail("printed form does not parse", printed, again.status().ToString());
  if (traceql::ToString(*again) != printed) Fail("printed form is not stable", printed, traceql::ToString(*again));
  if (traceql::Validate(*again).code() != valid.code()) Fail("validation differs after printing", printed, "");
  (void)traceql::ParseIdentifier(q);
  return 0;
}
