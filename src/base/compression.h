#pragma once
// Whole-buffer compression codecs for request bodies, with an output limit so that a small
// compressed body cannot expand without bound (a "zip bomb").

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

/// Compresses `in` (used by tests, the load generator and exporters).
Result<std::string> Compress(Codec codec, std::string_view in);

}  // namespace vivace
