#pragma once
// A row group of block format v1: whole traces, sorted by trace id, each trace's spans in
// nested-set pre-order, stored column by column. RowGroupBuilder assembles one from spans of any
// batches; EncodeRowGroup / DecodeRowGroup turn it into bytes and back.
// Byte layout: docs/formats/block_v1.md ("Row groups").

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blocks/columns.h"
#include "model/ids.h"
#include "model/span_batch.h"
#include "scan/fetch.h"

namespace vivace::blocks {

using NestedSet = scan::NestedSet;
using ServiceStat = scan::ServiceStat;

/// One row of the trace-level table.
struct TraceEntry {
  model::TraceId id;
  uint32_t first_span = 0;  // into RowGroup::spans
  uint32_t span_count = 0;
  uint64_t start_unix_nano = 0;  // earliest span start
  uint64_t end_unix_nano = 0;    // latest span end
  std::string_view root_service;  // of the first span without a parent, "" if there is none
  std::string_view root_name;
  uint32_t first_service = 0;  // into RowGroup::services, sorted by name
  uint32_t service_count = 0;
};

struct RowGroup {
  model::SpanBatch spans;
  std::vector<TraceEntry> traces;
  std::vector<ServiceStat> services;
  std::vector<NestedSet> nested;  // one per span
};

/// The attribute keys a block stores in columns of their own (chosen per block).
struct DedicatedColumn {
  enum class Owner : uint8_t { kSpan = 1, kResource = 2 };
  Owner owner = Owner::kSpan;
  std::string key;
  model::ValueKind kind = model::ValueKind::kString;  // string, int, double or bool

  bool operator==(const DedicatedColumn&) const = default;
};

struct DedicatedOptions {
  uint32_t max_span_columns = 24;
  uint32_t max_resource_columns = 8;
  /// A key qualifies when at least this share of its owners (spans or resources) carry it with
  /// the same type.
  double min_share = 0.05;
};

/// Picks the dedicated columns for a block from a sample of its spans: the most frequent
/// (key, type) pairs, most frequent first, ties by key.
std::vector<DedicatedColumn> ChooseDedicatedColumns(const model::SpanBatch& sample, const DedicatedOptions& opts);

/// The names of every column of a row group with `dedicated`, in storage order.
std::vector<std::string> ColumnNames(std::span<const DedicatedColumn> dedicated);
/// Per column (storage order): 1 if it holds strings.
std::vector<uint8_t> StringColumns(std::span<const DedicatedColumn> dedicated);

class RowGroupBuilder {
 public:
  /// Appends spans `idx` of `src` as one trace. They must share one trace id, greater than the
  /// previous trace's. Spans repeating an earlier span id of the trace are dropped (first wins).
  /// Returns the number of spans kept.
  uint32_t AddTrace(const model::SpanBatch& src, std::span<const uint32_t> idx);
  const RowGroup& group() const { return group_; }
  size_t spans() const { return group_.spans.size(); }
  size_t traces() const { return group_.traces.size(); }
  /// Moves the group out and starts an empty one.
  RowGroup Take();

 private:
  RowGroup group_;
};

/// Encodes `group` with the block's dedicated columns.
std::string EncodeRowGroup(const RowGroup& group, std::span<const DedicatedColumn> dedicated, const PageOptions& opts);

/// Column chunk boundaries of an encoded row group, for inspection and verification.
struct RowGroupLayout {
  uint64_t base_start = 0;  // unix nanoseconds the trace start times are relative to
  std::vector<std::string_view> chunks;  // views into the row group bytes, in ColumnNames order
};
Result<RowGroupLayout> ParseRowGroupLayout(std::string_view bytes, size_t columns);

/// Where the column chunks of an encoded row group of `length` bytes lie, from its header.
struct RowGroupHeader {
  uint64_t base_start = 0;
  uint64_t data_offset = 0;  // of chunk 0, from the row group's first byte
  std::vector<uint64_t> offsets;  // chunk c is [offsets[c], offsets[c + 1]); columns + 1 entries
};
/// Parses the header from `prefix`, the row group's first bytes. When `prefix` is too short to
/// hold the header, sets `need` to the bytes it must have and fails; `need` is 0 otherwise.
/// Checks the header's checksum and that the chunks fill the row group exactly.
Result<RowGroupHeader> ParseRowGroupHeader(std::string_view prefix, uint64_t length, size_t columns, uint64_t* need);

/// What a partial decode builds (a search's second pass): the columns to read, in ColumnNames
/// order (the others are not decompressed and read as zero or empty: no attributes from an
/// unread table, no events or links unless their tables are read), and the traces to build (the
/// others are passed over without building a span and are absent from the result).
struct DecodeSelection {
  std::vector<uint8_t> columns;  // 1 = read; empty = every column
  std::vector<uint8_t> traces;   // 1 = build; empty = every trace
};

/// Decodes an encoded row group, or the part `sel` selects. The result's strings view `bytes`
/// only through buffers its arena owns, so `bytes` may die afterwards. Corrupt input gives
/// DataLoss, never a crash.
Result<RowGroup> DecodeRowGroup(std::string_view bytes, std::span<const DedicatedColumn> dedicated,
                                const ReadLimits& limits = {}, const DecodeSelection* sel = nullptr);
/// The same from chunks already located (and, for a partial decode, only the selected ones
/// read: the others may be empty views).
Result<RowGroup> DecodeRowGroup(const RowGroupLayout& layout, std::span<const DedicatedColumn> dedicated,
                                const ReadLimits& limits = {}, const DecodeSelection* sel = nullptr);

/// Whether an encoded row group holds trace `id`, from its trace-id column alone (one page, not
/// the whole group): a bloom filter's false positive costs little.
Result<bool> RowGroupHasTrace(std::string_view bytes, size_t columns, const model::TraceId& id,
                              const ReadLimits& limits = {});

/// Trace `t` of `group` as the search engine sees it (views into `group`).
scan::TraceView TraceViewOf(const RowGroup& group, size_t t);

/// Copies trace `t` of `group` into `out` (with its resources and scopes).
void CopyTrace(const RowGroup& group, size_t t, model::SpanBatch* out);

}  // namespace vivace::blocks
