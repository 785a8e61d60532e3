#pragma once
// The Collector's extension endpoints: health_check and zpages (pipelinez, tracez, servicez).

#include <functional>
#include <string>

#include "api/http.h"

namespace vivace::pipeline {
class Service;
}

namespace vivace::api {

struct HealthCheckOptions {
  std::string path = "/";
  std::string healthy_body;    // empty: the Collector's JSON status
  std::string unhealthy_body;
};

/// GET <path>: 200 while `healthy()`, 503 otherwise, with the Collector's JSON body
/// {"status":"Server available","upSince":...,"uptime":...} unless bodies are configured.
void RegisterHealthCheckRoute(Router* router, HealthCheckOptions options, std::function<bool()> healthy);

/// GET /debug/pipelinez, /debug/tracez (zspanname, ztype, zlatencybucket), /debug/servicez.
void RegisterZpagesRoutes(Router* router, pipeline::Service* service, std::string version);

}  // namespace vivace::api
