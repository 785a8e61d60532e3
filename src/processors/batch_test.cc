#include "processors/batch.h"

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "base/memory_policy.h"
#include "conf/yaml.h"
#include "processors/misc_test_util.h"

namespace vivace::processors {
namespace {

using model::SpanBatch;
using model::Value;
using testing::AddSpan;
using testing::AttrMap;
using testing::Attrs;
using namespace std::chrono_literals;

/// Keeps what it is given; answers with `result`.
class RecordingSink : public model::SpanSink {
 public:
  void Consume(std::unique_ptr<SpanBatch> batch, model::ConsumeCallback done) override {
    {
      MutexLock lock(mu_);
      batches_.push_back(std::move(batch));
      cv_.NotifyAll();
    }
    done(result);
  }
  /// Waits until `n` batches arrived (at most `limit`); returns how many did.
  size_t WaitFor(size_t n, std::chrono::milliseconds limit = 5000ms) {
    MutexLock lock(mu_);
    cv_.WaitFor(mu_, limit, [&] { return batches_.size() >= n; });
    return batches_.size();
  }
  std::vector<std::unique_ptr<SpanBatch>> Take() {
    MutexLock lock(mu_);
    return std::move(batches_);
  }
  size_t count() {
    MutexLock lock(mu_);
    return batches_.size();
  }
  model::ConsumeResult result;

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<std::unique_ptr<SpanBatch>> batches_;
};

/// `n` spans whose span ids count from `first`, each with two attributes (one string).
std::unique_ptr<SpanBatch> Spans(int n, int first = 0, std::string tenant = "t") {
  auto b = std::make_unique<SpanBatch>();
  b->tenant = std::move(tenant);
  for (int i = 0; i < n; ++i) {
    int id = first + i;
    size_t k = AddSpan(
        *b, Attrs(*b, {{"id", Value::String("span-" + std::to_string(id))}, {"n", Value::Int(id)}}),
        static_cast<uint8_t>(id), static_cast<uint8_t>(id));
    b->span_id[k].bytes[0] = static_cast<uint8_t>(id >> 8);
    b->span_id[k].bytes[7] = static_cast<uint8_t>(id);
  }
  b->resources[0].attributes = Attrs(*b, {{"service.name", Value::String("svc-" + b->tenant)}});
  return b;
}

int SpanNumber(const SpanBatch& b, size_t i) {
  return b.span_id[i].bytes[0] << 8 | b.span_id[i].bytes[7];
}

/// Every span of the batches must be intact (its attributes and resource readable).
std::vector<int> Delivered(const std::vector<std::unique_ptr<SpanBatch>>& batches) {
  std::vector<int> ids;
  for (const auto& b : batches) {
    for (size_t i = 0; i < b->size(); ++i) {
      int id = SpanNumber(*b, i);
      auto attrs = AttrMap(*b, b->span_attributes[i]);
      EXPECT_EQ(attrs["id"], "span-" + std::to_string(id));
      EXPECT_EQ(attrs["n"], std::to_string(id));
      const model::Scope& scope = b->scopes[b->span_scope[i]];
      EXPECT_EQ(AttrMap(*b, b->resources[scope.resource].attributes)["service.name"],
                "svc-" + b->tenant);
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<int> Range(int first, int n) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = first + i;
  return v;
}

struct Fixture {
  explicit Fixture(BatchOptions o)
      : processor(o, model::ComponentContext{"batch/x", "traces", &metrics, ""}, &sink) {}
  /// Consumes and checks that the answer is an immediate OK.
  void Push(std::unique_ptr<SpanBatch> b) {
    bool answered = false;
    processor.Consume(std::move(b), [&](model::ConsumeResult r) {
      EXPECT_TRUE(r.status.ok());
      answered = true;
    });
    EXPECT_TRUE(answered);
  }
  uint64_t Metric(const char* name) {
    return metrics.CounterValue(name, {{"processor", "batch/x"}});
  }

  MetricsRegistry metrics;
  RecordingSink sink;
  BatchProcessor processor;
};

BatchOptions Options(uint32_t size, uint32_t max = 0, std::chrono::milliseconds timeout = 60s) {
  BatchOptions o;
  o.send_batch_size = size;
  o.send_batch_max_size = max;
  o.timeout = timeout;
  return o;
}

TEST(BatchTest, SendsWhenTheSizeIsReached) {
  Fixture f(Options(10));
  for (int i = 0; i < 3; ++i) f.Push(Spans(3, i * 3));
  EXPECT_EQ(f.sink.count(), 0u);  // 9 held
  f.Push(Spans(3, 9));
  ASSERT_EQ(f.sink.count(), 1u);
  auto got = f.sink.Take();
  EXPECT_EQ(got[0]->size(), 12u);  // a trigger, not a cap
  std::vector<int> ids = Delivered(got);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, Range(0, 12));
  EXPECT_EQ(f.Metric("otelcol_processor_batch_batch_size_trigger_send_total"), 1u);
  EXPECT_EQ(f.Metric("otelcol_processor_batch_timeout_trigger_send_total"), 0u);
  EXPECT_EQ(f.Metric("otelcol_processor_batch_batch_send_size_sum"), 12u);
  EXPECT_EQ(f.Metric("otelcol_processor_batch_batch_send_size_count"), 1u);
}

TEST(BatchTest, SendsOnTimeout) {
  Fixture f(Options(1000, 0, 30ms));
  auto start = std::chrono::steady_clock::now();
  f.Push(Spans(5));
  f.Push(Spans(2, 5));
  ASSERT_EQ(f.sink.WaitFor(1), 1u);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(Delivered(f.sink.Take()), Range(0, 7));
  EXPECT_EQ(f.Metric("otelcol_processor_batch_timeout_trigger_send_total"), 1u);
  // The timer rearms for the next spans.
  f.Push(Spans(1, 7));
  ASSERT_EQ(f.sink.WaitFor(1), 1u);
  EXPECT_EQ(f.Metric("otelcol_processor_batch_timeout_trigger_send_total"), 2u);
}

TEST(BatchTest, SplitsAtTheMaxSize) {
  Fixture f(Options(10, 15));
  f.Push(Spans(40));  // nothing held: 15 + 15 + 10, nothing left
  auto got = f.sink.Take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]->size(), 15u);
  EXPECT_EQ(got[1]->size(), 15u);
  EXPECT_EQ(got[2]->size(), 10u);
  EXPECT_EQ(Delivered(got), Range(0, 40));  // in order across the pieces

  f.Push(Spans(8, 100));
  f.Push(Spans(9, 108));  // 17: 15 sent, 2 stay held (below send_batch_size)
  got = f.sink.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->size(), 15u);
  f.processor.Shutdown();
  auto rest = f.sink.Take();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]->size(), 2u);
  std::vector<int> ids = Delivered(got);
  for (int id : Delivered(rest)) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, Range(100, 17));
  EXPECT_EQ(f.Metric("otelcol_processor_batch_batch_size_trigger_send_total"), 4u);
}

TEST(BatchTest, TenantsAreBatchedSeparately) {
  Fixture f(Options(10));
  f.Push(Spans(6, 0, "a"));
  f.Push(Spans(6, 100, "b"));
  EXPECT_EQ(f.sink.count(), 0u);
  f.Push(Spans(5, 6, "a"));
  auto got = f.sink.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->tenant, "a");
  std::vector<int> a = Delivered(got);
  std::sort(a.begin(), a.end());
  EXPECT_EQ(a, Range(0, 11));
  f.processor.Shutdown();
  got = f.sink.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->tenant, "b");
  EXPECT_EQ(Delivered(got), Range(100, 6));
}

TEST(BatchTest, ShutdownFlushesAndLaterBatchesPassThrough) {
  Fixture f(Options(100));
  f.Push(Spans(3));
  f.Push(Spans(3, 3));
  f.processor.Shutdown();
  f.processor.Shutdown();  // idempotent
  auto got = f.sink.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Delivered(got), Range(0, 6));
  f.Push(Spans(2, 6));
  EXPECT_EQ(Delivered(f.sink.Take()), Range(6, 2));
}

TEST(BatchTest, ALargeBatchPassesThroughWithoutACopy) {
  Fixture f(Options(10));
  auto b = Spans(12);
  b->otlp_proto = "cached encoding";
  const SpanBatch* original = b.get();
  f.Push(std::move(b));
  auto got = f.sink.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].get(), original);
  EXPECT_EQ(got[0]->otlp_proto, "cached encoding");
}

TEST(BatchTest, ZeroTimeoutSendsEveryBatchSplitByMaxSize) {
  Fixture f(Options(100, 4, 0ms));
  f.Push(Spans(3));
  f.Push(Spans(10, 3));
  auto got = f.sink.Take();
  ASSERT_EQ(got.size(), 4u);  // 3 | 4 4 2
  EXPECT_EQ(got[0]->size(), 3u);
  EXPECT_EQ(got[3]->size(), 2u);
  EXPECT_EQ(Delivered(got), Range(0, 13));
}

TEST(BatchTest, DownstreamErrorsAreCountedNotReturned) {
  Fixture f(Options(5));
  f.sink.result.status = Unavailable("exporter queue is full");
  f.Push(Spans(7));
  EXPECT_EQ(f.sink.count(), 1u);
  EXPECT_EQ(f.Metric("vivace_processor_batch_send_failed_spans_total"), 7u);
}

TEST(BatchTest, ConcurrentProducersLoseNothing) {
  Fixture f(Options(50, 80, 5ms));
  constexpr int kThreads = 4, kBatches = 300, kPerBatch = 3;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < kBatches; ++i) {
        int first = (t * kBatches + i) * kPerBatch;
        f.processor.Consume(Spans(kPerBatch, first, t % 2 ? "odd" : "even"),
                            [](model::ConsumeResult) {});
      }
    });
  }
  for (auto& th : threads) th.join();
  f.processor.Shutdown();
  auto got = f.sink.Take();
  for (const auto& b : got) EXPECT_LE(b->size(), 80u);
  std::vector<int> ids = Delivered(got);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, Range(0, kThreads * kBatches * kPerBatch));
}

TEST(BatchTest, AppendBatchCopiesEverythingItReferences) {
  auto src = std::make_unique<SpanBatch>();
  src->resources.push_back(
      model::Resource{Attrs(*src, {{"r", Value::String("res")}}), 1, src->arena.Copy("schema")});
  src->scopes.push_back(model::Scope{0, src->arena.Copy("lib"), src->arena.Copy("1.0"), {}, 0, ""});
  model::Range inner = Attrs(*src, {{"k", Value::String("nested")}});
  model::Range arr = src->AllocValues(2);
  src->values[arr.first] = testing::Str(*src, "element");
  src->values[arr.first + 1] = Value::KvList(inner);
  size_t i = AddSpan(
      *src, Attrs(*src, {{"list", Value::Array(arr)}, {"b", Value::Bytes(src->arena.Copy("xyz"))}}),
      7, 7, "operation");
  src->trace_state[i] = src->arena.Copy("ot=th:8");
  src->status_message[i] = src->arena.Copy("boom");
  src->span_events[i] = src->AllocEvents(1);
  src->events[src->span_events[i].first] =
      model::Event{5, src->arena.Copy("exception"), Attrs(*src, {{"e", Value::Int(1)}}), 2};
  src->span_links[i] = src->AllocLinks(1);
  src->links[src->span_links[i].first] = model::Link{
      {}, {}, src->arena.Copy("vendor=1"), Attrs(*src, {{"l", Value::String("link")}}), 3, 1};

  auto dst = Spans(2);  // something already there: indices must be offset
  dst->otlp_proto = "cached";
  AppendBatch(*dst, std::move(*src));
  src.reset();  // the copy must not depend on the source
  ASSERT_EQ(dst->size(), 3u);
  EXPECT_TRUE(dst->otlp_proto.empty());
  size_t k = 2;
  EXPECT_EQ(dst->name[k], "operation");
  EXPECT_EQ(dst->trace_state[k], "ot=th:8");
  EXPECT_EQ(dst->status_message[k], "boom");
  EXPECT_EQ(
      AttrMap(*dst, dst->span_attributes[k]),
      (std::map<std::string, std::string>{{"list", "[element,{k=nested}]"}, {"b", "bytes:xyz"}}));
  const model::Scope& scope = dst->scopes[dst->span_scope[k]];
  EXPECT_EQ(scope.name, "lib");
  EXPECT_EQ(AttrMap(*dst, dst->resources[scope.resource].attributes)["r"], "res");
  EXPECT_EQ(dst->resources[scope.resource].schema_url, "schema");
  const model::Event& ev = dst->events[dst->span_events[k].first];
  EXPECT_EQ(ev.name, "exception");
  EXPECT_EQ(ev.dropped_attributes_count, 2u);
  EXPECT_EQ(AttrMap(*dst, ev.attributes)["e"], "1");
  const model::Link& link = dst->links[dst->span_links[k].first];
  EXPECT_EQ(link.trace_state, "vendor=1");
  EXPECT_EQ(AttrMap(*dst, link.attributes)["l"], "link");
  EXPECT_EQ(Delivered({}).size(), 0u);
  std::vector<std::unique_ptr<SpanBatch>> first;
  first.push_back(std::move(dst));
  EXPECT_EQ(first[0]->size(), 3u);
  // The spans that were already there are untouched.
  EXPECT_EQ(AttrMap(*first[0], first[0]->span_attributes[1])["id"], "span-1");
}

TEST(BatchTest, AppendBatchAfterSamplingCopiesOnlyKeptSpans) {
  auto src = Spans(100);
  std::vector<uint8_t> keep(100, 0);
  for (int i = 0; i < 100; i += 10) keep[i] = 1;
  src->RetainSpans(keep);
  SpanBatch dst;
  AppendBatch(dst, std::move(*src));
  src.reset();
  EXPECT_LT(dst.attributes.size(), 50u);  // not the 200 of the source's pool
  std::vector<std::unique_ptr<SpanBatch>> one;
  one.push_back(std::make_unique<SpanBatch>(std::move(dst)));
  one[0]->tenant = "t";
  std::vector<int> ids = Delivered(one);
  EXPECT_EQ(ids, (std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}));
}

/// A batch as a zero-copy OTLP decode leaves it: every string views one request buffer that
/// the arena adopted, and otlp_proto is that buffer.
std::unique_ptr<SpanBatch> DecodedRequest(int spans, int attrs_per_span, int first = 0) {
  auto b = std::make_unique<SpanBatch>();
  b->tenant = "t";
  std::string wire = "GET /api/orders|service.name|checkout|";
  for (int k = 0; k < attrs_per_span; ++k) wire += "key." + std::to_string(k) + "|";
  for (int i = 0; i < spans; ++i) wire += "value " + std::to_string(first + i) + "|";
  std::string_view w = b->arena.Adopt(std::move(wire));
  auto piece = [&w](size_t& pos) {
    size_t bar = w.find('|', pos);
    std::string_view s = w.substr(pos, bar - pos);
    pos = bar + 1;
    return s;
  };
  size_t pos = 0;
  std::string_view name = piece(pos), svc_key = piece(pos), svc = piece(pos);
  std::vector<std::string_view> keys;
  for (int k = 0; k < attrs_per_span; ++k) keys.push_back(piece(pos));
  model::Range res = b->AllocAttributes(1);
  b->attributes[res.first] = model::KeyValue{svc_key, Value::String(svc)};
  b->resources.push_back(model::Resource{res, 0, ""});
  b->scopes.push_back(model::Scope{});
  for (int i = 0; i < spans; ++i) {
    std::string_view v = piece(pos);
    model::Range r = b->AllocAttributes(static_cast<uint32_t>(attrs_per_span));
    for (int k = 0; k < attrs_per_span; ++k) {
      b->attributes[r.first + k] =
          model::KeyValue{keys[k], k % 2 ? Value::Int(k) : Value::String(v)};
    }
    model::SpanRow row;
    row.trace_id.bytes[15] = 1;
    row.span_id.bytes[7] = static_cast<uint8_t>(first + i);
    row.span_id.bytes[0] = static_cast<uint8_t>((first + i) >> 8);
    row.name = name;
    row.attributes = r;
    b->Append(row);
  }
  b->otlp_proto = w;
  b->decoded_from_otlp_proto = true;
  return b;
}

TEST(BatchTest, AppendBatchMovesARequestBufferInsteadOfCopyingItsStrings) {
  auto src = DecodedRequest(3, 4, 10);
  const char* wire = src->otlp_proto.data();
  size_t wire_size = src->otlp_proto.size();
  auto dst = DecodedRequest(2, 4, 0);
  AppendBatch(*dst, std::move(*src));
  src.reset();
  ASSERT_EQ(dst->size(), 5u);
  EXPECT_EQ(dst->name[3], "GET /api/orders");
  EXPECT_GE(dst->name[3].data(), wire);  // still the request's bytes, now owned by dst
  EXPECT_LT(dst->name[3].data(), wire + wire_size);
  auto attrs = AttrMap(*dst, dst->span_attributes[4]);
  EXPECT_EQ(attrs["key.0"], "value 12");
  EXPECT_EQ(attrs["key.1"], "1");
}

TEST(BatchTest, MergeSpeed) {
  // 100 requests of 100 spans, 10 attributes each (6 strings), merged into one batch by the
  // push that reaches send_batch_size. The allocator runs with the server's policy, and the
  // second round is measured (the first one pays for fresh pages).
  SetMemoryPolicy();
  auto cpu_ns = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
  };
  Fixture f(Options(10000));
  double ns = 0, decoded_ns = 0;
  for (int round = 0; round < 2; ++round) {
    for (int p = 0; p < 99; ++p) f.Push(DecodedRequest(100, 10, p * 100));
    auto last = DecodedRequest(100, 10, 9900);
    double t0 = cpu_ns();
    f.Push(std::move(last));
    decoded_ns = (cpu_ns() - t0) / 10000;
    ASSERT_EQ(f.sink.Take().size(), 1u);

    std::vector<std::unique_ptr<SpanBatch>> parts;
    for (int p = 0; p < 100; ++p) {
      auto b = std::make_unique<SpanBatch>();
      b->resources.push_back(
          model::Resource{Attrs(*b, {{"service.name", Value::String("checkout")}}), 0, ""});
      for (int i = 0; i < 100; ++i) {
        std::vector<std::pair<std::string, Value>> attrs;
        for (int k = 0; k < 6; ++k) {
          attrs.emplace_back("key." + std::to_string(k),
                             Value::String("value " + std::to_string(i)));
        }
        for (int k = 0; k < 4; ++k) attrs.emplace_back("num." + std::to_string(k), Value::Int(k));
        AddSpan(*b, Attrs(*b, attrs), 1, 1, "GET /api/orders");
      }
      parts.push_back(std::move(b));
    }
    for (int p = 0; p < 99; ++p) f.Push(std::move(parts[p]));
    double start = cpu_ns();
    f.Push(std::move(parts[99]));  // merges the 100 batches
    ns = (cpu_ns() - start) / 10000;
    auto got = f.sink.Take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]->size(), 10000u);
  }
  std::printf(
      "batch merge: %.0f ns per span (10 attributes, strings copied), %.0f ns per span (unmodified "
      "zero-copy decoded requests)\n",
      ns, decoded_ns);
  EXPECT_LT(ns, 5000);
  EXPECT_LT(decoded_ns,
            5000);  // generous: shared machines and sanitized builds; the goal is well under 500 ns
}

TEST(BatchTest, Config) {
  auto parse = [](const std::string& yaml) {
    auto node = conf::LoadYaml(yaml);
    EXPECT_TRUE(node.ok());
    return ParseBatchOptions(*node, "processors.batch");
  };
  auto d = parse("{}");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->timeout, 200ms);
  EXPECT_EQ(d->send_batch_size, 8192u);
  EXPECT_EQ(d->send_batch_max_size, 0u);
  auto o =
      parse("timeout: 1s\nsend_batch_size: 100\nsend_batch_max_size: 100\nmetadata_keys: []\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->timeout, 1000ms);
  EXPECT_EQ(o->send_batch_max_size, 100u);
  struct Bad {
    const char* yaml;
    const char* want;
  };
  const Bad bad[] = {
      {"send_batch_size: 100\nsend_batch_max_size: 99\n",
       "processors.batch.send_batch_max_size (line 2): send_batch_max_size must be greater or "
       "equal to send_batch_size"},
      {"send_batch_max_size: 10\n",
       "must be greater or equal to send_batch_size"},  // against the 8192 default
      {"metadata_keys: [tenant]\n",
       "processors.batch.metadata_keys (line 1): batching by client metadata"},
      {"timeout: soon\n", "processors.batch.timeout (line 1)"},
      {"send_batch_size: -1\n", "processors.batch.send_batch_size (line 1)"},
      {"size: 1\n", "processors.batch.size (line 1): unknown key"},
  };
  for (const Bad& c : bad) {
    auto r = parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace vivace::processors
