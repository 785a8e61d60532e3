#pragma once
// Trace and span identifiers: fixed-size byte arrays, compared and hashed as bytes.

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace vivace::model {

template <size_t N>
struct Id {
  std::array<uint8_t, N> bytes{};

  static constexpr size_t kSize = N;
  /// From exactly N raw bytes; nullopt otherwise.
  static std::optional<Id> FromBytes(std::string_view raw) {
    if (raw.size() != N) return std::nullopt;
    Id id;
    std::memcpy(id.bytes.data(), raw.data(), N);
    return id;
  }
  bool IsZero() const {
    for (uint8_t b : bytes) {
      if (b != 0) return false;
    }
    return true;
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), N}; }
  std::string Hex() const;
  auto operator<=>(const Id&) const = default;
};

using TraceId = Id<16>;
using SpanId = Id<8>;

/// Parses a trace id as Tempo accepts it in URLs: 1 to 32 hex digits, left-padded with zeros.
std::optional<TraceId> ParseTraceIdHex(std::string_view hex);

struct IdHash {
  template <size_t N>
  size_t operator()(const Id<N>& id) const {
    // Ids are random: their first 8 bytes are already a good hash.
    uint64_t a, b = 0;
    std::memcpy(&a, id.bytes.data(), 8);
    if constexpr (N >= 16) std::memcpy(&b, id.bytes.data() + 8, 8);
    return a ^ (b * 0x9e3779b97f4a7c15ull);
  }
};

}  // namespace vivace::model
