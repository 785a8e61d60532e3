#pragma once
// Whole-buffer compression codecs for request bodies, with an output limit so that a small
// compressed body cannot expand without bound (a "zip bomb"); and block codecs for storage pages,
// whose uncompressed size the caller records next to them.

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vivace {

enum class Codec { kNone, kGzip, kDeflate, kZstd };

/// Maps an HTTP Content-Encoding / grpc-encoding token ("gzip", "x-gzip", "deflate", "zstd",
/// "identity", "") to a codec. InvalidArgument (naming the token) for anything else.
Result<Codec> CodecFromName(std::string_view name);

/// Decompresses `in`. ResourceExhausted if the output would exceed `max_output` bytes;
/// InvalidArgument if the input is corrupt or truncated.
/// "deflate" accepts both zlib-wrapped (RFC 1950, what HTTP means) and raw RFC 1951 streams.
Result<std::string> Decompress(Codec codec, std::string_view in, size_t max_output);

/// Compresses `in` (used by tests, the load generator and exporters). Zstd uses level 3.
Result<std::string> Compress(Codec codec, std::string_view in);

// Storage-page codecs. The caller stores the uncompressed size with the page and passes it back
// on decompression, so a page never allocates more than what its metadata promises. These are not
// HTTP encodings: there is no Codec for them and CodecFromName accepts none of them.

/// Raw LZ4 block compression for storage pages (not an HTTP encoding: CodecFromName does not
/// accept it). This is the LZ4 *block* format: no frame header, no checksum, no recorded size.
/// REQUIRES: in.size() <= LZ4_MAX_INPUT_SIZE (0x7E000000, about 2 GiB).
std::string Lz4CompressBlock(std::string_view in);

/// Decompresses a raw LZ4 block whose uncompressed size is exactly `uncompressed_size`;
/// InvalidArgument if corrupt or the size differs. A size that `in` cannot possibly expand to
/// (LZ4 expands at most about 255-fold) fails before anything is allocated.
Result<std::string> Lz4DecompressBlock(std::string_view in, size_t uncompressed_size);

/// Zstd compression (one frame, content size recorded) at `level`: 1..ZSTD_maxCLevel() (22),
/// higher is smaller and slower; negative levels are faster still; 0 means the default (3).
/// Out-of-range levels are clamped by zstd.
std::string ZstdCompressLevel(std::string_view in, int level);

/// Decompresses one or more complete zstd frames whose total uncompressed size is exactly
/// `uncompressed_size`. InvalidArgument if `in` is empty, corrupt, truncated, has trailing bytes
/// that are not a frame, or decompresses to any other size.
Result<std::string> ZstdDecompressExact(std::string_view in, size_t uncompressed_size);

}  // namespace vivace
