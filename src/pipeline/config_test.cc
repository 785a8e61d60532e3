#include "pipeline/config.h"

#include <gtest/gtest.h>

#include "conf/yaml.h"

namespace vivace::pipeline {
namespace {

Result<CollectorConfig> Parse(const std::string& yaml) {
  auto root = conf::LoadYaml(yaml);
  if (!root.ok()) return root.status();
  YAML::Node r = (*root)["receivers"], p = (*root)["processors"], e = (*root)["exporters"],
             x = (*root)["extensions"], s = (*root)["service"];
  return ParseCollectorConfig(CollectorNodes{&r, &p, &e, &x, &s});
}

void ExpectError(const std::string& yaml, const std::string& fragment) {
  auto c = Parse(yaml);
  ASSERT_FALSE(c.ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().ToString();
}

constexpr char kMinimal[] = R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
  otlp/2:
    protocols:
      http:
        endpoint: 127.0.0.1:0
        traces_url_path: /ingest
exporters:
  vivace:
extensions:
  health_check:
    endpoint: 127.0.0.1:0
  zpages:
  file_storage/q:
    directory: /tmp/q
service:
  extensions: [health_check, zpages, file_storage/q]
  pipelines:
    traces:
      receivers: [otlp, otlp/2]
      exporters: [vivace]
    traces/copy:
      receivers: [otlp]
      exporters: [vivace]
  telemetry:
    logs:
      level: DEBUG
    metrics:
      address: 127.0.0.1:0
)";

TEST(CollectorConfigTest, ParsesReceiversPipelinesExtensionsAndTelemetry) {
  auto c = Parse(kMinimal);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->configured);
  ASSERT_EQ(c->receivers.size(), 2u);
  EXPECT_EQ(c->receivers[0].id, "otlp");
  EXPECT_TRUE(c->receivers[0].grpc_enabled);
  EXPECT_FALSE(c->receivers[0].http_enabled);
  EXPECT_EQ(c->receivers[1].http_traces_url_path, "/ingest");
  ASSERT_EQ(c->pipelines.size(), 2u);
  EXPECT_EQ(c->pipelines[1].id, "traces/copy");
  ASSERT_TRUE(c->health_check);
  EXPECT_EQ(c->health_check->path, "/");
  ASSERT_TRUE(c->zpages);
  EXPECT_EQ(c->zpages->endpoint, "localhost:55679");
  EXPECT_EQ(c->file_storage.at("file_storage/q").directory, "/tmp/q");
  EXPECT_EQ(c->telemetry.logs_level, "debug");
  EXPECT_EQ(c->telemetry.metrics_address, "127.0.0.1:0");
}

TEST(CollectorConfigTest, NoServiceMeansTheDefaultPipeline) {
  auto c = Parse("server: {}\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->configured);
  ExpectError("exporters:\n  vivace:\n", "service: missing");
}

TEST(CollectorConfigTest, NewStylePrometheusReader) {
  auto c = Parse(R"(
receivers: {otlp: {protocols: {grpc: {}}}}
exporters: {vivace: {}}
service:
  pipelines: {traces: {receivers: [otlp], exporters: [vivace]}}
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 18888
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->telemetry.metrics_address, "0.0.0.0:18888");
}

TEST(CollectorConfigTest, ErrorsNameTheKeyAndLine) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::string pipeline = "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [vivace]\n";
  const std::string base = "receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  vivace: {}\n";
  const Case cases[] = {
      {"receivers:\n  jaeger:\n    protocols: {}\n" + pipeline, "receivers.jaeger (line 2): receiver type \"jaeger\" is not supported"},
      {"receivers:\n  otlp:\n    protocols: {grpc: {endpont: x}}\n", "receivers.otlp.protocols.grpc.endpont (line 3): unknown key"},
      {"receivers:\n  otlp: {}\n", "must enable at least one protocol"},
      {base + "processors:\n  nosuch: {}\n" + pipeline, "processors.nosuch (line 8): processor type \"nosuch\" is not supported"},
      {"exporters:\n  kafka: {}\n", "exporters.kafka (line 2): exporter type \"kafka\" is not supported"},
      {base + "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlp/x]\n",
       "service.pipelines.traces.exporters (line 11): exporter \"otlp/x\" is not configured"},
      {base + "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [vivace]\n",
       "processor \"batch\" is not configured"},
      {base + "service:\n  pipelines:\n    traces:\n      receivers: [otlp/b]\n      exporters: [vivace]\n",
       "receiver \"otlp/b\" is not configured"},
      {base + "service:\n  pipelines:\n    metrics:\n      receivers: [otlp]\n      exporters: [vivace]\n",
       "only traces pipelines are supported"},
      {base + "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n", "must have at least one exporter"},
      {base + "service:\n  pipelines:\n    traces:\n      receivers: [otlp, otlp]\n      exporters: [vivace]\n", "lists \"otlp\" twice"},
      {base + "service:\n  extensions: [health_check]\n" + pipeline.substr(std::string("service:\n").size()),
       "extension \"health_check\" is not configured"},
      {base + "extensions:\n  pprof: {}\n" + pipeline, "extension type \"pprof\" is not supported"},
      {base + "service:\n  telemetry: {metrics: {level: loud}}\n" + pipeline.substr(std::string("service:\n").size()),
       "must be none, basic, normal or detailed"},
      {base + "service: {}\n", "at least one traces pipeline"},
      {"receivers:\n  otlp/: {protocols: {grpc: {}}}\n", "receivers.otlp/ (line 2): component ids are `type` or `type/name`"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    ExpectError(c.yaml, c.error);
  }
}

}  // namespace
}  // namespace vivace::pipeline
