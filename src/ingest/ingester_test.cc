#include "ingest/ingester.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include "otlp/proto_encode.h"

namespace vivace::ingest {
namespace {

model::TraceId Tid(uint8_t n) {
  model::TraceId t;
  t.bytes[0] = n;
  t.bytes[15] = 0xaa;
  return t;
}

// A batch with `spans` spans of trace `trace`, span ids first_span.., one resource and scope.
std::unique_ptr<model::SpanBatch> MakeBatch(std::string tenant, uint8_t trace, uint8_t first_span, int spans) {
  auto b = std::make_unique<model::SpanBatch>();
  b->tenant = std::move(tenant);
  b->resources.push_back(model::Resource{b->AllocAttributes(1), 0, ""});
  b->attributes[0] = model::KeyValue{"service.name", model::Value::String("svc")};
  b->scopes.push_back(model::Scope{0, "lib", "1", {}, 0, ""});
  for (int i = 0; i < spans; ++i) {
    model::SpanRow r;
    r.trace_id = Tid(trace);
    r.span_id.bytes[0] = static_cast<uint8_t>(first_span + i);
    r.name = "op";
    r.start_unix_nano = 1700000000000000000ull + i;
    r.end_unix_nano = r.start_unix_nano + 1000;
    b->Append(r);
  }
  return b;
}

class IngesterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vivace_ingest_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Ingester> Open(io::ObjectStore* store = nullptr,
                                 std::vector<blocks::BlockMeta>* written = nullptr) {
    IngesterOptions opts;
    opts.wal.dir = dir_.string();
    opts.store = store;
    opts.flush_check_period = std::chrono::milliseconds(0);  // flushed by hand
    opts.trace_idle_period = std::chrono::milliseconds(300);
    if (written != nullptr) opts.on_block = [written](const blocks::BlockMeta& m) { written->push_back(m); };
    auto ing = Ingester::Open(opts, &metrics_);
    EXPECT_TRUE(ing.ok()) << ing.status().ToString();
    return std::move(ing).value();
  }

  static model::ConsumeResult ConsumeSync(Ingester* ing, std::unique_ptr<model::SpanBatch> b) {
    std::promise<model::ConsumeResult> p;
    ing->Consume(std::move(b), [&](model::ConsumeResult r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  std::filesystem::path dir_;
  MetricsRegistry metrics_;
};

TEST_F(IngesterTest, FindsTracesAcrossBatchesAndDeduplicates) {
  auto ing = Open();
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t1", 1, 0, 3)).status.ok());
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t1", 1, 2, 3)).status.ok());  // span 2 again + 3, 4
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t2", 1, 0, 1)).status.ok());
  auto found = ing->FindTrace("t1", Tid(1), 0, 0);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->size(), 5u);
  EXPECT_EQ((*found)->resources.size(), 2u);  // one per source batch
  EXPECT_EQ(ing->FindTrace("t2", Tid(1), 0, 0).value()->size(), 1u);  // tenants are separate
  EXPECT_EQ(ing->FindTrace("t1", Tid(9), 0, 0).value()->size(), 0u);
  EXPECT_EQ(ing->FindTrace("nobody", Tid(1), 0, 0).value()->size(), 0u);
  // Time range: the trace is at 1700000000 s.
  EXPECT_EQ(ing->FindTrace("t1", Tid(1), 1700000000, 1700000001).value()->size(), 5u);
  EXPECT_EQ(ing->FindTrace("t1", Tid(1), 1800000000, 0).value()->size(), 0u);
  EXPECT_EQ(ing->FindTrace("t1", Tid(1), 0, 1600000000).value()->size(), 0u);
}

TEST_F(IngesterTest, ReplaysTheWalOnOpen) {
  std::string before;
  {
    auto ing = Open();
    for (uint8_t t = 1; t <= 20; ++t) ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t", t, 0, 4)).status.ok());
    otlp::EncodeProtoTrace(*ing->FindTrace("t", Tid(7), 0, 0).value(), &before);
  }
  auto ing = Open();
  EXPECT_EQ(ing->replay_stats().records, 20u);
  EXPECT_EQ(ing->live_traces(), 20u);
  EXPECT_EQ(ing->live_spans(), 80u);
  std::string after;
  otlp::EncodeProtoTrace(*ing->FindTrace("t", Tid(7), 0, 0).value(), &after);
  EXPECT_EQ(before, after);
}

TEST_F(IngesterTest, BackPressureRefusesWhileTheWalIsBehind) {
  IngesterOptions opts;
  opts.wal.dir = dir_.string();
  opts.max_pending_wal_bytes = 1;  // anything queued and not yet durable blocks the next batch
  auto ing = std::move(Ingester::Open(opts, &metrics_)).value();
  // Fire batches without waiting: while the first sits in the WAL queue (an fdatasync takes
  // far longer than a Consume call), the following ones must be refused as retryable.
  constexpr int kBatches = 100;
  std::vector<std::promise<model::ConsumeResult>> results(kBatches);
  for (int i = 0; i < kBatches; ++i) {
    ing->Consume(MakeBatch("t", static_cast<uint8_t>(i + 1), 0, 2),
                 [&results, i](model::ConsumeResult r) { results[i].set_value(std::move(r)); });
  }
  int accepted = 0, refused = 0;
  for (int i = 0; i < kBatches; ++i) {
    model::ConsumeResult r = results[i].get_future().get();
    if (r.status.ok()) {
      ++accepted;
      EXPECT_EQ(ing->FindTrace("t", Tid(static_cast<uint8_t>(i + 1)), 0, 0).value()->size(), 2u);
    } else {
      ++refused;
      EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
      EXPECT_GT(r.retry_after_seconds, 0u);
      EXPECT_EQ(ing->FindTrace("t", Tid(static_cast<uint8_t>(i + 1)), 0, 0).value()->size(), 0u);
    }
  }
  EXPECT_GE(accepted, 1);
  EXPECT_GE(refused, 1);
  EXPECT_EQ(metrics_.CounterValue("vivace_ingester_refused_batches_total"), static_cast<uint64_t>(refused));
}

TEST_F(IngesterTest, RefusesAfterClose) {
  auto ing = Open();
  ing->Close();
  auto r = ConsumeSync(ing.get(), MakeBatch("t", 1, 0, 1));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_GT(r.retry_after_seconds, 0u);
}

TEST_F(IngesterTest, WalPayloadRoundTrip) {
  std::string p = EncodeWalPayloadHeader("tenant-x") + "otlp-bytes";
  auto parts = DecodeWalPayload(p);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->first, "tenant-x");
  EXPECT_EQ(parts->second, "otlp-bytes");
  EXPECT_FALSE(DecodeWalPayload("\x20short").ok());
}

TEST_F(IngesterTest, FlushWritesBlocksEmptiesTheLiveSetAndDeletesTheWal) {
  auto store = io::NewMemoryStore();
  std::vector<blocks::BlockMeta> written;
  auto ing = Open(store.get(), &written);
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t1", 1, 0, 3)).status.ok());
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t1", 1, 3, 2)).status.ok());  // same trace, second batch
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t1", 2, 0, 4)).status.ok());
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t2", 1, 0, 1)).status.ok());
  EXPECT_EQ(ing->live_spans(), 10u);

  // Nothing is idle yet: a background-style flush keeps everything live.
  ASSERT_TRUE(ing->Flush(false).ok());
  EXPECT_TRUE(written.empty());
  EXPECT_EQ(ing->live_spans(), 10u);

  ASSERT_TRUE(ing->Flush(true).ok());
  ASSERT_EQ(written.size(), 2u);  // one block per tenant
  EXPECT_EQ(ing->live_spans(), 0u);
  EXPECT_EQ(ing->live_traces(), 0u);
  uint64_t spans = 0;
  for (const auto& m : written) spans += m.total_spans;
  EXPECT_EQ(spans, 10u);
  for (const auto& m : written) {
    blocks::BlockReader r(store.get(), m);
    EXPECT_TRUE(r.Verify().ok());
    if (m.tenant == "t1") {
      model::SpanBatch got;
      ASSERT_TRUE(r.FindTrace(Tid(1), &got).ok());
      EXPECT_EQ(got.size(), 5u);  // both batches of the trace, merged
    }
  }
  EXPECT_TRUE(ing->FindTrace("t1", Tid(1), 0, 0).value()->empty());  // no longer live

  // Every segment holding flushed records is gone: a restart replays nothing.
  ing.reset();
  auto again = Open(store.get());
  EXPECT_EQ(again->live_spans(), 0u);
  EXPECT_EQ(again->replay_stats().records, 0u);
}

TEST_F(IngesterTest, IdleTracesAreCutOnceDueAndActiveOnesStayLive) {
  auto store = io::NewMemoryStore();
  std::vector<blocks::BlockMeta> written;
  auto ing = Open(store.get(), &written);
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t", 1, 0, 2)).status.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // trace 1 goes idle
  ASSERT_TRUE(ConsumeSync(ing.get(), MakeBatch("t", 2, 0, 2)).status.ok());
  // The idle trace is due only once max_block_duration passed (5 min) or it is big enough:
  ASSERT_TRUE(ing->Flush(false).ok());
  EXPECT_TRUE(written.empty());
  ing.reset();

  IngesterOptions opts;
  opts.wal.dir = dir_.string();
  opts.store = store.get();
  opts.flush_check_period = std::chrono::milliseconds(0);
  opts.trace_idle_period = std::chrono::milliseconds(300);
  opts.max_block_duration = std::chrono::milliseconds(0);
  opts.on_block = [&](const blocks::BlockMeta& m) { written.push_back(m); };
  auto ing2 = Ingester::Open(opts, &metrics_).value();  // replayed traces count as just arrived
  std::this_thread::sleep_for(std::chrono::milliseconds(400));                // ...and go idle
  ASSERT_TRUE(ConsumeSync(ing2.get(), MakeBatch("t", 3, 0, 2)).status.ok());  // fresh: stays live
  ASSERT_TRUE(ing2->Flush(false).ok());
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].total_traces, 2u);
  EXPECT_EQ(ing2->live_traces(), 1u);
  EXPECT_FALSE(ing2->FindTrace("t", Tid(3), 0, 0).value()->empty());
}

}  // namespace
}  // namespace vivace::ingest
