#pragma once
// The composition root of `vivace serve`: builds every module from a Config, starts the
// listeners, and drains them in order on Stop.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "base/mutex.h"
#include "server/config.h"

namespace vivace::ingest {
class Ingester;
}
namespace vivace::io {
class ObjectStore;
}
namespace vivace::blocks {
class RowGroupCache;
}
namespace vivace::storage {
class Blocklist;
class Compactor;
}
namespace vivace::query {
class MergedTraceSource;
class Searcher;
}
namespace vivace::receivers {
class OtlpReceiver;
}
namespace vivace::pipeline {
class Service;
}
namespace vivace::api {
class Router;
class HttpServer;
class GrpcServer;
}  // namespace vivace::api

namespace vivace::server {

/// Vivace's own version (CMake project version).
std::string_view VivaceVersion();
/// The Tempo API version Vivace reports to Grafana in /api/status/buildinfo.
inline constexpr std::string_view kTempoCompatibleVersion = "2.10.0";

class App {
 public:
  /// Opens storage (replaying the WAL) and starts every listener; when it returns OK the
  /// server accepts data and /ready answers 200.
  static Result<std::unique_ptr<App>> Start(Config config);
  ~App();

  /// Drains: /ready turns 503, listeners stop (in-flight requests finish), the WAL is synced
  /// and closed. Idempotent.
  void Stop();

  uint16_t http_port() const;
  uint16_t grpc_port() const;
  /// Ports of the first OTLP receiver's listeners (0 when not enabled).
  uint16_t otlp_grpc_port() const;
  uint16_t otlp_http_port() const;
  /// Extension and self-telemetry listeners (0 when not configured).
  uint16_t health_check_port() const;
  uint16_t zpages_port() const;
  uint16_t telemetry_port() const;
  MetricsRegistry& metrics() { return metrics_; }

 private:
  explicit App(Config config);
  Status Init();
  /// Runs `fn` every `period` on its own thread until Stop.
  void Every(std::chrono::milliseconds period, std::function<void()> fn);

  Config config_;
  MetricsRegistry metrics_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<io::ObjectStore> store_;
  std::unique_ptr<blocks::RowGroupCache> row_group_cache_;
  std::unique_ptr<storage::Blocklist> blocklist_;
  std::unique_ptr<storage::Compactor> compactor_;
  Mutex loops_mu_;
  CondVar loops_cv_;
  bool loops_stopping_ VV_GUARDED_BY(loops_mu_) = false;
  std::vector<std::thread> loops_;
  std::unique_ptr<ingest::Ingester> ingester_;
  std::unique_ptr<query::MergedTraceSource> traces_;
  std::unique_ptr<query::Searcher> searcher_;
  std::unique_ptr<pipeline::Service> pipelines_;
  /// One per configured OTLP receiver that a pipeline uses, with its listeners.
  struct Receiver {
    std::unique_ptr<receivers::OtlpReceiver> otlp;
    std::unique_ptr<api::Router> router;
    std::unique_ptr<api::HttpServer> http;
    std::unique_ptr<api::GrpcServer> grpc;
  };
  std::vector<Receiver> receivers_;
  std::unique_ptr<api::Router> router_;
  std::unique_ptr<api::HttpServer> http_;
  std::unique_ptr<api::GrpcServer> grpc_;
  /// health_check, zpages and the self-telemetry endpoint: router + server each.
  std::vector<std::pair<std::unique_ptr<api::Router>, std::unique_ptr<api::HttpServer>>> extensions_;
  api::HttpServer* health_ = nullptr;
  api::HttpServer* zpages_ = nullptr;
  api::HttpServer* telemetry_ = nullptr;
  std::atomic<bool> stopped_{false};
};

}  // namespace vivace::server
