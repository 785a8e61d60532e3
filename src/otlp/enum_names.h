#pragma once
// OTLP enum value names (opentelemetry.proto.trace.v1), indexed by value: what protobuf's JSON
// mapping writes (Tempo's jsonpb) and what the OTLP/JSON decoder accepts besides integers.

#include <string_view>

namespace vivace::otlp {

inline constexpr std::string_view kSpanKindNames[] = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
inline constexpr std::string_view kStatusCodeNames[] = {
    "STATUS_CODE_UNSET",
    "STATUS_CODE_OK",
    "STATUS_CODE_ERROR",
};

}  // namespace vivace::otlp
