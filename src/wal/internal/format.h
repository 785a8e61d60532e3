#pragma once
// On-disk format of WAL segment files. Layout: docs/formats/wal_v1.md.
// Changing this file changes the on-disk format.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vivace::wal::internal {

// Segment header: magic[8] | version u32 | flags u32 | segment u64 | masked CRC32C u32 of the
// 24 bytes before it. 28 bytes.
inline constexpr char kSegmentMagic[8] = {'V', 'V', 'W', 'A', 'L', 'S', 'E', 'G'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 28;

// Record header: payload length u32 | masked CRC32C u32 of (type byte + payload) | type u8.
inline constexpr size_t kRecordHeaderSize = 9;

// Record types. 0 is never written, so a zero-filled region never parses as a record; 2..255 are
// reserved (e.g. for fragments of records that span segments) and rejected by v1 readers.
enum class RecordType : uint8_t {
  kZero = 0,
  kFull = 1,
};

/// The 28-byte header of segment `segment`.
std::string EncodeSegmentHeader(uint64_t segment);

/// Why a segment header is unusable, or nullopt if it is valid for `segment`.
/// REQUIRES: header.size() >= kSegmentHeaderSize.
std::optional<std::string> CheckSegmentHeader(std::string_view header, uint64_t segment);

/// Masked CRC32C of the type byte followed by the concatenated pieces.
uint32_t RecordCrc(RecordType type, std::span<const std::string_view> pieces);

/// Writes the 9-byte record header at `dst`.
void EncodeRecordHeader(char* dst, uint32_t length, uint32_t masked_crc, RecordType type);

/// Appends a complete record (header + payload pieces) to `dst`.
void AppendRecord(std::string* dst, std::span<const std::string_view> pieces);

/// "%016llu.wal".
std::string SegmentFileName(uint64_t segment);

/// The segment number of a file named exactly like SegmentFileName(), else nullopt.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

}  // namespace vivace::wal::internal
