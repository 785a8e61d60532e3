#include "pipeline/service.h"

#include <gtest/gtest.h>

#include "exporters/exporter.h"
#include "processors/processor.h"

namespace vivace::pipeline {
namespace {

using model::ConsumeResult;
using model::SpanBatch;

std::unique_ptr<SpanBatch> MakeBatch(int spans) {
  auto b = std::make_unique<SpanBatch>();
  b->tenant = "t";
  b->resources.push_back(model::Resource{b->AllocAttributes(1), 0, ""});
  b->attributes[0] = model::KeyValue{b->arena.Copy("service.name"), model::Value::String(b->arena.Copy("api"))};
  b->scopes.push_back(model::Scope{0, b->arena.Copy("lib"), "", {}, 0, ""});
  for (int i = 0; i < spans; ++i) {
    model::SpanRow row;
    row.trace_id.bytes[0] = static_cast<uint8_t>(i + 1);
    row.span_id.bytes[0] = static_cast<uint8_t>(i + 1);
    row.name = b->arena.Copy("op" + std::to_string(i));
    row.attributes = b->AllocAttributes(1);
    b->attributes[row.attributes.first] = model::KeyValue{b->arena.Copy("i"), model::Value::Int(i)};
    b->Append(row);
  }
  return b;
}

/// Drops the first span of every batch; remembers whether it was shut down.
class DropFirst : public processors::Processor {
 public:
  DropFirst(model::SpanSink* next, std::vector<std::string>* log, std::string id) : next_(next), log_(log), id_(id) {}
  void Consume(std::unique_ptr<SpanBatch> b, model::ConsumeCallback done) override {
    std::vector<uint8_t> keep(b->size(), 1);
    keep[0] = 0;
    b->RetainSpans(keep);
    next_->Consume(std::move(b), std::move(done));
  }
  void Shutdown() override { log_->push_back("shutdown " + id_); }
  bool Refusing() const override { return refusing; }
  bool refusing = false;

 private:
  model::SpanSink* next_;
  std::vector<std::string>* log_;
  std::string id_;
};

/// Records what it gets; answers OK.
class Capture : public exporters::Exporter {
 public:
  explicit Capture(std::vector<std::string>* log) : log_(log) {}
  void Consume(std::unique_ptr<SpanBatch> b, model::ConsumeCallback done) override {
    batches.push_back(std::move(b));
    done(ConsumeResult{});
  }
  Status Start() override {
    log_->push_back("start exporter");
    return Status::OK();
  }
  void Shutdown() override { log_->push_back("shutdown exporter"); }
  std::vector<std::unique_ptr<SpanBatch>> batches;

 private:
  std::vector<std::string>* log_;
};

struct Fixture {
  MetricsRegistry metrics;
  std::vector<std::string> log;
  std::vector<Capture*> exporters;
  std::vector<DropFirst*> processors;
  CollectorConfig config;

  Fixture() {
    config.configured = true;
    ReceiverConfig r;
    r.id = "otlp";
    r.grpc_enabled = true;
    config.receivers.push_back(r);
    config.processors["drop"] = ProcessorConfig{
        "drop", "drop", [this](const model::ComponentContext& ctx, model::SpanSink* next) -> Result<std::unique_ptr<processors::Processor>> {
          auto p = std::make_unique<DropFirst>(next, &log, ctx.pipeline);
          processors.push_back(p.get());
          return std::unique_ptr<processors::Processor>(std::move(p));
        }};
    config.exporters["capture"] = ExporterConfig{
        "capture", "capture",
        [this](const model::ComponentContext&, const ExporterEnv&) -> Result<std::unique_ptr<exporters::Exporter>> {
          auto e = std::make_unique<Capture>(&log);
          exporters.push_back(e.get());
          return std::unique_ptr<exporters::Exporter>(std::move(e));
        },
        ""};
    config.pipelines.push_back(PipelineConfig{"traces", {"otlp"}, {"drop"}, {"capture"}});
    config.pipelines.push_back(PipelineConfig{"traces/raw", {"otlp"}, {}, {"capture"}});
  }
};

TEST(ServiceTest, ReceiverFeedsEveryPipelineWithItsOwnCopy) {
  Fixture f;
  auto s = Service::Build(f.config, ServiceEnv{&f.metrics, nullptr, "/tmp"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->Start().ok());
  ASSERT_EQ(f.exporters.size(), 1u);  // one instance shared by both pipelines
  ASSERT_EQ(f.processors.size(), 1u);
  EXPECT_EQ((*s)->ReceiverSink("otlp/other"), nullptr);
  model::SpanSink* sink = (*s)->ReceiverSink("otlp");
  ASSERT_NE(sink, nullptr);
  Status result = Internal("not answered");
  sink->Consume(MakeBatch(3), [&](ConsumeResult r) { result = r.status; });
  EXPECT_TRUE(result.ok());
  ASSERT_EQ(f.exporters[0]->batches.size(), 2u);
  size_t sizes = f.exporters[0]->batches[0]->size() * 10 + f.exporters[0]->batches[1]->size();
  EXPECT_TRUE(sizes == 23 || sizes == 32) << sizes;  // one pipeline dropped a span, the other not
  for (const auto& b : f.exporters[0]->batches) {
    EXPECT_EQ(b->tenant, "t");
    EXPECT_EQ(b->attributes[b->span_attributes[0].first].key, "i");
    EXPECT_EQ(b->attributes[b->resources[0].attributes.first].value.string(), "api");
  }
  EXPECT_EQ(f.metrics.CounterValue("otelcol_processor_incoming_items_total", {{"processor", "drop"}}), 3u);
  EXPECT_EQ(f.metrics.CounterValue("otelcol_processor_outgoing_items_total", {{"processor", "drop"}}), 2u);
  auto spans = (*s)->tracez().Snapshot();
  EXPECT_EQ(spans.at("receiver/otlp/TraceDataReceived").latency[0] + spans.at("receiver/otlp/TraceDataReceived").latency[1] +
                spans.at("receiver/otlp/TraceDataReceived").latency[2] + spans.at("receiver/otlp/TraceDataReceived").latency[3],
            1u);
  EXPECT_TRUE(spans.contains("exporter/capture/traces"));
  EXPECT_NE((*s)->PipelinezHtml().find("drop (in 3, out 2)"), std::string::npos) << (*s)->PipelinezHtml();
}

TEST(ServiceTest, RefusingAndShutdownOrder) {
  Fixture f;
  auto s = Service::Build(f.config, ServiceEnv{&f.metrics, nullptr, "/tmp"});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Start().ok());
  EXPECT_FALSE((*s)->Refusing());
  f.processors[0]->refusing = true;
  EXPECT_TRUE((*s)->Refusing());
  (*s)->Shutdown();
  (*s)->Shutdown();
  EXPECT_EQ(f.log, (std::vector<std::string>{"start exporter", "shutdown traces", "shutdown exporter"}));
}

TEST(CloneBatchTest, CopiesEveryStringIntoItsOwnArena) {
  auto src = MakeBatch(2);
  src->otlp_proto = src->arena.Copy("encoded");
  auto copy = CloneBatch(*src);
  std::string name0(copy->name[0]);
  std::string key(copy->attributes[0].key);
  src.reset();
  EXPECT_EQ(name0, "op0");
  EXPECT_EQ(copy->name[1], "op1");
  EXPECT_EQ(copy->attributes[0].value.string(), "api");
  EXPECT_EQ(copy->otlp_proto, "encoded");
  EXPECT_EQ(copy->tenant, "t");
  EXPECT_EQ(copy->size(), 2u);
}

}  // namespace
}  // namespace vivace::pipeline
