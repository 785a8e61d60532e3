#include "server/app.h"

#include <thread>

#include "api/grpc_server.h"
#include "api/search_routes.h"
#include "query/searcher.h"
#include "api/http_server.h"
#include "api/routes.h"
#include "base/clock.h"
#include "base/logging.h"
#include "ingest/ingester.h"
#include "io/object_store.h"
#include "query/merged_source.h"
#include "storage/blocklist.h"
#include "storage/compactor.h"
#include "blocks/row_group_cache.h"
#include "receivers/otlp/otlp_receiver.h"
#include "api/collector_routes.h"
#include "pipeline/service.h"
#include "exporters/exporter.h"
#include <map>

#ifndef VIVACE_VERSION
#define VIVACE_VERSION "0.0.0"
#endif
#ifndef VIVACE_REVISION
#define VIVACE_REVISION "unknown"
#endif

namespace vivace::server {

std::string_view VivaceVersion() { return VIVACE_VERSION; }

App::App(Config config) : config_(std::move(config)) {}

App::~App() { Stop(); }

Result<std::unique_ptr<App>> App::Start(Config config) {
  std::unique_ptr<App> app(new App(std::move(config)));
  VV_RETURN_IF_ERROR(app->Init());
  return app;
}

Status App::Init() {
  const Config& c = config_;
  metrics_.AddCounterFunc("otelcol_process_cpu_seconds_total", "Total CPU user and system time in seconds.", {},
                          [] { return static_cast<double>(ProcessCpuNanos()) / 1e9; });
  metrics_.AddGauge("otelcol_process_memory_rss", "Total physical memory (resident set size) in bytes.", {},
                    [] { return static_cast<double>(ProcessRssBytes()); });
  uint64_t start_ns = MonotonicNanos();
  metrics_.AddCounterFunc("otelcol_process_uptime_seconds_total", "Uptime of the process in seconds.", {},
                          [start_ns] { return static_cast<double>(MonotonicNanos() - start_ns) / 1e9; });

  ingest::IngesterOptions io;
  io.wal.dir = c.storage.path + "/wal";
  io.wal.sync = c.storage.wal_sync;
  io.wal.sync_interval = c.storage.wal_sync_interval;
  io.wal.segment_bytes = c.storage.wal_segment_bytes;
  uint64_t max_request = std::max(c.otlp.http_max_request_body_bytes, c.otlp.grpc_max_recv_msg_bytes);
  io.wal.max_record_bytes = static_cast<uint32_t>(std::min<uint64_t>(max_request * 2 + (1 << 20), wal::kMaxRecordBytesLimit));
  // Behind a Collector pipeline a batch is whatever the processors made of it (a batch
  // processor merges requests), so only the WAL's own ceiling applies.
  if (c.collector.configured) io.wal.max_record_bytes = wal::kMaxRecordBytesLimit;
  io.max_pending_wal_bytes = c.ingester.max_pending_wal_bytes;
  io.decode.max_value_depth = c.limits.max_attribute_value_depth;

  VV_ASSIGN_OR_RETURN(store_, io::NewLocalStore(c.storage.path + "/blocks"));
  row_group_cache_ = std::make_unique<blocks::RowGroupCache>(c.storage.block_cache_bytes);
  metrics_.AddGauge("vivace_block_cache_bytes", "Memory held by decoded row groups of trace-by-ID lookups.", {},
                    [this] { return static_cast<double>(row_group_cache_->bytes()); });
  metrics_.AddCounterFunc("vivace_block_cache_hits_total", "Trace-by-ID row-group reads served from the cache.", {},
                          [this] { return static_cast<double>(row_group_cache_->hits()); });
  metrics_.AddCounterFunc("vivace_block_cache_misses_total", "Trace-by-ID row-group reads that read and decoded.", {},
                          [this] { return static_cast<double>(row_group_cache_->misses()); });
  blocklist_ = std::make_unique<storage::Blocklist>(store_.get(), row_group_cache_.get());
  VV_RETURN_IF_ERROR(blocklist_->Poll().WithContext("listing blocks"));
  io.store = store_.get();
  VV_ASSIGN_OR_RETURN(io.block.page.compression, blocks::CompressionFromName(c.storage.block_compression));
  io.block.row_group_spans = c.storage.block_row_group_spans;
  io.block.bloom.false_positive_rate = c.storage.block_bloom_false_positive;
  io.trace_idle_period = c.ingester.trace_idle_period;
  io.max_block_bytes = c.ingester.max_block_bytes;
  io.max_block_duration = c.ingester.max_block_duration;
  io.flush_check_period = c.ingester.flush_check_period;
  io.on_block = [this](const blocks::BlockMeta& meta) { blocklist_->Add(meta); };
  Every(c.storage.blocklist_poll, [this] {
    if (Status s = blocklist_->Poll(); !s.ok()) log::Error("blocklist poll: {}", s.ToString());
  });
  if (c.compactor.enabled) {
    storage::CompactorOptions co;
    auto seconds = [](std::chrono::milliseconds d) { return static_cast<uint64_t>(d.count() / 1000); };
    co.compaction_window_seconds = seconds(c.compactor.compaction_window);
    co.block_retention_seconds = seconds(c.compactor.block_retention);
    co.compacted_block_retention_seconds = seconds(c.compactor.compacted_block_retention);
    co.max_block_bytes = c.compactor.max_block_bytes;
    co.max_compaction_objects = c.compactor.max_compaction_objects;
    co.min_input_blocks = c.compactor.min_input_blocks;
    co.max_input_blocks = c.compactor.max_input_blocks;
    for (const auto& [tenant, o] : c.overrides) {
      if (o.block_retention) co.tenant_block_retention_seconds[tenant] = seconds(*o.block_retention);
    }
    co.block = io.block;
    compactor_ = std::make_unique<storage::Compactor>(store_.get(), co, blocklist_.get(), &metrics_);
    Every(c.compactor.compaction_cycle, [this] {
      // Errors are logged and counted by the compactor; the next cycle retries.
      compactor_->RunOnce(NowUnixNanos() / 1000000000).status().IgnoreError();
    });
  }
  VV_ASSIGN_OR_RETURN(ingester_, ingest::Ingester::Open(io, &metrics_));
  traces_ = std::make_unique<query::MergedTraceSource>(
      std::vector<model::TraceSource*>{ingester_.get(), blocklist_.get()});

  // The pipelines: the configured Collector sections, or OTLP straight into local storage.
  pipeline::CollectorConfig collector = c.collector;
  if (!collector.configured) {
    pipeline::ReceiverConfig r;
    r.id = "otlp";
    r.grpc_enabled = c.otlp.grpc_enabled;
    r.grpc_endpoint = c.otlp.grpc_endpoint;
    r.grpc_max_recv_msg_bytes = c.otlp.grpc_max_recv_msg_bytes;
    r.http_enabled = c.otlp.http_enabled;
    r.http_endpoint = c.otlp.http_endpoint;
    r.http_max_request_body_bytes = c.otlp.http_max_request_body_bytes;
    collector.receivers.push_back(r);
    collector.exporters["vivace"] = pipeline::ExporterConfig{
        "vivace", "vivace",
        [](const model::ComponentContext& ctx, const pipeline::ExporterEnv& env)
            -> Result<std::unique_ptr<exporters::Exporter>> { return pipeline::MakeLocalExporter(ctx, env.local_storage); },
        ""};
    collector.pipelines.push_back(pipeline::PipelineConfig{"traces", {"otlp"}, {}, {"vivace"}});
    collector.telemetry.metrics_address.clear();  // /metrics on the HTTP API port only
  }
  if (!collector.telemetry.logs_level.empty()) {
    static const std::pair<std::string_view, log::Level> kLevels[] = {
        {"debug", log::Level::kDebug}, {"info", log::Level::kInfo}, {"warn", log::Level::kWarn}, {"error", log::Level::kError}};
    for (const auto& [name, level] : kLevels) {
      if (collector.telemetry.logs_level == name) log::SetLevel(level);
    }
  }
  VV_ASSIGN_OR_RETURN(pipelines_, pipeline::Service::Build(collector, pipeline::ServiceEnv{&metrics_, ingester_.get(),
                                                                                           c.storage.path + "/file_storage"}));
  VV_RETURN_IF_ERROR(pipelines_->Start());

  router_ = std::make_unique<api::Router>();
  api::RegisterStatusRoutes(router_.get(),
                            api::BuildInfo{std::string(kTempoCompatibleVersion),
                                           "vivace-" + std::string(VIVACE_VERSION) + "-" VIVACE_REVISION, "",
                                           __DATE__ " " __TIME__},
                            &metrics_, [this] { return ready_.load(); });
  api::RegisterTraceRoutes(router_.get(), traces_.get());
  searcher_ = std::make_unique<query::Searcher>(blocklist_.get(), ingester_.get());
  api::RegisterSearchRoutes(router_.get(), searcher_.get());
  api::RegisterFlushRoute(router_.get(), [this] { return ingester_->Flush(true); });

  int threads = c.server.http_threads > 0 ? c.server.http_threads
                                          : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  api::HttpServerOptions ho;
  ho.listen = c.server.http_listen;
  ho.threads = threads;
  VV_ASSIGN_OR_RETURN(http_, api::HttpServer::Start(ho, router_.get()));
  log::Info("HTTP API (Tempo) listening on {} (port {})", c.server.http_listen, http_->port());

  // OTLP receivers, each feeding the pipelines that list it.
  for (const pipeline::ReceiverConfig& rc : collector.receivers) {
    model::SpanSink* sink = pipelines_->ReceiverSink(rc.id);
    if (sink == nullptr) {
      log::Info("receiver {} is configured but no pipeline uses it: not started", rc.id);
      continue;
    }
    Receiver r;
    receivers::OtlpReceiverOptions ro;
    ro.id = rc.id;
    ro.max_request_bytes = rc.http_max_request_body_bytes;
    ro.decode = io.decode;
    r.otlp = std::make_unique<receivers::OtlpReceiver>(sink, ro, &metrics_);
    if (rc.grpc_enabled) {
      api::GrpcServerOptions og;
      og.listen = rc.grpc_endpoint;
      og.max_receive_message_bytes = static_cast<int>(rc.grpc_max_recv_msg_bytes);
      VV_ASSIGN_OR_RETURN(r.grpc, api::GrpcServer::Start(og, {{std::string(api::kOtlpExportMethod),
                                                               api::OtlpGrpcHandler(r.otlp.get())}}));
      log::Info("OTLP/gRPC receiver {} listening on {} (port {})", rc.id, rc.grpc_endpoint, r.grpc->port());
    }
    if (rc.http_enabled) {
      r.router = std::make_unique<api::Router>();
      api::RegisterOtlpHttpRoutes(r.router.get(), r.otlp.get(), rc.http_traces_url_path);
      api::HttpServerOptions oh;
      oh.listen = rc.http_endpoint;
      oh.threads = threads;
      // The socket-level limit bounds the compressed body; the receiver bounds it after
      // decompression (413 either way).
      oh.max_body_bytes = rc.http_max_request_body_bytes;
      VV_ASSIGN_OR_RETURN(r.http, api::HttpServer::Start(oh, r.router.get()));
      log::Info("OTLP/HTTP receiver {} listening on {} (port {})", rc.id, rc.http_endpoint, r.http->port());
    }
    receivers_.push_back(std::move(r));
  }

  // The internal gRPC port also accepts OTLP, as Tempo's distributor does on its gRPC port,
  // into the pipelines of the first receiver.
  api::GrpcServerOptions go;
  go.listen = c.server.grpc_listen;
  go.max_receive_message_bytes = static_cast<int>(c.otlp.grpc_max_recv_msg_bytes);
  std::map<std::string, api::GrpcHandler> unary;
  if (!receivers_.empty()) unary[std::string(api::kOtlpExportMethod)] = api::OtlpGrpcHandler(receivers_[0].otlp.get());
  // Grafana's streaming search (tempopb.StreamingQuerier/Search) is served here too.
  VV_ASSIGN_OR_RETURN(grpc_, api::GrpcServer::Start(
                                 go, std::move(unary),
                                 {{std::string(api::kStreamingSearchMethod), api::SearchStreamHandler(searcher_.get())}}));
  log::Info("gRPC API listening on {} (port {})", c.server.grpc_listen, grpc_->port());

  // Extensions and the self-telemetry endpoint.
  auto serve = [&](std::unique_ptr<api::Router> router, const std::string& listen,
                   std::string_view what) -> Result<api::HttpServer*> {
    api::HttpServerOptions o;
    o.listen = listen;
    o.threads = 1;
    VV_ASSIGN_OR_RETURN(auto server, api::HttpServer::Start(o, router.get()));
    log::Info("{} listening on {} (port {})", what, listen, server->port());
    extensions_.emplace_back(std::move(router), std::move(server));
    return extensions_.back().second.get();
  };
  if (collector.health_check) {
    auto router = std::make_unique<api::Router>();
    api::RegisterHealthCheckRoute(router.get(),
                                  api::HealthCheckOptions{collector.health_check->path, collector.health_check->healthy_body,
                                                          collector.health_check->unhealthy_body},
                                  [this] { return ready_.load() && !pipelines_->Refusing(); });
    VV_ASSIGN_OR_RETURN(health_, serve(std::move(router), collector.health_check->endpoint, "health_check"));
  }
  if (collector.zpages) {
    auto router = std::make_unique<api::Router>();
    api::RegisterZpagesRoutes(router.get(), pipelines_.get(), std::string(VIVACE_VERSION));
    VV_ASSIGN_OR_RETURN(zpages_, serve(std::move(router), collector.zpages->endpoint, "zpages"));
  }
  if (!collector.telemetry.metrics_address.empty() && collector.telemetry.metrics_level != "none") {
    auto router = std::make_unique<api::Router>();
    api::RegisterMetricsRoute(router.get(), &metrics_);
    VV_ASSIGN_OR_RETURN(telemetry_, serve(std::move(router), collector.telemetry.metrics_address, "self-telemetry"));
  }

  ready_ = true;
  return Status::OK();
}

void App::Stop() {
  if (stopped_.exchange(true)) return;
  ready_ = false;
  // Receivers first (in-flight gRPC calls complete: the WAL is still running), then the APIs,
  // then storage. HTTP servers are destroyed only after the ingester has run every callback.
  for (Receiver& r : receivers_) {
    if (r.grpc) r.grpc->Stop();
    if (r.http) r.http->Stop();
  }
  if (grpc_) grpc_->Stop();
  if (http_) http_->Stop();
  // Processors hand on what they hold (batch, tail_sampling), exporters drain or persist.
  if (pipelines_) pipelines_->Shutdown();
  for (auto& [router, server] : extensions_) server->Stop();
  {
    MutexLock l(loops_mu_);
    loops_stopping_ = true;
    loops_cv_.NotifyAll();
  }
  for (std::thread& t : loops_) t.join();  // a compaction in progress finishes first
  if (ingester_) ingester_->Close();
  for (Receiver& r : receivers_) r.http.reset();
  http_.reset();
  log::Info("stopped");
}

void App::Every(std::chrono::milliseconds period, std::function<void()> fn) {
  loops_.emplace_back([this, period, fn = std::move(fn)] {
    for (;;) {
      {
        MutexLock l(loops_mu_);
        if (loops_cv_.WaitFor(loops_mu_, period, [this]() VV_REQUIRES(loops_mu_) { return loops_stopping_; })) return;
      }
      fn();
    }
  });
}

uint16_t App::http_port() const { return http_ ? http_->port() : 0; }
uint16_t App::grpc_port() const { return grpc_ ? grpc_->port() : 0; }
uint16_t App::otlp_grpc_port() const {
  return !receivers_.empty() && receivers_[0].grpc ? receivers_[0].grpc->port() : 0;
}
uint16_t App::otlp_http_port() const {
  return !receivers_.empty() && receivers_[0].http ? receivers_[0].http->port() : 0;
}
uint16_t App::health_check_port() const { return health_ ? health_->port() : 0; }
uint16_t App::zpages_port() const { return zpages_ ? zpages_->port() : 0; }
uint16_t App::telemetry_port() const { return telemetry_ ? telemetry_->port() : 0; }

}  // namespace vivace::server
