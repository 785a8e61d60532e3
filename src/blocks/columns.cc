#include "blocks/columns.h"

#include <zstd.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <unordered_map>

#include "base/coding.h"
#include "base/compression.h"
#include "base/crc32c.h"

namespace vivace::blocks {
namespace {

// Pages smaller than this are stored uncompressed: the codec would not pay for its header.
constexpr size_t kMinCompressBytes = 64;

std::string Compress(std::string_view raw, const PageOptions& opts, Compression* used) {
  *used = Compression::kNone;
  if (raw.size() < kMinCompressBytes || opts.compression == Compression::kNone) return std::string(raw);
  std::string out;
  if (opts.compression == Compression::kZstd) {
    out.resize(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), opts.zstd_level);
    if (ZSTD_isError(n)) return std::string(raw);
    out.resize(n);
  } else {
    out = Lz4CompressBlock(raw);
  }
  if (out.size() >= raw.size()) return std::string(raw);
  *used = opts.compression;
  return out;
}

void AppendPage(Encoding encoding, uint64_t count, std::string_view raw, const PageOptions& opts, std::string* out) {
  Compression used;
  std::string stored = Compress(raw, opts, &used);
  out->push_back(static_cast<char>(encoding));
  out->push_back(static_cast<char>(used));
  PutVarint(out, count);
  PutVarint(out, raw.size());
  PutVarint(out, stored.size());
  PutFixed32(out, crc32c::Mask(crc32c::Value(stored)));
  out->append(stored);
}

struct Page {
  Encoding encoding;
  Compression compression;
  uint64_t count;
  uint64_t raw_size;
  std::string_view stored;
};

Status Corrupt(std::string_view why) { return DataLoss("corrupt column chunk: " + std::string(why)); }

// Parses the page at the front of `*in` and advances past it.
Result<Page> NextPage(std::string_view* in, const ReadLimits& limits) {
  const char* p = in->data();
  const char* end = p + in->size();
  if (end - p < 2) return Corrupt("truncated page header");
  Page page;
  page.encoding = static_cast<Encoding>(static_cast<uint8_t>(p[0]));
  page.compression = static_cast<Compression>(static_cast<uint8_t>(p[1]));
  if (p[0] < 1 || p[0] > 6) return Corrupt("unknown encoding " + std::to_string(static_cast<uint8_t>(p[0])));
  if (p[1] > 2) return Corrupt("unknown compression " + std::to_string(static_cast<uint8_t>(p[1])));
  p += 2;
  uint64_t stored_size;
  if ((p = DecodeVarint(p, end, &page.count)) == nullptr || (p = DecodeVarint(p, end, &page.raw_size)) == nullptr ||
      (p = DecodeVarint(p, end, &stored_size)) == nullptr) {
    return Corrupt("truncated page header");
  }
  if (page.count > limits.max_values) return Corrupt("too many values");
  if (page.raw_size > limits.max_page_bytes) return Corrupt("page too large");
  if (end - p < 4 || stored_size > static_cast<uint64_t>(end - p - 4)) return Corrupt("page extends past its chunk");
  uint32_t crc = crc32c::Unmask(DecodeFixed32(p));
  p += 4;
  page.stored = std::string_view(p, stored_size);
  if (crc32c::Value(page.stored) != crc) return Corrupt("page checksum mismatch");
  if (page.compression == Compression::kNone && stored_size != page.raw_size) return Corrupt("page size mismatch");
  p += stored_size;
  *in = std::string_view(p, end - p);
  return page;
}

// The page's raw bytes: its stored bytes when uncompressed, else decompressed into `scratch`.
Result<std::string_view> PageBytes(const Page& page, std::string* scratch) {
  switch (page.compression) {
    case Compression::kNone: return page.stored;
    case Compression::kZstd: {
      scratch->resize(page.raw_size);
      thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
      if (ctx == nullptr) return ResourceExhausted("cannot allocate a zstd context");
      size_t n = ZSTD_decompressDCtx(ctx.get(), scratch->data(), scratch->size(), page.stored.data(), page.stored.size());
      if (ZSTD_isError(n) || n != page.raw_size) return Corrupt("zstd page does not decompress to its size");
      return std::string_view(*scratch);
    }
    case Compression::kLz4: {
      auto out = Lz4DecompressBlock(page.stored, page.raw_size);
      if (!out.ok()) return Corrupt("lz4 page does not decompress to its size");
      *scratch = std::move(*out);
      return std::string_view(*scratch);
    }
  }
  return Corrupt("unknown compression");
}

Result<std::string> Decompress(const Page& page) {
  switch (page.compression) {
    case Compression::kNone: return std::string(page.stored);
    case Compression::kZstd: {
      std::string out(page.raw_size, '\0');
      // One decompression context per thread: creating one per page costs more than a small
      // page's decompression.
      thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
      if (ctx == nullptr) return ResourceExhausted("cannot allocate a zstd context");
      size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), page.stored.data(), page.stored.size());
      if (ZSTD_isError(n) || n != page.raw_size) return Corrupt("zstd page does not decompress to its size");
      return out;
    }
    case Compression::kLz4: {
      auto out = Lz4DecompressBlock(page.stored, page.raw_size);
      if (!out.ok()) return Corrupt("lz4 page does not decompress to its size");
      return out;
    }
  }
  return Corrupt("unknown compression");
}

Status Expect(const Page& page, std::initializer_list<Encoding> allowed) {
  for (Encoding e : allowed) {
    if (page.encoding == e) return Status::OK();
  }
  return Corrupt("unexpected encoding " + std::string(EncodingName(page.encoding)));
}

// Appends a page's values to `out` (any unsigned type wide enough for the caller's values;
// indexes use uint32_t, which DecodeIndexes checks).
template <typename T>
Status DecodeInts(const Page& page, std::string_view raw, std::vector<T>* out) {
  // A varint takes at least a byte, so the raw size bounds what a corrupt count can reserve;
  // runs may legitimately expand far beyond it, up to the page's (limited) count.
  size_t base = out->size();
  const char* p = raw.data();
  const char* end = p + raw.size();
  if (page.encoding == Encoding::kVarint) {
    if (page.count > raw.size()) return Corrupt("truncated varint");
    out->resize(base + page.count);
    T* o = out->data() + base;
    for (uint64_t i = 0; i < page.count; ++i) {
      if (p < end && static_cast<uint8_t>(*p) < 0x80) {  // the common one-byte value
        o[i] = static_cast<uint8_t>(*p++);
        continue;
      }
      uint64_t v;
      if ((p = DecodeVarint(p, end, &v)) == nullptr) return Corrupt("truncated varint");
      if (v > std::numeric_limits<T>::max()) return Corrupt("value out of range");
      o[i] = static_cast<T>(v);
    }
  } else {
    // Check the runs before allocating what they expand to.
    uint64_t total = 0;
    for (const char* q = p; q != end;) {
      uint64_t run, v;
      if ((q = DecodeVarint(q, end, &run)) == nullptr || (q = DecodeVarint(q, end, &v)) == nullptr) {
        return Corrupt("truncated run");
      }
      if (run == 0 || run > page.count - total) return Corrupt("bad run length");
      if (v > std::numeric_limits<T>::max()) return Corrupt("value out of range");
      total += run;
    }
    if (total != page.count) return Corrupt("truncated run");
    out->resize(base + page.count);
    T* o = out->data() + base;
    uint64_t filled = 0;
    while (filled < page.count) {
      uint64_t run, v;
      p = DecodeVarint(DecodeVarint(p, end, &run), end, &v);
      std::fill_n(o + filled, run, static_cast<T>(v));
      filled += run;
    }
  }
  if (p != end) return Corrupt("trailing bytes in page");
  return Status::OK();
}

Status DecodePlain(uint64_t count, std::string_view raw, std::vector<std::string_view>* out) {
  out->reserve(std::min<uint64_t>(count, raw.size()));
  const char* p = raw.data();
  const char* end = p + raw.size();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t len;
    if ((p = DecodeVarint(p, end, &len)) == nullptr || len > static_cast<uint64_t>(end - p)) {
      return Corrupt("truncated string");
    }
    out->emplace_back(p, len);
    p += len;
  }
  if (p != end) return Corrupt("trailing bytes in page");
  return Status::OK();
}

}  // namespace

Result<Compression> CompressionFromName(std::string_view name) {
  if (name == "none") return Compression::kNone;
  if (name == "zstd") return Compression::kZstd;
  if (name == "lz4") return Compression::kLz4;
  return InvalidArgument("unknown compression \"" + std::string(name) + "\" (want none, zstd or lz4)");
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kZstd: return "zstd";
    case Compression::kLz4: return "lz4";
  }
  return "?";
}

std::string_view EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kVarint: return "varint";
    case Encoding::kRunLength: return "rle";
    case Encoding::kFixed: return "fixed";
    case Encoding::kPlain: return "plain";
    case Encoding::kDictionary: return "dictionary";
    case Encoding::kDictIndexes: return "dict-indexes";
  }
  return "?";
}

void WriteIntChunk(std::span<const uint64_t> values, const PageOptions& opts, std::string* out) {
  size_t runs = 0;
  for (size_t i = 0; i < values.size(); ++i) runs += (i == 0 || values[i] != values[i - 1]);
  std::string raw;
  if (runs * 4 <= values.size()) {
    for (size_t i = 0; i < values.size();) {
      size_t j = i + 1;
      while (j < values.size() && values[j] == values[i]) ++j;
      PutVarint(&raw, j - i);
      PutVarint(&raw, values[i]);
      i = j;
    }
    AppendPage(Encoding::kRunLength, values.size(), raw, opts, out);
    return;
  }
  raw.reserve(values.size() * 2);
  for (uint64_t v : values) PutVarint(&raw, v);
  AppendPage(Encoding::kVarint, values.size(), raw, opts, out);
}

void WriteFixedChunk(std::string_view data, uint32_t width, const PageOptions& opts, std::string* out) {
  AppendPage(Encoding::kFixed, width == 0 ? 0 : data.size() / width, data, opts, out);
}

bool WriteStringChunk(std::span<const std::string_view> values, const PageOptions& opts, std::string* out) {
  std::unordered_map<std::string_view, uint32_t> ids;
  std::vector<std::string_view> dict;
  std::vector<uint32_t> indexes;
  indexes.reserve(values.size());
  size_t plain_bytes = 0;
  for (std::string_view v : values) {
    plain_bytes += v.size() + 1;
    auto [it, inserted] = ids.try_emplace(v, static_cast<uint32_t>(dict.size()));
    if (inserted) dict.push_back(v);
    indexes.push_back(it->second);
  }
  // A dictionary pays when values repeat; with mostly distinct values it only adds indexes.
  if (values.empty() || dict.size() * 2 > values.size()) {
    std::string raw;
    raw.reserve(plain_bytes);
    for (std::string_view v : values) {
      PutVarint(&raw, v.size());
      raw.append(v);
    }
    AppendPage(Encoding::kPlain, values.size(), raw, opts, out);
    return false;
  }
  std::string raw;
  for (std::string_view v : dict) {
    PutVarint(&raw, v.size());
    raw.append(v);
  }
  AppendPage(Encoding::kDictionary, dict.size(), raw, opts, out);
  raw.clear();
  for (uint32_t i : indexes) PutVarint(&raw, i);
  AppendPage(Encoding::kDictIndexes, values.size(), raw, opts, out);
  return true;
}

namespace {

thread_local std::string page_scratch;  // decompressed pages that are decoded at once

}  // namespace

Result<std::vector<uint64_t>> ReadIntChunk(std::string_view chunk, const ReadLimits& limits) {
  std::vector<uint64_t> out;
  VV_RETURN_IF_ERROR(ReadIntChunkInto(chunk, limits, &out));
  return out;
}

namespace {

// One int page decoded into `out` as T (see DecodeInts).
template <typename T>
Status ReadIntsAs(std::string_view chunk, const ReadLimits& limits, std::vector<T>* out) {
  out->clear();
  VV_ASSIGN_OR_RETURN(Page page, NextPage(&chunk, limits));
  VV_RETURN_IF_ERROR(Expect(page, {Encoding::kVarint, Encoding::kRunLength}));
  if (!chunk.empty()) return Corrupt("trailing bytes after page");
  VV_ASSIGN_OR_RETURN(std::string_view raw, PageBytes(page, &page_scratch));
  return DecodeInts(page, raw, out);
}

}  // namespace

Status ReadIntChunkInto(std::string_view chunk, const ReadLimits& limits, std::vector<uint64_t>* out) {
  return ReadIntsAs(chunk, limits, out);
}

Status ReadFlagChunkInto(std::string_view chunk, const ReadLimits& limits, std::vector<uint8_t>* out) {
  return ReadIntsAs(chunk, limits, out);
}

Result<bool> ReadIntRuns(std::string_view chunk, const ReadLimits& limits, std::vector<IntRun>* out) {
  out->clear();
  VV_ASSIGN_OR_RETURN(Page page, NextPage(&chunk, limits));
  VV_RETURN_IF_ERROR(Expect(page, {Encoding::kVarint, Encoding::kRunLength}));
  if (!chunk.empty()) return Corrupt("trailing bytes after page");
  if (page.encoding != Encoding::kRunLength) return false;
  VV_ASSIGN_OR_RETURN(std::string_view raw, PageBytes(page, &page_scratch));
  const char* p = raw.data();
  const char* end = p + raw.size();
  uint64_t total = 0;
  while (p != end) {
    IntRun r;
    if ((p = DecodeVarint(p, end, &r.length)) == nullptr || (p = DecodeVarint(p, end, &r.value)) == nullptr) {
      return Corrupt("truncated run");
    }
    if (r.length == 0 || r.length > page.count - total) return Corrupt("bad run length");
    total += r.length;
    out->push_back(r);
  }
  if (total != page.count) return Corrupt("truncated run");
  return true;
}

Result<std::string> ReadFixedChunk(std::string_view chunk, uint32_t width, const ReadLimits& limits) {
  VV_ASSIGN_OR_RETURN(Page page, NextPage(&chunk, limits));
  VV_RETURN_IF_ERROR(Expect(page, {Encoding::kFixed}));
  if (!chunk.empty()) return Corrupt("trailing bytes after page");
  if (width == 0 || page.raw_size != page.count * width) return Corrupt("fixed page size is not count × width");
  return Decompress(page);
}

Result<IndexedStrings> ReadStringChunkIndexed(std::string_view chunk, const ReadLimits& limits, Arena* arena) {
  VV_ASSIGN_OR_RETURN(Page page, NextPage(&chunk, limits));
  VV_RETURN_IF_ERROR(Expect(page, {Encoding::kPlain, Encoding::kDictionary}));
  VV_ASSIGN_OR_RETURN(std::string raw, Decompress(page));
  std::string_view kept = arena->Adopt(std::move(raw));
  IndexedStrings out;
  VV_RETURN_IF_ERROR(DecodePlain(page.count, kept, &out.values));
  if (page.encoding == Encoding::kPlain) {
    if (!chunk.empty()) return Corrupt("trailing bytes after page");
    out.indexes.resize(out.values.size());
    for (uint32_t i = 0; i < out.indexes.size(); ++i) out.indexes[i] = i;
    return out;
  }
  VV_ASSIGN_OR_RETURN(Page data, NextPage(&chunk, limits));
  VV_RETURN_IF_ERROR(Expect(data, {Encoding::kDictIndexes}));
  if (!chunk.empty()) return Corrupt("trailing bytes after page");
  VV_ASSIGN_OR_RETURN(std::string_view index_bytes, PageBytes(data, &page_scratch));
  Page as_varints = data;
  as_varints.encoding = Encoding::kVarint;
  VV_RETURN_IF_ERROR(DecodeInts(as_varints, index_bytes, &out.indexes));
  uint32_t max = 0;
  for (uint32_t i : out.indexes) max = std::max(max, i);
  if (!out.indexes.empty() && max >= out.values.size()) return Corrupt("dictionary index out of range");
  return out;
}

Result<std::vector<std::string_view>> ReadStringChunk(std::string_view chunk, const ReadLimits& limits,
                                                      Arena* arena) {
  VV_ASSIGN_OR_RETURN(IndexedStrings s, ReadStringChunkIndexed(chunk, limits, arena));
  std::vector<std::string_view> out;
  out.reserve(s.indexes.size());
  for (uint32_t i : s.indexes) out.push_back(s.values[i]);
  return out;
}

Result<ChunkDictionary> ReadChunkDictionary(std::string_view chunk, const ReadLimits& limits, Arena* arena) {
  VV_ASSIGN_OR_RETURN(Page page, NextPage(&chunk, limits));
  ChunkDictionary out;
  if (page.encoding != Encoding::kDictionary) return out;
  VV_ASSIGN_OR_RETURN(std::string raw, Decompress(page));
  std::string_view kept = arena->Adopt(std::move(raw));
  out.has_dictionary = true;
  VV_RETURN_IF_ERROR(DecodePlain(page.count, kept, &out.values));
  return out;
}

Status VerifyChunk(std::string_view chunk) {
  ReadLimits limits;
  while (!chunk.empty()) VV_RETURN_IF_ERROR(internal::AsStatus(NextPage(&chunk, limits)));
  return Status::OK();
}

Result<ChunkInfo> InspectChunk(std::string_view chunk) {
  ChunkInfo info;
  ReadLimits limits;
  while (!chunk.empty()) {
    size_t before = chunk.size();
    VV_ASSIGN_OR_RETURN(Page page, NextPage(&chunk, limits));
    info.encodings.push_back(page.encoding);
    if (page.compression != Compression::kNone) info.compression = page.compression;
    if (page.encoding != Encoding::kDictionary) info.values = page.count;
    info.stored_bytes += before - chunk.size();
    info.uncompressed_bytes += page.raw_size;
  }
  return info;
}

}  // namespace vivace::blocks
