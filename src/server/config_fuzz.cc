// Fuzzes vivace.yaml parsing, the Collector sections included: any text is a Config or an
// InvalidArgument/NotFound naming what is wrong, never a crash or an escaped exception.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vivace;
  auto c = server::ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!c.ok() && c.status().code() != StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "config_fuzz: unexpected error %s\n", c.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
