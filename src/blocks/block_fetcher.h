#pragma once
// A block as a scan::SpansetFetcher: prunes row groups by time range, statistics and
// dictionaries, then hands every remaining trace to the engine.

#include <cstdint>
#include <memory>
#include <vector>

#include "blocks/block.h"
#include "scan/fetch.h"

namespace vivace::blocks {

/// Thread-compatible: use one per concurrent fetch (they may share the reader).
class BlockFetcher : public scan::SpansetFetcher {
 public:
  /// Row groups [first, end) of the block (all of them by default).
  explicit BlockFetcher(std::shared_ptr<BlockReader> reader, size_t first = 0, size_t end = SIZE_MAX)
      : reader_(std::move(reader)), first_(first), end_(end) {}
  Result<scan::FetchStats> Fetch(const scan::FetchRequest& req, const scan::TraceVisitor& visit) override;

 private:
  std::shared_ptr<BlockReader> reader_;
  size_t first_, end_;
};

/// A block as search jobs of at most `row_groups` row groups each, so that one large block
/// spreads over every core (Tempo splits blocks into jobs the same way).
std::vector<std::unique_ptr<BlockFetcher>> BlockJobs(std::shared_ptr<BlockReader> reader, size_t row_groups = 64);

}  // namespace vivace::blocks
