#pragma once
// Little-endian fixed-width and LEB128 varint coding, as used by protobuf and our own formats.

#include <cstdint>
#include <cstring>
#include <string>

namespace vivace {

/// Maps signed to unsigned so that small magnitudes stay small varints: 0,-1,1,-2 → 0,1,2,3.
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

inline void PutFixed32(std::string* dst, uint32_t v) { dst->append(reinterpret_cast<const char*>(&v), 4); }
inline void PutFixed64(std::string* dst, uint64_t v) { dst->append(reinterpret_cast<const char*>(&v), 8); }
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void EncodeFixed32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void EncodeFixed64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }

/// Number of bytes the varint encoding of v takes (1..10).
inline int VarintLength(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Writes v at p; returns the byte after it. REQUIRES: room for VarintLength(v) bytes.
inline char* EncodeVarint(char* p, uint64_t v) {
  auto* u = reinterpret_cast<uint8_t*>(p);
  while (v >= 0x80) {
    *u++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *u++ = static_cast<uint8_t>(v);
  return reinterpret_cast<char*>(u);
}

inline void PutVarint(std::string* dst, uint64_t v) {
  char buf[10];
  char* end = EncodeVarint(buf, v);
  dst->append(buf, end - buf);
}

/// Parses a varint in [p, limit). Returns the byte after it, or nullptr if truncated or longer
/// than 10 bytes.
inline const char* DecodeVarint(const char* p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && p < limit; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(*p++);
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

}  // namespace vivace
