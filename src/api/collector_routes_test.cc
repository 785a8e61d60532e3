#include "api/collector_routes.h"

#include <gtest/gtest.h>

#include <atomic>

#include "pipeline/service.h"

namespace vivace::api {
namespace {

HttpResponse Get(const Router& router, std::string path, std::string query = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
  HttpResponse out;
  out.status = -1;
  router.Dispatch(std::move(r), [&](HttpResponse resp) { out = std::move(resp); });
  return out;
}

TEST(HealthCheckRouteTest, FollowsHealthWithTheCollectorsJson) {
  Router router;
  std::atomic<bool> healthy{true};
  RegisterHealthCheckRoute(&router, HealthCheckOptions{}, [&] { return healthy.load(); });
  HttpResponse ok = Get(router, "/");
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find(R"("status":"Server available")"), std::string::npos) << ok.body;
  EXPECT_NE(ok.body.find(R"("upSince":"20)"), std::string::npos) << ok.body;
  EXPECT_NE(ok.body.find(R"("uptime":")"), std::string::npos) << ok.body;
  healthy = false;
  HttpResponse down = Get(router, "/");
  EXPECT_EQ(down.status, 503);
  EXPECT_NE(down.body.find(R"("status":"Server not available")"), std::string::npos) << down.body;
}

TEST(HealthCheckRouteTest, ConfiguredPathAndBodies) {
  Router router;
  bool healthy = true;
  RegisterHealthCheckRoute(&router, HealthCheckOptions{"/health/status", "I'm OK", "I'm not well"},
                           [&] { return healthy; });
  EXPECT_EQ(Get(router, "/").status, 404);
  HttpResponse ok = Get(router, "/health/status");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "I'm OK");
  healthy = false;
  HttpResponse down = Get(router, "/health/status");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body, "I'm not well");
}

TEST(ZpagesRoutesTest, PipelinezAndTracez) {
  MetricsRegistry metrics;
  pipeline::CollectorConfig config;
  config.configured = true;
  config.receivers.push_back(pipeline::ReceiverConfig{"otlp", true});
  config.pipelines.push_back(pipeline::PipelineConfig{"traces/main", {"otlp"}, {}, {}});
  auto service = pipeline::Service::Build(config, pipeline::ServiceEnv{&metrics, nullptr, "/tmp"});
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  (*service)->tracez().End("exporter/otlp/traces", (*service)->tracez().Begin("exporter/otlp/traces"), 3,
                           Unavailable("backend down"));
  Router router;
  RegisterZpagesRoutes(&router, service->get(), "1.2.3");
  HttpResponse p = Get(router, "/debug/pipelinez");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.content_type, "text/html; charset=utf-8");
  EXPECT_NE(p.body.find("traces/main"), std::string::npos);
  HttpResponse t = Get(router, "/debug/tracez", "zspanname=exporter%2Fotlp%2Ftraces&ztype=2");
  EXPECT_EQ(t.status, 200);
  EXPECT_NE(t.body.find("backend down"), std::string::npos) << t.body;
  EXPECT_NE(Get(router, "/debug/servicez").body.find("1.2.3"), std::string::npos);
}

}  // namespace
}  // namespace vivace::api
