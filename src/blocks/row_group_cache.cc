#include "blocks/row_group_cache.h"

namespace vivace::blocks {

std::string RowGroupCache::Key(const std::string& block_id, uint32_t group) {
  return block_id + "/" + std::to_string(group);
}

std::shared_ptr<const RowGroup> RowGroupCache::Get(const std::string& block_id, uint32_t group) {
  if (budget_ == 0) return nullptr;
  std::string key = Key(block_id, group);
  MutexLock l(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->group;
}

void RowGroupCache::Put(const std::string& block_id, uint32_t group, std::shared_ptr<const RowGroup> g) {
  uint64_t size = RowGroupMemoryBytes(*g);
  if (budget_ == 0 || size > budget_ / 4) return;
  std::string key = Key(block_id, group);
  MutexLock l(mu_);
  if (map_.count(key)) return;  // another lookup decoded it meanwhile
  lru_.push_front(Entry{key, std::move(g), size});
  map_.emplace(std::move(key), lru_.begin());
  bytes_ += size;
  while (bytes_ > budget_) {
    bytes_ -= lru_.back().bytes;
    map_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

uint64_t RowGroupCache::bytes() const {
  MutexLock l(mu_);
  return bytes_;
}
uint64_t RowGroupCache::hits() const {
  MutexLock l(mu_);
  return hits_;
}
uint64_t RowGroupCache::misses() const {
  MutexLock l(mu_);
  return misses_;
}

uint64_t RowGroupMemoryBytes(const RowGroup& g) {
  return g.spans.MemoryBytes() + g.traces.capacity() * sizeof(TraceEntry) +
         g.services.capacity() * sizeof(ServiceStat) + g.nested.capacity() * sizeof(NestedSet) + sizeof(RowGroup);
}

}  // namespace vivace::blocks
