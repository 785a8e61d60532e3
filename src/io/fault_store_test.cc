#include "io/fault_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "io/internal/test_util.h"
#include "io/local_store.h"

namespace vivace::io {
namespace {

using testing::TempDir;
using testing::TestBytes;

constexpr StoreOp kAllOps[] = {StoreOp::kGet,  StoreOp::kGetRange, StoreOp::kSize,
                               StoreOp::kPut,  StoreOp::kList,     StoreOp::kDelete};

bool Injected(const Status& s) {
  return s.message().find("injected") != std::string_view::npos;
}

class FaultStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { VV_ASSERT_OK(inner_->Put("k", "0123456789")); }

  // One call of `op` through the faulty store, on key "k" (or a fresh key for Put/Delete).
  Status Call(StoreOp op) {
    switch (op) {
      case StoreOp::kGet: return internal::AsStatus(faulty_.Get("k"));
      case StoreOp::kGetRange: return internal::AsStatus(faulty_.GetRange("k", 1, 2));
      case StoreOp::kSize: return internal::AsStatus(faulty_.Size("k"));
      case StoreOp::kPut: return faulty_.Put("p" + std::to_string(next_++), "data");
      case StoreOp::kList: return internal::AsStatus(faulty_.List(""));
      case StoreOp::kDelete: return faulty_.Delete("d" + std::to_string(next_++));
    }
    return Internal("unknown op");
  }

  std::unique_ptr<ObjectStore> inner_ = NewMemoryStore();
  FaultInjectingStore faulty_{inner_.get()};
  int next_ = 0;
};

TEST_F(FaultStoreTest, EmptyPlanForwardsEverythingAndCountsCalls) {
  EXPECT_EQ(faulty_.Get("k").value(), "0123456789");
  EXPECT_EQ(faulty_.GetRange("k", 2, 3).value(), "234");
  EXPECT_EQ(faulty_.Size("k").value(), 10u);
  VV_EXPECT_OK(faulty_.Put("new", "v"));
  VV_EXPECT_OK(faulty_.Put("new", "w"));
  EXPECT_EQ(inner_->Get("new").value(), "w");
  EXPECT_EQ(faulty_.List("").value().size(), 2u);
  VV_EXPECT_OK(faulty_.Delete("new"));
  EXPECT_EQ(inner_->Get("new").status().code(), StatusCode::kNotFound);
  // Errors of the wrapped store pass through and are not "injected".
  EXPECT_EQ(faulty_.Get("absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(faulty_.Put("", "x").code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(faulty_.calls(StoreOp::kGet), 2u);
  EXPECT_EQ(faulty_.calls(StoreOp::kGetRange), 1u);
  EXPECT_EQ(faulty_.calls(StoreOp::kSize), 1u);
  EXPECT_EQ(faulty_.calls(StoreOp::kPut), 3u);
  EXPECT_EQ(faulty_.calls(StoreOp::kList), 1u);
  EXPECT_EQ(faulty_.calls(StoreOp::kDelete), 1u);
  for (StoreOp op : kAllOps) EXPECT_EQ(faulty_.injected(op), 0u) << StoreOpName(op);
  EXPECT_EQ(faulty_.torn_puts(), 0u);
  EXPECT_FALSE(faulty_.crashed());
  EXPECT_EQ(faulty_.Describe(), "faulty(memory)");

  faulty_.SetPlan(FaultPlan());
  for (StoreOp op : kAllOps) EXPECT_EQ(faulty_.calls(op), 0u) << StoreOpName(op);
}

TEST_F(FaultStoreTest, FailNthFailsExactlyThatCallOfThatKindOnly) {
  for (StoreOp op : kAllOps) {
    for (StatusCode code : {StatusCode::kUnavailable, StatusCode::kInternal}) {
      SCOPED_TRACE(std::string(StoreOpName(op)) + " " + std::string(StatusCodeName(code)));
      FaultPlan plan;
      plan.For(op).fail_nth = 3;
      plan.For(op).code = code;
      faulty_.SetPlan(plan);
      for (int i = 1; i <= 5; ++i) {
        // Calls of the other kinds in between do not advance this kind's numbering.
        for (StoreOp other : kAllOps) {
          if (other != op) VV_EXPECT_OK(Call(other));
        }
        Status s = Call(op);
        if (i == 3) {
          EXPECT_EQ(s.code(), code) << s.ToString();
          EXPECT_TRUE(Injected(s)) << s.ToString();
          EXPECT_NE(s.message().find(std::string(StoreOpName(op)) + " #3"), std::string::npos)
              << s.ToString();
        } else {
          VV_EXPECT_OK(s);
        }
      }
      EXPECT_EQ(faulty_.calls(op), 5u);
      for (StoreOp other : kAllOps) {
        EXPECT_EQ(faulty_.injected(other), other == op ? 1u : 0u) << StoreOpName(other);
      }
    }
  }
}

TEST_F(FaultStoreTest, AFailedPutOrDeleteDoesNotReachTheWrappedStore) {
  FaultPlan plan;
  plan.put.fail_nth = 1;
  plan.del.fail_nth = 1;
  faulty_.SetPlan(plan);
  EXPECT_EQ(faulty_.Put("k", "replaced").code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty_.Put("fresh", "x").code(), StatusCode::kOk);
  EXPECT_EQ(faulty_.Delete("k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->Get("k").value(), "0123456789");
}

TEST_F(FaultStoreTest, ProbabilisticFailuresFollowTheSeed) {
  auto run = [&](uint64_t seed, double p) {
    FaultPlan plan;
    plan.seed = seed;
    plan.get.fail_probability = p;
    faulty_.SetPlan(plan);
    std::vector<bool> failed;
    for (int i = 0; i < 400; ++i) {
      auto r = faulty_.Get("k");
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
        EXPECT_TRUE(Injected(r.status())) << r.status().ToString();
      }
      failed.push_back(!r.ok());
    }
    EXPECT_EQ(faulty_.injected(StoreOp::kGet),
              static_cast<uint64_t>(std::count(failed.begin(), failed.end(), true)));
    return failed;
  };
  std::vector<bool> a = run(42, 0.25);
  auto failures = std::count(a.begin(), a.end(), true);
  EXPECT_GT(failures, 60);  // expected 100; these bounds are > 5 standard deviations away
  EXPECT_LT(failures, 140);
  EXPECT_EQ(run(42, 0.25), a);
  EXPECT_NE(run(43, 0.25), a);
  auto none = run(42, 0);
  EXPECT_EQ(std::count(none.begin(), none.end(), true), 0);
  auto all = run(42, 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), true), 400);
}

TEST_F(FaultStoreTest, TornPutStoresAPrefixUnderTheRealKeyAndFails) {
  std::string data = TestBytes(100, 5);
  FaultPlan plan;
  plan.torn_put_nth = 2;
  plan.torn_fraction = 0.3;
  faulty_.SetPlan(plan);
  VV_ASSERT_OK(faulty_.Put("blk/data", data));
  EXPECT_EQ(inner_->Get("blk/data").value(), data);

  Status s = faulty_.Put("blk/data", data);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("torn"), std::string_view::npos) << s.ToString();
  EXPECT_EQ(inner_->Get("blk/data").value(), data.substr(0, 30));
  EXPECT_EQ(faulty_.torn_puts(), 1u);
  EXPECT_EQ(faulty_.injected(StoreOp::kPut), 1u);

  VV_ASSERT_OK(faulty_.Put("blk/data", data));
  EXPECT_EQ(inner_->Get("blk/data").value(), data);
}

TEST_F(FaultStoreTest, TornPutAlwaysLeavesOutSomething) {
  FaultPlan plan;
  plan.torn_put_probability = 1;
  plan.torn_fraction = 0.999;
  faulty_.SetPlan(plan);
  EXPECT_EQ(faulty_.Put("a", "0123456789").code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->Get("a").value(), "012345678");
  EXPECT_EQ(faulty_.Put("one", "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->Get("one").value(), "");
  EXPECT_EQ(faulty_.Put("empty", "").code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->Get("empty").value(), "");
  EXPECT_EQ(faulty_.torn_puts(), 3u);
}

TEST_F(FaultStoreTest, TornPutOverTheLocalStoreLeavesATruncatedFile) {
  TempDir tmp;
  auto local = NewLocalStore(tmp.path() + "/objects");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  FaultInjectingStore faulty(local->get());
  FaultPlan plan;
  plan.torn_put_nth = 1;
  faulty.SetPlan(plan);
  EXPECT_FALSE(faulty.Put("t/b/data", "0123456789").ok());
  EXPECT_EQ((*local)->Get("t/b/data").value(), "01234");
  EXPECT_EQ((*local)->Size("t/b/data").value(), 5u);
}

TEST_F(FaultStoreTest, LatencyDelaysEveryCallOfItsKind) {
  using std::chrono::milliseconds;
  using Clock = std::chrono::steady_clock;
  FaultPlan plan;
  plan.get.latency = milliseconds(30);
  plan.put.latency = milliseconds(20);
  plan.put.fail_nth = 1;  // failing calls wait too
  faulty_.SetPlan(plan);

  auto start = Clock::now();
  VV_EXPECT_OK(faulty_.Get("k"));
  EXPECT_GE(Clock::now() - start, milliseconds(30));

  start = Clock::now();
  EXPECT_FALSE(faulty_.Put("x", "y").ok());
  EXPECT_GE(Clock::now() - start, milliseconds(20));

  start = Clock::now();
  for (int i = 0; i < 3; ++i) VV_EXPECT_OK(faulty_.Get("k"));
  EXPECT_GE(Clock::now() - start, milliseconds(90));
}

TEST_F(FaultStoreTest, CrashAfterNPutsFailsEverythingAfterwardsUntilSetPlan) {
  FaultPlan plan;
  plan.crash_after_puts = 2;
  faulty_.SetPlan(plan);
  VV_ASSERT_OK(faulty_.Put("a", "1"));
  VV_ASSERT_OK(faulty_.Get("a"));
  EXPECT_FALSE(faulty_.crashed());
  VV_ASSERT_OK(faulty_.Put("b", "2"));  // the second Put goes through...
  EXPECT_TRUE(faulty_.crashed());       // ...and the process dies right after it
  for (StoreOp op : kAllOps) {
    Status s = Call(op);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << StoreOpName(op) << ": " << s.ToString();
    EXPECT_NE(s.message().find("crash"), std::string_view::npos) << s.ToString();
    EXPECT_EQ(faulty_.injected(op), 1u) << StoreOpName(op);
  }
  auto inner_keys = inner_->List("");
  ASSERT_TRUE(inner_keys.ok());
  EXPECT_EQ(inner_keys->size(), 3u);  // "k", "a", "b": nothing after the crash got through
  EXPECT_EQ(inner_->Get("p0").status().code(), StatusCode::kNotFound);

  faulty_.SetPlan(FaultPlan());  // restart
  EXPECT_FALSE(faulty_.crashed());
  VV_EXPECT_OK(faulty_.Put("c", "3"));
  EXPECT_EQ(faulty_.Get("b").value(), "2");
}

TEST_F(FaultStoreTest, CrashCountsPutsThatFailedForOtherReasons) {
  FaultPlan plan;
  plan.put.fail_nth = 1;
  plan.crash_after_puts = 2;
  faulty_.SetPlan(plan);
  EXPECT_EQ(faulty_.Put("a", "1").code(), StatusCode::kUnavailable);
  VV_EXPECT_OK(faulty_.Put("b", "2"));
  EXPECT_TRUE(faulty_.crashed());
  EXPECT_EQ(faulty_.Put("c", "3").code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->Get("a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(inner_->Get("b").value(), "2");
  EXPECT_EQ(inner_->Get("c").status().code(), StatusCode::kNotFound);
}

// A torn put that is also the last one before the crash: an upload to a non-atomic store
// interrupted by the death of the process.
TEST_F(FaultStoreTest, TornPutFollowedByCrashModelsAnInterruptedUpload) {
  FaultPlan plan;
  plan.torn_put_nth = 2;
  plan.crash_after_puts = 2;
  faulty_.SetPlan(plan);
  VV_ASSERT_OK(faulty_.Put("blk/meta.json", "{}"));
  EXPECT_FALSE(faulty_.Put("blk/data", "0123456789").ok());
  EXPECT_TRUE(faulty_.crashed());
  EXPECT_EQ(faulty_.Get("blk/data").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->Get("blk/data").value(), "01234");
}

TEST_F(FaultStoreTest, CountersAreExactUnderConcurrency) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 250;
  FaultPlan plan;
  plan.get.fail_probability = 0.3;
  faulty_.SetPlan(plan);
  std::atomic<uint64_t> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        auto r = faulty_.Get("k");
        if (!r.ok()) {
          failed.fetch_add(1);
        } else if (*r != "0123456789") {
          ADD_FAILURE() << "wrong value " << *r;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(faulty_.calls(StoreOp::kGet), uint64_t{kThreads * kCalls});
  EXPECT_EQ(faulty_.injected(StoreOp::kGet), failed.load());
  EXPECT_GT(failed.load(), 0u);
  EXPECT_LT(failed.load(), uint64_t{kThreads * kCalls});
}

}  // namespace
}  // namespace vivace::io
