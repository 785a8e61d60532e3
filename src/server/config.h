#pragma once
// vivace.yaml: every option, its default, and strict parsing (unknown keys are errors that name
// the key and line). docs/configuration.md documents each field; keep the two in step.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/status.h"
#include "pipeline/config.h"
#include "wal/wal.h"

namespace vivace::server {

struct Config {
  struct Server {
    std::string http_listen = "0.0.0.0:3200";
    std::string grpc_listen = "0.0.0.0:9095";
    std::string log_level = "info";
    int http_threads = 0;  // 0: one per core
  } server;
  struct Storage {
    std::string path = "./data";
    wal::SyncPolicy wal_sync = wal::SyncPolicy::kAlways;
    std::chrono::milliseconds wal_sync_interval{100};
    uint64_t wal_segment_bytes = 128ull << 20;
    std::string block_compression = "zstd";
    uint32_t block_row_group_spans = 2048;
    double block_bloom_false_positive = 0.01;
    /// Memory for decoded row groups of trace-by-ID lookups (0: no cache).
    uint64_t block_cache_bytes = 256ull << 20;
    /// How often the blocklist re-lists the store (to see blocks other processes wrote).
    std::chrono::milliseconds blocklist_poll{std::chrono::minutes(5)};
  } storage;
  struct Ingester {
    uint64_t max_pending_wal_bytes = 256ull << 20;
    std::chrono::milliseconds trace_idle_period{10000};
    uint64_t max_block_bytes = 100ull << 20;
    std::chrono::milliseconds max_block_duration{std::chrono::minutes(5)};
    std::chrono::milliseconds flush_check_period{10000};
  } ingester;
  /// Tempo's `compactor.compaction` block.
  struct Compactor {
    bool enabled = true;
    std::chrono::milliseconds compaction_cycle{std::chrono::seconds(30)};
    std::chrono::milliseconds compaction_window{std::chrono::hours(1)};
    std::chrono::milliseconds block_retention{std::chrono::hours(14 * 24)};
    std::chrono::milliseconds compacted_block_retention{std::chrono::hours(1)};
    uint64_t max_block_bytes = 100ull << 30;
    uint64_t max_compaction_objects = 6'000'000;
    uint32_t min_input_blocks = 2;
    uint32_t max_input_blocks = 4;
  } compactor;
  /// Per-tenant settings: `overrides.per_tenant.<tenant>.compaction.block_retention`.
  struct TenantOverrides {
    std::optional<std::chrono::milliseconds> block_retention;
  };
  std::map<std::string, TenantOverrides, std::less<>> overrides;
  struct Otlp {
    bool grpc_enabled = true;
    std::string grpc_endpoint = "0.0.0.0:4317";
    uint64_t grpc_max_recv_msg_bytes = 4ull << 20;
    bool http_enabled = true;
    std::string http_endpoint = "0.0.0.0:4318";
    uint64_t http_max_request_body_bytes = 20ull << 20;
  } otlp;
  struct Limits {
    uint32_t max_attribute_value_depth = 32;
  } limits;
  /// The Collector-shaped sections (receivers, processors, exporters, extensions, service).
  /// When `collector.configured` is false, OTLP (the `otlp` / `distributor` settings above)
  /// feeds local storage directly.
  pipeline::CollectorConfig collector;
};

/// Parses YAML text. Errors name the key path and line: `storage.wal.sync (line 7): ...`.
Result<Config> ParseConfig(std::string_view yaml);
Result<Config> LoadConfigFile(const std::string& path);

/// "100ms", "5s", "2m", "1h", "1h30m" (Go duration syntax without fractions).
Result<std::chrono::milliseconds> ParseDuration(std::string_view s);
/// 1048576, "20MiB", "1GiB", "512KiB", "1GB", "10MB", "100kB", "64B".
Result<uint64_t> ParseBytes(std::string_view s);

}  // namespace vivace::server
