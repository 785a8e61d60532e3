#include "exporters/sending_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "conf/yaml.h"

namespace vivace::exporters {
namespace {

ExportRequest Req(uint64_t id, uint64_t spans = 1, size_t bytes = 8) {
  ExportRequest r;
  r.body = std::to_string(id);
  r.body.resize(std::max(bytes, r.body.size()), ' ');
  r.spans = spans;
  return r;
}

uint64_t IdOf(const ExportRequest& r) { return std::stoull(r.body); }

// Records what it is sent; can be held at a gate to keep consumers busy.
class RecordingHandler final : public QueueHandler {
 public:
  Delivery Send(const ExportRequest& r) override {
    MutexLock lock(mu_);
    ++in_flight_;
    cv_.NotifyAll();
    cv_.Wait(mu_, [&]() VV_REQUIRES(mu_) { return open_; });
    --in_flight_;
    sent_.push_back(IdOf(r));
    cv_.NotifyAll();
    Delivery d;
    d.result.rejected_spans = rejected_;
    return d;
  }
  void Dropped(uint64_t spans, const Status&) override {
    MutexLock lock(mu_);
    dropped_spans_ += spans;
  }

  void Close() {
    MutexLock lock(mu_);
    open_ = false;
  }
  void Open() {
    MutexLock lock(mu_);
    open_ = true;
    cv_.NotifyAll();
  }
  void WaitInFlight(int n) {
    MutexLock lock(mu_);
    cv_.WaitFor(mu_, std::chrono::seconds(10), [&]() VV_REQUIRES(mu_) { return in_flight_ >= n; });
  }
  std::vector<uint64_t> WaitSent(size_t n) {
    MutexLock lock(mu_);
    cv_.WaitFor(mu_, std::chrono::seconds(10),
                [&]() VV_REQUIRES(mu_) { return sent_.size() >= n; });
    return sent_;
  }
  uint64_t dropped_spans() {
    MutexLock lock(mu_);
    return dropped_spans_;
  }
  void set_rejected(uint64_t n) {
    MutexLock lock(mu_);
    rejected_ = n;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool open_ VV_GUARDED_BY(mu_) = true;
  int in_flight_ VV_GUARDED_BY(mu_) = 0;
  uint64_t rejected_ VV_GUARDED_BY(mu_) = 0;
  std::vector<uint64_t> sent_ VV_GUARDED_BY(mu_);
  uint64_t dropped_spans_ VV_GUARDED_BY(mu_) = 0;
};

SendingQueueOptions Opts(int consumers, int64_t size, QueueSizer sizer = QueueSizer::kRequests) {
  SendingQueueOptions o;
  o.num_consumers = consumers;
  o.queue_size = size;
  o.sizer = sizer;
  return o;
}

const Labels kLabels = {{"exporter", "otlp/test"}};

TEST(SendingQueueTest, FullQueueRefusesWithUnavailableAndCountsEnqueueFailures) {
  struct Case {
    QueueSizer sizer;
    int64_t capacity;
    std::vector<std::pair<uint64_t, size_t>> offers;  // spans, bytes
    std::vector<bool> accepted;
  };
  const Case cases[] = {
      {QueueSizer::kRequests, 2, {{5, 8}, {5, 8}, {1, 8}}, {true, true, false}},
      {QueueSizer::kItems, 10, {{6, 8}, {5, 8}, {4, 8}, {1, 8}}, {true, false, true, false}},
      {QueueSizer::kBytes, 100, {{1, 60}, {1, 50}, {1, 40}}, {true, false, true}},
      {QueueSizer::kItems, 10, {{11, 8}}, {false}},  // larger than the whole queue
  };
  for (const Case& c : cases) {
    RecordingHandler handler;
    MetricsRegistry metrics;
    SendingQueue q(Opts(1, c.capacity, c.sizer), "", &handler, &metrics, kLabels);
    // Not started: nothing is consumed, so capacity is what decides.
    uint64_t refused_spans = 0;
    for (size_t i = 0; i < c.offers.size(); ++i) {
      Status done_status = Internal("not called");
      Status s = q.Offer(Req(i, c.offers[i].first, c.offers[i].second),
                         [&](model::ConsumeResult r) { done_status = r.status; });
      EXPECT_EQ(s.ok(), c.accepted[i]) << "offer " << i;
      EXPECT_EQ(done_status.code(), s.code());
      if (!s.ok()) {
        EXPECT_EQ(s.code(), StatusCode::kUnavailable);
        EXPECT_EQ(s.message(), "sending queue is full");
        refused_spans += c.offers[i].first;
      }
    }
    EXPECT_EQ(metrics.CounterValue("otelcol_exporter_enqueue_failed_spans_total", kLabels),
              refused_spans);
    q.Shutdown(std::chrono::milliseconds(0), [] {});
  }
}

TEST(SendingQueueTest, GaugesExposeSizeAndCapacity) {
  RecordingHandler handler;
  MetricsRegistry metrics;
  SendingQueue q(Opts(1, 7, QueueSizer::kItems), "", &handler, &metrics, kLabels);
  ASSERT_TRUE(q.Offer(Req(1, 3), nullptr).ok());
  std::string text = metrics.Expose();
  EXPECT_NE(text.find("otelcol_exporter_queue_size{exporter=\"otlp/test\"} 3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("otelcol_exporter_queue_capacity{exporter=\"otlp/test\"} 7"),
            std::string::npos)
      << text;
  q.Shutdown(std::chrono::milliseconds(0), [] {});
}

TEST(SendingQueueTest, EveryRequestIsSentExactlyOnceUnderConcurrency) {
  RecordingHandler handler;
  SendingQueueOptions o = Opts(4, 100000);
  SendingQueue q(o, "", &handler, nullptr, kLabels);
  ASSERT_TRUE(q.Start().ok());
  constexpr int kThreads = 4, kPer = 500;
  std::atomic<int> done_ok{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        ASSERT_TRUE(q.Offer(Req(t * kPer + i), [&](model::ConsumeResult r) {
                       if (r.status.ok()) ++done_ok;
                     }).ok());
      }
    });
  }
  for (auto& p : producers) p.join();
  std::vector<uint64_t> sent = handler.WaitSent(kThreads * kPer);
  q.Shutdown(std::chrono::milliseconds(1000), [] {});
  EXPECT_EQ(done_ok.load(), kThreads * kPer);  // at enqueue
  std::set<uint64_t> unique(sent.begin(), sent.end());
  EXPECT_EQ(sent.size(), static_cast<size_t>(kThreads * kPer));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kPer));
}

TEST(SendingQueueTest, OneConsumerSendsInOrder) {
  RecordingHandler handler;
  SendingQueue q(Opts(1, 100), "", &handler, nullptr, kLabels);
  for (uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(q.Offer(Req(i), nullptr).ok());
  ASSERT_TRUE(q.Start().ok());
  std::vector<uint64_t> sent = handler.WaitSent(20);
  q.Shutdown(std::chrono::milliseconds(1000), [] {});
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(sent[i], i);
}

TEST(SendingQueueTest, BlockOnOverflowWaitsForRoom) {
  RecordingHandler handler;
  handler.Close();
  SendingQueueOptions o = Opts(1, 1);
  o.block_on_overflow = true;
  SendingQueue q(o, "", &handler, nullptr, kLabels);
  ASSERT_TRUE(q.Start().ok());
  ASSERT_TRUE(q.Offer(Req(1), nullptr).ok());
  handler.WaitInFlight(1);                     // the consumer holds request 1
  ASSERT_TRUE(q.Offer(Req(2), nullptr).ok());  // fills the queue
  std::atomic<bool> third_queued{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Offer(Req(3), nullptr).ok());
    third_queued = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_queued.load());  // blocked, not refused
  handler.Open();
  producer.join();
  EXPECT_TRUE(third_queued.load());
  EXPECT_EQ(handler.WaitSent(3), (std::vector<uint64_t>{1, 2, 3}));
  q.Shutdown(std::chrono::milliseconds(1000), [] {});
}

TEST(SendingQueueTest, ShutdownUnblocksBlockedProducers) {
  RecordingHandler handler;
  SendingQueueOptions o = Opts(1, 1);
  o.block_on_overflow = true;
  SendingQueue q(o, "", &handler, nullptr, kLabels);
  ASSERT_TRUE(q.Offer(Req(1), nullptr).ok());  // not started: stays queued
  std::thread producer(
      [&] { EXPECT_EQ(q.Offer(Req(2), nullptr).code(), StatusCode::kUnavailable); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  q.Shutdown(std::chrono::milliseconds(0), [] {});
  producer.join();
  EXPECT_EQ(handler.dropped_spans(), 1u);
}

TEST(SendingQueueTest, WaitForResultCompletesAfterTheSend) {
  RecordingHandler handler;
  handler.set_rejected(2);
  SendingQueueOptions o = Opts(1, 10);
  o.wait_for_result = true;
  SendingQueue q(o, "", &handler, nullptr, kLabels);
  ASSERT_TRUE(q.Start().ok());
  Mutex mu;
  CondVar cv;
  std::optional<model::ConsumeResult> got;
  ASSERT_TRUE(q.Offer(Req(1, 5), [&](model::ConsumeResult r) {
                 MutexLock lock(mu);
                 got = std::move(r);
                 cv.NotifyAll();
               }).ok());
  {
    MutexLock lock(mu);
    cv.WaitFor(mu, std::chrono::seconds(10), [&]() VV_REQUIRES(mu) { return got.has_value(); });
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(got->status.ok());
    EXPECT_EQ(got->rejected_spans, 2u);  // the handler's outcome, not just "queued"
  }
  q.Shutdown(std::chrono::milliseconds(1000), [] {});
}

TEST(SendingQueueTest, ShutdownDrainsForAtMostTheTimeoutThenDrops) {
  // Drains: everything queued is still sent.
  {
    RecordingHandler handler;
    SendingQueue q(Opts(2, 100), "", &handler, nullptr, kLabels);
    for (uint64_t i = 0; i < 30; ++i) ASSERT_TRUE(q.Offer(Req(i), nullptr).ok());
    ASSERT_TRUE(q.Start().ok());
    bool interrupted = false;
    q.Shutdown(std::chrono::milliseconds(5000), [&] { interrupted = true; });
    EXPECT_TRUE(interrupted);
    EXPECT_EQ(handler.WaitSent(30).size(), 30u);
    EXPECT_EQ(handler.dropped_spans(), 0u);
    EXPECT_FALSE(q.Offer(Req(99), nullptr).ok());  // closed
  }
  // A stuck backend: after the drain timeout what is left is dropped.
  {
    RecordingHandler handler;
    handler.Close();
    SendingQueue q(Opts(1, 100), "", &handler, nullptr, kLabels);
    ASSERT_TRUE(q.Start().ok());
    for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(q.Offer(Req(i, 2), nullptr).ok());
    handler.WaitInFlight(1);
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      handler.Open();  // the attempt in flight ends (as a per-attempt timeout would)
    });
    auto start = std::chrono::steady_clock::now();
    q.Shutdown(std::chrono::milliseconds(30), [] {});
    release.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(handler.WaitSent(1).size(), 1u);
    EXPECT_EQ(handler.dropped_spans(), 8u);  // the 4 requests never taken
  }
}

Result<SendingQueueOptions> ParseQueue(const std::string& text) {
  VV_ASSIGN_OR_RETURN(YAML::Node n, conf::LoadYaml(text));
  return ParseSendingQueueOptions(n, "exporters.otlp.sending_queue");
}

TEST(SendingQueueConfigTest, DefaultsAndKeys) {
  Result<SendingQueueOptions> d = ParseQueue("{}");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->enabled);
  EXPECT_EQ(d->num_consumers, 10);
  EXPECT_EQ(d->queue_size, 1000);
  EXPECT_EQ(d->sizer, QueueSizer::kRequests);
  EXPECT_FALSE(d->block_on_overflow);
  EXPECT_FALSE(d->wait_for_result);
  EXPECT_TRUE(d->storage.empty());

  Result<SendingQueueOptions> r = ParseQueue(
      "num_consumers: 2\nqueue_size: 5000\nsizer: items\nblock_on_overflow: true\nwait_for_result: "
      "true\n"
      "storage: file_storage\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_consumers, 2);
  EXPECT_EQ(r->queue_size, 5000);
  EXPECT_EQ(r->sizer, QueueSizer::kItems);
  EXPECT_TRUE(r->block_on_overflow);
  EXPECT_TRUE(r->wait_for_result);
  EXPECT_EQ(r->storage, "file_storage");

  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case bad[] = {
      {"num_consumers: 0", "`num_consumers` must be positive"},
      {"queue_size: 0", "`queue_size` must be positive"},
      {"sizer: pages", "must be one of requests, items, bytes"},
      {"batch:\n  flush_timeout: 1s", "use the batch processor"},
      {"\nqueue_sizee: 3", "sending_queue.queue_sizee (line 2): unknown key"},
  };
  for (const Case& c : bad) {
    Result<SendingQueueOptions> e = ParseQueue(c.yaml);
    ASSERT_FALSE(e.ok()) << c.yaml;
    EXPECT_NE(e.status().message().find(c.error), std::string_view::npos) << e.status().ToString();
  }
  EXPECT_TRUE(ParseQueue("enabled: false\nqueue_size: 0").ok());
}

}  // namespace
}  // namespace vivace::exporters
