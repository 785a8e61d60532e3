#include "wal/wal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "base/logging.h"
#include "wal/internal/format.h"
#include "wal/internal/test_util.h"

namespace vivace::wal {
namespace {

namespace fs = std::filesystem;
using testing::OpenCollecting;
using testing::Payload;
using testing::ReadFileBytes;
using testing::Record;
using testing::TempDir;
using testing::WriteFileBytes;

class WalTest : public ::testing::Test {
 protected:
  Options Opts() const {
    Options o;
    o.dir = tmp_.path() + "/wal";
    return o;
  }

  // Opens (replacing wal_), collecting replayed records into replayed_.
  void Reopen(const Options& o) {
    wal_.reset();
    replayed_.clear();
    auto r = OpenCollecting(o, &replayed_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    wal_ = std::move(r).value();
  }
  void Reopen() { Reopen(Opts()); }

  std::string SegPath(uint64_t segment) const {
    return Opts().dir + "/" + internal::SegmentFileName(segment);
  }

  TempDir tmp_;
  std::unique_ptr<Wal> wal_;
  std::vector<Record> replayed_;
};

TEST_F(WalTest, EmptyDirectoryIsCreatedAndOpens) {
  Reopen();
  EXPECT_TRUE(replayed_.empty());
  const ReplayStats& s = wal_->replay_stats();
  EXPECT_EQ(s.records, 0u);
  EXPECT_EQ(s.segments, 0u);
  EXPECT_EQ(s.truncated_bytes, 0u);
  EXPECT_EQ(s.corrupt_segments, 0u);
  EXPECT_EQ(wal_->current_segment(), 1u);
  EXPECT_EQ(fs::file_size(SegPath(1)), internal::kSegmentHeaderSize);
}

TEST_F(WalTest, ReadRejectsWrongOrVanishedLocations) {
  Reopen();
  ASSERT_TRUE(wal_->AppendSync("first").ok());
  std::promise<RecordLocation> appended;
  wal_->Append("second record", [&](Status s, RecordLocation where) {
    EXPECT_TRUE(s.ok());
    appended.set_value(where);
  });
  RecordLocation where = appended.get_future().get();

  RecordLocation wrong_length = where;
  wrong_length.length -= 1;
  EXPECT_EQ(wal_->Read(wrong_length).status().code(), StatusCode::kDataLoss);
  RecordLocation wrong_offset = where;
  wrong_offset.offset += 1;
  EXPECT_EQ(wal_->Read(wrong_offset).status().code(), StatusCode::kDataLoss);
  RecordLocation past_end = where;
  past_end.offset += 1 << 20;
  EXPECT_EQ(wal_->Read(past_end).status().code(), StatusCode::kDataLoss);

  // A flipped payload byte fails the checksum.
  std::string path = SegPath(where.segment);
  std::string bytes = ReadFileBytes(path);
  bytes[where.offset + internal::kRecordHeaderSize] ^= 1;
  WriteFileBytes(path, bytes);
  EXPECT_EQ(wal_->Read(where).status().code(), StatusCode::kDataLoss);

  RecordLocation gone = where;
  gone.segment += 100;
  EXPECT_EQ(wal_->Read(gone).status().code(), StatusCode::kNotFound);
}

TEST_F(WalTest, RoundTripsExactBytes) {
  Reopen();
  std::vector<std::string> want = {"hello", "", std::string(1000, '\0'), Payload(0, 7)};
  for (const std::string& p : want) ASSERT_TRUE(wal_->AppendSync(p).ok());
  std::string a = "tenant-a", b = "\x0a\x03xyz";
  std::vector<std::string_view> pieces = {a, b};
  std::promise<RecordLocation> appended;
  wal_->Append(pieces, [&](Status s, RecordLocation where) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    appended.set_value(where);
  });
  want.push_back(a + b);
  RecordLocation last = appended.get_future().get();
  EXPECT_EQ(last.segment, 1u);
  EXPECT_EQ(last.length, (a + b).size());
  auto read = wal_->Read(last);  // readable while the WAL is open
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, a + b);
  wal_->Close();

  Reopen();
  ASSERT_EQ(replayed_.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(replayed_[i].payload, want[i]) << i;
    EXPECT_EQ(replayed_[i].segment, 1u);
    auto again = wal_->Read(replayed_[i].where);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(*again, want[i]) << i;
  }
  EXPECT_EQ(replayed_.back().where.offset, last.offset);
  EXPECT_EQ(wal_->replay_stats().records, want.size());
  EXPECT_EQ(wal_->replay_stats().segments, 1u);
  // Appends never continue a replayed segment.
  EXPECT_EQ(wal_->current_segment(), 2u);
}

TEST_F(WalTest, ConcurrentAppendsReplayInPerThreadOrder) {
  Reopen();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 300;
  std::atomic<int> acked{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string p = Payload(t, i);
        if (i % 3 == 0) {
          if (wal_->AppendSync(p).ok()) {
            ++acked;
          } else {
            ++failed;
          }
          continue;
        }
        // Split into pieces; the buffers die right after Append returns.
        std::string head = p.substr(0, p.size() / 2), tail = p.substr(p.size() / 2);
        std::vector<std::string_view> pieces = {head, tail};
        wal_->Append(pieces, [&](Status s, RecordLocation) { s.ok() ? ++acked : ++failed; });
      }
    });
  }
  for (auto& th : threads) th.join();
  wal_->Close();
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);

  Reopen();
  ASSERT_EQ(replayed_.size(), static_cast<size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const Record& r : replayed_) {
    int t = r.payload[1] - '0';
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    ASSERT_EQ(r.payload, Payload(t, next[t])) << "thread " << t;
    ++next[t];
  }
}

TEST_F(WalTest, GroupCommitSharesSyncs) {
  Reopen();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(wal_->AppendSync(Payload(t, i, 200)).ok());
    });
  }
  for (auto& th : threads) th.join();
  uint64_t syncs = wal_->syncs(), batches = wal_->batches();
  std::printf("group commit: %d appends, %llu write batches, %llu fdatasyncs\n",
              kThreads * kPerThread, static_cast<unsigned long long>(batches),
              static_cast<unsigned long long>(syncs));
  EXPECT_EQ(syncs, batches);  // kAlways: one fdatasync per batch
  EXPECT_LT(syncs, static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(WalTest, RollsAtSegmentBytes) {
  Options o = Opts();
  o.segment_bytes = 4096;
  Reopen(o);
  std::vector<uint64_t> acked_segment;
  for (int i = 0; i < 100; ++i) {
    std::promise<uint64_t> seg;
    wal_->Append(std::string(300, static_cast<char>('a' + i % 26)) + std::to_string(i),
                 [&](Status s, RecordLocation where) {
                   EXPECT_TRUE(s.ok());
                   seg.set_value(where.segment);
                 });
    acked_segment.push_back(seg.get_future().get());
  }
  uint64_t last = wal_->current_segment();
  EXPECT_GE(last, 8u);  // 100 * ~312 bytes in 4 KiB segments
  wal_->Close();
  for (uint64_t s = 1; s <= last; ++s) {
    // Each batch here is one record, so a segment exceeds the limit by at most one record.
    EXPECT_LE(fs::file_size(SegPath(s)), 4096u + 312u) << s;
  }
  Reopen(o);
  ASSERT_EQ(replayed_.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(replayed_[i].segment, acked_segment[i]);
    EXPECT_TRUE(replayed_[i].payload.ends_with(std::to_string(i)));
    if (i > 0) {
      EXPECT_GE(replayed_[i].segment, replayed_[i - 1].segment);
    }
  }
  EXPECT_EQ(wal_->replay_stats().segments, last);
}

TEST_F(WalTest, RollAndDeleteSegmentsBefore) {
  Reopen();
  ASSERT_TRUE(wal_->AppendSync("old-1").ok());
  ASSERT_TRUE(wal_->AppendSync("old-2").ok());
  auto first_new = wal_->Roll();
  ASSERT_TRUE(first_new.ok());
  EXPECT_EQ(*first_new, 2u);
  EXPECT_EQ(wal_->current_segment(), 2u);
  // Rolling an empty segment keeps it.
  auto again = wal_->Roll();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 2u);
  ASSERT_TRUE(wal_->AppendSync("new-1").ok());

  ASSERT_TRUE(wal_->DeleteSegmentsBefore(*first_new).ok());
  EXPECT_FALSE(fs::exists(SegPath(1)));
  // The current segment is never deleted.
  ASSERT_TRUE(wal_->DeleteSegmentsBefore(1000).ok());
  EXPECT_TRUE(fs::exists(SegPath(2)));
  wal_->Close();
  EXPECT_FALSE(wal_->DeleteSegmentsBefore(1000).ok());

  Reopen();
  ASSERT_EQ(replayed_.size(), 1u);
  EXPECT_EQ(replayed_[0].payload, "new-1");
  EXPECT_EQ(replayed_[0].segment, 2u);
  EXPECT_EQ(wal_->current_segment(), 3u);
}

// Writes `n` records into segment 1 and closes; returns the offset where the last one starts.
uint64_t WriteRecords(const Options& o, int n) {
  std::vector<Record> ignored;
  auto wal = OpenCollecting(o, &ignored);
  EXPECT_TRUE(wal.ok());
  uint64_t offset = internal::kSegmentHeaderSize;
  for (int i = 0; i < n; ++i) {
    std::string p = Payload(0, i, 3000);
    EXPECT_TRUE((*wal)->AppendSync(p).ok());
    if (i + 1 < n) offset += internal::kRecordHeaderSize + p.size();
  }
  return offset;
}

TEST_F(WalTest, TornTailIsTruncatedAndWalStaysUsable) {
  std::mt19937 rng(42);
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE(round);
    TempDir dir;
    Options o;
    o.dir = dir.path();
    constexpr int kRecords = 20;
    uint64_t last_start = WriteRecords(o, kRecords);
    std::string seg1 = o.dir + "/" + internal::SegmentFileName(1);
    uint64_t size = fs::file_size(seg1);
    ASSERT_GT(size, last_start + internal::kRecordHeaderSize);
    // Cut inside the last record (its header or payload), sometimes followed by garbage.
    uint64_t cut = last_start + 1 + rng() % (size - last_start - 1);
    fs::resize_file(seg1, cut);
    if (round % 2 == 1) {
      std::string garbage(1 + rng() % 500, '\0');
      for (char& c : garbage) c = static_cast<char>(rng());
      std::ofstream(seg1, std::ios::binary | std::ios::app) << garbage;
    }
    uint64_t torn_size = fs::file_size(seg1);

    std::vector<Record> got;
    auto wal = OpenCollecting(o, &got);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    ASSERT_EQ(got.size(), static_cast<size_t>(kRecords - 1));
    for (int i = 0; i < kRecords - 1; ++i) ASSERT_EQ(got[i].payload, Payload(0, i, 3000));
    EXPECT_EQ(fs::file_size(seg1), last_start);
    EXPECT_EQ((*wal)->replay_stats().truncated_bytes, torn_size - last_start);
    ASSERT_TRUE((*wal)->AppendSync("after-repair").ok());
    wal->reset();

    got.clear();
    wal = OpenCollecting(o, &got);
    ASSERT_TRUE(wal.ok());
    ASSERT_EQ(got.size(), static_cast<size_t>(kRecords));
    EXPECT_EQ(got.back().payload, "after-repair");
    EXPECT_EQ((*wal)->replay_stats().truncated_bytes, 0u);
  }
}

TEST_F(WalTest, GarbageAfterLastCompleteRecordIsTruncated) {
  Options o = Opts();
  WriteRecords(o, 5);
  uint64_t size = fs::file_size(SegPath(1));
  std::ofstream(SegPath(1), std::ios::binary | std::ios::app) << std::string(100, 'z');
  Reopen(o);
  EXPECT_EQ(replayed_.size(), 5u);
  EXPECT_EQ(wal_->replay_stats().truncated_bytes, 100u);
  EXPECT_EQ(fs::file_size(SegPath(1)), size);
}

TEST_F(WalTest, ZeroFilledTailOfOlderSegmentIsTruncated) {
  Options o = Opts();
  WriteRecords(o, 5);
  Reopen(o);  // creates segment 2, so segment 1 is no longer the last
  wal_.reset();
  uint64_t size = fs::file_size(SegPath(1));
  fs::resize_file(SegPath(1), size + 8192);  // zeros, as a crash can leave after a size update
  Reopen(o);
  EXPECT_EQ(replayed_.size(), 5u);
  EXPECT_EQ(wal_->replay_stats().truncated_bytes, 8192u);
  EXPECT_EQ(wal_->replay_stats().corrupt_segments, 0u);
  EXPECT_EQ(fs::file_size(SegPath(1)), size);
}

// Flips one payload bit of record `index` in segment file `path` of records Payload(0, i).
void FlipBitInRecord(const std::string& path, int index, const std::vector<std::string>& payloads) {
  uint64_t offset = internal::kSegmentHeaderSize;
  for (int i = 0; i < index; ++i) offset += internal::kRecordHeaderSize + payloads[i].size();
  std::string bytes = ReadFileBytes(path);
  ASSERT_LT(offset + internal::kRecordHeaderSize, bytes.size());
  bytes[offset + internal::kRecordHeaderSize] ^= 0x10;
  WriteFileBytes(path, bytes);
}

class BitFlipTest : public WalTest {
 protected:
  // Segment 1 and 2 with 10 records each.
  void SetUp() override {
    Reopen();
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; i < 10; ++i) {
        payloads_[s].push_back("s" + std::to_string(s) + "r" + std::to_string(i) +
                               std::string(50 + i, 'p'));
        ASSERT_TRUE(wal_->AppendSync(payloads_[s].back()).ok());
      }
      ASSERT_TRUE(wal_->Roll().ok());
    }
    wal_.reset();
  }
  std::vector<std::string> payloads_[2];
};

TEST_F(BitFlipTest, InOlderSegmentSkipsRestOfThatSegmentOnly) {
  // Segment 3 (empty) is the last one, so the damage in segment 1 is "in an older segment".
  uint64_t size = fs::file_size(SegPath(1));
  FlipBitInRecord(SegPath(1), 4, payloads_[0]);
  Reopen();
  ASSERT_EQ(replayed_.size(), 14u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(replayed_[i].payload, payloads_[0][i]);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(replayed_[4 + i].payload, payloads_[1][i]);
    EXPECT_EQ(replayed_[4 + i].segment, 2u);
  }
  EXPECT_EQ(wal_->replay_stats().corrupt_segments, 1u);
  EXPECT_EQ(wal_->replay_stats().truncated_bytes, 0u);
  EXPECT_EQ(fs::file_size(SegPath(1)), size);  // kept for inspection
}

TEST_F(BitFlipTest, InLastSegmentTruncatesThere) {
  fs::remove(SegPath(3));  // make segment 2 the last one
  FlipBitInRecord(SegPath(2), 4, payloads_[1]);
  uint64_t size = fs::file_size(SegPath(2));
  Reopen();
  ASSERT_EQ(replayed_.size(), 14u);
  EXPECT_EQ(replayed_.back().payload, payloads_[1][3]);
  EXPECT_EQ(wal_->replay_stats().corrupt_segments, 0u);
  EXPECT_GT(wal_->replay_stats().truncated_bytes, 0u);
  EXPECT_EQ(fs::file_size(SegPath(2)), size - wal_->replay_stats().truncated_bytes);
  EXPECT_EQ(wal_->current_segment(), 3u);
}

TEST_F(WalTest, BadHeaderSegmentIsSetAside) {
  Options o = Opts();
  WriteRecords(o, 3);
  WriteFileBytes(SegPath(2), std::string(200, 'x'));  // bad magic
  WriteFileBytes(SegPath(3), "VVWAL");                // shorter than a header
  std::string renumbered = internal::EncodeSegmentHeader(9);
  WriteFileBytes(SegPath(4), renumbered);  // valid header of another segment
  Reopen(o);
  EXPECT_EQ(replayed_.size(), 3u);
  EXPECT_EQ(wal_->replay_stats().corrupt_segments, 3u);
  EXPECT_EQ(wal_->replay_stats().segments, 1u);
  for (uint64_t s : {2, 3, 4}) {
    EXPECT_FALSE(fs::exists(SegPath(s))) << s;
    EXPECT_TRUE(fs::exists(SegPath(s) + ".corrupt")) << s;
  }
  EXPECT_EQ(wal_->current_segment(), 5u);
  ASSERT_TRUE(wal_->AppendSync("x").ok());
  Reopen(o);
  EXPECT_EQ(replayed_.size(), 4u);
  EXPECT_EQ(wal_->replay_stats().corrupt_segments, 0u);
  EXPECT_EQ(wal_->current_segment(), 6u);  // numbers of .corrupt files are not reused
}

TEST_F(WalTest, LeftoverTmpSegmentIsRemoved) {
  Options o = Opts();
  WriteRecords(o, 2);
  WriteFileBytes(SegPath(2) + ".tmp", "VVWALS");
  Reopen(o);
  EXPECT_EQ(replayed_.size(), 2u);
  EXPECT_FALSE(fs::exists(SegPath(2) + ".tmp"));
  EXPECT_EQ(wal_->current_segment(), 3u);
}

TEST_F(WalTest, OversizedRecordIsRejected) {
  Options o = Opts();
  o.max_record_bytes = 1024;
  Reopen(o);
  Status s = wal_->AppendSync(std::string(1025, 'a'));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  std::string half(600, 'b');
  std::vector<std::string_view> pieces = {half, half};
  std::promise<Status> p;
  wal_->Append(pieces, [&](Status st, RecordLocation) { p.set_value(std::move(st)); });
  EXPECT_EQ(p.get_future().get().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(wal_->AppendSync(std::string(1024, 'c')).ok());
  Reopen(o);
  ASSERT_EQ(replayed_.size(), 1u);
  EXPECT_EQ(replayed_[0].payload, std::string(1024, 'c'));
}

TEST_F(WalTest, InvalidOptionsAreRejected) {
  Options o = Opts();
  o.dir = "";
  EXPECT_EQ(Wal::Open(o, nullptr).status().code(), StatusCode::kInvalidArgument);
  o = Opts();
  o.max_record_bytes = 0;
  EXPECT_EQ(Wal::Open(o, nullptr).status().code(), StatusCode::kInvalidArgument);
  o = Opts();
  o.sync = SyncPolicy::kInterval;
  o.sync_interval = std::chrono::milliseconds(0);
  EXPECT_EQ(Wal::Open(o, nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(WalTest, DirectoryIsLockedWhileOpen) {
  Reopen();
  std::vector<Record> ignored;
  auto second = OpenCollecting(Opts(), &ignored);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  wal_->Close();
  second = OpenCollecting(Opts(), &ignored);
  EXPECT_TRUE(second.ok()) << second.status().ToString();
}

TEST_F(WalTest, ReplayCallbackErrorFailsOpen) {
  WriteRecords(Opts(), 3);
  auto r = Wal::Open(Opts(), [](RecordLocation, std::string_view) { return Internal("boom"); });
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("boom"), std::string_view::npos);
}

TEST_F(WalTest, AppendAfterCloseFailsInline) {
  Reopen();
  wal_->Close();
  wal_->Close();  // idempotent
  bool called = false;
  wal_->Append("x", [&](Status s, RecordLocation) {
    called = true;
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  });
  EXPECT_TRUE(called);
  EXPECT_FALSE(wal_->Roll().ok());
}

class SyncPolicyTest : public WalTest, public ::testing::WithParamInterface<SyncPolicy> {};

TEST_P(SyncPolicyTest, ReplaysAfterCleanClose) {
  Options o = Opts();
  o.sync = GetParam();
  o.sync_interval = std::chrono::milliseconds(5);
  o.segment_bytes = 64 << 10;
  Reopen(o);
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        wal_->Append(Payload(t, i), [&](Status s, RecordLocation) {
          EXPECT_TRUE(s.ok());
          ++acked;
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  if (GetParam() == SyncPolicy::kInterval) {
    // The interval sync happens on its own, without Close.
    for (int i = 0; i < 500 && wal_->syncs() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GT(wal_->syncs(), 0u);
  }
  wal_->Close();
  EXPECT_EQ(acked.load(), 400);
  if (GetParam() == SyncPolicy::kNone) {
    EXPECT_EQ(wal_->syncs(), 0u);
  }
  Reopen(o);
  ASSERT_EQ(replayed_.size(), 400u);
  int next[2] = {0, 0};
  for (const Record& r : replayed_) {
    int t = r.payload[1] - '0';
    ASSERT_EQ(r.payload, Payload(t, next[t]++));
  }
  EXPECT_EQ(wal_->replay_stats().truncated_bytes, 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, SyncPolicyTest,
                         ::testing::Values(SyncPolicy::kAlways, SyncPolicy::kInterval,
                                           SyncPolicy::kNone));

// Restores RLIMIT_FSIZE and SIGXFSZ on scope exit.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);  // write(2) then fails with EFBIG
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_;
  sighandler_t old_handler_;
};

TEST_F(WalTest, IoErrorFailsAffectedAppendsAndLatches) {
  Reopen();
  ASSERT_TRUE(wal_->AppendSync("before").ok());
  Status big, later;
  {
    FileSizeLimit limit(64 << 10);
    big = wal_->AppendSync(std::string(100 << 10, 'x'));  // partly written, then EFBIG
    later = wal_->AppendSync("small");
  }
  EXPECT_FALSE(big.ok());
  EXPECT_EQ(later.code(), StatusCode::kUnavailable) << later.ToString();
  EXPECT_EQ(wal_->AppendSync("after-limit-lifted").code(), StatusCode::kUnavailable);
  EXPECT_FALSE(wal_->Roll().ok());
  Reopen();
  ASSERT_EQ(replayed_.size(), 1u);
  EXPECT_EQ(replayed_[0].payload, "before");
  EXPECT_GT(wal_->replay_stats().truncated_bytes, 0u);  // the partial record
}

}  // namespace
}  // namespace vivace::wal
