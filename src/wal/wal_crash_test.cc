// Crash-like test: a child process appends until it is SIGKILLed or _exits at a random point;
// every append it acknowledged (reported through a pipe) must be replayed afterwards.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "base/coding.h"
#include "base/logging.h"
#include "wal/internal/test_util.h"
#include "wal/wal.h"

namespace vivace::wal {
namespace {

using testing::Payload;
using testing::TempDir;

constexpr int kChildThreads = 3;

uint64_t RecordId(int round, int thread, int i) {
  return (static_cast<uint64_t>(round) << 40) | (static_cast<uint64_t>(thread) << 32) |
         static_cast<uint32_t>(i);
}

std::string CrashPayload(uint64_t id) {
  std::string p;
  PutFixed64(&p, id);
  p += Payload(static_cast<int>((id >> 32) & 0xff), static_cast<int>(id & 0xffffffff), 4000);
  return p;
}

void WriteAck(int fd, uint64_t id) {
  // 8 bytes < PIPE_BUF: atomic, so acks from several threads never interleave.
  while (::write(fd, &id, sizeof(id)) < 0 && errno == EINTR) {
  }
}

// Runs in the forked child; never returns.
[[noreturn]] void ChildMain(const Options& opts, int round, int ack_fd, int exit_after_acks) {
  log::SetLevel(log::Level::kError);
  auto wal = Wal::Open(opts, [](RecordLocation, std::string_view) { return Status::OK(); });
  if (!wal.ok()) ::_exit(3);
  std::atomic<int> acks{0};
  auto acked = [&](uint64_t id) {
    WriteAck(ack_fd, id);
    if (++acks == exit_after_acks) ::_exit(0);  // no Close: like a crash
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1'000'000; ++i) {
        uint64_t id = RecordId(round, t, i);
        if (t == 0 && i % 4 != 0) {
          // Asynchronous appends: acknowledged from the writer thread.
          (*wal)->Append(CrashPayload(id), [&, id](Status s, RecordLocation) {
            if (s.ok()) acked(id);
          });
        } else if ((*wal)->AppendSync(CrashPayload(id)).ok()) {
          acked(id);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(4);  // the parent should have stopped us long before
}

TEST(WalCrashTest, AcknowledgedAppendsSurviveProcessDeath) {
  TempDir dir;
  Options opts;
  opts.dir = dir.path() + "/wal";
  opts.segment_bytes = 256 << 10;  // make the child roll segments too
  std::mt19937 rng(std::random_device{}());
  std::set<uint64_t> acked;

  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(round);
    opts.sync = round == 5 ? SyncPolicy::kInterval : SyncPolicy::kAlways;
    bool kill_it = round % 2 == 0;
    int kill_after = 20 + static_cast<int>(rng() % 400);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      ChildMain(opts, round, fds[1], kill_it ? -1 : kill_after);
    }
    ::close(fds[1]);
    std::string buf;
    char chunk[4096];
    bool killed = false;
    size_t round_acks = 0;
    for (;;) {
      ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t whole = buf.size() / 8 * 8;
      for (size_t off = 0; off < whole; off += 8) {
        acked.insert(DecodeFixed64(buf.data() + off));
        ++round_acks;
      }
      buf.erase(0, whole);
      if (kill_it && !killed && round_acks >= static_cast<size_t>(kill_after)) {
        // Let the child run on a little so the kill lands mid-write/mid-sync.
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        ::kill(pid, SIGKILL);
        killed = true;
      }
    }
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (kill_it) {
      ASSERT_TRUE(WIFSIGNALED(status)) << status;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    EXPECT_TRUE(buf.empty());
    EXPECT_GT(round_acks, 0u);

    // Reopen: every acknowledged record of every round so far is there, with exact bytes and
    // per-thread order.
    std::map<uint64_t, uint64_t> last_by_stream;  // (round, thread) -> last index seen
    std::set<uint64_t> present;
    auto wal = Wal::Open(opts, [&](RecordLocation, std::string_view payload) {
      if (payload.size() < 8) return Internal("short payload");
      uint64_t id = DecodeFixed64(payload.data());
      if (payload != CrashPayload(id)) return Internal("payload bytes differ");
      uint64_t stream = id >> 32, index = id & 0xffffffff;
      auto it = last_by_stream.find(stream);
      if (it != last_by_stream.end() && index <= it->second) return Internal("out of order");
      last_by_stream[stream] = index;
      present.insert(id);
      return Status::OK();
    });
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    size_t missing = 0;
    for (uint64_t id : acked) missing += present.count(id) == 0;
    EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
    EXPECT_GE(present.size(), acked.size());
    std::printf("round %d (%s): %zu acked this round, %zu replayed in total, %llu bytes cut\n",
                round, kill_it ? "SIGKILL" : "_exit", round_acks, present.size(),
                static_cast<unsigned long long>((*wal)->replay_stats().truncated_bytes));
  }
}

}  // namespace
}  // namespace vivace::wal
