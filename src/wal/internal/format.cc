#include "wal/internal/format.h"

#include <fmt/core.h>

#include <cstring>

#include "base/coding.h"
#include "base/crc32c.h"

namespace vivace::wal::internal {

namespace {
constexpr size_t kCrcOffset = 24;  // magic 8 + version 4 + flags 4 + segment 8
constexpr std::string_view kSuffix = ".wal";
constexpr size_t kDigits = 16;
}  // namespace

std::string EncodeSegmentHeader(uint64_t segment) {
  std::string h(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(&h, kFormatVersion);
  PutFixed32(&h, 0);  // flags: none defined in v1
  PutFixed64(&h, segment);
  PutFixed32(&h, crc32c::Mask(crc32c::Value(h)));
  return h;
}

std::optional<std::string> CheckSegmentHeader(std::string_view header, uint64_t segment) {
  if (std::memcmp(header.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return "bad magic";
  }
  uint32_t stored = crc32c::Unmask(DecodeFixed32(header.data() + kCrcOffset));
  if (stored != crc32c::Value(header.substr(0, kCrcOffset))) return "header checksum mismatch";
  uint32_t version = DecodeFixed32(header.data() + 8);
  if (version != kFormatVersion) return fmt::format("unsupported format version {}", version);
  uint32_t flags = DecodeFixed32(header.data() + 12);
  if (flags != 0) return fmt::format("unknown flags {:#x}", flags);
  uint64_t stored_segment = DecodeFixed64(header.data() + 16);
  if (stored_segment != segment) {
    return fmt::format("header names segment {}, file name says {}", stored_segment, segment);
  }
  return std::nullopt;
}

uint32_t RecordCrc(RecordType type, std::span<const std::string_view> pieces) {
  char t = static_cast<char>(type);
  uint32_t crc = crc32c::Extend(0, &t, 1);
  for (std::string_view p : pieces) crc = crc32c::Extend(crc, p.data(), p.size());
  return crc32c::Mask(crc);
}

void EncodeRecordHeader(char* dst, uint32_t length, uint32_t masked_crc, RecordType type) {
  EncodeFixed32(dst, length);
  EncodeFixed32(dst + 4, masked_crc);
  dst[8] = static_cast<char>(type);
}

void AppendRecord(std::string* dst, std::span<const std::string_view> pieces) {
  size_t length = 0;
  for (std::string_view p : pieces) length += p.size();
  char header[kRecordHeaderSize];
  EncodeRecordHeader(header, static_cast<uint32_t>(length), RecordCrc(RecordType::kFull, pieces),
                     RecordType::kFull);
  dst->append(header, sizeof(header));
  for (std::string_view p : pieces) dst->append(p);
}

std::string SegmentFileName(uint64_t segment) { return fmt::format("{:016d}{}", segment, kSuffix); }

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != kDigits + kSuffix.size() || name.substr(kDigits) != kSuffix) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < kDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');  // 16 digits always fit in 64 bits
  }
  return v;
}

}  // namespace vivace::wal::internal
