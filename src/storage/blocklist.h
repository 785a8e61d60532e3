#pragma once
// Blocklist: the blocks of every tenant in an object store, kept fresh by polling, and trace by
// ID across them. A second process reading the same store sees new blocks at its next Poll.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "blocks/block.h"
#include "io/object_store.h"
#include "model/trace_source.h"

namespace vivace::storage {

/// Thread-safe.
class Blocklist : public model::TraceSource {
 public:
  /// `cache` (may be null) holds the row groups trace-by-ID lookups decode.
  explicit Blocklist(io::ObjectStore* store, blocks::RowGroupCache* cache = nullptr) : store_(store), cache_(cache) {}

  /// Re-lists the store: adds blocks that appeared, drops blocks that are gone.
  Status Poll();
  /// Adds a block this process has just written (without waiting for a poll).
  void Add(const blocks::BlockMeta& meta);
  /// Drops a block this process has just marked compacted or expired.
  void Remove(std::string_view tenant, std::string_view block_id);

  /// Every span of the trace in the tenant's blocks whose time range overlaps [start_s, end_s]
  /// (0 = open) and whose bloom filter may hold it; spans found in several blocks (late spans,
  /// blocks not yet compacted) are merged, each span id once.
  Result<std::unique_ptr<model::SpanBatch>> FindTrace(std::string_view tenant, const model::TraceId& id,
                                                      uint64_t start_s, uint64_t end_s) override;

  /// Readers of the tenant's blocks (for search), any order.
  std::vector<std::shared_ptr<blocks::BlockReader>> Readers(std::string_view tenant) const;
  /// The tenant's blocks, oldest first.
  std::vector<blocks::BlockMeta> Blocks(std::string_view tenant) const;
  std::vector<std::string> Tenants() const;

 private:
  io::ObjectStore* store_;
  blocks::RowGroupCache* cache_;
  mutable Mutex mu_;
  // tenant → block id → reader
  std::map<std::string, std::map<std::string, std::shared_ptr<blocks::BlockReader>, std::less<>>, std::less<>> tenants_
      VV_GUARDED_BY(mu_);
};

}  // namespace vivace::storage
