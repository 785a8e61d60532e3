#pragma once
// Column chunks of block format v1: how one column of one row group is encoded into pages and
// read back. Byte layout: docs/formats/block_v1.md ("Pages" and "Column chunks").
//
// Three physical kinds cover every column:
//   - unsigned 64-bit integers (signed values are zigzagged by the caller), stored as varints
//     or as runs of varints, whichever is smaller;
//   - fixed-width byte values (ids, doubles), stored back to back;
//   - byte strings, stored plainly or through a dictionary page, whichever is smaller.
// Every page is compressed on its own and carries a CRC32C of its stored bytes.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/arena.h"
#include "base/status.h"

namespace vivace::blocks {

enum class Compression : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };

/// "none", "zstd", "lz4" → Compression; InvalidArgument otherwise.
Result<Compression> CompressionFromName(std::string_view name);
std::string_view CompressionName(Compression c);

enum class Encoding : uint8_t {
  kVarint = 1,       // varint per value
  kRunLength = 2,    // (run length, value) varint pairs
  kFixed = 3,        // values of a fixed width, back to back
  kPlain = 4,        // varint length + bytes per value
  kDictionary = 5,   // a dictionary page: its distinct values, kPlain layout
  kDictIndexes = 6,  // varint index into the preceding dictionary page per value
};

struct PageOptions {
  Compression compression = Compression::kZstd;
  int zstd_level = 3;
};

/// Appends a column chunk of integers.
void WriteIntChunk(std::span<const uint64_t> values, const PageOptions& opts, std::string* out);
/// Appends a column chunk of `count` values of `width` bytes each, concatenated in `data`.
void WriteFixedChunk(std::string_view data, uint32_t width, const PageOptions& opts, std::string* out);
/// Appends a column chunk of strings. Returns true if it chose a dictionary.
bool WriteStringChunk(std::span<const std::string_view> values, const PageOptions& opts, std::string* out);

/// Limits a reader applies to what it decompresses, so a corrupt header cannot ask for more.
struct ReadLimits {
  uint64_t max_page_bytes = 256ull << 20;
  uint64_t max_values = 64ull << 20;
};

/// Reads one column chunk from `chunk` (exactly its bytes). Errors (DataLoss for checksum or
/// structure problems) never crash, whatever the input.
Result<std::vector<uint64_t>> ReadIntChunk(std::string_view chunk, const ReadLimits& limits);
/// The same into `out` (replacing its contents, reusing its memory).
Status ReadIntChunkInto(std::string_view chunk, const ReadLimits& limits, std::vector<uint64_t>* out);
/// An int chunk of small values (flags, 0..255) as bytes; a larger value is DataLoss.
Status ReadFlagChunkInto(std::string_view chunk, const ReadLimits& limits, std::vector<uint8_t>* out);
/// An int chunk's runs of equal values, for evaluating a predicate once per run: false (and
/// `out` empty) when the chunk is not run-length encoded.
struct IntRun {
  uint64_t length = 0;
  uint64_t value = 0;
};
Result<bool> ReadIntRuns(std::string_view chunk, const ReadLimits& limits, std::vector<IntRun>* out);
/// The decompressed values (count = size / width); checks that the width divides the size.
Result<std::string> ReadFixedChunk(std::string_view chunk, uint32_t width, const ReadLimits& limits);
/// Strings as views into buffers adopted by `arena`.
Result<std::vector<std::string_view>> ReadStringChunk(std::string_view chunk, const ReadLimits& limits,
                                                      Arena* arena);
/// A string chunk as values plus one index into them per row: the dictionary page and its
/// indexes when the chunk has one (so a predicate is evaluated once per distinct value), else
/// every value and the identity. Views into buffers adopted by `arena`.
struct IndexedStrings {
  std::vector<std::string_view> values;
  std::vector<uint32_t> indexes;
};
Result<IndexedStrings> ReadStringChunkIndexed(std::string_view chunk, const ReadLimits& limits, Arena* arena);
/// Only the dictionary of a string chunk, without touching its data page; nullopt-like empty
/// result with `has_dictionary` false when the chunk is plain.
struct ChunkDictionary {
  bool has_dictionary = false;
  std::vector<std::string_view> values;
};
Result<ChunkDictionary> ReadChunkDictionary(std::string_view chunk, const ReadLimits& limits, Arena* arena);

/// Checks every page checksum of a chunk without decompressing. For `vivace blocks verify`.
Status VerifyChunk(std::string_view chunk);

/// Description of a chunk's pages for `vivace blocks inspect`.
struct ChunkInfo {
  std::vector<Encoding> encodings;
  Compression compression = Compression::kNone;
  uint64_t values = 0;
  uint64_t stored_bytes = 0;
  uint64_t uncompressed_bytes = 0;
};
Result<ChunkInfo> InspectChunk(std::string_view chunk);
std::string_view EncodingName(Encoding e);

}  // namespace vivace::blocks
