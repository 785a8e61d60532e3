#pragma once
// Limits shared by the OTLP decoders (protobuf and JSON).

#include <cstdint>

namespace vivace::otlp {

struct DecodeLimits {
  /// Nesting depth of AnyValue arrays/kvlists; deeper input is InvalidArgument.
  uint32_t max_value_depth = 32;
};

}  // namespace vivace::otlp
