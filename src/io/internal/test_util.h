#pragma once
// Helpers shared by the io tests. Test-only.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/status.h"
#include "base/test_util.h"

namespace vivace::io::testing {

using ::vivace::testing::TempDir;

/// `n` deterministic bytes that cover all 256 values (NULs included).
inline std::string TestBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace vivace::io::testing

/// EXPECT/ASSERT that a Status or Result is OK, printing the error otherwise.
#define VV_EXPECT_OK(expr)                                                 \
  do {                                                                     \
    ::vivace::Status vv_test_status_ = ::vivace::internal::AsStatus(expr); \
    EXPECT_TRUE(vv_test_status_.ok()) << #expr << ": " << vv_test_status_.ToString(); \
  } while (false)
#define VV_ASSERT_OK(expr)                                                 \
  do {                                                                     \
    ::vivace::Status vv_test_status_ = ::vivace::internal::AsStatus(expr); \
    ASSERT_TRUE(vv_test_status_.ok()) << #expr << ": " << vv_test_status_.ToString(); \
  } while (false)
