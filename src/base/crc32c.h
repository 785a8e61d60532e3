#pragma once
// CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vivace::crc32c {

/// CRC of data, continuing from `init` (the CRC of the preceding bytes; 0 to start).
uint32_t Extend(uint32_t init, const char* data, size_t n);
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// Stored CRCs are masked (as in LevelDB) so that a CRC of data containing CRCs stays strong.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace vivace::crc32c
