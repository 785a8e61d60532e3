#pragma once
// VV_CHECK: aborts with a message when an invariant is broken. Not for input validation.

namespace vivace::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace vivace::internal

#define VV_CHECK(cond)                                                \
  do {                                                                \
    if (!(cond)) ::vivace::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (false)
