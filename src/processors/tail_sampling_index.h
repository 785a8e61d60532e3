#pragma once
// Internal to the tail_sampling processor (tail_sampling.cc and its test): the hash index of
// the traces in memory and the decision cache. Thread-compatible: the processor's lock guards
// them.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/ids.h"

namespace vivace::processors::tail_sampling_internal {

inline constexpr uint32_t kNil = UINT32_MAX;

inline uint64_t Mix64(uint64_t x) {  // MurmurHash3's finalizer
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/// The hash of a (tenant, trace id) key.
inline uint64_t KeyHash(const model::TraceId& id, uint32_t tenant) {
  return Mix64(model::IdHash{}(id) ^ (static_cast<uint64_t>(tenant) * 0x9e3779b97f4a7c15ull));
}

/// Open addressing with linear probing and backward-shift deletion (no tombstones), from a
/// 64-bit key hash to a uint32 slot. The caller checks the key stored at the slot (Find's `eq`),
/// so hash collisions are harmless. Grows at load 1/2.
class SlotIndex {
 public:
  explicit SlotIndex(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    entries_.assign(cap, Entry{});
    mask_ = cap - 1;
  }

  template <typename Eq>
  uint32_t Find(uint64_t hash, Eq&& eq) const {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.slot == kNil) return kNil;
      if (e.hash == hash && eq(e.slot)) return e.slot;
    }
  }

  void Insert(uint64_t hash, uint32_t slot) {
    if ((size_ + 1) * 2 > entries_.size()) Rehash(entries_.size() * 2);
    Place(hash, slot);
    ++size_;
  }

  void Erase(uint64_t hash, uint32_t slot) {
    size_t i = hash & mask_;
    while (entries_[i].slot != slot) {
      if (entries_[i].slot == kNil) return;
      i = (i + 1) & mask_;
    }
    // Shift back every following entry that may not sit past the hole.
    for (size_t j = (i + 1) & mask_; entries_[j].slot != kNil; j = (j + 1) & mask_) {
      size_t home = entries_[j].hash & mask_;
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        entries_[i] = entries_[j];
        i = j;
      }
    }
    entries_[i] = Entry{};
    --size_;
  }

  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    uint32_t slot = kNil;
  };
  void Place(uint64_t hash, uint32_t slot) {
    size_t i = hash & mask_;
    while (entries_[i].slot != kNil) i = (i + 1) & mask_;
    entries_[i] = Entry{hash, slot};
  }
  void Rehash(size_t cap) {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(cap, Entry{});
    mask_ = cap - 1;
    for (const Entry& e : old) {
      if (e.slot != kNil) Place(e.hash, e.slot);
    }
  }

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// decision_cache: the last `capacity` (tenant, trace id) keys put, first in first out (the
/// Collector uses an LRU; FIFO keeps the same bound without touching the list on every hit).
class DecisionCache {
 public:
  explicit DecisionCache(uint64_t capacity)
      : capacity_(capacity), index_(std::min<uint64_t>(capacity, 1 << 16)) {}

  bool enabled() const { return capacity_ > 0; }

  bool Contains(uint64_t hash, uint32_t tenant, const model::TraceId& id) const {
    return index_.Find(hash, [&](uint32_t pos) {
      return keys_[pos].tenant == tenant && keys_[pos].id == id;
    }) != kNil;
  }

  void Put(uint64_t hash, uint32_t tenant, const model::TraceId& id) {
    if (Contains(hash, tenant, id)) return;
    uint32_t pos;
    if (keys_.size() < capacity_) {
      pos = static_cast<uint32_t>(keys_.size());
      keys_.push_back(Key{});
    } else {
      pos = static_cast<uint32_t>(head_);
      index_.Erase(keys_[pos].hash, pos);
      head_ = (head_ + 1) % capacity_;
    }
    keys_[pos] = Key{id, tenant, hash};
    index_.Insert(hash, pos);
  }

 private:
  struct Key {
    model::TraceId id;
    uint32_t tenant = 0;
    uint64_t hash = 0;
  };
  uint64_t capacity_;
  std::vector<Key> keys_;  // a ring once full; head_ is the oldest
  uint64_t head_ = 0;
  SlotIndex index_;  // hash -> position in keys_
};

}  // namespace vivace::processors::tail_sampling_internal
