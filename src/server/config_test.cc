#include "server/config.h"

#include <gtest/gtest.h>

namespace vivace::server {
namespace {

TEST(ConfigTest, DefaultsFromEmpty) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.http_listen, "0.0.0.0:3200");
  EXPECT_EQ(c->otlp.grpc_endpoint, "0.0.0.0:4317");
  EXPECT_EQ(c->storage.wal_sync, wal::SyncPolicy::kAlways);
}

TEST(ConfigTest, ParsesEverySection) {
  auto c = ParseConfig(R"(
server:
  http_listen: 127.0.0.1:13200
  log_level: debug
storage:
  path: /tmp/x
  wal:
    sync: interval
    sync_interval: 250ms
    segment_size: 64MiB
ingester:
  max_pending_wal_bytes: 1GiB
distributor:
  receivers:
    otlp:
      protocols:
        http:
          endpoint: 127.0.0.1:14318
          max_request_body_size: 10MB
limits:
  max_attribute_value_depth: 8
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.http_listen, "127.0.0.1:13200");
  EXPECT_EQ(c->storage.wal_sync, wal::SyncPolicy::kInterval);
  EXPECT_EQ(c->storage.wal_sync_interval.count(), 250);
  EXPECT_EQ(c->storage.wal_segment_bytes, 64ull << 20);
  EXPECT_EQ(c->ingester.max_pending_wal_bytes, 1ull << 30);
  EXPECT_FALSE(c->otlp.grpc_enabled);  // only the listed protocols, as in the Collector
  EXPECT_TRUE(c->otlp.http_enabled);
  EXPECT_EQ(c->otlp.http_max_request_body_bytes, 10000000u);
  EXPECT_EQ(c->limits.max_attribute_value_depth, 8u);
}

TEST(ConfigTest, CompactorRetentionAndTenantOverrides) {
  auto c = ParseConfig(R"(
storage:
  blocklist_poll: 30s
compactor:
  compaction:
    compaction_window: 2h
    block_retention: 48h
    compacted_block_retention: 10m
    max_block_bytes: 10GiB
    max_compaction_objects: 1000
    max_input_blocks: 8
    compaction_cycle: 1m
overrides:
  per_tenant:
    team-a:
      compaction:
        block_retention: 24h
    team-b: {}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.blocklist_poll, std::chrono::seconds(30));
  EXPECT_TRUE(c->compactor.enabled);
  EXPECT_EQ(c->compactor.compaction_window, std::chrono::hours(2));
  EXPECT_EQ(c->compactor.block_retention, std::chrono::hours(48));
  EXPECT_EQ(c->compactor.compacted_block_retention, std::chrono::minutes(10));
  EXPECT_EQ(c->compactor.max_block_bytes, 10ull << 30);
  EXPECT_EQ(c->compactor.max_compaction_objects, 1000u);
  EXPECT_EQ(c->compactor.max_input_blocks, 8u);
  EXPECT_EQ(c->compactor.compaction_cycle, std::chrono::minutes(1));
  ASSERT_EQ(c->overrides.size(), 2u);
  EXPECT_EQ(c->overrides.at("team-a").block_retention, std::chrono::hours(24));
  EXPECT_FALSE(c->overrides.at("team-b").block_retention.has_value());

  auto d = ParseConfig("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->compactor.block_retention, std::chrono::hours(336));  // Tempo's default
  EXPECT_EQ(d->storage.blocklist_poll, std::chrono::minutes(5));

  auto bad = ParseConfig("overrides:\n  per_tenant:\n    t:\n      compaction:\n        retention: 1h\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("overrides.per_tenant.t.compaction.retention (line 5)"), std::string_view::npos)
      << bad.status().ToString();
  EXPECT_FALSE(ParseConfig("compactor:\n  compaction:\n    min_input_blocks: 5\n    max_input_blocks: 3\n").ok());
  EXPECT_FALSE(ParseConfig("compactor:\n  disabled: true\n")->compactor.enabled);
}

TEST(ConfigTest, UnknownKeysNameKeyAndLine) {
  auto c = ParseConfig("server:\n  http_listen: :1\n  htp_threads: 3\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "server.htp_threads (line 3): unknown key");
  EXPECT_FALSE(ParseConfig("storage:\n  wal:\n    sync: sometimes\n").ok());
  EXPECT_FALSE(ParseConfig("server: [1, 2]\n").ok());
  EXPECT_FALSE(ParseConfig("server:\n  http_threads: -1\n").ok());
  EXPECT_FALSE(ParseConfig("a: [unclosed\n").ok());
}

TEST(ConfigTest, DurationsAndSizes) {
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400000);
  EXPECT_EQ(ParseDuration("100ms")->count(), 100);
  EXPECT_FALSE(ParseDuration("5 parsecs").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_EQ(*ParseBytes("20MiB"), 20ull << 20);
  EXPECT_EQ(*ParseBytes("1048576"), 1048576u);
  EXPECT_EQ(*ParseBytes("1GB"), 1000000000u);
  EXPECT_FALSE(ParseBytes("MiB").ok());
  EXPECT_FALSE(ParseBytes("12 furlongs").ok());
}

TEST(ConfigTest, SeedCollectorConfigsLoadAsWritten) {
  for (std::string name : {"otel-collector-config.yaml", "otel-collector-redact.yaml"}) {
    SCOPED_TRACE(name);
    auto c = LoadConfigFile(std::string(VV_SEED_CONFIGS) + "/" + name);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(c->collector.configured);
    ASSERT_EQ(c->collector.pipelines.size(), 1u);
    EXPECT_EQ(c->collector.pipelines[0].receivers, std::vector<std::string>{"otlp"});
    EXPECT_TRUE(c->collector.processors.contains("tail_sampling"));
    EXPECT_TRUE(c->collector.processors.contains("batch"));
  }
  auto full = LoadConfigFile(std::string(VV_SEED_CONFIGS) + "/otel-collector-config.yaml");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->collector.pipelines[0].processors,
            (std::vector<std::string>{"memory_limiter", "resource", "tail_sampling", "batch"}));
  EXPECT_EQ(full->collector.pipelines[0].exporters, (std::vector<std::string>{"otlp/jaeger", "otlp/tempo", "debug"}));
  ASSERT_TRUE(full->collector.health_check);
  EXPECT_EQ(full->collector.health_check->endpoint, "0.0.0.0:13133");
  ASSERT_TRUE(full->collector.zpages);
  EXPECT_EQ(full->collector.telemetry.metrics_address, "0.0.0.0:8888");
  EXPECT_EQ(full->collector.telemetry.logs_level, "info");
}

TEST(ConfigTest, CollectorSectionErrorsNameTheKeyAndLine) {
  auto c = ParseConfig("storage:\n  path: /tmp/x\nprocessors:\n  batch:\n    send_batch_size: lots\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("processors.batch.send_batch_size (line 5)"), std::string::npos)
      << c.status().ToString();
}

}  // namespace
}  // namespace vivace::server
