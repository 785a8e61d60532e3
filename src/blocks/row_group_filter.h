#pragma once
// The columnar first pass of a search over one encoded row group: evaluates the fetch's
// conditions on the few columns they name — dictionary values once each, then their indexes;
// integers and durations as vectors — without building a single span, and says which traces may
// match. Only those (and only those the results still want) are decoded and evaluated exactly.
// Like all pruning, it is conservative: a condition it cannot evaluate on columns (events,
// links, arrays, arithmetic...) holds for every trace.

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/arena.h"
#include "base/status.h"
#include "blocks/columns.h"
#include "blocks/row_group.h"
#include "blocks/row_group_chunks.h"
#include "scan/fetch.h"

namespace re2 {
class RE2;
}

namespace vivace::blocks {

/// Column positions of one block's layout, by name (ColumnNames), computed once per block.
class ColumnIndex {
 public:
  explicit ColumnIndex(std::span<const DedicatedColumn> dedicated);
  /// The position of column `name`, or -1 when the block has none.
  int Find(std::string_view name) const;
  size_t size() const { return names_.size(); }
  std::span<const DedicatedColumn> dedicated() const { return dedicated_; }
  bool is_string(size_t i) const { return strings_[i] != 0; }

 private:
  std::span<const DedicatedColumn> dedicated_;
  std::vector<std::string> names_;
  std::vector<uint8_t> strings_;
};

/// What a search can learn about one column of an encoded row group without decoding the rest:
/// its value count and, for string columns, its distinct values (views into the filter's arena)
/// — the dictionary page when there is one, else the (small, plain) column itself.
struct ColumnPeek {
  bool exists = false;  // the block has this column
  uint64_t values = 0;
  bool has_dictionary = false;  // `dictionary` lists every distinct value
  std::vector<std::string_view> dictionary;
};

/// One condition of a fetch, prepared once per fetch (its regex compiled).
struct PreparedCondition {
  const scan::Condition* condition = nullptr;
  std::shared_ptr<const re2::RE2> regex;  // for =~ and !~ with a valid pattern
};
std::vector<PreparedCondition> PrepareConditions(const scan::FetchRequest& req);

class RowGroupFilter {
 public:
  /// `bytes` (an encoded row group) and `columns` must outlive the filter.
  RowGroupFilter(std::string_view bytes, const ColumnIndex& columns, const ReadLimits& limits = {});
  /// Reads the chunks it needs through `chunks`; both must outlive the filter.
  RowGroupFilter(RowGroupChunks* chunks, const ColumnIndex& columns, const ReadLimits& limits = {});

  /// The traces of the row group, in storage order: ids and earliest starts.
  Result<std::span<const model::TraceId>> TraceIds();
  Result<std::span<const uint64_t>> TraceStarts();

  /// What the row group says about column `name` without decoding the rest .
  Result<ColumnPeek> Peek(std::string_view name);

  /// The columns a second pass must decode for what `req` reads (empty: all of them, when the
  /// request reads everything).
  Result<std::vector<uint8_t>> Columns(const scan::FetchRequest& req);

  /// Per trace: 1 if it may satisfy `conds` combined as `all` says (every one, or at least one;
  /// an empty list admits every trace), 0 if it certainly cannot. With `min_spans` (see
  /// scan::FetchRequest::min_matching_spans), also 0 if fewer of its spans may satisfy them.
  Result<std::vector<uint8_t>> Candidates(std::span<const PreparedCondition> conds, bool all, uint32_t min_spans = 0);

 private:
  struct Mask;
  Status Header();
  Result<std::string_view> Chunk(std::string_view name);
  Result<const std::vector<uint64_t>*> Ints(std::string_view name);
  Status TraceTable();
  Result<Mask> Evaluate(const PreparedCondition& c);
  Result<Mask> OwnerMask(const PreparedCondition& c, bool resource);
  Result<bool> Dedicated(const PreparedCondition& c, bool resource, std::vector<uint8_t>* rows);
  Result<bool> GenericMayHold(const std::string& owner, std::string_view key);
  Result<bool> Generic(const PreparedCondition& c, bool resource, std::vector<uint8_t>* rows);

  std::string_view bytes_;  // when constructed from bytes: parsed into owned_ on first use
  std::unique_ptr<RowGroupChunks> owned_;
  RowGroupChunks* chunks_ = nullptr;
  const ColumnIndex& columns_;
  ReadLimits limits_;
  Arena arena_;
  std::deque<std::pair<int, std::vector<uint64_t>>> ints_;  // decoded int columns, by position (stable)
  std::vector<IntRun> runs_;  // scratch
  std::vector<uint8_t> value_bits_;  // scratch
  std::vector<uint8_t> present_;  // scratch
  bool traced_ = false;
  std::vector<model::TraceId> ids_;
  std::vector<uint64_t> starts_;
  std::vector<uint32_t> first_span_;  // per trace, plus the total at the end
};

}  // namespace vivace::blocks
