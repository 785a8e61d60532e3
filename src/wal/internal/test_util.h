#pragma once
// Helpers shared by the WAL tests. Test-only.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/test_util.h"
#include "wal/wal.h"

namespace vivace::wal::testing {

using ::vivace::testing::TempDir;

/// Deterministic payload for record `i` of writer `thread`: starts with "t<thread>:<i>:",
/// 0..max_len bytes of filler after that.
inline std::string Payload(int thread, int i, size_t max_len = 1500) {
  std::string p = "t" + std::to_string(thread) + ":" + std::to_string(i) + ":";
  uint64_t x = (static_cast<uint64_t>(thread) << 32) ^ static_cast<uint64_t>(i);
  x = x * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  size_t len = (x >> 17) % (max_len + 1);
  for (size_t k = 0; k < len; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p.push_back(static_cast<char>(x));
  }
  return p;
}

struct Record {
  uint64_t segment;
  std::string payload;
  RecordLocation where;
};

/// Opens a Wal, appending every replayed record to `out`.
inline Result<std::unique_ptr<Wal>> OpenCollecting(const Options& opts, std::vector<Record>* out) {
  return Wal::Open(opts, [out](RecordLocation where, std::string_view payload) {
    out->push_back({where.segment, std::string(payload), where});
    return Status::OK();
  });
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

}  // namespace vivace::wal::testing
