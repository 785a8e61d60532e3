#pragma once
// Arena: a bump allocator for bytes that live exactly as long as their owner (a SpanBatch).

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace vivace {

/// Thread-compatible. Memory is freed only when the arena is destroyed or Reset().
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;

  /// Returns `n` bytes, valid until the arena dies. Alignment: 8.
  char* Allocate(size_t n) {
    n = (n + 7) & ~size_t{7};
    if (n > remaining_) return AllocateSlow(n);
    char* p = ptr_;
    ptr_ += n;
    remaining_ -= n;
    return p;
  }

  /// Copies `s` into the arena and returns a view of the copy.
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = Allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  /// Takes ownership of a whole buffer (e.g. a decompressed request) and returns a view of it.
  std::string_view Adopt(std::string buffer);

  /// Gives back an adopted buffer whose bytes are exactly `view` (data and size), or copies
  /// `view` when it is not one. Views into the returned buffer's old home stay valid only if the
  /// caller keeps the string alive. REQUIRES: nothing else uses views into it afterwards.
  std::string TakeAdopted(std::string_view view);

  /// Bytes held, including adopted buffers.
  size_t bytes_used() const { return bytes_used_; }

  void Reset();

 private:
  char* AllocateSlow(size_t n);

  static constexpr size_t kBlockSize = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::string> adopted_;
  char* ptr_ = nullptr;
  size_t remaining_ = 0;
  size_t bytes_used_ = 0;
};

}  // namespace vivace
