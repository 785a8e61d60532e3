#include "processors/tail_sampling.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/mutex.h"
#include "conf/yaml.h"
#include "processors/tail_sampling_index.h"

namespace vivace::processors {
namespace {

using model::SpanBatch;
using model::StatusCode;
using model::TraceId;
using model::Value;

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSec = 1000 * kMs;

TraceId Tid(uint64_t n) {
  TraceId id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[i] = static_cast<uint8_t>(0xA0 + i);
    id.bytes[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  }
  return id;
}

TraceId RandomTid(std::mt19937_64& rng) {
  TraceId id;
  uint64_t a = rng(), b = rng();
  std::memcpy(id.bytes.data(), &a, 8);
  std::memcpy(id.bytes.data() + 8, &b, 8);
  return id;
}

struct Attr {
  std::string key;
  enum Kind { kStr, kInt, kBool, kDouble } kind = kStr;
  std::string s;
  int64_t i = 0;
  bool b = false;
  double d = 0;
};
Attr S(std::string k, std::string v) { return Attr{std::move(k), Attr::kStr, std::move(v)}; }
Attr I(std::string k, int64_t v) { return Attr{std::move(k), Attr::kInt, "", v}; }
Attr B(std::string k, bool v) { return Attr{std::move(k), Attr::kBool, "", 0, v}; }
Attr D(std::string k, double v) { return Attr{std::move(k), Attr::kDouble, "", 0, false, v}; }

struct SpanSpec {
  TraceId trace;
  uint64_t start_ms = 1000;
  uint64_t duration_ms = 10;
  StatusCode status = StatusCode::kUnset;
  std::vector<Attr> attrs;
  std::string trace_state;
  uint32_t flags = 0;
};

// Builds a batch: spans go to the current resource (Resource() starts a new one).
class BatchBuilder {
 public:
  explicit BatchBuilder(std::string tenant = "single-tenant") : b_(std::make_unique<SpanBatch>()) {
    b_->tenant = std::move(tenant);
    Resource({S("service.name", "svc")});
  }
  BatchBuilder& Resource(const std::vector<Attr>& attrs) {
    model::Resource r;
    r.attributes = AddAttrs(attrs);
    b_->resources.push_back(r);
    model::Scope s;
    s.resource = static_cast<uint32_t>(b_->resources.size() - 1);
    s.name = b_->arena.Copy("scope");
    b_->scopes.push_back(s);
    return *this;
  }
  BatchBuilder& Span(const SpanSpec& spec) {
    model::SpanRow row;
    row.trace_id = spec.trace;
    row.span_id.bytes[0] = static_cast<uint8_t>(++next_span_);
    row.span_id.bytes[1] = static_cast<uint8_t>(next_span_ >> 8);
    row.span_id.bytes[2] = static_cast<uint8_t>(next_span_ >> 16);
    row.name = b_->arena.Copy("op");
    row.start_unix_nano = spec.start_ms * kMs;
    row.end_unix_nano = (spec.start_ms + spec.duration_ms) * kMs;
    row.status_code = spec.status;
    row.trace_state = b_->arena.Copy(spec.trace_state);
    row.flags = spec.flags;
    row.attributes = AddAttrs(spec.attrs);
    row.scope = static_cast<uint32_t>(b_->scopes.size() - 1);
    b_->Append(row);
    return *this;
  }
  BatchBuilder& Span(TraceId t) { return Span(SpanSpec{t}); }
  std::unique_ptr<SpanBatch> Build() { return std::move(b_); }
  SpanBatch& batch() { return *b_; }

 private:
  model::Range AddAttrs(const std::vector<Attr>& attrs) {
    model::Range r = b_->AllocAttributes(static_cast<uint32_t>(attrs.size()));
    for (size_t k = 0; k < attrs.size(); ++k) {
      const Attr& a = attrs[k];
      Value v;
      switch (a.kind) {
        case Attr::kStr:
          v = Value::String(b_->arena.Copy(a.s));
          break;
        case Attr::kInt:
          v = Value::Int(a.i);
          break;
        case Attr::kBool:
          v = Value::Bool(a.b);
          break;
        case Attr::kDouble:
          v = Value::Double(a.d);
          break;
      }
      b_->attributes[r.first + k] = model::KeyValue{b_->arena.Copy(a.key), v};
    }
    return r;
  }
  std::unique_ptr<SpanBatch> b_;
  uint32_t next_span_ = 0;
};

// Evaluates one policy on one trace made of `spans` (several batches allowed).
Decision EvaluateOn(Policy& p, const std::vector<const SpanBatch*>& batches, uint64_t now_ns = 0) {
  std::vector<SpanLoc> locs;
  uint64_t min_start = UINT64_MAX, max_end = 0;
  for (const SpanBatch* b : batches) {
    for (size_t i = 0; i < b->size(); ++i) {
      locs.push_back(SpanLoc{b, static_cast<uint32_t>(i)});
      min_start = std::min(min_start, b->start_unix_nano[i]);
      max_end = std::max(max_end, b->end_unix_nano[i]);
    }
  }
  TraceView v;
  v.trace_id = batches.empty() || batches[0]->empty() ? TraceId{} : batches[0]->trace_id[0];
  v.spans = locs;
  v.min_start_unix_nano = min_start;
  v.max_end_unix_nano = max_end;
  v.now_ns = now_ns;
  return p.Evaluate(v);
}

std::unique_ptr<Policy> MustBuild(const PolicyConfig& c) {
  auto p = BuildPolicy(c);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

PolicyConfig Cfg(PolicyType type, std::string name = "p") {
  PolicyConfig c;
  c.type = type;
  c.name = std::move(name);
  return c;
}

PolicyConfig StringPolicy(std::string key, std::vector<std::string> values, bool invert = false,
                          bool regex = false) {
  PolicyConfig c = Cfg(PolicyType::kStringAttribute, "str-" + key);
  c.key = std::move(key);
  c.values = std::move(values);
  c.invert_match = invert;
  c.enabled_regex_matching = regex;
  return c;
}

PolicyConfig StatusPolicy(std::vector<std::string> codes) {
  PolicyConfig c = Cfg(PolicyType::kStatusCode, "status");
  c.status_codes = std::move(codes);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Policies, one trace at a time.

struct PolicyCase {
  std::string name;
  PolicyConfig config;
  std::vector<SpanSpec> spans;
  std::vector<Attr> resource;  // attributes of the spans' resource
  Decision want;
};

TEST(TailSamplingPolicyTest, Table) {
  const TraceId t = Tid(1);
  auto latency = [](int64_t lo, int64_t hi) {
    PolicyConfig c = Cfg(PolicyType::kLatency);
    c.threshold_ms = lo;
    c.upper_threshold_ms = hi;
    return c;
  };
  auto numeric = [](int64_t lo, int64_t hi, bool invert = false) {
    PolicyConfig c = Cfg(PolicyType::kNumericAttribute);
    c.key = "http.status_code";
    c.min_value = lo;
    c.max_value = hi;
    c.invert_match = invert;
    return c;
  };
  auto probabilistic = [](double pct) {
    PolicyConfig c = Cfg(PolicyType::kProbabilistic);
    c.sampling_percentage = pct;
    return c;
  };
  auto span_count = [](int64_t lo, int64_t hi) {
    PolicyConfig c = Cfg(PolicyType::kSpanCount);
    c.min_spans = lo;
    c.max_spans = hi;
    return c;
  };
  auto trace_state = [] {
    PolicyConfig c = Cfg(PolicyType::kTraceState);
    c.key = "vendor";
    c.values = {"on", "yes"};
    return c;
  };
  auto boolean = [](bool value, bool invert = false) {
    PolicyConfig c = Cfg(PolicyType::kBooleanAttribute);
    c.key = "debug";
    c.bool_value = value;
    c.invert_match = invert;
    return c;
  };
  auto combo = [](PolicyType type, std::vector<PolicyConfig> subs) {
    PolicyConfig c = Cfg(type);
    c.sub_policies = std::move(subs);
    return c;
  };
  // Two spans, each 60ms, together 110ms: latency looks at the whole trace.
  std::vector<SpanSpec> two_spans_110ms = {SpanSpec{t, 1000, 60}, SpanSpec{t, 1050, 60}};
  std::vector<PolicyCase> cases = {
      {"always_sample", Cfg(PolicyType::kAlwaysSample), {SpanSpec{t}}, {}, Decision::kSampled},
      {"latency below", latency(100, 0), {SpanSpec{t, 1000, 99}}, {}, Decision::kNotSampled},
      {"latency equal is not above",
       latency(100, 0),
       {SpanSpec{t, 1000, 100}},
       {},
       Decision::kNotSampled},
      {"latency above", latency(100, 0), {SpanSpec{t, 1000, 101}}, {}, Decision::kSampled},
      {"latency of the whole trace", latency(100, 0), two_spans_110ms, {}, Decision::kSampled},
      {"latency in (lower, upper]",
       latency(100, 200),
       {SpanSpec{t, 1000, 200}},
       {},
       Decision::kSampled},
      {"latency above upper",
       latency(100, 200),
       {SpanSpec{t, 1000, 201}},
       {},
       Decision::kNotSampled},
      {"numeric span attr in range",
       numeric(400, 599),
       {SpanSpec{t, 1000, 1, {}, {I("http.status_code", 503)}}},
       {},
       Decision::kSampled},
      {"numeric out of range",
       numeric(400, 599),
       {SpanSpec{t, 1000, 1, {}, {I("http.status_code", 200)}}},
       {},
       Decision::kNotSampled},
      {"numeric on the resource",
       numeric(400, 599),
       {SpanSpec{t}},
       {I("http.status_code", 404)},
       Decision::kSampled},
      {"numeric missing", numeric(400, 599), {SpanSpec{t}}, {}, Decision::kNotSampled},
      {"numeric max 0 is unbounded",
       numeric(400, 0),
       {SpanSpec{t, 1000, 1, {}, {I("http.status_code", 100000)}}},
       {},
       Decision::kSampled},
      {"numeric non-int reads as 0",
       numeric(-5, 5),
       {SpanSpec{t, 1000, 1, {}, {D("http.status_code", 500.0)}}},
       {},
       Decision::kSampled},
      {"numeric invert, found",
       numeric(400, 599, true),
       {SpanSpec{t, 1000, 1, {}, {I("http.status_code", 500)}}},
       {},
       Decision::kInvertNotSampled},
      {"numeric invert, missing",
       numeric(400, 599, true),
       {SpanSpec{t}},
       {},
       Decision::kInvertSampled},
      {"probabilistic 100%", probabilistic(100), {SpanSpec{t}}, {}, Decision::kSampled},
      {"probabilistic 0%", probabilistic(0), {SpanSpec{t}}, {}, Decision::kNotSampled},
      {"status ERROR on one span",
       StatusPolicy({"ERROR"}),
       {SpanSpec{t}, SpanSpec{t, 1000, 1, StatusCode::kError}},
       {},
       Decision::kSampled},
      {"status ERROR, none",
       StatusPolicy({"ERROR"}),
       {SpanSpec{t, 1000, 1, StatusCode::kOk}},
       {},
       Decision::kNotSampled},
      {"status UNSET", StatusPolicy({"OK", "UNSET"}), {SpanSpec{t}}, {}, Decision::kSampled},
      {"string exact",
       StringPolicy("env", {"prod", "staging"}),
       {SpanSpec{t, 1000, 1, {}, {S("env", "staging")}}},
       {},
       Decision::kSampled},
      {"string exact, other",
       StringPolicy("env", {"prod"}),
       {SpanSpec{t, 1000, 1, {}, {S("env", "production")}}},
       {},
       Decision::kNotSampled},
      {"string on the resource",
       StringPolicy("service.name", {"svc"}),
       {SpanSpec{t}},
       {S("service.name", "svc")},
       Decision::kSampled},
      {"string regex is unanchored (Go MatchString)",
       StringPolicy("env", {"rod"}, false, true),
       {SpanSpec{t, 1000, 1, {}, {S("env", "prod")}}},
       {},
       Decision::kSampled},
      {"string regex anchored",
       StringPolicy("env", {"^rod$"}, false, true),
       {SpanSpec{t, 1000, 1, {}, {S("env", "prod")}}},
       {},
       Decision::kNotSampled},
      {"string on a non-string span attr",
       StringPolicy("env", {"1"}),
       {SpanSpec{t, 1000, 1, {}, {I("env", 1)}}},
       {},
       Decision::kNotSampled},
      {"string invert, found",
       StringPolicy("env", {"prod"}, true),
       {SpanSpec{t, 1000, 1, {}, {S("env", "prod")}}},
       {},
       Decision::kInvertNotSampled},
      {"string invert, other value",
       StringPolicy("env", {"prod"}, true),
       {SpanSpec{t, 1000, 1, {}, {S("env", "dev")}}},
       {},
       Decision::kInvertSampled},
      {"span_count below", span_count(2, 3), {SpanSpec{t}}, {}, Decision::kNotSampled},
      {"span_count within", span_count(2, 3), {SpanSpec{t}, SpanSpec{t}}, {}, Decision::kSampled},
      {"span_count above", span_count(1, 1), {SpanSpec{t}, SpanSpec{t}}, {}, Decision::kNotSampled},
      {"span_count max 0 is unbounded",
       span_count(2, 0),
       {SpanSpec{t}, SpanSpec{t}, SpanSpec{t}},
       {},
       Decision::kSampled},
      {"trace_state match",
       trace_state(),
       {SpanSpec{t, 1000, 1, {}, {}, "x=1, vendor=yes"}},
       {},
       Decision::kSampled},
      {"trace_state other value",
       trace_state(),
       {SpanSpec{t, 1000, 1, {}, {}, "vendor=no"}},
       {},
       Decision::kNotSampled},
      {"trace_state invalid",
       trace_state(),
       {SpanSpec{t, 1000, 1, {}, {}, "Vendor=on"}},
       {},
       Decision::kNotSampled},
      {"trace_state duplicate key is invalid",
       trace_state(),
       {SpanSpec{t, 1000, 1, {}, {}, "vendor=on,vendor=on"}},
       {},
       Decision::kNotSampled},
      {"trace_flags sampled",
       Cfg(PolicyType::kTraceFlags),
       {SpanSpec{t}, SpanSpec{t, 1000, 1, {}, {}, "", 0x101}},
       {},
       Decision::kSampled},
      {"trace_flags not sampled",
       Cfg(PolicyType::kTraceFlags),
       {SpanSpec{t, 1000, 1, {}, {}, "", 0x100}},
       {},
       Decision::kNotSampled},
      {"boolean match",
       boolean(true),
       {SpanSpec{t, 1000, 1, {}, {B("debug", true)}}},
       {},
       Decision::kSampled},
      {"boolean other",
       boolean(true),
       {SpanSpec{t, 1000, 1, {}, {B("debug", false)}}},
       {},
       Decision::kNotSampled},
      {"boolean invert, found",
       boolean(true, true),
       {SpanSpec{t, 1000, 1, {}, {B("debug", true)}}},
       {},
       Decision::kInvertNotSampled},
      {"and, all",
       combo(PolicyType::kAnd, {StringPolicy("env", {"prod"}), StatusPolicy({"ERROR"})}),
       {SpanSpec{t, 1000, 1, StatusCode::kError, {S("env", "prod")}}},
       {},
       Decision::kSampled},
      {"and, one missing",
       combo(PolicyType::kAnd, {StringPolicy("env", {"prod"}), StatusPolicy({"ERROR"})}),
       {SpanSpec{t, 1000, 1, StatusCode::kOk, {S("env", "prod")}}},
       {},
       Decision::kNotSampled},
      {"and turns inverted into plain",
       combo(PolicyType::kAnd, {StringPolicy("env", {"prod"}, true)}),
       {SpanSpec{t}},
       {},
       Decision::kSampled},
      {"not of a match",
       combo(PolicyType::kNot, {StringPolicy("env", {"prod"})}),
       {SpanSpec{t, 1000, 1, {}, {S("env", "prod")}}},
       {},
       Decision::kNotSampled},
      {"not of no match",
       combo(PolicyType::kNot, {StringPolicy("env", {"prod"})}),
       {SpanSpec{t}},
       {},
       Decision::kSampled},
      {"drop when all sub-policies sample",
       combo(PolicyType::kDrop, {StringPolicy("route", {"/health"})}),
       {SpanSpec{t, 1000, 1, {}, {S("route", "/health")}}},
       {},
       Decision::kDropped},
      {"drop, a sub-policy does not sample",
       combo(PolicyType::kDrop, {StringPolicy("route", {"/health"}), StatusPolicy({"ERROR"})}),
       {SpanSpec{t, 1000, 1, {}, {S("route", "/health")}}},
       {},
       Decision::kNotSampled},
  };
  for (const PolicyCase& c : cases) {
    SCOPED_TRACE(c.name);
    BatchBuilder bb;
    bb.Resource(c.resource);
    for (const SpanSpec& s : c.spans) bb.Span(s);
    auto batch = bb.Build();
    auto p = MustBuild(c.config);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(EvaluateOn(*p, {batch.get()}), c.want);
  }
}

TEST(TailSamplingPolicyTest, BuildRejectsWhatCannotWork) {
  EXPECT_FALSE(BuildPolicy(StringPolicy("k", {"(unclosed"}, false, true)).ok());
  EXPECT_FALSE(BuildPolicy(StatusPolicy({"FAILED"})).ok());
  EXPECT_FALSE(BuildPolicy(StatusPolicy({})).ok());
  EXPECT_FALSE(BuildPolicy(Cfg(PolicyType::kAnd)).ok());
  EXPECT_FALSE(BuildPolicy(Cfg(PolicyType::kNot)).ok());
}

TEST(TailSamplingPolicyTest, RateLimitingIsATokenBucketWithTwiceTheRateAsBurst) {
  PolicyConfig c = Cfg(PolicyType::kRateLimiting);
  c.spans_per_second = 10;  // burst 20
  auto p = MustBuild(c);
  BatchBuilder bb;
  for (int i = 0; i < 5; ++i) bb.Span(Tid(1));
  auto five = bb.Build();
  uint64_t t0 = 100 * kSec;
  std::vector<Decision> got;
  for (int i = 0; i < 5; ++i) got.push_back(EvaluateOn(*p, {five.get()}, t0));
  EXPECT_EQ(got, (std::vector<Decision>{Decision::kSampled, Decision::kSampled, Decision::kSampled,
                                        Decision::kSampled, Decision::kNotSampled}));
  EXPECT_EQ(EvaluateOn(*p, {five.get()}, t0 + kSec / 2), Decision::kSampled);  // 5 tokens back
  EXPECT_EQ(EvaluateOn(*p, {five.get()}, t0 + kSec / 2), Decision::kNotSampled);
  // A trace bigger than the burst never passes.
  BatchBuilder big;
  for (int i = 0; i < 21; ++i) big.Span(Tid(2));
  auto b21 = big.Build();
  EXPECT_EQ(EvaluateOn(*p, {b21.get()}, t0 + 100 * kSec), Decision::kNotSampled);
}

TEST(TailSamplingPolicyTest, EncodedSpanSizeIsTheProtobufSize) {
  BatchBuilder bb;
  bb.Resource({});
  SpanBatch& b = bb.batch();
  model::SpanRow row;
  row.trace_id = Tid(1);
  row.span_id.bytes[7] = 1;
  row.name = b.arena.Copy("x");
  row.start_unix_nano = 1;
  row.end_unix_nano = 2;
  b.Append(row);
  // trace_id 18 + span_id 10 + name 3 + start 9 + end 9 + empty status 2.
  EXPECT_EQ(EncodedSpanSize(b, 0), 51u);
  row.attributes = b.AllocAttributes(1);
  b.attributes[row.attributes.first] =
      model::KeyValue{b.arena.Copy("k"), Value::String(b.arena.Copy("vv"))};
  row.status_code = StatusCode::kError;
  b.Append(row);
  // + attribute (tag, len, key 3, value 2+4) = 11; status with code 2 -> 4.
  EXPECT_EQ(EncodedSpanSize(b, 1), 51u + 11 + 2);
}

TEST(TailSamplingPolicyTest, BytesLimitingUsesTheTraceSize) {
  BatchBuilder bb;
  bb.Span(Tid(1)).Span(Tid(1));
  auto batch = bb.Build();
  std::vector<SpanLoc> locs{{batch.get(), 0}, {batch.get(), 1}};
  TraceView v;
  v.spans = locs;
  const uint64_t size = v.EncodedSize();
  EXPECT_GT(size, 2 * EncodedSpanSize(*batch, 0));  // spans plus their resource and scope
  PolicyConfig c = Cfg(PolicyType::kBytesLimiting);
  c.bytes_per_second = static_cast<int64_t>(size);  // burst: two traces
  auto p = MustBuild(c);
  EXPECT_EQ(EvaluateOn(*p, {batch.get()}, kSec), Decision::kSampled);
  EXPECT_EQ(EvaluateOn(*p, {batch.get()}, kSec), Decision::kSampled);
  EXPECT_EQ(EvaluateOn(*p, {batch.get()}, kSec), Decision::kNotSampled);
  EXPECT_EQ(EvaluateOn(*p, {batch.get()}, 2 * kSec), Decision::kSampled);
}

TEST(TailSamplingPolicyTest, CompositeAllocatesSpansPerSecondInOrder) {
  PolicyConfig c = Cfg(PolicyType::kComposite);
  c.max_total_spans_per_second = 10;
  PolicyConfig errors = StatusPolicy({"ERROR"});
  errors.name = "errors";
  PolicyConfig rest = Cfg(PolicyType::kAlwaysSample, "rest");
  c.sub_policies = {errors, rest};
  c.policy_order = {"errors", "rest"};
  c.rate_allocation = {{"errors", 50}, {"rest", 50}};  // 5 spans/s each
  auto p = MustBuild(c);
  BatchBuilder e, o;
  for (int i = 0; i < 3; ++i) {
    e.Span(SpanSpec{Tid(1), 1000, 1, StatusCode::kError});
    o.Span(Tid(2));
  }
  auto err3 = e.Build();
  auto ok3 = o.Build();
  uint64_t t = 50 * kSec;
  EXPECT_EQ(EvaluateOn(*p, {err3.get()}, t), Decision::kSampled);  // errors: 3 of 5
  EXPECT_EQ(EvaluateOn(*p, {err3.get()}, t),
            Decision::kNotSampled);                               // 6 > 5; does not fall through
  EXPECT_EQ(EvaluateOn(*p, {ok3.get()}, t), Decision::kSampled);  // rest: 3 of 5
  EXPECT_EQ(EvaluateOn(*p, {ok3.get()}, t), Decision::kNotSampled);
  EXPECT_EQ(EvaluateOn(*p, {err3.get()}, t + kSec), Decision::kSampled);  // a new second
}

TEST(TailSamplingPolicyTest, ProbabilisticMathMatchesTheCollector) {
  // Values computed independently: FNV-1a 64 over salt + id; MaxUint64 * ratio rounded to
  // 64 significant bits, truncated.
  TraceId id;
  for (int i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(i + 1);
  EXPECT_EQ(ProbabilisticHash("default-hash-seed", id), 15838989281584434349ull);
  EXPECT_EQ(ProbabilisticHash("test-salt", TraceId{}), 9316101679626017984ull);
  EXPECT_EQ(ProbabilisticThreshold(0.25), 4611686018427387903ull);
  EXPECT_EQ(ProbabilisticThreshold(0.5), 9223372036854775807ull);
  EXPECT_EQ(ProbabilisticThreshold(0.33), 6087425544324152319ull);
  EXPECT_EQ(ProbabilisticThreshold(0.1), 1844674407370955263ull);
  EXPECT_EQ(ProbabilisticThreshold(1e-9), 18446744073ull);
  EXPECT_EQ(ProbabilisticThreshold(0), 0u);
  EXPECT_EQ(ProbabilisticThreshold(-0.5), 0u);
  EXPECT_EQ(ProbabilisticThreshold(1), UINT64_MAX);
  EXPECT_EQ(ProbabilisticThreshold(1.5), UINT64_MAX);
}

TEST(TailSamplingPolicyTest, TraceStateParsing) {
  EXPECT_EQ(TraceStateValue("a=1,b=2", "b"), "2");
  EXPECT_EQ(TraceStateValue(" a=1 ,\tb=2 ", "b"), "2");
  EXPECT_EQ(TraceStateValue("a=1,,b=2", "b"), "2");
  EXPECT_EQ(TraceStateValue("tenant@sys=v", "tenant@sys"), "v");
  EXPECT_EQ(TraceStateValue("a=1", "b"), "");
  EXPECT_EQ(TraceStateValue("a=1,b", "a"), "");  // a member without '='
  EXPECT_EQ(TraceStateValue("A=1", "A"), "");    // keys are lower case
  EXPECT_EQ(TraceStateValue("a=x,y", "a"), "");  // "y" is not a member
  EXPECT_EQ(TraceStateValue("a=1=2", "a"), "");  // '=' in a value
}

// ---------------------------------------------------------------------------------------------
// The trace index and the decision cache.

TEST(TailSamplingIndexTest, MatchesAReferenceMapUnderRandomInsertsAndErases) {
  using tail_sampling_internal::kNil;
  tail_sampling_internal::SlotIndex index(4);
  std::map<uint32_t, uint64_t> model;  // slot -> hash
  std::mt19937_64 rng(3);
  uint32_t next_slot = 0;
  for (int step = 0; step < 20000; ++step) {
    // Few distinct hashes (and clustered ones) so probe chains collide and wrap around.
    if (model.empty() || rng() % 3 != 0) {
      uint64_t hash = rng() % 64 == 0 ? rng() : (rng() % 40) | (rng() % 4) << 60;
      index.Insert(hash, next_slot);
      model[next_slot++] = hash;
    } else {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      index.Erase(it->second, it->first);
      model.erase(it);
    }
    if (step % 97 == 0) {
      ASSERT_EQ(index.size(), model.size());
      for (const auto& [slot, hash] : model) {
        uint32_t want = slot;
        ASSERT_EQ(index.Find(hash, [want](uint32_t s) { return s == want; }), slot)
            << "step " << step;
      }
      ASSERT_EQ(index.Find(12345, [](uint32_t) { return true; }), kNil);
    }
  }
}

TEST(TailSamplingIndexTest, DecisionCacheForgetsTheOldestFirst) {
  tail_sampling_internal::DecisionCache cache(3);
  auto put = [&](uint64_t n, uint32_t tenant = 0) {
    cache.Put(tail_sampling_internal::KeyHash(Tid(n), tenant), tenant, Tid(n));
  };
  auto has = [&](uint64_t n, uint32_t tenant = 0) {
    return cache.Contains(tail_sampling_internal::KeyHash(Tid(n), tenant), tenant, Tid(n));
  };
  put(1);
  put(2);
  put(2);  // already there: no new entry
  put(3, 1);
  EXPECT_TRUE(has(1) && has(2) && has(3, 1));
  EXPECT_FALSE(has(3, 0));  // another tenant
  put(4);
  EXPECT_FALSE(has(1));
  EXPECT_TRUE(has(2) && has(3, 1) && has(4));
  for (uint64_t n = 10; n < 100; ++n) put(n);
  EXPECT_TRUE(has(97) && has(98) && has(99));
  EXPECT_FALSE(has(96) || has(4));
  EXPECT_FALSE(tail_sampling_internal::DecisionCache(0).enabled());
}

// ---------------------------------------------------------------------------------------------
// The processor.

class CaptureSink : public model::SpanSink {
 public:
  void Consume(std::unique_ptr<SpanBatch> batch, model::ConsumeCallback done) override {
    {
      MutexLock lock(mu_);
      for (size_t i = 0; i < batch->size(); ++i) {
        ++spans_by_trace_[{batch->tenant, batch->trace_id[i]}];
      }
      total_ += batch->size();
      batches_.push_back(std::move(batch));
    }
    done(model::ConsumeResult{});
  }
  size_t spans() const {
    MutexLock lock(mu_);
    return total_;
  }
  size_t spans_of(const TraceId& t, const std::string& tenant = "single-tenant") const {
    MutexLock lock(mu_);
    auto it = spans_by_trace_.find({tenant, t});
    return it == spans_by_trace_.end() ? 0 : it->second;
  }
  size_t traces() const {
    MutexLock lock(mu_);
    return spans_by_trace_.size();
  }
  std::vector<std::unique_ptr<SpanBatch>> Take() {
    MutexLock lock(mu_);
    return std::move(batches_);
  }

 private:
  mutable Mutex mu_;
  std::map<std::pair<std::string, TraceId>, size_t> spans_by_trace_ VV_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<SpanBatch>> batches_ VV_GUARDED_BY(mu_);
  size_t total_ VV_GUARDED_BY(mu_) = 0;
};

// A processor on a fake clock, with no ticker: tests decide with DecideDue.
struct Harness {
  explicit Harness(TailSamplingOptions o, std::string id = "tail_sampling") {
    o.clock = [this] { return now.load(); };
    o.start_ticker = false;
    ctx.id = std::move(id);
    ctx.metrics = &metrics;
    auto p = TailSamplingProcessor::Create(std::move(o), ctx, &sink);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (p.ok()) proc = std::move(p).value();
  }
  model::ConsumeResult Send(std::unique_ptr<SpanBatch> b) {
    model::ConsumeResult got;
    bool called = false;
    proc->Consume(std::move(b), [&](model::ConsumeResult r) {
      got = std::move(r);
      called = true;
    });
    EXPECT_TRUE(called) << "done must be called before Consume returns";
    return got;
  }
  void Advance(uint64_t ns) {
    now += ns;
    proc->DecideDue(now.load());
  }
  uint64_t Counter(const std::string& name, const Labels& labels = {}) const {
    return metrics.CounterValue("otelcol_processor_tail_sampling_" + name, labels);
  }

  std::atomic<uint64_t> now{1000 * kSec};
  MetricsRegistry metrics;
  ComponentContext ctx;
  CaptureSink sink;
  std::unique_ptr<TailSamplingProcessor> proc;
};

TailSamplingOptions Options(std::vector<PolicyConfig> policies,
                            std::chrono::milliseconds wait = std::chrono::seconds(10)) {
  TailSamplingOptions o;
  o.decision_wait = wait;
  o.policies = std::move(policies);
  return o;
}

TEST(TailSamplingProcessorTest, HoldsUntilDecisionWaitThenPassesSampledTraces) {
  Harness h(Options({StringPolicy("env", {"prod"})}));
  auto r = h.Send(BatchBuilder()
                      .Span(SpanSpec{Tid(1), 1000, 1, {}, {S("env", "prod")}})
                      .Span(Tid(1))
                      .Span(Tid(2))
                      .Build());
  EXPECT_TRUE(r.status.ok());
  h.Advance(5 * kSec);
  // A second batch with more spans of both traces, still inside the wait.
  h.Send(BatchBuilder().Span(Tid(1)).Span(Tid(2)).Build());
  h.Advance(5 * kSec - 1);
  EXPECT_EQ(h.sink.spans(), 0u);
  EXPECT_EQ(h.proc->traces_on_memory(), 2u);
  h.Advance(1);  // 10s after the first span
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 3u);
  EXPECT_EQ(h.sink.spans_of(Tid(2)), 0u);
  EXPECT_EQ(h.proc->batches_held(), 0u);      // both batches released once decided
  EXPECT_EQ(h.proc->traces_on_memory(), 2u);  // decisions stay in memory for late spans
  EXPECT_EQ(h.Counter("new_trace_id_received_total"), 2u);
  EXPECT_EQ(h.Counter("global_count_traces_sampled_total", {{"decision", "sampled"}}), 1u);
  EXPECT_EQ(h.Counter("global_count_traces_sampled_total", {{"decision", "not_sampled"}}), 1u);
  EXPECT_EQ(h.Counter("count_traces_sampled_total", {{"policy", "str-env"}, {"sampled", "true"}}),
            1u);
  EXPECT_EQ(h.Counter("count_spans_sampled_total", {{"policy", "str-env"}, {"sampled", "true"}}),
            3u);
  EXPECT_EQ(h.Counter("count_spans_sampled_total", {{"policy", "str-env"}, {"sampled", "false"}}),
            2u);
}

TEST(TailSamplingProcessorTest, SampledSpansKeepResourceAndAttributes) {
  Harness h(Options({Cfg(PolicyType::kAlwaysSample)}));
  h.Send(BatchBuilder("acme")
             .Resource({S("service.name", "checkout")})
             .Span(SpanSpec{Tid(7), 1000, 5, StatusCode::kError, {S("k", "v"), I("n", 3)}})
             .Build());
  h.Advance(10 * kSec);
  auto out = h.sink.Take();
  ASSERT_EQ(out.size(), 1u);
  const SpanBatch& b = *out[0];
  EXPECT_EQ(b.tenant, "acme");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.trace_id[0], Tid(7));
  EXPECT_EQ(b.status_code[0], StatusCode::kError);
  EXPECT_EQ(b.end_unix_nano[0] - b.start_unix_nano[0], 5 * kMs);
  ASSERT_EQ(b.span_attributes[0].count, 2u);
  EXPECT_EQ(b.attributes[b.span_attributes[0].first].value.string(), "v");
  const model::Resource& res = b.resources[b.scopes[b.span_scope[0]].resource];
  ASSERT_EQ(res.attributes.count, 1u);
  EXPECT_EQ(b.attributes[res.attributes.first].value.string(), "checkout");
}

struct CombineCase {
  std::string name;
  std::vector<PolicyConfig> policies;
  std::vector<Attr> attrs;  // of the trace's one span
  bool sampled;
};

TEST(TailSamplingProcessorTest, CombinationRules) {
  auto drop_env = [] {
    PolicyConfig d = Cfg(PolicyType::kDrop, "drop-prod");
    d.sub_policies = {StringPolicy("env", {"prod"})};
    return d;
  };
  std::vector<CombineCase> cases = {
      {"any sampled", {StringPolicy("a", {"x"}), Cfg(PolicyType::kAlwaysSample, "all")}, {}, true},
      {"none sampled", {StringPolicy("a", {"x"}), StatusPolicy({"ERROR"})}, {}, false},
      {"drop wins over always_sample",
       {Cfg(PolicyType::kAlwaysSample, "all"), drop_env()},
       {S("env", "prod")},
       false},
      {"drop that does not match",
       {Cfg(PolicyType::kAlwaysSample, "all"), drop_env()},
       {S("env", "dev")},
       true},
      {"inverted not-sampled wins over sampled",
       {StringPolicy("env", {"prod"}, true), Cfg(PolicyType::kAlwaysSample, "all")},
       {S("env", "prod")},
       false},
      {"inverted sampled alone samples",
       {StringPolicy("env", {"prod"}, true)},
       {S("env", "dev")},
       true},
      {"inverted sampled with a not-sampled does not",
       {StringPolicy("env", {"prod"}, true), StatusPolicy({"ERROR"})},
       {S("env", "dev")},
       false},
      {"inverted sampled with a sampled does",
       {StringPolicy("env", {"prod"}, true), StringPolicy("a", {"x"}),
        Cfg(PolicyType::kAlwaysSample, "all")},
       {S("env", "dev")},
       true},
  };
  for (const CombineCase& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h(Options(c.policies));
    h.Send(BatchBuilder().Span(SpanSpec{Tid(1), 1000, 1, {}, c.attrs}).Build());
    h.Advance(10 * kSec);
    EXPECT_EQ(h.sink.spans() > 0, c.sampled);
  }
}

TEST(TailSamplingProcessorTest, DropPoliciesAreEvaluatedFirstAndStopTheEvaluation) {
  PolicyConfig d = Cfg(PolicyType::kDrop, "drop-all");
  d.sub_policies = {Cfg(PolicyType::kAlwaysSample, "inner")};
  Harness h(Options({Cfg(PolicyType::kAlwaysSample, "all"), d}), "tail_sampling/edge");
  h.Send(BatchBuilder().Span(Tid(1)).Build());
  h.Advance(10 * kSec);
  EXPECT_EQ(h.sink.spans(), 0u);
  // Policies are labelled "<component name>.<policy>", as in the Collector.
  EXPECT_EQ(h.Counter("count_traces_sampled_total",
                      {{"policy", "edge.drop-all"}, {"decision", "dropped"}}),
            1u);
  EXPECT_EQ(h.Counter("count_traces_sampled_total", {{"policy", "edge.all"}}), 0u);
  EXPECT_EQ(h.Counter("global_count_traces_sampled_total",
                      {{"decision", "dropped"}, {"sampled", "false"}}),
            1u);
}

TEST(TailSamplingProcessorTest, SampleOnFirstMatchStopsAtTheFirstSampled) {
  for (bool first_match : {false, true}) {
    TailSamplingOptions o = Options(
        {Cfg(PolicyType::kAlwaysSample, "first"), Cfg(PolicyType::kAlwaysSample, "second")});
    o.sample_on_first_match = first_match;
    Harness h(std::move(o));
    h.Send(BatchBuilder().Span(Tid(1)).Build());
    h.Advance(10 * kSec);
    EXPECT_EQ(h.sink.spans(), 1u);
    EXPECT_EQ(h.Counter("count_traces_sampled_total", {{"policy", "second"}}),
              first_match ? 0u : 1u);
  }
}

TEST(TailSamplingProcessorTest, LateSpansFollowTheDecision) {
  Harness h(Options({StringPolicy("keep", {"yes"})}));
  h.Send(
      BatchBuilder().Span(SpanSpec{Tid(1), 1000, 1, {}, {S("keep", "yes")}}).Span(Tid(2)).Build());
  h.Advance(10 * kSec);
  EXPECT_EQ(h.sink.spans(), 1u);
  h.now += 3 * kSec;
  // Late spans of both, mixed with a new trace: the sampled one is passed on at once.
  h.Send(BatchBuilder().Span(Tid(1)).Span(Tid(2)).Span(Tid(3)).Span(Tid(1)).Build());
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 3u);
  EXPECT_EQ(h.sink.spans_of(Tid(2)), 0u);
  EXPECT_EQ(h.sink.spans_of(Tid(3)), 0u);  // new: held
  // Late spans only: passed through without holding the batch.
  h.Send(BatchBuilder().Span(Tid(2)).Span(Tid(1)).Build());
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 4u);
  EXPECT_EQ(h.sink.spans_of(Tid(2)), 0u);
  EXPECT_EQ(h.proc->batches_held(), 1u);                             // the one with trace 3
  EXPECT_EQ(h.Counter("sampling_late_span_age_seconds_count"), 5u);  // one per late trace run
  EXPECT_EQ(h.Counter("sampling_late_span_age_seconds_sum"), 15u);
}

TEST(TailSamplingProcessorTest, EvictsTheOldestWhenNumTracesIsReached) {
  TailSamplingOptions o = Options({Cfg(PolicyType::kAlwaysSample)});
  o.num_traces = 3;
  Harness h(std::move(o));
  for (uint64_t t = 1; t <= 5; ++t) {
    h.Send(BatchBuilder().Span(Tid(t)).Build());
    h.Advance(kSec);
  }
  EXPECT_EQ(h.Counter("sampling_trace_dropped_too_early_total"), 2u);
  EXPECT_EQ(h.proc->traces_on_memory(), 3u);
  EXPECT_EQ(h.proc->batches_held(), 3u);  // the evicted traces' batches are gone
  h.Advance(10 * kSec);
  EXPECT_EQ(h.sink.traces(), 3u);
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 0u);
  EXPECT_EQ(h.sink.spans_of(Tid(5)), 1u);
  // Decided traces are evicted too, but are not dropped too early; a late span of an evicted
  // trace (no decision cache) starts it anew.
  h.Send(BatchBuilder().Span(Tid(6)).Build());
  EXPECT_EQ(h.Counter("sampling_trace_dropped_too_early_total"), 2u);
  h.Send(BatchBuilder().Span(Tid(3)).Build());  // trace 3 was evicted by trace 6
  EXPECT_EQ(h.sink.spans_of(Tid(3)), 1u);       // not passed on yet: decided again later
  EXPECT_EQ(h.Counter("new_trace_id_received_total"), 7u);
  h.Advance(10 * kSec);
  EXPECT_EQ(h.sink.spans_of(Tid(3)), 2u);
}

TEST(TailSamplingProcessorTest, DecisionCacheKeepsDecisionsAfterTheTraceLeavesMemory) {
  TailSamplingOptions o = Options({StringPolicy("keep", {"yes"})});
  o.sampled_cache_size = 100;
  o.non_sampled_cache_size = 100;
  o.num_traces = 10;
  Harness h(std::move(o));
  h.Send(
      BatchBuilder().Span(SpanSpec{Tid(1), 1000, 1, {}, {S("keep", "yes")}}).Span(Tid(2)).Build());
  h.Advance(10 * kSec);
  EXPECT_EQ(h.proc->traces_on_memory(), 0u);  // decided traces leave memory at once
  // Many new traces push both out of the num_traces buffer; the caches still know them.
  for (uint64_t t = 100; t < 120; ++t) h.Send(BatchBuilder().Span(Tid(t)).Build());
  h.Send(BatchBuilder().Span(Tid(1)).Span(Tid(1)).Span(Tid(2)).Build());
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 3u);
  EXPECT_EQ(h.Counter("early_releases_from_cache_decision_total", {{"sampled", "true"}}), 2u);
  EXPECT_EQ(h.Counter("early_releases_from_cache_decision_total", {{"sampled", "false"}}), 1u);
  EXPECT_EQ(h.Counter("new_trace_id_received_total"), 22u);
}

TEST(TailSamplingProcessorTest, DecisionCacheIsBounded) {
  TailSamplingOptions o = Options({Cfg(PolicyType::kAlwaysSample)});
  o.sampled_cache_size = 2;
  Harness h(std::move(o));
  for (uint64_t t = 1; t <= 3; ++t) h.Send(BatchBuilder().Span(Tid(t)).Build());
  h.Advance(10 * kSec);
  // Trace 1 was the first put, so the first out: its late span is a new trace.
  h.Send(BatchBuilder().Span(Tid(1)).Span(Tid(3)).Build());
  EXPECT_EQ(h.sink.spans_of(Tid(3)), 2u);
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 1u);
  EXPECT_EQ(h.proc->traces_on_memory(), 1u);
}

TEST(TailSamplingProcessorTest, TenantsAreKeptApart) {
  Harness h(Options({StringPolicy("keep", {"yes"})}));
  // The same trace id in two tenants: only tenant a's trace has the attribute.
  h.Send(BatchBuilder("a").Span(SpanSpec{Tid(1), 1000, 1, {}, {S("keep", "yes")}}).Build());
  h.Send(BatchBuilder("b").Span(Tid(1)).Span(Tid(1)).Build());
  EXPECT_EQ(h.proc->traces_on_memory(), 2u);
  h.Advance(10 * kSec);
  EXPECT_EQ(h.sink.spans_of(Tid(1), "a"), 1u);
  EXPECT_EQ(h.sink.spans_of(Tid(1), "b"), 0u);
  for (const auto& b : h.sink.Take()) EXPECT_EQ(b->tenant, "a");
  h.Send(BatchBuilder("b").Span(Tid(1)).Build());  // late, not sampled in b
  h.Send(BatchBuilder("a").Span(Tid(1)).Build());  // late, sampled in a
  EXPECT_EQ(h.sink.spans_of(Tid(1), "a"), 2u);
  EXPECT_EQ(h.sink.spans_of(Tid(1), "b"), 0u);
}

TEST(TailSamplingProcessorTest, ProbabilisticShareOver20000Traces) {
  PolicyConfig p25 = Cfg(PolicyType::kProbabilistic, "p25");
  p25.sampling_percentage = 25;
  PolicyConfig p25b = p25;
  p25b.hash_salt = "another-layer";
  std::mt19937_64 rng(7);
  std::vector<TraceId> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(RandomTid(rng));
  std::set<TraceId> kept[2];
  int run = 0;
  for (const PolicyConfig& p : {p25, p25b}) {
    TailSamplingOptions o = Options({p});
    o.num_traces = 50000;
    Harness h(std::move(o));
    BatchBuilder bb;
    for (const TraceId& id : ids) bb.Span(id);
    h.Send(bb.Build());
    h.Advance(10 * kSec);
    for (const auto& b : h.sink.Take()) {
      for (size_t i = 0; i < b->size(); ++i) kept[run].insert(b->trace_id[i]);
    }
    ++run;
  }
  // 25% of 20000 = 5000, standard deviation ~61: allow 5 sigma.
  EXPECT_NEAR(static_cast<double>(kept[0].size()), 5000, 300);
  EXPECT_NEAR(static_cast<double>(kept[1].size()), 5000, 300);
  // Different salts decide independently: ~6.25% kept by both.
  size_t both = 0;
  for (const TraceId& id : kept[0]) both += kept[1].count(id);
  EXPECT_NEAR(static_cast<double>(both), 1250, 200);
}

TEST(TailSamplingProcessorTest, ShutdownDecidesPendingTraces) {
  Harness h(Options({Cfg(PolicyType::kAlwaysSample)}));
  h.Send(BatchBuilder().Span(Tid(1)).Span(Tid(2)).Build());
  h.proc->Shutdown();
  EXPECT_EQ(h.sink.spans(), 2u);
  EXPECT_EQ(h.proc->batches_held(), 0u);
  h.proc->Shutdown();  // idempotent
  EXPECT_EQ(h.sink.spans(), 2u);
  auto r = h.Send(BatchBuilder().Span(Tid(3)).Build());
  EXPECT_FALSE(r.status.ok());
}

TEST(TailSamplingProcessorTest, ShutdownCanDropPendingTraces) {
  TailSamplingOptions o = Options({Cfg(PolicyType::kAlwaysSample)});
  o.drop_pending_traces_on_shutdown = true;
  Harness h(std::move(o));
  h.Send(BatchBuilder().Span(Tid(1)).Build());
  h.Advance(10 * kSec);
  h.Send(BatchBuilder().Span(Tid(2)).Build());
  h.proc->Shutdown();
  EXPECT_EQ(h.sink.spans_of(Tid(1)), 1u);
  EXPECT_EQ(h.sink.spans_of(Tid(2)), 0u);
  EXPECT_EQ(h.proc->batches_held(), 0u);
}

TEST(TailSamplingProcessorTest, MetricsAreExposedWithTheProcessorLabel) {
  Harness h(Options({Cfg(PolicyType::kAlwaysSample, "all")}), "tail_sampling/x");
  h.Send(BatchBuilder().Span(Tid(1)).Build());
  std::string text = h.metrics.Expose();
  for (const char* name :
       {"otelcol_processor_tail_sampling_count_traces_sampled_total{processor=\"tail_sampling/"
        "x\",policy=\"x.all\",sampled=\"true\",decision=\"sampled\"}",
        "otelcol_processor_tail_sampling_global_count_traces_sampled_total{",
        "otelcol_processor_tail_sampling_new_trace_id_received_total{processor=\"tail_sampling/"
        "x\"} 1",
        "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early_total{",
        "otelcol_processor_tail_sampling_sampling_traces_on_memory{processor=\"tail_sampling/x\",pipeline=",
        "otelcol_processor_tail_sampling_sampling_policy_evaluation_error_total{",
        "otelcol_processor_tail_sampling_early_releases_from_cache_decision_total{",
        "otelcol_processor_tail_sampling_sampling_late_span_age_seconds_sum{",
        "otelcol_processor_tail_sampling_count_spans_sampled_total{"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

TEST(TailSamplingProcessorTest, TickerDecidesOnItsOwn) {
  TailSamplingOptions o = Options({Cfg(PolicyType::kAlwaysSample)}, std::chrono::milliseconds(20));
  o.tick_interval = std::chrono::milliseconds(5);
  CaptureSink sink;
  ComponentContext ctx;
  auto p = TailSamplingProcessor::Create(std::move(o), ctx, &sink);
  ASSERT_TRUE(p.ok());
  (*p)->Consume(BatchBuilder().Span(Tid(1)).Build(), [](model::ConsumeResult) {});
  for (int i = 0; i < 400 && sink.spans() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(sink.spans(), 1u);
}

TEST(TailSamplingProcessorTest, ConcurrentConsumersLoseNothing) {
  TailSamplingOptions o = Options({Cfg(PolicyType::kAlwaysSample)});
  o.num_traces = 100000;
  Harness h(std::move(o));
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&h, w] {
      for (int k = 0; k < 200; ++k) {
        BatchBuilder bb;
        for (int s = 0; s < 20; ++s)
          bb.Span(Tid(static_cast<uint64_t>(w * 1000000 + k * 10 + s % 10)));
        h.proc->Consume(bb.Build(), [](model::ConsumeResult) {});
        if (w == 0 && k % 50 == 0) h.proc->DecideDue(h.now.load());
      }
    });
  }
  for (auto& t : threads) t.join();
  h.Advance(10 * kSec);
  EXPECT_EQ(h.sink.spans(), 4u * 200 * 20);
  EXPECT_EQ(h.sink.traces(), 4u * 200 * 10);
  EXPECT_EQ(h.proc->batches_held(), 0u);
}

TEST(TailSamplingProcessorTest, ConsumersRaceTheTicker) {
  // A real clock and ticker deciding while three threads send new and late spans: every span
  // of these always-sampled traces comes out exactly once, whether held or passed on late.
  TailSamplingOptions o = Options({Cfg(PolicyType::kAlwaysSample)}, std::chrono::milliseconds(2));
  o.tick_interval = std::chrono::milliseconds(1);
  o.num_traces = 1000000;
  CaptureSink sink;
  auto p = TailSamplingProcessor::Create(std::move(o), ComponentContext{}, &sink);
  ASSERT_TRUE(p.ok());
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&p, w] {
      for (int k = 0; k < 300; ++k) {
        BatchBuilder bb;
        // Trace k + j gets spans from batches k, k+1 and k+2: many arrive late.
        for (int s = 0; s < 10; ++s) bb.Span(Tid(static_cast<uint64_t>(w * 1000000 + k + s % 3)));
        (*p)->Consume(bb.Build(), [](model::ConsumeResult) {});
        if (k % 30 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  (*p)->Shutdown();
  EXPECT_EQ(sink.spans(), 3u * 300 * 10);
  EXPECT_EQ((*p)->batches_held(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Configuration.

Result<TailSamplingOptions> ParseText(const std::string& text) {
  auto root = conf::LoadYaml(text);
  if (!root.ok()) return root.status();
  return ParseTailSamplingOptions(*root, "processors.tail_sampling");
}

TEST(TailSamplingConfigTest, ParsesTheCollectorExample) {
  auto o = ParseText(R"(
decision_wait: 10s
num_traces: 100
expected_new_traces_per_sec: 10
decision_cache:
  sampled_cache_size: 1000
  non_sampled_cache_size: 2000
sample_on_first_match: true
drop_pending_traces_on_shutdown: true
policies:
  - name: test-policy-1
    type: always_sample
  - name: test-policy-2
    type: latency
    latency: {threshold_ms: 5000, upper_threshold_ms: 10000}
  - name: test-policy-3
    type: numeric_attribute
    numeric_attribute: {key: key1, min_value: 50, max_value: 100}
  - name: test-policy-4
    type: probabilistic
    probabilistic: {sampling_percentage: 10, hash_salt: layer-2}
  - name: test-policy-5
    type: status_code
    status_code: {status_codes: [ERROR, UNSET]}
  - name: test-policy-6
    type: string_attribute
    string_attribute: {key: key2, values: [value1, value2], enabled_regex_matching: true, cache_max_size: 10, invert_match: true}
  - name: test-policy-7
    type: rate_limiting
    rate_limiting: {spans_per_second: 35}
  - name: test-policy-8
    type: bytes_limiting
    bytes_limiting: {bytes_per_second: 1048576}
  - name: test-policy-9
    type: span_count
    span_count: {min_spans: 2, max_spans: 20}
  - name: test-policy-10
    type: trace_state
    trace_state: {key: key3, values: [value1, value2]}
  - name: test-policy-11
    type: boolean_attribute
    boolean_attribute: {key: key4, value: true}
  - name: test-policy-12
    type: trace_flags
  - name: and-policy-1
    type: and
    and:
      and_sub_policy:
        - name: test-and-policy-1
          type: numeric_attribute
          numeric_attribute: {key: key1, min_value: 50, max_value: 100}
        - name: not-health
          type: not
          not:
            not_sub_policy:
              name: health
              type: string_attribute
              string_attribute: {key: http.route, values: [/health]}
  - name: drop-policy-1
    type: drop
    drop:
      drop_sub_policy:
        - name: test-drop-policy-1
          type: string_attribute
          string_attribute: {key: url.path, values: [/health, /metrics]}
  - name: composite-policy-1
    type: composite
    composite:
      max_total_spans_per_second: 1000
      policy_order: [test-composite-policy-1, test-composite-policy-2]
      composite_sub_policy:
        - name: test-composite-policy-1
          type: numeric_attribute
          numeric_attribute: {key: key1, min_value: 50, max_value: 100}
        - name: test-composite-policy-2
          type: always_sample
      rate_allocation:
        - policy: test-composite-policy-1
          percent: 50
        - policy: test-composite-policy-2
          percent: 25
)");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->decision_wait, std::chrono::seconds(10));
  EXPECT_EQ(o->num_traces, 100u);
  EXPECT_EQ(o->expected_new_traces_per_sec, 10u);
  EXPECT_EQ(o->sampled_cache_size, 1000u);
  EXPECT_EQ(o->non_sampled_cache_size, 2000u);
  EXPECT_TRUE(o->sample_on_first_match);
  EXPECT_TRUE(o->drop_pending_traces_on_shutdown);
  ASSERT_EQ(o->policies.size(), 15u);
  EXPECT_EQ(o->policies[1].upper_threshold_ms, 10000);
  EXPECT_EQ(o->policies[3].hash_salt, "layer-2");
  EXPECT_TRUE(o->policies[5].invert_match);
  EXPECT_EQ(o->policies[5].cache_max_size, 10);
  EXPECT_EQ(o->policies[12].type, PolicyType::kAnd);
  ASSERT_EQ(o->policies[12].sub_policies.size(), 2u);
  EXPECT_EQ(o->policies[12].sub_policies[1].type, PolicyType::kNot);
  EXPECT_EQ(o->policies[12].sub_policies[1].sub_policies.at(0).values,
            std::vector<std::string>{"/health"});
  EXPECT_EQ(o->policies[13].type, PolicyType::kDrop);
  ASSERT_EQ(o->policies[14].rate_allocation.size(), 2u);
  EXPECT_EQ(o->policies[14].rate_allocation[1].percent, 25);
  EXPECT_EQ(o->policies[14].policy_order.size(), 2u);
  // The whole set builds into a working processor.
  CaptureSink sink;
  TailSamplingOptions opts = std::move(o).value();
  opts.start_ticker = false;
  EXPECT_TRUE(TailSamplingProcessor::Create(std::move(opts), ComponentContext{}, &sink).ok());
}

TEST(TailSamplingConfigTest, Defaults) {
  auto o = ParseText("policies: [{name: all, type: always_sample}]\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->decision_wait, std::chrono::seconds(30));
  EXPECT_EQ(o->num_traces, 50000u);
  EXPECT_EQ(o->expected_new_traces_per_sec, 0u);
  EXPECT_EQ(o->sampled_cache_size, 0u);
  EXPECT_EQ(o->non_sampled_cache_size, 0u);
  EXPECT_FALSE(o->sample_on_first_match);
  EXPECT_FALSE(o->drop_pending_traces_on_shutdown);
}

TEST(TailSamplingConfigTest, Errors) {
  struct Case {
    std::string yaml;
    std::string want;  // part of the message
  };
  std::vector<Case> cases = {
      {"decision_wait: 1s\n", "at least one policy"},
      {"policies: []\n", "at least one policy"},
      {"policies:\n  - name: o\n    type: ottl_condition\n    ottl_condition: {span: ['name == "
       "\"x\"']}\n",
       "ottl_condition is not supported"},
      {"policies:\n  - {name: a, type: always_sample}\n  - {name: a, type: always_sample}\n",
       "duplicate policy name \"a\""},
      {"policies:\n  - {type: always_sample}\n", "policy name cannot be empty"},
      {"policies:\n  - {name: a}\n", "type is required"},
      {"policies:\n  - {name: a, type: sometimes}\n", "unknown policy type \"sometimes\""},
      {"policies:\n  - {name: a, type: always_sample}\nnum_trace: 5\n",
       "processors.tail_sampling.num_trace (line 3): unknown key"},
      {"policies:\n  - name: a\n    type: latency\n    probabilistic: {sampling_percentage: 1}\n",
       "policies[0].probabilistic (line 4): is the configuration of a probabilistic policy"},
      {"policies:\n  - name: a\n    type: latency\n    latency: {treshold_ms: 5}\n",
       "latency.treshold_ms (line 4): unknown key"},
      {"policies:\n  - name: a\n    type: status_code\n    status_code: {status_codes: [FAILED]}\n",
       "unknown status code"},
      {"policies:\n  - name: a\n    type: string_attribute\n    string_attribute: {key: k, values: "
       "['('], enabled_regex_matching: true}\n",
       "invalid regular expression"},
      {"policies:\n  - name: a\n    type: bytes_limiting\n", "bytes_per_second is required"},
      {"policies:\n  - name: a\n    type: numeric_attribute\n    numeric_attribute: {key: k}\n",
       "min_value or max_value"},
      {"policies:\n  - name: a\n    type: and\n    and: {and_sub_policy: [{name: d, type: "
       "drop}]}\n",
       "cannot be a sub-policy"},
      {"policies:\n  - name: c\n    type: composite\n    composite:\n      composite_sub_policy: "
       "[{name: x, type: always_sample}]\n"
       "      rate_allocation: [{policy: y, percent: 50}]\n",
       "rate_allocation names \"y\""},
      {"decision_wait: 0s\npolicies: [{name: all, type: always_sample}]\n",
       "decision_wait: must be greater than 0"},
      {"num_traces: 0\npolicies: [{name: all, type: always_sample}]\n", "num_traces"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto o = ParseText(c.yaml);
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.status().message().find(c.want), std::string::npos) << o.status().ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// A quick throughput figure (printed, not asserted): 10-span traces with 8 attributes per span
// in 500-span batches, decided in passes as the ticker would.

class NullSink : public model::SpanSink {
 public:
  void Consume(std::unique_ptr<SpanBatch> batch, model::ConsumeCallback done) override {
    spans += batch->size();
    done(model::ConsumeResult{});
  }
  std::atomic<uint64_t> spans{0};
};

TEST(TailSamplingProcessorTest, ThroughputFigure) {
  constexpr int kBatches = 400;
  constexpr int kSpansPerBatch = 500;
  constexpr int kSpansPerTrace = 10;
  std::vector<std::unique_ptr<SpanBatch>> input;
  std::mt19937_64 rng(1);
  for (int bi = 0; bi < kBatches; ++bi) {
    BatchBuilder bb;
    bb.Resource(
        {S("service.name", "frontend"), S("host.name", "h1"), S("k8s.pod.name", "pod-123")});
    TraceId id;
    for (int s = 0; s < kSpansPerBatch; ++s) {
      if (s % kSpansPerTrace == 0) id = RandomTid(rng);
      bb.Span(SpanSpec{
          id,
          1000 + static_cast<uint64_t>(s),
          3,
          s % 97 == 0 ? StatusCode::kError : StatusCode::kUnset,
          {S("http.method", "GET"), S("http.route", "/api/items/{id}"), I("http.status_code", 200),
           S("net.peer.name", "backend.internal"), I("net.peer.port", 8080), B("cache.hit", false),
           S("db.system", "postgresql"), S("user.agent", "Mozilla/5.0 (X11; Linux x86_64)")}});
    }
    input.push_back(bb.Build());
  }
  struct Setup {
    std::string name;
    std::vector<PolicyConfig> policies;
  };
  PolicyConfig p10 = Cfg(PolicyType::kProbabilistic, "p10");
  p10.sampling_percentage = 10;
  PolicyConfig slow = Cfg(PolicyType::kLatency, "slow");
  slow.threshold_ms = 500;
  std::vector<Setup> setups = {
      {"errors+slow+10%", {StatusPolicy({"ERROR"}), slow, p10}},
      {"always_sample (every span copied)", {Cfg(PolicyType::kAlwaysSample, "all")}}};
  for (const Setup& setup : setups) {
    // Fresh copies of the input (copying is not part of the measurement).
    std::vector<std::unique_ptr<SpanBatch>> batches;
    for (const auto& b : input) {
      auto c = std::make_unique<SpanBatch>();
      c->tenant = b->tenant;
      model::SpanCopier copier(c.get());
      copier.SetSource(b.get());
      for (size_t i = 0; i < b->size(); ++i) copier.CopySpan(i);
      batches.push_back(std::move(c));
    }
    NullSink sink;
    uint64_t now = kSec;
    TailSamplingOptions o = Options(setup.policies, std::chrono::seconds(1));
    o.clock = [&now] { return now; };
    o.start_ticker = false;
    auto p = TailSamplingProcessor::Create(std::move(o), ComponentContext{}, &sink);
    ASSERT_TRUE(p.ok());
    uint64_t t0 = MonotonicNanos();
    for (size_t i = 0; i < batches.size(); ++i) {
      (*p)->Consume(std::move(batches[i]), [](model::ConsumeResult) {});
      if (i % 20 == 19) {  // 20 batches (10k spans) per simulated 100ms tick
        now += 100 * kMs;
        (*p)->DecideDue(now);
      }
    }
    (*p)->Shutdown();
    uint64_t ns = MonotonicNanos() - t0;
    double spans = static_cast<double>(kBatches) * kSpansPerBatch;
    std::printf(
        "[ figure ] tail_sampling %-34s %.0f ns/span, %.2f M spans/s on one core, %llu spans "
        "passed on\n",
        setup.name.c_str(), static_cast<double>(ns) / spans,
        spans / (static_cast<double>(ns) / 1e3),
        static_cast<unsigned long long>(sink.spans.load()));
  }
}

}  // namespace
}  // namespace vivace::processors
