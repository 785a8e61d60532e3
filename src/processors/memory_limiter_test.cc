#include "processors/memory_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/clock.h"
#include "conf/yaml.h"
#include "processors/misc_test_util.h"

namespace vivace::processors {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kMiB = 1 << 20;

class CountingSink : public model::SpanSink {
 public:
  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override {
    spans += batch->size();
    done(model::ConsumeResult{});
  }
  std::atomic<uint64_t> spans{0};
};

std::unique_ptr<model::SpanBatch> Spans(int n) {
  auto b = std::make_unique<model::SpanBatch>();
  for (int i = 0; i < n; ++i) testing::AddSpan(*b);
  return b;
}

/// Consumes and returns the answer (the limiter answers synchronously).
model::ConsumeResult Push(MemoryLimiterProcessor& p, int spans) {
  model::ConsumeResult out;
  bool answered = false;
  p.Consume(Spans(spans), [&](model::ConsumeResult r) {
    out = std::move(r);
    answered = true;
  });
  EXPECT_TRUE(answered);
  return out;
}

/// Polls `cond` for up to `limit`.
template <typename Cond>
bool Eventually(Cond cond, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

struct Fake {
  std::atomic<uint64_t> used{0};
  std::atomic<int> releases{0};
  uint64_t after_release = 0;  // what a release brings usage down to (0: no change)

  MemoryLimiterOptions Options(uint32_t limit_mib, uint32_t spike_mib,
                               std::chrono::milliseconds interval = 1h) {
    MemoryLimiterOptions o;
    o.check_interval = interval;
    o.limit_mib = limit_mib;
    o.spike_limit_mib = spike_mib;
    o.read_memory = [this] { return used.load(); };
    o.release_memory = [this] {
      ++releases;
      if (after_release != 0) used = after_release;
    };
    return o;
  }
};

TEST(MemoryLimiterTest, RefusesAboveTheSoftLimitAndRecovers) {
  Fake fake;
  fake.used = 50 * kMiB;
  MetricsRegistry metrics;
  CountingSink sink;
  auto p = MemoryLimiterProcessor::Create(
      fake.Options(100, 20, 3500ms),
      model::ComponentContext{"memory_limiter", "traces", &metrics, ""}, &sink);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  MemoryLimiterProcessor& ml = **p;
  EXPECT_EQ(ml.hard_limit_bytes(), 100 * kMiB);
  EXPECT_EQ(ml.soft_limit_bytes(), 80 * kMiB);

  struct Step {
    uint64_t used_mib;
    bool refusing;
  };
  const Step steps[] = {{50, false}, {79, false}, {80, true}, {95, true},
                        {81, true},  {79, false}, {10, false}};
  uint64_t accepted = 0, refused = 0;
  for (const Step& s : steps) {
    fake.used = s.used_mib * kMiB;
    ml.CheckMemory();
    EXPECT_EQ(ml.refusing(), s.refusing) << s.used_mib;
    model::ConsumeResult r = Push(ml, 3);
    if (s.refusing) {
      EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
      EXPECT_EQ(r.status.message(), "data refused due to high memory usage");
      EXPECT_EQ(r.retry_after_seconds, 4u);  // one check interval, rounded up
      refused += 3;
    } else {
      EXPECT_TRUE(r.status.ok()) << r.status.ToString();
      accepted += 3;
    }
  }
  EXPECT_EQ(sink.spans, accepted);
  Labels id = {{"processor", "memory_limiter"}};
  EXPECT_EQ(metrics.CounterValue("otelcol_processor_memory_limiter_accepted_spans_total", id),
            accepted);
  EXPECT_EQ(metrics.CounterValue("otelcol_processor_memory_limiter_refused_spans_total", id),
            refused);
}

TEST(MemoryLimiterTest, ReleasesMemoryAboveTheHardLimit) {
  Fake fake;
  fake.used = 10 * kMiB;
  CountingSink sink;
  MemoryLimiterOptions o = fake.Options(100, 20);
  o.min_gc_interval_when_soft_limited = 1h;  // only the hard limit may release after the first time
  auto p = MemoryLimiterProcessor::Create(o, model::ComponentContext{"ml"}, &sink);
  ASSERT_TRUE(p.ok());
  MemoryLimiterProcessor& ml = **p;

  fake.used = 90 * kMiB;  // above soft: releases once (never released before), still high
  ml.CheckMemory();
  EXPECT_TRUE(ml.refusing());
  EXPECT_EQ(fake.releases, 1);
  fake.used = 50 * kMiB;
  ml.CheckMemory();
  fake.used = 90 * kMiB;  // soft again within the soft interval: no release
  ml.CheckMemory();
  EXPECT_EQ(fake.releases, 1);
  EXPECT_TRUE(ml.refusing());

  fake.after_release = 60 * kMiB;
  fake.used = 120 * kMiB;  // above hard: releases, and what is left decides
  ml.CheckMemory();
  EXPECT_EQ(fake.releases, 2);
  EXPECT_FALSE(ml.refusing());
}

TEST(MemoryLimiterTest, TheBackgroundThreadChecks) {
  Fake fake;
  fake.used = 10 * kMiB;
  CountingSink sink;
  auto p = MemoryLimiterProcessor::Create(fake.Options(100, 20, 5ms), model::ComponentContext{"ml"},
                                          &sink);
  ASSERT_TRUE(p.ok());
  MemoryLimiterProcessor& ml = **p;
  EXPECT_FALSE(ml.refusing());
  fake.used = 99 * kMiB;
  EXPECT_TRUE(Eventually([&] { return ml.refusing(); }));
  fake.used = 20 * kMiB;
  EXPECT_TRUE(Eventually([&] { return !ml.refusing(); }));
  ml.Shutdown();
  ml.Shutdown();  // idempotent
}

TEST(MemoryLimiterTest, PercentagesOfTotalMemory) {
  struct Case {
    uint32_t limit_pct, spike_pct;
    uint64_t hard_mib, soft_mib;
  };
  const Case cases[] = {{50, 10, 500, 400}, {50, 0, 500, 400}, {80, 30, 800, 500}};
  for (const Case& c : cases) {
    MemoryLimiterOptions o;
    o.check_interval = 1s;
    o.limit_percentage = c.limit_pct;
    o.spike_limit_percentage = c.spike_pct;
    o.total_memory = [] { return 1000 * kMiB; };
    o.read_memory = [] { return 0; };
    CountingSink sink;
    auto p = MemoryLimiterProcessor::Create(o, model::ComponentContext{"ml"}, &sink);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)->hard_limit_bytes(), c.hard_mib * kMiB);
    EXPECT_EQ((*p)->soft_limit_bytes(), c.soft_mib * kMiB);
  }
  // limit_mib takes precedence; an unknown total memory is an error only when it is needed.
  MemoryLimiterOptions o;
  o.check_interval = 1s;
  o.limit_mib = 10;
  o.limit_percentage = 50;
  o.total_memory = [] { return 0; };
  CountingSink sink;
  auto fixed = MemoryLimiterProcessor::Create(o, model::ComponentContext{"ml"}, &sink);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ((*fixed)->hard_limit_bytes(), 10 * kMiB);
  EXPECT_EQ((*fixed)->soft_limit_bytes(), 8 * kMiB);
  o.limit_mib = 0;
  EXPECT_FALSE(MemoryLimiterProcessor::Create(o, model::ComponentContext{"ml"}, &sink).ok());
  EXPECT_GT(TotalMemoryBytes(), 0u);
}

TEST(MemoryLimiterTest, ConfigIsValidatedAsTheCollectorDoes) {
  auto parse = [](const std::string& yaml) {
    auto node = conf::LoadYaml(yaml);
    EXPECT_TRUE(node.ok());
    return ParseMemoryLimiterOptions(*node, "processors.memory_limiter");
  };
  auto ok = parse("check_interval: 1s\nlimit_mib: 4000\nspike_limit_mib: 800\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->check_interval, 1000ms);
  EXPECT_EQ(ok->limit_mib, 4000u);
  EXPECT_EQ(ok->min_gc_interval_when_soft_limited, 10s);
  EXPECT_TRUE(parse("check_interval: 5s\nlimit_percentage: 80\nspike_limit_percentage: 25\n"
                    "max_gc_interval_when_soft_limited: 30s\n")
                  .ok());
  struct Bad {
    const char* yaml;
    const char* want;
  };
  const Bad bad[] = {
      {"limit_mib: 100\n", "'check_interval' must be greater than zero"},
      {"check_interval: 1s\n", "'limit_mib' or 'limit_percentage' must be greater than zero"},
      {"check_interval: 1s\nlimit_mib: 100\nspike_limit_mib: 100\n",
       "'spike_limit_mib' must be smaller than 'limit_mib'"},
      {"check_interval: 1s\nlimit_percentage: 101\n", "less than or equal to hundred"},
      {"check_interval: 1s\nlimit_percentage: 50\nspike_limit_percentage: 50\n",
       "'spike_limit_percentage' must be smaller than 'limit_percentage'"},
      {"check_interval: 1s\nlimit_mib: 100\nmin_gc_interval_when_soft_limited: 1s\n"
       "min_gc_interval_when_hard_limited: 2s\n",
       "should be larger than 'min_gc_interval_when_hard_limited'"},
      {"check_interval: 1s\nlimit_mib: 100\nballast_size_mib: 10\n",
       "ballast_size_mib (line 3): unknown key"},
  };
  for (const Bad& c : bad) {
    auto r = parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
  }
  // `memory_limiter:` with nothing under it.
  auto empty = ParseMemoryLimiterOptions(YAML::Node(), "processors.memory_limiter");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            "processors.memory_limiter: 'check_interval' must be greater than zero");
}

TEST(MemoryLimiterTest, RealResidentMemory) {
  // The limit sits just above what the process holds now: touching 160 MiB crosses it,
  // freeing them comes back under.
  uint64_t rss = ProcessRssBytes();
  ASSERT_GT(rss, 0u);
  MemoryLimiterOptions o;
  o.check_interval = 5ms;
  o.limit_mib = static_cast<uint32_t>(rss / kMiB) + 96;
  o.spike_limit_mib = 32;  // soft limit: about 64 MiB above the current RSS
  CountingSink sink;
  auto p = MemoryLimiterProcessor::Create(o, model::ComponentContext{"ml"}, &sink);
  ASSERT_TRUE(p.ok());
  MemoryLimiterProcessor& ml = **p;
  EXPECT_FALSE(ml.refusing());
  EXPECT_TRUE(Push(ml, 1).status.ok());

  constexpr size_t kBlock = 160 * kMiB;
  auto block = std::make_unique<char[]>(kBlock);
  std::memset(block.get(), 0x5a, kBlock);  // resident only once touched
  EXPECT_TRUE(Eventually([&] { return ml.refusing(); }))
      << "rss " << ProcessRssBytes() / kMiB << " MiB";
  EXPECT_EQ(Push(ml, 1).status.code(), StatusCode::kUnavailable);
  block.reset();
  EXPECT_TRUE(Eventually([&] { return !ml.refusing(); }))
      << "rss " << ProcessRssBytes() / kMiB << " MiB";
  EXPECT_TRUE(Push(ml, 1).status.ok());
}

}  // namespace
}  // namespace vivace::processors
