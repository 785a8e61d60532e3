// Fuzzes the persistent queue's file format: the input is written as a queued request file
// (and as a leftover temporary file); opening the queue and reading back what it recovered
// must never crash, only skip damaged files or answer DataLoss.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "exporters/persistent_queue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vivace;
  static const std::string dir = [] {
    char tmpl[] = "/tmp/vivace_pq_fuzz_XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (d == nullptr) std::abort();
    return std::string(d);
  }();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const char* name : {"/00000000000000000001.req", "/00000000000000000002.tmp"}) {
    std::ofstream out(dir + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto queue = exporters::PersistentQueue::Open(dir);
  if (!queue.ok()) return 0;
  for (const auto& entry : (*queue)->recovered()) {
    auto request = (*queue)->Read(entry.seq);
    if (!request.ok() && request.status().code() != StatusCode::kDataLoss) {
      std::fprintf(stderr, "persistent_queue_fuzz: unexpected error %s\n", request.status().ToString().c_str());
      std::abort();
    }
  }
  return 0;
}
