#include "wal/internal/format.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <array>
#include <cstdlib>
#include <filesystem>

#include "base/coding.h"
#include "base/crc32c.h"
#include "wal/internal/test_util.h"

namespace vivace::wal::internal {
namespace {

TEST(WalFormatTest, SegmentFileNames) {
  EXPECT_EQ(SegmentFileName(1), "0000000000000001.wal");
  EXPECT_EQ(SegmentFileName(1234567890123ull), "0001234567890123.wal");
  EXPECT_EQ(ParseSegmentFileName("0000000000000042.wal"), 42u);
  EXPECT_EQ(ParseSegmentFileName("9999999999999999.wal"), 9999999999999999ull);
  EXPECT_FALSE(ParseSegmentFileName("000000000000042.wal"));
  EXPECT_FALSE(ParseSegmentFileName("0000000000000042.wal.corrupt"));
  EXPECT_FALSE(ParseSegmentFileName("000000000000004x.wal"));
  EXPECT_FALSE(ParseSegmentFileName("0000000000000042.log"));
}

TEST(WalFormatTest, SegmentHeaderLayout) {
  std::string h = EncodeSegmentHeader(7);
  ASSERT_EQ(h.size(), kSegmentHeaderSize);
  EXPECT_EQ(h.substr(0, 8), "VVWALSEG");
  EXPECT_EQ(DecodeFixed32(h.data() + 8), 1u);
  EXPECT_EQ(DecodeFixed32(h.data() + 12), 0u);
  EXPECT_EQ(DecodeFixed64(h.data() + 16), 7u);
  EXPECT_EQ(crc32c::Unmask(DecodeFixed32(h.data() + 24)), crc32c::Value(h.substr(0, 24)));
  EXPECT_FALSE(CheckSegmentHeader(h, 7));
  EXPECT_TRUE(CheckSegmentHeader(h, 8));  // file renamed
  for (size_t i = 0; i < h.size(); ++i) {
    std::string bad = h;
    bad[i] ^= 1;
    EXPECT_TRUE(CheckSegmentHeader(bad, 7)) << i;
  }
}

TEST(WalFormatTest, RecordLayout) {
  std::string rec;
  std::array<std::string_view, 2> pieces = {"ab", "c"};
  AppendRecord(&rec, pieces);
  ASSERT_EQ(rec.size(), kRecordHeaderSize + 3);
  EXPECT_EQ(DecodeFixed32(rec.data()), 3u);
  std::string typed_payload = std::string(1, '\x01') + "abc";
  EXPECT_EQ(crc32c::Unmask(DecodeFixed32(rec.data() + 4)), crc32c::Value(typed_payload));
  EXPECT_EQ(rec[8], '\x01');
  EXPECT_EQ(rec.substr(9), "abc");
}

// Writes the seed corpus of wal_replay_fuzz when VV_WAL_WRITE_CORPUS names a directory
// (tests/fuzz_corpus/wal). Each seed is one segment file, numbered 1.
// The checked-in corpus (tests/fuzz_corpus/wal) is what today's encoder writes: a change to the
// on-disk format fails here until the corpus is regenerated on purpose with
// VV_WAL_WRITE_CORPUS=<dir>.
TEST(WalFormatTest, CheckedInCorpusMatchesEncoder) {
  const char* write_to = std::getenv("VV_WAL_WRITE_CORPUS");
  auto record = [](std::string_view payload) {
    std::string r;
    std::array<std::string_view, 1> pieces = {payload};
    AppendRecord(&r, pieces);
    return r;
  };
  std::string header = EncodeSegmentHeader(1);
  std::string three = header + record("first") + record("") + record(std::string(300, 'x'));
  std::string flipped = three;
  flipped[kSegmentHeaderSize + kRecordHeaderSize + 2] ^= 4;  // in the first payload
  std::string bad_type = header + record("typed");
  bad_type[kSegmentHeaderSize + 8] = 2;
  std::string huge_len = header + record("len");
  EncodeFixed32(huge_len.data() + kSegmentHeaderSize, 0xfffffff0u);
  std::string bad_version = three;
  EncodeFixed32(bad_version.data() + 8, 2);
  const std::pair<const char*, std::string> seeds[] = {
      {"empty", ""},
      {"header_only", header},
      {"three_records", three},
      {"torn_last_record", three.substr(0, three.size() - 100)},
      {"torn_record_header", three.substr(0, header.size() + kRecordHeaderSize + 5 + 4)},
      {"garbage_tail", three + "garbage!garbage!"},
      {"zero_tail", three + std::string(64, '\0')},
      {"bit_flip_first_record", flipped},
      {"unknown_type", bad_type + record("after")},
      {"huge_length", huge_len + record("after")},
      {"bad_version", bad_version},
      {"bad_magic", "XXWALSEG" + three.substr(8)},
      {"short_header", header.substr(0, 10)},
  };
  for (const auto& [name, bytes] : seeds) {
    if (write_to != nullptr) {
      testing::WriteFileBytes(std::string(write_to) + "/" + name + ".wal", bytes);
      continue;
    }
    std::string path = std::string(VV_SOURCE_DIR) + "/tests/fuzz_corpus/wal/" + name + ".wal";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << path;
    std::string checked_in((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(checked_in, bytes) << "on-disk format changed: " << path;
  }
}

}  // namespace
}  // namespace vivace::wal::internal
