#include "blocks/row_group_chunks.h"

#include <algorithm>

namespace vivace::blocks {

Result<RowGroupChunks> RowGroupChunks::FromBytes(std::string_view bytes, size_t columns) {
  RowGroupChunks out;
  uint64_t need;
  VV_ASSIGN_OR_RETURN(out.header_, ParseRowGroupHeader(bytes, bytes.size(), columns, &need));
  out.chunks_.resize(columns);
  out.held_.assign(columns, 1);
  for (size_t c = 0; c < columns; ++c) {
    out.chunks_[c] = bytes.substr(out.header_.offsets[c], out.header_.offsets[c + 1] - out.header_.offsets[c]);
  }
  return out;
}

Result<RowGroupChunks> RowGroupChunks::Open(io::ObjectReader* reader, uint64_t offset, uint64_t length,
                                            size_t columns) {
  std::string_view mapped = reader->Mapped();
  if (!mapped.empty()) {
    // Views into the mapping: nothing to copy. Reads are counted as chunks are asked for.
    if (offset > mapped.size() || length > mapped.size() - offset) {
      return InvalidArgument("row group at " + std::to_string(offset) + " (+" + std::to_string(length) +
                             ") is past the end of the object");
    }
    VV_ASSIGN_OR_RETURN(RowGroupChunks out, FromBytes(mapped.substr(offset, length), columns));
    out.held_.assign(columns, 0);
    out.bytes_read_ = out.header_.data_offset;
    out.reader_ = reader;
    return out;
  }
  RowGroupChunks out;
  out.reader_ = reader;
  out.offset_ = offset;
  uint64_t want = std::min(length, kPrefixBytes);
  for (;;) {
    auto buf = std::make_unique_for_overwrite<char[]>(want);
    VV_RETURN_IF_ERROR(reader->ReadAt(offset, std::span<char>(buf.get(), want)));
    out.bytes_read_ += want;
    uint64_t need;
    auto h = ParseRowGroupHeader(std::string_view(buf.get(), want), length, columns, &need);
    if (!h.ok() && need > want && need <= length) {
      want = need;  // a header longer than the prefix: read it whole
      continue;
    }
    VV_RETURN_IF_ERROR(internal::AsStatus(h));
    out.header_ = std::move(*h);
    out.chunks_.resize(columns);
    out.held_.assign(columns, 0);
    // The chunks the prefix holds whole.
    for (size_t c = 0; c < columns && out.header_.offsets[c + 1] <= want; ++c) {
      out.chunks_[c] = std::string_view(buf.get() + out.header_.offsets[c], out.header_.offsets[c + 1] - out.header_.offsets[c]);
      out.held_[c] = 1;
    }
    out.buffers_.push_back(std::move(buf));
    return out;
  }
}

Result<std::string_view> RowGroupChunks::Chunk(size_t i) {
  if (i >= chunks_.size()) return InvalidArgument("no column chunk " + std::to_string(i));
  if (held_[i] == 0) VV_RETURN_IF_ERROR(Read(i, i));
  return chunks_[i];
}

Status RowGroupChunks::Load(std::span<const uint8_t> columns) {
  if (!columns.empty() && columns.size() != chunks_.size()) {
    return InvalidArgument("column selection does not match the row group's columns");
  }
  auto wanted = [&](size_t c) { return held_[c] == 0 && (columns.empty() || columns[c] != 0); };
  size_t c = 0;
  while (c < chunks_.size()) {
    if (!wanted(c)) {
      ++c;
      continue;
    }
    // Extend the read over the next wanted chunks while the bytes between are few.
    size_t last = c;
    for (size_t n = c + 1; n < chunks_.size(); ++n) {
      if (!wanted(n)) continue;
      if (header_.offsets[n] - header_.offsets[last + 1] > kMergeGapBytes) break;
      last = n;
    }
    VV_RETURN_IF_ERROR(Read(c, last));
    c = last + 1;
  }
  return Status::OK();
}

Status RowGroupChunks::Read(size_t first, size_t last) {
  uint64_t begin = header_.offsets[first];
  uint64_t end = header_.offsets[last + 1];
  uint64_t n = end - begin;
  if (reader_ == nullptr || !reader_->Mapped().empty()) {  // in memory: the views are set
    for (size_t c = first; c <= last; ++c) {
      if (held_[c] == 0) bytes_read_ += chunks_[c].size();
      held_[c] = 1;
    }
    return Status::OK();
  }
  auto buf = std::make_unique_for_overwrite<char[]>(n == 0 ? 1 : n);
  if (n != 0) VV_RETURN_IF_ERROR(reader_->ReadAt(offset_ + begin, std::span<char>(buf.get(), n)));
  bytes_read_ += n;
  for (size_t c = first; c <= last; ++c) {
    if (held_[c] != 0) continue;
    chunks_[c] = std::string_view(buf.get() + (header_.offsets[c] - begin), header_.offsets[c + 1] - header_.offsets[c]);
    held_[c] = 1;
  }
  buffers_.push_back(std::move(buf));
  return Status::OK();
}

RowGroupLayout RowGroupChunks::Layout() const {
  RowGroupLayout out;
  out.base_start = header_.base_start;
  out.chunks = chunks_;
  return out;
}

}  // namespace vivace::blocks
