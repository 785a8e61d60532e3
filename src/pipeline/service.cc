#include "pipeline/service.h"

#include <atomic>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/mutex.h"
#include "exporters/exporter.h"
#include "processors/processor.h"

namespace vivace::pipeline {
namespace {

using model::ConsumeCallback;
using model::ConsumeResult;
using model::SpanBatch;
using model::SpanSink;

/// Completes `done` once `n` consumers have answered: the first failure wins, rejected spans
/// add up (the Collector's fan-out combines errors the same way).
class Join {
 public:
  Join(size_t n, ConsumeCallback done) : pending_(n), done_(std::move(done)) {}
  void Answer(ConsumeResult r) {
    {
      MutexLock l(mu_);
      if (!r.status.ok() && result_.status.ok()) {
        result_.status = r.status;
        result_.retry_after_seconds = r.retry_after_seconds;
      }
      result_.rejected_spans += r.rejected_spans;
      if (result_.rejected_message.empty()) result_.rejected_message = std::move(r.rejected_message);
      if (--pending_ > 0) return;
    }
    done_(std::move(result_));
  }

 private:
  Mutex mu_;
  size_t pending_ VV_GUARDED_BY(mu_);
  ConsumeResult result_ VV_GUARDED_BY(mu_);
  ConsumeCallback done_;
};

/// Hands a batch to several sinks: the last gets the batch itself, the others deep copies
/// (every consumer owns what it gets and may change it).
class Fanout : public SpanSink {
 public:
  explicit Fanout(std::vector<SpanSink*> sinks) : sinks_(std::move(sinks)) {}
  void Consume(std::unique_ptr<SpanBatch> batch, ConsumeCallback done) override {
    if (sinks_.size() == 1) {
      sinks_[0]->Consume(std::move(batch), std::move(done));
      return;
    }
    auto join = std::make_shared<Join>(sinks_.size(), std::move(done));
    for (size_t i = 0; i + 1 < sinks_.size(); ++i) {
      sinks_[i]->Consume(CloneBatch(*batch), [join](ConsumeResult r) { join->Answer(std::move(r)); });
    }
    sinks_.back()->Consume(std::move(batch), [join](ConsumeResult r) { join->Answer(std::move(r)); });
  }

 private:
  std::vector<SpanSink*> sinks_;
};

/// Counts the items passing into a sink.
class CountingSink : public SpanSink {
 public:
  CountingSink(Counter* counter, SpanSink* next) : counter_(counter), next_(next) {}
  void Consume(std::unique_ptr<SpanBatch> batch, ConsumeCallback done) override {
    counter_->Add(batch->size());
    next_->Consume(std::move(batch), std::move(done));
  }

 private:
  Counter* counter_;
  SpanSink* next_;
};

/// Records a tracez span around a sink's work, from Consume to its answer.
class TracedSink : public SpanSink {
 public:
  TracedSink(Tracez* tracez, std::string name, SpanSink* next)
      : tracez_(tracez), name_(std::move(name)), next_(next) {}
  void Consume(std::unique_ptr<SpanBatch> batch, ConsumeCallback done) override {
    uint64_t start = tracez_->Begin(name_);
    uint64_t items = batch->size();
    next_->Consume(std::move(batch), [this, start, items, done = std::move(done)](ConsumeResult r) {
      tracez_->End(name_, start, items, r.status);
      done(std::move(r));
    });
  }

 private:
  Tracez* tracez_;
  std::string name_;
  SpanSink* next_;
};

/// The built-in `vivace` exporter: local storage (the ingester), answering when durable.
class LocalExporter : public exporters::Exporter {
 public:
  LocalExporter(const model::ComponentContext& ctx, SpanSink* storage) : storage_(storage) {
    Labels labels = {{"exporter", ctx.id}};
    sent_ = ctx.metrics->GetCounter("otelcol_exporter_sent_spans_total",
                                    "Number of spans successfully sent to destination.", labels);
    failed_ = ctx.metrics->GetCounter("otelcol_exporter_send_failed_spans_total",
                                      "Number of spans in failed attempts to send to destination.", labels);
  }
  void Consume(std::unique_ptr<SpanBatch> batch, ConsumeCallback done) override {
    uint64_t n = batch->size();
    storage_->Consume(std::move(batch), [this, n, done = std::move(done)](ConsumeResult r) {
      (r.status.ok() ? sent_ : failed_)->Add(n - std::min<uint64_t>(n, r.rejected_spans));
      if (r.status.ok() && r.rejected_spans > 0) failed_->Add(std::min<uint64_t>(n, r.rejected_spans));
      done(std::move(r));
    });
  }

 private:
  SpanSink* storage_;
  Counter* sent_;
  Counter* failed_;
};

}  // namespace

std::unique_ptr<exporters::Exporter> MakeLocalExporter(const model::ComponentContext& ctx, SpanSink* storage) {
  return std::make_unique<LocalExporter>(ctx, storage);
}

struct Service::Stage {
  std::string id;
  std::unique_ptr<processors::Processor> processor;
  Counter* incoming = nullptr;
  Counter* outgoing = nullptr;
};

struct Service::PipelineRuntime {
  PipelineConfig config;
  std::vector<Stage> stages;  // in order
  SpanSink* head = nullptr;   // where receivers hand batches
};

struct Service::ReceiverRuntime {
  std::string id;
  SpanSink* sink = nullptr;
};

Result<std::unique_ptr<Service>> Service::Build(const CollectorConfig& config, const ServiceEnv& env) {
  std::unique_ptr<Service> s(new Service());
  s->metrics_ = env.metrics;
  auto own = [&](std::unique_ptr<SpanSink> sink) {
    s->owned_sinks_.push_back(std::move(sink));
    return s->owned_sinks_.back().get();
  };

  // Exporters: one instance each, shared by the pipelines listing it.
  std::map<std::string, SpanSink*> exporter_sinks;
  for (const PipelineConfig& p : config.pipelines) {
    for (const std::string& id : p.exporters) {
      if (exporter_sinks.contains(id)) continue;
      const ExporterConfig& ec = config.exporters.at(id);
      model::ComponentContext ctx{id, "", env.metrics, ""};
      if (!ec.storage.empty()) {
        const FileStorageConfig& fs = config.file_storage.at(ec.storage);
        std::string name = ec.storage;
        for (char& c : name) {
          if (c == '/') c = '_';
        }
        ctx.data_dir = fs.directory.empty() ? env.default_storage_dir + "/" + name : fs.directory;
        std::error_code err;
        if (fs.create_directory) std::filesystem::create_directories(ctx.data_dir, err);
        if (err) return Internal("creating " + ctx.data_dir + " for exporter " + id + ": " + err.message());
      }
      ExporterEnv ee{env.local_storage};
      auto exporter = ec.build(ctx, ee);
      if (!exporter.ok()) return exporter.status().WithContext("exporter " + id);
      s->exporters_.push_back(std::move(*exporter));
      s->exporter_ids_.push_back(id);
      exporter_sinks[id] = own(std::make_unique<TracedSink>(&s->tracez_, "exporter/" + id + "/traces",
                                                            s->exporters_.back().get()));
    }
  }

  // Pipelines, built back to front: each processor's next is the stage after it.
  for (const PipelineConfig& p : config.pipelines) {
    auto rt = std::make_unique<PipelineRuntime>();
    rt->config = p;
    std::vector<SpanSink*> outs;
    for (const std::string& id : p.exporters) outs.push_back(exporter_sinks.at(id));
    SpanSink* next = outs.size() == 1 ? outs[0] : own(std::make_unique<Fanout>(outs));
    rt->stages.resize(p.processors.size());
    for (size_t i = p.processors.size(); i-- > 0;) {
      const ProcessorConfig& pc = config.processors.at(p.processors[i]);
      Labels labels = {{"processor", pc.id}, {"otel_signal", "traces"}};
      Stage& st = rt->stages[i];
      st.id = pc.id;
      st.incoming = env.metrics->GetCounter("otelcol_processor_incoming_items_total",
                                            "Number of items passed to the processor.", labels);
      st.outgoing = env.metrics->GetCounter("otelcol_processor_outgoing_items_total",
                                            "Number of items emitted from the processor.", labels);
      model::ComponentContext ctx{pc.id, p.id, env.metrics, ""};
      auto proc = pc.build(ctx, own(std::make_unique<CountingSink>(st.outgoing, next)));
      if (!proc.ok()) return proc.status().WithContext("processor " + pc.id + " in pipeline " + p.id);
      st.processor = std::move(*proc);
      next = own(std::make_unique<CountingSink>(st.incoming, st.processor.get()));
    }
    rt->head = next;
    s->pipelines_.push_back(std::move(rt));
  }

  // Receivers: each feeds every pipeline listing it.
  std::map<std::string, std::vector<SpanSink*>> by_receiver;
  for (const auto& p : s->pipelines_) {
    for (const std::string& r : p->config.receivers) by_receiver[r].push_back(p->head);
  }
  for (auto& [id, heads] : by_receiver) {
    SpanSink* fan = heads.size() == 1 ? heads[0] : own(std::make_unique<Fanout>(heads));
    auto rr = std::make_unique<ReceiverRuntime>();
    rr->id = id;
    rr->sink = own(std::make_unique<TracedSink>(&s->tracez_, "receiver/" + id + "/TraceDataReceived", fan));
    s->receivers_.push_back(std::move(rr));
  }
  return s;
}

Service::~Service() { Shutdown(); }

Status Service::Start() {
  for (size_t i = 0; i < exporters_.size(); ++i) {
    VV_RETURN_IF_ERROR(exporters_[i]->Start().WithContext("starting exporter " + exporter_ids_[i]));
  }
  return Status::OK();
}

void Service::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& p : pipelines_) {
    for (Stage& st : p->stages) st.processor->Shutdown();
  }
  for (auto& e : exporters_) e->Shutdown();
}

SpanSink* Service::ReceiverSink(std::string_view receiver_id) const {
  for (const auto& r : receivers_) {
    if (r->id == receiver_id) return r->sink;
  }
  return nullptr;
}

bool Service::Refusing() const {
  for (const auto& p : pipelines_) {
    for (const Stage& st : p->stages) {
      if (st.processor->Refusing()) return true;
    }
  }
  return false;
}

std::string Service::PipelinezHtml() const {
  std::string out =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Pipelines</title>"
      "<style>body{font-family:sans-serif}td,th{padding:2px 8px}</style></head><body><h1>Pipelines</h1>"
      "<table border=\"1\"><tr><th>Pipeline</th><th>Receivers</th><th>Processors</th><th>Exporters</th></tr>";
  for (const auto& p : pipelines_) {
    std::string receivers, processors, exporters;
    for (const auto& r : p->config.receivers) receivers += r + "<br>";
    for (const Stage& st : p->stages) {
      processors += fmt::format("{} (in {}, out {}){}<br>", st.id, st.incoming->value(), st.outgoing->value(),
                                st.processor->Refusing() ? " REFUSING" : "");
    }
    for (const auto& e : p->config.exporters) exporters += e + "<br>";
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", p->config.id, receivers,
                       processors.empty() ? "-" : processors, exporters);
  }
  out += "</table></body></html>";
  return out;
}

std::unique_ptr<SpanBatch> CloneBatch(const SpanBatch& src) {
  auto b = std::make_unique<SpanBatch>();
  Arena& a = b->arena;
  auto S = [&](std::string_view s) { return a.Copy(s); };
  b->tenant = src.tenant;
  b->resources = src.resources;
  for (auto& r : b->resources) r.schema_url = S(r.schema_url);
  b->scopes = src.scopes;
  for (auto& sc : b->scopes) {
    sc.name = S(sc.name);
    sc.version = S(sc.version);
    sc.schema_url = S(sc.schema_url);
  }
  b->trace_id = src.trace_id;
  b->span_id = src.span_id;
  b->parent_span_id = src.parent_span_id;
  b->trace_state = src.trace_state;
  for (auto& s : b->trace_state) s = S(s);
  b->flags = src.flags;
  b->name = src.name;
  for (auto& s : b->name) s = S(s);
  b->kind = src.kind;
  b->start_unix_nano = src.start_unix_nano;
  b->end_unix_nano = src.end_unix_nano;
  b->span_attributes = src.span_attributes;
  b->dropped_attributes_count = src.dropped_attributes_count;
  b->span_events = src.span_events;
  b->dropped_events_count = src.dropped_events_count;
  b->span_links = src.span_links;
  b->dropped_links_count = src.dropped_links_count;
  b->status_code = src.status_code;
  b->status_message = src.status_message;
  for (auto& s : b->status_message) s = S(s);
  b->span_scope = src.span_scope;
  auto V = [&](model::Value& v) {
    if (v.kind == model::ValueKind::kString) v = model::Value::String(S(v.string()));
    if (v.kind == model::ValueKind::kBytes) v = model::Value::Bytes(S(v.string()));
  };
  b->attributes = src.attributes;
  for (auto& kv : b->attributes) {
    kv.key = S(kv.key);
    V(kv.value);
  }
  b->values = src.values;
  for (auto& v : b->values) V(v);
  b->events = src.events;
  for (auto& e : b->events) e.name = S(e.name);
  b->links = src.links;
  for (auto& l : b->links) l.trace_state = S(l.trace_state);
  if (!src.otlp_proto.empty()) b->otlp_proto = S(src.otlp_proto);
  b->decoded_from_otlp_proto = false;
  return b;
}

}  // namespace vivace::pipeline
