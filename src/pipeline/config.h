#pragma once
// The Collector-shaped part of vivace.yaml: `receivers`, `processors`, `exporters`,
// `extensions` and `service` (pipelines and telemetry), with the Collector's keys, defaults and
// component ids (`type[/name]`). Parsing checks every reference (a pipeline naming an
// unconfigured component, an extension used but not enabled) and names the key and line.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/component.h"
#include "model/span_sink.h"

namespace YAML {
class Node;
}
namespace vivace::processors {
class Processor;
}
namespace vivace::exporters {
class Exporter;
}

namespace vivace::pipeline {

/// Builds one processor instance for one pipeline, passing what it keeps to `next`.
using ProcessorFactory =
    std::function<Result<std::unique_ptr<processors::Processor>>(const model::ComponentContext&, model::SpanSink* next)>;

/// What an exporter needs from the process: the local storage (for `vivace`).
struct ExporterEnv {
  model::SpanSink* local_storage = nullptr;
};
using ExporterFactory =
    std::function<Result<std::unique_ptr<exporters::Exporter>>(const model::ComponentContext&, const ExporterEnv&)>;

/// An `otlp` receiver (the only receiver type so far).
struct ReceiverConfig {
  std::string id;
  bool grpc_enabled = false;
  std::string grpc_endpoint = "localhost:4317";
  uint64_t grpc_max_recv_msg_bytes = 4ull << 20;
  bool http_enabled = false;
  std::string http_endpoint = "localhost:4318";
  uint64_t http_max_request_body_bytes = 20ull << 20;
  std::string http_traces_url_path = "/v1/traces";
};

struct ProcessorConfig {
  std::string id;
  std::string type;
  ProcessorFactory build;
};

struct ExporterConfig {
  std::string id;
  std::string type;
  ExporterFactory build;
  /// `sending_queue.storage`: the file_storage extension holding its persistent queue.
  std::string storage;
};

struct HealthCheckConfig {
  std::string endpoint = "localhost:13133";
  std::string path = "/";
  std::string healthy_body;    // response_body.healthy; empty = the Collector's JSON
  std::string unhealthy_body;  // response_body.unhealthy
};

struct ZpagesConfig {
  std::string endpoint = "localhost:55679";
};

struct FileStorageConfig {
  std::string directory;  // empty: <storage.path>/file_storage/<name>
  bool create_directory = true;
  bool fsync = false;
};

struct PipelineConfig {
  std::string id;  // "traces", "traces/2"
  std::vector<std::string> receivers;
  std::vector<std::string> processors;
  std::vector<std::string> exporters;
};

struct TelemetryConfig {
  /// Prometheus pull endpoint for the process's own metrics; empty = not served separately.
  std::string metrics_address = "localhost:8888";
  std::string metrics_level = "normal";  // none | basic | normal | detailed
  std::string logs_level;                // empty: leave server.log_level
};

struct CollectorConfig {
  /// True when the file has a `service` section; otherwise the default pipeline applies
  /// (OTLP → local storage) and the other sections must be absent.
  bool configured = false;
  std::vector<ReceiverConfig> receivers;
  std::map<std::string, ProcessorConfig, std::less<>> processors;
  std::map<std::string, ExporterConfig, std::less<>> exporters;
  std::optional<HealthCheckConfig> health_check;  // configured and listed in service.extensions
  std::optional<ZpagesConfig> zpages;
  std::map<std::string, FileStorageConfig, std::less<>> file_storage;
  std::vector<PipelineConfig> pipelines;
  TelemetryConfig telemetry;
};

/// The raw nodes of the five top-level sections (null when absent).
struct CollectorNodes {
  const YAML::Node* receivers = nullptr;
  const YAML::Node* processors = nullptr;
  const YAML::Node* exporters = nullptr;
  const YAML::Node* extensions = nullptr;
  const YAML::Node* service = nullptr;
};

Result<CollectorConfig> ParseCollectorConfig(const CollectorNodes& nodes);

/// The processor and exporter types this build knows, for error messages and docs.
std::vector<std::string> ProcessorTypes();
std::vector<std::string> ExporterTypes();

}  // namespace vivace::pipeline
