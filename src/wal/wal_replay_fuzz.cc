// Fuzzes replay. The input is written as segment 1 and again (renumbered if its header is
// valid) as segment 2 of a fresh WAL directory, so each input is replayed both as an older
// segment (corruption is skipped) and as the last one (corruption is cut). Checks that Open
// never fails or crashes on bad data, that every replayed payload respects max_record_bytes,
// and that a second Open replays exactly the same records with nothing left to cut.

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/logging.h"
#include "wal/internal/format.h"
#include "wal/wal.h"

namespace {

constexpr uint32_t kMaxRecordBytes = 1 << 20;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "wal_replay_fuzz: %s\n", what);
  std::abort();
}

std::vector<std::string> ReplayAll(const vivace::wal::Options& opts,
                                   vivace::wal::ReplayStats* stats) {
  std::vector<std::string> records;
  auto wal = vivace::wal::Wal::Open(opts, [&](vivace::wal::RecordLocation, std::string_view payload) {
    if (payload.size() > kMaxRecordBytes) Fail("payload over max_record_bytes");
    records.emplace_back(payload);
    return vivace::Status::OK();
  });
  if (!wal.ok()) {
    std::fprintf(stderr, "%s\n", wal.status().ToString().c_str());
    Fail("Open failed on bad data");
  }
  *stats = (*wal)->replay_stats();
  (*wal)->Close();
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vivace::log::SetLevel(vivace::log::Level::kError);
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/vivace_wal_fuzz_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp");
  namespace internal = vivace::wal::internal;
  std::string seg1(reinterpret_cast<const char*>(data), size);
  std::string seg2 = seg1;
  if (seg1.size() >= internal::kSegmentHeaderSize && !internal::CheckSegmentHeader(seg1, 1)) {
    // A valid header names its segment: renumber the copy so that it is valid too.
    seg2.replace(0, internal::kSegmentHeaderSize, internal::EncodeSegmentHeader(2));
  }
  for (const auto& [segment, bytes] : {std::pair{1, &seg1}, std::pair{2, &seg2}}) {
    std::ofstream out(tmpl + "/" + internal::SegmentFileName(segment), std::ios::binary);
    out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  }

  vivace::wal::Options opts;
  opts.dir = tmpl;
  opts.sync = vivace::wal::SyncPolicy::kNone;
  opts.max_record_bytes = kMaxRecordBytes;
  vivace::wal::ReplayStats first, second;
  std::vector<std::string> a = ReplayAll(opts, &first);
  std::vector<std::string> b = ReplayAll(opts, &second);
  if (a != b) Fail("second replay differs");
  if (second.truncated_bytes != 0) Fail("second replay cut bytes");

  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return 0;
}
