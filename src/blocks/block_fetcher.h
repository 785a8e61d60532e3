#pragma once
// A block as a scan::SpansetFetcher: prunes row groups by time range, statistics and
// dictionaries, then hands every remaining trace to the engine.

#include <memory>

#include "blocks/block.h"
#include "scan/fetch.h"

namespace vivace::blocks {

/// Thread-compatible: use one per concurrent fetch (they may share the reader).
class BlockFetcher : public scan::SpansetFetcher {
 public:
  explicit BlockFetcher(std::shared_ptr<BlockReader> reader) : reader_(std::move(reader)) {}
  Result<scan::FetchStats> Fetch(const scan::FetchRequest& req, const scan::TraceVisitor& visit) override;

 private:
  std::shared_ptr<BlockReader> reader_;
};

}  // namespace vivace::blocks
