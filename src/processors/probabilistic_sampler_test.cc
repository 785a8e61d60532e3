#include "processors/probabilistic_sampler.h"

#include <gtest/gtest.h>

#include <random>

#include "base/strings.h"
#include "conf/yaml.h"
#include "processors/misc_test_util.h"

namespace vivace::processors {
namespace {

using model::Value;
using testing::AddSpan;
using testing::Attrs;

model::TraceId Tid(std::string_view hex) {
  model::TraceId id;
  EXPECT_TRUE(HexDecode(hex, id.bytes.data(), 16)) << hex;
  return id;
}

ProbabilisticSamplerTransform Sampler(float pct, uint32_t seed = 0, bool fail_closed = true,
                                      MetricsRegistry* metrics = nullptr) {
  ProbabilisticSamplerOptions o;
  o.sampling_percentage = pct;
  o.hash_seed = seed;
  o.fail_closed = fail_closed;
  return ProbabilisticSamplerTransform(
      o, model::ComponentContext{"probabilistic_sampler", "traces", metrics, ""});
}

/// One span with `tid`, `tracestate` and attributes; returns the tracestate after sampling, or
/// "dropped".
std::string SampleOne(ProbabilisticSamplerTransform& s, const model::TraceId& tid,
                      std::string_view tracestate = "",
                      const std::vector<std::pair<std::string, Value>>& attrs = {}) {
  model::SpanBatch b;
  AddSpan(b, Attrs(b, attrs));
  b.trace_id[0] = tid;
  b.trace_state[0] = b.arena.Copy(tracestate);
  s.Apply(b);
  return b.empty() ? "dropped" : std::string(b.trace_state[0]);
}

TEST(ProbabilisticSamplerTest, HashMatchesTheCollector) {
  // TestEmptyHashFunction: 16 zero bytes with seed 0 hash to bucket 0x2455.
  EXPECT_EQ(ProbabilisticSamplerTransform::HashRandomness(model::TraceId{}, 0) & 0x3fff, 0x2455u);
  // The top 14 bits of the randomness are 0x3fff - bucket.
  EXPECT_EQ(ProbabilisticSamplerTransform::HashRandomness(model::TraceId{}, 0) >> 42,
            0x3fffu - 0x2455u);
}

TEST(ProbabilisticSamplerTest, FiftyPercentDecisionsMatchTheCollector) {
  // (seed, trace ID, sampled at 50%): from the Collector's TestHashingFunction data.
  struct Vector {
    uint32_t seed;
    const char* tid;
    bool sampled;
  };
  const Vector vectors[] = {
      {653, "474a03c76d75951a4b4c537ced8f1122", true},
      {563, "53a518291e91307e43cd8467bb06f986", true},
      {142, "a56a02f843b9bc6ee0b13889249e90e6", true},
      {904, "4e40762d3ee97a1c0932e4fa584f89a8", false},
      {445, "5224507db93db513f0ea2a4b4e0578c8", true},
      {38, "0c8717ced36216037af657e9d7f8b35b", true},
      {561, "2a8aa76c18d08e1e8be935541f9318c7", false},
      {757, "9e3d0f9481dc422cb613ea550897ae71", false},
      {22, "66a66c516ac22054673e5da5e6492545", false},
      {172, "84a1ce7bcea3e66194e72b4aa2694e31", true},
      {552, "a811a7def34ca4b98d8e320afd115fad", false},
      {546, "e3a345cc8dbb6f014bfa1edad3981820", true},
      {790, "7629ecbea89398bfd9752a2f51c2c137", true},
      {555, "de6cdfb44d69e211f886c57120d7bda0", true},
      {147, "a8a5c3bb9205883fae17ead6675b2450", false},
      {666, "3ee60b013303bcfda06be89071b90bd1", true},
      {561, "0a0af00f63e098a39883705a423b0aa8", true},
      {667, "0c38553d71f54dfc37155c22cc8bf243", false},
      {936, "62dda24e4be24f5198e4d8dd4010c811", true},
      {835, "6c77db08bbded7bdd5c99c6e2fea41d2", false},
      {16, "2533c732bed8c1ba4721c25a1205f06c", false},
      {936, "ecc770b4be885dfc8d6fa135bc2c93bb", true},
      {773, "988481445600bb91bbe23e3103034bcd", true},
      {99, "497f02db51c898ac441aae18a8b7ced9", false},
  };
  for (const Vector& v : vectors) {
    auto s = Sampler(50, v.seed);
    EXPECT_EQ(SampleOne(s, Tid(v.tid)) != "dropped", v.sampled) << v.seed << " " << v.tid;
  }
}

TEST(ProbabilisticSamplerTest, KeptSpansCarryRandomnessAndThreshold) {
  // Test_tracesamplerprocessor_HashSeedTraceState: th per percentage, 14-bit rounded.
  struct Case {
    float pct;
    const char* th;
  };
  const Case cases[] = {{100, "0"}, {75, "4"},    {50, "8"},
                        {25, "c"},  {10, "e668"}, {100.0f / 3, "aaac"}};
  std::mt19937_64 rng(7);
  for (const Case& c : cases) {
    auto s = Sampler(c.pct, 4312);
    int found = 0;
    while (found < 10) {
      model::TraceId tid;
      for (auto& byte : tid.bytes) byte = static_cast<uint8_t>(rng());
      std::string ts = SampleOne(s, tid);
      if (ts == "dropped") continue;
      ++found;
      std::string rv;
      uint64_t r = ProbabilisticSamplerTransform::HashRandomness(tid, 4312);
      for (int shift = 52; shift >= 0; shift -= 4) {
        rv.push_back("0123456789abcdef"[(r >> shift) & 0xF]);
      }
      EXPECT_EQ(ts, "ot=rv:" + rv + ";th:" + c.th) << c.pct;
    }
  }
}

TEST(ProbabilisticSamplerTest, TraceStateIsKeptAroundTheOtEntry) {
  auto s = Sampler(100, 1);
  model::TraceId tid = Tid("0102030405060708090a0b0c0d0e0f10");
  std::string rv = SampleOne(s, tid).substr(6, 14);
  EXPECT_EQ(SampleOne(s, tid, "vendor=abc, other=1"), "ot=rv:" + rv + ";th:0,vendor=abc,other=1");
  EXPECT_EQ(SampleOne(s, tid, "a=1,ot=p:8;x:y"), "ot=rv:" + rv + ";th:0;p:8;x:y,a=1");
}

TEST(ProbabilisticSamplerTest, ErrorsFailClosedOrOpen) {
  struct Case {
    const char* name;
    model::TraceId tid;
    const char* tracestate;
    bool fail_closed;
    const char* want;  // resulting tracestate or "dropped"
  };
  model::TraceId tid = Tid("fefefefefefefefefe80000000000000");
  const Case cases[] = {
      {"zero trace id, fail closed", model::TraceId{}, "", true, "dropped"},
      {"zero trace id, fail open", model::TraceId{}, "", false, "ot=rv:ffffffffffffff;th:0"},
      {"explicit randomness is the consistent modes' business", tid, "ot=rv:90000000000000", true,
       "dropped"},
      {"explicit randomness, fail open: kept unchanged", tid, "ot=rv:90000000000000", false,
       "ot=rv:90000000000000"},
      {"explicit threshold", tid, "ot=th:8", true, "dropped"},
      {"invalid t-value", tid, "ot=th:-1", true, "dropped"},
      {"r-value too long", tid, "ot=rv:abababababababab", true, "dropped"},
      {"invalid tracestate", tid, "Upper=case", true, "dropped"},
      {"invalid tracestate, fail open: kept unchanged", tid, "Upper=case", false, "Upper=case"},
  };
  for (const Case& c : cases) {
    auto s = Sampler(100, 4312, c.fail_closed);
    EXPECT_EQ(SampleOne(s, c.tid, c.tracestate), c.want) << c.name;
  }
}

TEST(ProbabilisticSamplerTest, SamplingPriorityOverrides) {
  struct Case {
    const char* name;
    float pct;
    Value priority;
    bool kept;
  };
  const Case cases[] = {
      {"int > 0 keeps at 0%", 0, Value::Int(2), true},
      {"double > 0 keeps at 0%", 0, Value::Double(1), true},
      {"string > 0 keeps at 0%", 0, Value::String("0.5"), true},
      {"int 0 drops at 100%", 100, Value::Int(0), false},
      {"double 0 drops at 100%", 100, Value::Double(0), false},
      {"string 0.0 drops at 100%", 100, Value::String("0.0"), false},
      {"negative defers (100%)", 100, Value::Int(-1), true},
      {"negative defers (0%)", 0, Value::String("-0.5"), false},
      {"NaN defers", 100, Value::String("NaN"), true},
      {"bool is ignored", 0, Value::Bool(true), false},
  };
  model::TraceId tid = Tid("0102030405060708090a0b0c0d0e0f10");
  for (const Case& c : cases) {
    auto s = Sampler(c.pct, 4312);
    std::string got =
        SampleOne(s, tid, "", {{"x", Value::Int(1)}, {"sampling.priority", c.priority}});
    EXPECT_EQ(got != "dropped", c.kept) << c.name;
  }
  // Priority also rescues a span whose trace ID carries no randomness.
  auto s = Sampler(50, 1, true);
  EXPECT_EQ(SampleOne(s, model::TraceId{}, "", {{"sampling.priority", Value::Int(1)}}),
            "ot=rv:ffffffffffffff;th:0");
}

TEST(ProbabilisticSamplerTest, RatesAndMetrics) {
  MetricsRegistry metrics;
  std::mt19937_64 rng(11);
  struct Case {
    float pct;
    int lo, hi;  // kept out of 10000
  };
  for (Case c : {Case{0, 0, 0}, Case{25, 2350, 2650}, Case{90, 8850, 9150}, Case{100, 10000, 10000},
                 Case{200, 10000, 10000}}) {
    auto s = Sampler(c.pct, 99, true, &metrics);
    model::SpanBatch b;
    for (int i = 0; i < 10000; ++i) {
      size_t k = AddSpan(b);
      for (auto& byte : b.trace_id[k].bytes) byte = static_cast<uint8_t>(rng());
    }
    b.otlp_proto = "cached";
    s.Apply(b);
    EXPECT_GE(static_cast<int>(b.size()), c.lo) << c.pct;
    EXPECT_LE(static_cast<int>(b.size()), c.hi) << c.pct;
    if (c.pct > 0) {
      EXPECT_TRUE(b.otlp_proto.empty());
    }
  }
  const char* name = "otelcol_processor_probabilistic_sampler_count_spans_processed_total";
  uint64_t kept = metrics.CounterValue(name, {{"sampled", "true"}});
  uint64_t dropped = metrics.CounterValue(name, {{"sampled", "false"}});
  EXPECT_EQ(kept + dropped, 50000u);
  EXPECT_EQ(metrics.CounterValue(name, {{"policy", "trace_id_hash"}}), 40000u);  // 0% never hashes
  EXPECT_EQ(metrics.CounterValue(name, {{"policy", "sampling_priority"}}),
            10000u);  // as the Collector names it
  EXPECT_EQ(
      metrics.CounterValue("otelcol_processor_probabilistic_sampler_count_traces_sampled_total"),
      50000u);
}

TEST(ProbabilisticSamplerTest, Config) {
  auto parse = [](const std::string& yaml) {
    auto node = conf::LoadYaml(yaml);
    EXPECT_TRUE(node.ok());
    return ParseProbabilisticSamplerOptions(*node, "processors.probabilistic_sampler");
  };
  auto ok =
      parse("sampling_percentage: 15.3\nhash_seed: 22\nfail_closed: false\nmode: hash_seed\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_FLOAT_EQ(ok->sampling_percentage, 15.3f);
  EXPECT_EQ(ok->hash_seed, 22u);
  EXPECT_FALSE(ok->fail_closed);
  auto defaults = parse("{}");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->fail_closed);
  EXPECT_EQ(defaults->sampling_precision, 4);
  EXPECT_EQ(defaults->sampling_percentage, 0);
  struct Bad {
    const char* yaml;
    const char* want;
  };
  const Bad bad[] = {
      {"mode: proportional\n",
       "processors.probabilistic_sampler.mode (line 1): mode \"proportional\" is not supported"},
      {"mode: equalizing\n", "not supported"},
      {"mode: other\n", "unsupported sampler mode \"other\""},
      {"sampling_percentage: -1\n", "sampling rate is negative"},
      {"sampling_percentage: 1e-20\n", "sampling rate is too small"},
      {"sampling_percentage: 1e300\n", "sampling rate is invalid"},
      {"sampling_precision: 0\n", "invalid sampling precision: 0"},
      {"sampling_precision: 15\n", "should be <= 14"},
      {"hash_seed: 4294967296\n", "hash_seed (line 1)"},
      {"sampling_percentag: 5\n", "unknown key"},
  };
  for (const Bad& c : bad) {
    auto r = parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace vivace::processors
