#include "base/compression.h"

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <limits>
#include <memory>

#include "base/strings.h"

namespace vivace {
namespace {

std::string LimitMessage(size_t max_output) {
  return "decompressed body exceeds the limit of " + std::to_string(max_output) + " bytes";
}

// window_bits: 16+15 gzip, 15 zlib, -15 raw deflate.
Result<std::string> Inflate(std::string_view in, size_t max_output, int window_bits) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return Internal("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  std::string out;
  out.resize(std::min<size_t>(max_output, std::max<size_t>(in.size() * 4, 4096)));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() >= max_output) {
        // Output is full: it is only within the limit if the stream ends here.
        char probe;
        zs.next_out = reinterpret_cast<Bytef*>(&probe);
        zs.avail_out = 1;
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && zs.avail_out == 1) break;
        return ResourceExhausted(LimitMessage(max_output));
      }
      out.resize(std::min(max_output, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // gzip allows concatenated members; accept them as one stream (what gunzip does).
      if (window_bits > 16 && zs.avail_in > 0) {
        if (inflateReset(&zs) != Z_OK) return InvalidArgument("corrupt gzip stream");
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) return InvalidArgument("truncated compressed body");
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return InvalidArgument(std::string("corrupt compressed body: ") + (zs.msg ? zs.msg : "inflate error"));
    }
  }
  out.resize(produced);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view in, size_t max_output) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string out;
  out.resize(std::min<size_t>(max_output, std::max<size_t>(in.size() * 4, 4096)));
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t produced = 0;
  size_t last = 1;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() >= max_output) {
        if (last == 0 && input.pos == input.size) break;
        char probe;
        ZSTD_outBuffer o{&probe, 1, 0};
        size_t r = ZSTD_decompressStream(ctx.get(), &o, &input);
        if (!ZSTD_isError(r) && r == 0 && o.pos == 0 && input.pos == input.size) break;
        return ResourceExhausted(LimitMessage(max_output));
      }
      out.resize(std::min(max_output, out.size() * 2));
    }
    ZSTD_outBuffer output{out.data() + produced, out.size() - produced, 0};
    last = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(last)) return InvalidArgument(std::string("corrupt zstd body: ") + ZSTD_getErrorName(last));
    produced += output.pos;
    if (last == 0 && input.pos == input.size) break;
    if (input.pos == input.size && output.pos < output.size) return InvalidArgument("truncated zstd body");
  }
  out.resize(produced);
  return out;
}

Result<std::string> Deflate(std::string_view in, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Internal("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Internal("deflate failed");
  out.resize(n);
  return out;
}

}  // namespace

Result<Codec> CodecFromName(std::string_view name) {
  name = Trim(name);
  if (name.empty() || EqualsIgnoreCase(name, "identity")) return Codec::kNone;
  if (EqualsIgnoreCase(name, "gzip") || EqualsIgnoreCase(name, "x-gzip")) return Codec::kGzip;
  if (EqualsIgnoreCase(name, "deflate") || EqualsIgnoreCase(name, "zlib")) return Codec::kDeflate;
  if (EqualsIgnoreCase(name, "zstd")) return Codec::kZstd;
  return InvalidArgument("unsupported content encoding \"" + std::string(name) +
                         "\" (supported: gzip, deflate, zstd, identity)");
}

Result<std::string> Decompress(Codec codec, std::string_view in, size_t max_output) {
  switch (codec) {
    case Codec::kNone:
      if (in.size() > max_output) return ResourceExhausted(LimitMessage(max_output));
      return std::string(in);
    case Codec::kGzip:
      return Inflate(in, max_output, 16 + 15);
    case Codec::kDeflate: {
      // RFC 1950 zlib header: CMF*256+FLG is a multiple of 31 and CM is 8.
      bool zlib = in.size() >= 2 && (static_cast<uint8_t>(in[0]) & 0x0f) == 8 &&
                  ((static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1])) % 31 == 0;
      return Inflate(in, max_output, zlib ? 15 : -15);
    }
    case Codec::kZstd:
      return ZstdDecompress(in, max_output);
  }
  return Internal("unknown codec");
}

Result<std::string> Compress(Codec codec, std::string_view in) {
  switch (codec) {
    case Codec::kNone: return std::string(in);
    case Codec::kGzip: return Deflate(in, 16 + 15);
    case Codec::kDeflate: return Deflate(in, 15);
    case Codec::kZstd: return ZstdCompressLevel(in, 3);
  }
  return Internal("unknown codec");
}

std::string Lz4CompressBlock(std::string_view in) {
  VV_CHECK(in.size() <= static_cast<size_t>(LZ4_MAX_INPUT_SIZE));
  std::string out;
  out.resize(LZ4_compressBound(static_cast<int>(in.size())));
  int n = LZ4_compress_default(in.data(), out.data(), static_cast<int>(in.size()), static_cast<int>(out.size()));
  VV_CHECK(n > 0);  // Cannot fail with a destination of LZ4_compressBound bytes.
  out.resize(n);
  return out;
}

Result<std::string> Lz4DecompressBlock(std::string_view in, size_t uncompressed_size) {
  // Each LZ4 sequence of c match-length bytes yields at most 255*c + 18 bytes from c + 3 input
  // bytes (literals are copied 1:1), so no block expands more than 255-fold.
  constexpr size_t kMaxRatio = 255;
  if (uncompressed_size > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    return InvalidArgument("LZ4 block size " + std::to_string(uncompressed_size) + " exceeds the LZ4 limit of " +
                           std::to_string(LZ4_MAX_INPUT_SIZE) + " bytes");
  }
  if (in.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      uncompressed_size > in.size() * kMaxRatio) {
    return InvalidArgument("LZ4 block of " + std::to_string(in.size()) + " bytes cannot decompress to " +
                           std::to_string(uncompressed_size) + " bytes");
  }
  std::string out;
  out.resize(uncompressed_size);
  int n = LZ4_decompress_safe(in.data(), out.data(), static_cast<int>(in.size()), static_cast<int>(out.size()));
  if (n < 0) {
    return InvalidArgument("corrupt LZ4 block (or it decompresses to more than " + std::to_string(uncompressed_size) +
                           " bytes)");
  }
  if (static_cast<size_t>(n) != uncompressed_size) {
    return InvalidArgument("LZ4 block decompresses to " + std::to_string(n) + " bytes, expected " +
                           std::to_string(uncompressed_size));
  }
  return out;
}

std::string ZstdCompressLevel(std::string_view in, int level) {
  std::string out;
  out.resize(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  VV_CHECK(!ZSTD_isError(n));  // Levels are clamped and the destination is large enough.
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompressExact(std::string_view in, size_t uncompressed_size) {
  if (in.empty()) return InvalidArgument("empty zstd block");
  // Frames written by ZstdCompressLevel record their size: reject a mismatch before allocating.
  unsigned long long first = ZSTD_getFrameContentSize(in.data(), in.size());
  if (first == ZSTD_CONTENTSIZE_ERROR) return InvalidArgument("corrupt zstd block: bad frame header");
  if (first != ZSTD_CONTENTSIZE_UNKNOWN && first > uncompressed_size) {
    return InvalidArgument("zstd block decompresses to at least " + std::to_string(first) + " bytes, expected " +
                           std::to_string(uncompressed_size));
  }
  std::string out;
  out.resize(uncompressed_size);
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (ctx == nullptr) return Internal("ZSTD_createDCtx failed");
  size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) {
      return InvalidArgument("zstd block decompresses to more than " + std::to_string(uncompressed_size) + " bytes");
    }
    return InvalidArgument(std::string("corrupt zstd block: ") + ZSTD_getErrorName(n));
  }
  if (n != uncompressed_size) {
    return InvalidArgument("zstd block decompresses to " + std::to_string(n) + " bytes, expected " +
                           std::to_string(uncompressed_size));
  }
  return out;
}

}  // namespace vivace
