#pragma once
// The column chunks of one encoded row group, read from the data object only when asked for:
// a search's first pass needs the header and a few small chunks of each row group, not the
// whole of it (the kernel's copy of unread columns was ~15 % of a search's CPU time).

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blocks/row_group.h"
#include "io/object_store.h"

namespace vivace::blocks {

class RowGroupChunks {
 public:
  /// Bytes read with the header (the first chunks — the trace table — usually come with it).
  static constexpr uint64_t kPrefixBytes = 16 << 10;
  /// Chunks closer than this are read together (one read instead of two).
  static constexpr uint64_t kMergeGapBytes = 4 << 10;

  /// An encoded row group held whole in memory; `bytes` must outlive the result.
  static Result<RowGroupChunks> FromBytes(std::string_view bytes, size_t columns);
  /// The row group at [offset, offset + length) of `reader`, which must outlive the result.
  /// Reads the header (and what follows it, up to kPrefixBytes) now, chunks when asked; when
  /// the reader maps the object, chunks are views into the mapping and nothing is copied.
  static Result<RowGroupChunks> Open(io::ObjectReader* reader, uint64_t offset, uint64_t length, size_t columns);

  RowGroupChunks(RowGroupChunks&&) = default;
  RowGroupChunks& operator=(RowGroupChunks&&) = default;

  size_t columns() const { return header_.offsets.size() - 1; }
  uint64_t base_start() const { return header_.base_start; }
  /// Bytes read from the object so far (for a mapped object: the header and the chunks asked
  /// for; for bytes given whole: 0).
  uint64_t bytes_read() const { return bytes_read_; }

  /// Chunk `i`, read now unless held.
  Result<std::string_view> Chunk(size_t i);
  /// Reads the chunks `columns` selects (1 = wanted; empty = all) that are not held, neighbours
  /// in one read.
  Status Load(std::span<const uint8_t> columns);
  /// Every chunk held, in column order; the others are empty views.
  RowGroupLayout Layout() const;

 private:
  RowGroupChunks() = default;
  Status Read(size_t first, size_t last);  // chunks [first, last]

  io::ObjectReader* reader_ = nullptr;
  uint64_t offset_ = 0;  // of the row group in the object
  RowGroupHeader header_;
  std::vector<std::string_view> chunks_;
  std::vector<uint8_t> held_;
  std::vector<std::unique_ptr<char[]>> buffers_;
  uint64_t bytes_read_ = 0;
};

}  // namespace vivace::blocks
