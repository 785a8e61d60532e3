#include "base/arena.h"

namespace vivace {

char* Arena::AllocateSlow(size_t n) {
  if (n > kBlockSize / 4) {
    // Large allocation: its own block, keep the current block for small ones.
    blocks_.push_back(std::make_unique<char[]>(n));
    bytes_used_ += n;
    return blocks_.back().get();
  }
  blocks_.push_back(std::make_unique<char[]>(kBlockSize));
  bytes_used_ += kBlockSize;
  ptr_ = blocks_.back().get() + n;
  remaining_ = kBlockSize - n;
  return blocks_.back().get();
}

std::string_view Arena::Adopt(std::string buffer) {
  // A short string may live inside the std::string object itself (small-string optimisation),
  // and adopted_ moves its elements when it grows: copy those instead of adopting them.
  if (buffer.size() < sizeof(std::string)) return Copy(buffer);
  bytes_used_ += buffer.capacity();
  adopted_.push_back(std::move(buffer));
  return adopted_.back();
}

std::string Arena::TakeAdopted(std::string_view view) {
  for (auto& a : adopted_) {
    if (a.data() == view.data() && a.size() == view.size()) {
      std::string out = std::move(a);
      a = std::string();
      return out;
    }
  }
  return std::string(view);
}

void Arena::Reset() {
  blocks_.clear();
  adopted_.clear();
  ptr_ = nullptr;
  remaining_ = 0;
  bytes_used_ = 0;
}

}  // namespace vivace
