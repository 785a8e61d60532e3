#pragma once
// The running pipelines: built from a CollectorConfig, they connect each receiver to the
// pipelines that list it (fan-out), each pipeline's processors in order, and the pipeline's
// end to its exporters (fan-out; an exporter listed by several pipelines is one instance).
// Every stage is observed: the Collector's otelcol_processor_* and otelcol_exporter_* metrics,
// and zpages' tracez spans for every receiver request and export.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/span_sink.h"
#include "pipeline/config.h"
#include "pipeline/tracez.h"

namespace vivace::processors {
class Processor;
}
namespace vivace::exporters {
class Exporter;
}

namespace vivace::pipeline {

struct ServiceEnv {
  MetricsRegistry* metrics = nullptr;
  /// The local storage, for the `vivace` exporter.
  model::SpanSink* local_storage = nullptr;
  /// Default directory for file_storage extensions without one: <this>/<extension id>.
  std::string default_storage_dir;
};

class Service {
 public:
  static Result<std::unique_ptr<Service>> Build(const CollectorConfig& config, const ServiceEnv& env);
  ~Service();

  /// Starts the exporters (connections, persistent queues resume).
  Status Start();
  /// Flushes the processors in pipeline order (batch, tail_sampling hand on what they hold),
  /// then shuts the exporters down. Call after the receivers stopped. Idempotent.
  void Shutdown();

  /// The sink a receiver hands its batches to; nullptr if no pipeline lists it.
  model::SpanSink* ReceiverSink(std::string_view receiver_id) const;
  /// True while any processor refuses data (memory_limiter above its soft limit).
  bool Refusing() const;

  Tracez& tracez() { return tracez_; }
  /// The /debug/pipelinez page: every pipeline with its components and their item counts.
  std::string PipelinezHtml() const;

 private:
  struct Stage;
  struct PipelineRuntime;
  struct ReceiverRuntime;
  Service() = default;

  MetricsRegistry* metrics_ = nullptr;
  Tracez tracez_;
  std::vector<std::unique_ptr<model::SpanSink>> owned_sinks_;
  std::vector<std::unique_ptr<exporters::Exporter>> exporters_;
  std::vector<std::string> exporter_ids_;
  std::vector<std::unique_ptr<PipelineRuntime>> pipelines_;
  std::vector<std::unique_ptr<ReceiverRuntime>> receivers_;
  bool shut_down_ = false;
};

/// The built-in `vivace` exporter: writes into `storage` (the ingester), answering when durable.
std::unique_ptr<exporters::Exporter> MakeLocalExporter(const model::ComponentContext& ctx, model::SpanSink* storage);

/// A deep copy of a batch (spans, resources, scopes, every pool and string), carrying over
/// the cached OTLP encoding.
std::unique_ptr<model::SpanBatch> CloneBatch(const model::SpanBatch& batch);

}  // namespace vivace::pipeline
