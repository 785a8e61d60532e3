#pragma once
// RowGroupCache: decoded row groups shared by every BlockReader of a process, least recently used
// first out, within a memory budget. Trace-by-ID lookups of the same trace (Grafana fetches a
// trace again on every panel refresh) or of neighbouring traces skip the read and the decode.

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "blocks/row_group.h"

namespace vivace::blocks {

/// Thread-safe.
class RowGroupCache {
 public:
  /// `budget_bytes`: the most the cached groups may take (by RowGroupMemoryBytes); 0 caches
  /// nothing. A group larger than a quarter of the budget is never cached.
  explicit RowGroupCache(uint64_t budget_bytes) : budget_(budget_bytes) {}

  /// The cached group, or null.
  std::shared_ptr<const RowGroup> Get(const std::string& block_id, uint32_t group);
  void Put(const std::string& block_id, uint32_t group, std::shared_ptr<const RowGroup> g);

  uint64_t bytes() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const RowGroup> group;
    uint64_t bytes;
  };
  static std::string Key(const std::string& block_id, uint32_t group);

  const uint64_t budget_;
  mutable Mutex mu_;
  std::list<Entry> lru_ VV_GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> map_ VV_GUARDED_BY(mu_);
  uint64_t bytes_ VV_GUARDED_BY(mu_) = 0;
  uint64_t hits_ VV_GUARDED_BY(mu_) = 0;
  uint64_t misses_ VV_GUARDED_BY(mu_) = 0;
};

/// Approximate heap bytes of a decoded row group.
uint64_t RowGroupMemoryBytes(const RowGroup& g);

}  // namespace vivace::blocks
