#include "exporters/persistent_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/test_util.h"
#include "exporters/sending_queue.h"

namespace vivace::exporters {
namespace {

namespace fs = std::filesystem;

ExportRequest Req(std::string body, uint64_t spans, std::string tenant = "") {
  ExportRequest r;
  r.body = std::move(body);
  r.spans = spans;
  r.tenant = std::move(tenant);
  return r;
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PersistentQueueTest, RequestsSurviveReopenInOrder) {
  vivace::testing::TempDir tmp;
  std::string dir = tmp.path() + "/q";
  {
    auto q = PersistentQueue::Open(dir);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_TRUE((*q)->recovered().empty());
    ASSERT_TRUE((*q)->Append(Req("first", 1, "tenant-a")).ok());
    Result<uint64_t> second = (*q)->Append(Req(std::string(100000, 'x'), 7));
    ASSERT_TRUE(second.ok());
    ExportRequest json = Req("{}", 3);
    json.encoding = RequestEncoding::kJson;
    ASSERT_TRUE((*q)->Append(json).ok());
    ASSERT_TRUE((*q)->Remove(*second).ok());
  }
  auto q = PersistentQueue::Open(dir);
  ASSERT_TRUE(q.ok());
  const auto& rec = (*q)->recovered();
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_LT(rec[0].seq, rec[1].seq);
  EXPECT_EQ(rec[0].spans, 1u);
  EXPECT_EQ(rec[0].body_bytes, 5u);
  Result<ExportRequest> first = (*q)->Read(rec[0].seq);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->body, "first");
  EXPECT_EQ(first->tenant, "tenant-a");
  EXPECT_EQ(first->spans, 1u);
  EXPECT_EQ(first->encoding, RequestEncoding::kProto);
  Result<ExportRequest> third = (*q)->Read(rec[1].seq);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->encoding, RequestEncoding::kJson);
  // New requests continue after the highest sequence number seen.
  Result<uint64_t> next = (*q)->Append(Req("later", 1));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, rec[1].seq);
}

TEST(PersistentQueueTest, TornAndLeftoverFilesAreSkipped) {
  vivace::testing::TempDir tmp;
  std::string dir = tmp.path() + "/q";
  uint64_t keep = 0, torn = 0, garbage = 0;
  {
    auto q = PersistentQueue::Open(dir);
    ASSERT_TRUE(q.ok());
    keep = *(*q)->Append(Req("keep me", 2));
    torn = *(*q)->Append(Req(std::string(5000, 't'), 3));
    garbage = *(*q)->Append(Req("zzz", 1));
  }
  auto path = [&](uint64_t seq, const char* suffix) {
    char name[64];
    std::snprintf(name, sizeof name, "%020llu%s", static_cast<unsigned long long>(seq), suffix);
    return dir + "/" + name;
  };
  // A write cut short (a file system that does not order data before the rename).
  fs::resize_file(path(torn, ".req"), 2000);
  // A damaged header.
  {
    std::fstream f(path(garbage, ".req"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.write("\xff\xff", 2);
  }
  // A write interrupted before its rename, and a stranger file that is not ours.
  std::ofstream(path(99, ".tmp")) << "partial";
  std::ofstream(dir + "/README") << "not a request";

  auto q = PersistentQueue::Open(dir);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ((*q)->recovered().size(), 1u);
  EXPECT_EQ((*q)->recovered()[0].seq, keep);
  EXPECT_EQ((*q)->damaged_files(), 2u);
  EXPECT_EQ(Files(dir),
            (std::vector<std::string>{fs::path(path(keep, ".req")).filename().string(), "README"}));
  // Sequence numbers are not reused, even those of removed leftovers.
  EXPECT_GT(*(*q)->Append(Req("new", 1)), 99u);
}

TEST(PersistentQueueTest, PayloadCorruptionIsFoundOnRead) {
  vivace::testing::TempDir tmp;
  auto q = PersistentQueue::Open(tmp.path());
  ASSERT_TRUE(q.ok());
  uint64_t seq = *(*q)->Append(Req("payload bytes", 1));
  std::string file = tmp.path() + "/" + Files(tmp.path())[0];
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.write("XYZ", 3);
  }
  Result<ExportRequest> r = (*q)->Read(seq);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

TEST(PersistentQueueTest, SanitizedIds) {
  EXPECT_EQ(SanitizeComponentId("otlp/tempo"), "otlp_tempo");
  EXPECT_EQ(SanitizeComponentId("otlphttp/a.b-c_d"), "otlphttp_a.b-c_d");
  EXPECT_EQ(SanitizeComponentId("../x"), ".._x");
  EXPECT_EQ(SanitizeComponentId(".."), "_..");
}

// A handler whose sends can be made to fail as if interrupted by shutdown.
class KeepingHandler final : public QueueHandler {
 public:
  explicit KeepingHandler(bool deliver) : deliver_(deliver) {}
  Delivery Send(const ExportRequest& r) override {
    MutexLock lock(mu_);
    if (!deliver_) return Delivery{false, {}};
    bodies_.push_back(r.body);
    cv_.NotifyAll();
    return Delivery{};
  }
  void Dropped(uint64_t spans, const Status&) override {
    MutexLock lock(mu_);
    dropped_ += spans;
  }
  std::vector<std::string> WaitFor(size_t n) {
    MutexLock lock(mu_);
    cv_.WaitFor(mu_, std::chrono::seconds(10),
                [&]() VV_REQUIRES(mu_) { return bodies_.size() >= n; });
    return bodies_;
  }
  uint64_t dropped() {
    MutexLock lock(mu_);
    return dropped_;
  }

 private:
  const bool deliver_;
  Mutex mu_;
  CondVar cv_;
  std::vector<std::string> bodies_ VV_GUARDED_BY(mu_);
  uint64_t dropped_ VV_GUARDED_BY(mu_) = 0;
};

TEST(PersistentSendingQueueTest, UndeliveredRequestsAreResumedAtTheNextStart) {
  vivace::testing::TempDir tmp;
  SendingQueueOptions o;
  o.num_consumers = 2;
  o.queue_size = 10;
  o.storage = "file_storage";
  {
    KeepingHandler failing(/*deliver=*/false);
    SendingQueue q(o, tmp.path(), &failing, nullptr, {});
    ASSERT_TRUE(q.Start().ok());
    for (int i = 0; i < 5; ++i) {
      Status done_status = Internal("not called");
      ASSERT_TRUE(q.Offer(Req("req-" + std::to_string(i), 1), [&](model::ConsumeResult r) {
                     done_status = r.status;
                   }).ok());
      EXPECT_TRUE(done_status.ok());  // durable, so done at once
    }
    q.Shutdown(std::chrono::milliseconds(0), [] {});
    EXPECT_EQ(failing.dropped(), 0u);  // kept, not dropped
  }
  EXPECT_EQ(Files(tmp.path()).size(), 5u);
  {
    KeepingHandler ok(/*deliver=*/true);
    SendingQueue q(o, tmp.path(), &ok, nullptr, {});
    ASSERT_TRUE(q.Start().ok());
    std::vector<std::string> got = ok.WaitFor(5);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"req-0", "req-1", "req-2", "req-3", "req-4"}));
    q.Shutdown(std::chrono::milliseconds(1000), [] {});
  }
  EXPECT_TRUE(Files(tmp.path()).empty());  // removed once delivered
}

// Holds every send until released, then reports it interrupted (as shutdown does).
class GateHandler final : public QueueHandler {
 public:
  Delivery Send(const ExportRequest&) override {
    MutexLock lock(mu_);
    ++in_flight_;
    cv_.NotifyAll();
    cv_.Wait(mu_, [&]() VV_REQUIRES(mu_) { return released_; });
    return Delivery{false, {}};
  }
  void Dropped(uint64_t, const Status&) override {}
  void WaitInFlight() {
    MutexLock lock(mu_);
    cv_.WaitFor(mu_, std::chrono::seconds(10), [&]() VV_REQUIRES(mu_) { return in_flight_ > 0; });
  }
  void Release() {
    MutexLock lock(mu_);
    released_ = true;
    cv_.NotifyAll();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int in_flight_ VV_GUARDED_BY(mu_) = 0;
  bool released_ VV_GUARDED_BY(mu_) = false;
};

TEST(PersistentSendingQueueTest, CapacityCountsResumedRequests) {
  vivace::testing::TempDir tmp;
  SendingQueueOptions o;
  o.num_consumers = 1;
  o.queue_size = 3;
  o.storage = "file_storage";
  {
    GateHandler gate;
    SendingQueue q(o, tmp.path(), &gate, nullptr, {});
    EXPECT_EQ(q.Offer(Req("a", 1), nullptr).code(),
              StatusCode::kFailedPrecondition);  // needs Start
  }
  // A previous run left 4 requests (more than the capacity, which was lowered since).
  {
    auto store = PersistentQueue::Open(tmp.path());
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE((*store)->Append(Req("old", 1)).ok());
  }
  GateHandler gate;
  MetricsRegistry metrics;
  SendingQueue q(o, tmp.path(), &gate, &metrics, {{"exporter", "otlp/x"}});
  ASSERT_TRUE(q.Start().ok());
  gate.WaitInFlight();  // one resumed request is being sent, three wait: the queue is full
  EXPECT_EQ(q.size(), 3);
  EXPECT_EQ(q.Offer(Req("new", 2), nullptr).code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      metrics.CounterValue("otelcol_exporter_enqueue_failed_spans_total", {{"exporter", "otlp/x"}}),
      2u);
  q.Shutdown(std::chrono::milliseconds(0), [&] { gate.Release(); });
  EXPECT_EQ(Files(tmp.path()).size(), 4u);  // nothing delivered, nothing lost
}

}  // namespace
}  // namespace vivace::exporters
