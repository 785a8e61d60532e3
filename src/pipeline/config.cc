#include "pipeline/config.h"

#include <set>

#include "conf/yaml.h"
#include "pipeline/registry.h"

namespace vivace::pipeline {
namespace {

using conf::Section;

std::string Type(std::string_view id) { return std::string(id.substr(0, id.find('/'))); }

/// Component ids are `type` or `type/name` with a non-empty name.
Status CheckId(const YAML::Node& n, const std::string& path, std::string_view id) {
  size_t slash = id.find('/');
  if (id.empty() || slash == 0 || (slash != std::string_view::npos && slash + 1 == id.size())) {
    return Section::Error(n, path, "component ids are `type` or `type/name`");
  }
  return Status::OK();
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// receivers.otlp[/name]
Status ParseOtlpReceiver(const YAML::Node& n, const std::string& path, ReceiverConfig* r) {
  return Section(n, path)
      .On("protocols",
          [&](const YAML::Node& p, const std::string& pp) {
            return Section(p, pp)
                .On("grpc",
                    [&](const YAML::Node& g, const std::string& gp) {
                      r->grpc_enabled = true;
                      uint64_t mib = r->grpc_max_recv_msg_bytes >> 20;
                      Status s = Section(g, gp)
                                     .On("endpoint", conf::String(&r->grpc_endpoint))
                                     .On("max_recv_msg_size_mib", conf::Int(&mib, 1, 1024))
                                     .Run();
                      r->grpc_max_recv_msg_bytes = mib << 20;
                      return s;
                    })
                .On("http",
                    [&](const YAML::Node& h, const std::string& hp) {
                      r->http_enabled = true;
                      return Section(h, hp)
                          .On("endpoint", conf::String(&r->http_endpoint))
                          .On("max_request_body_size", conf::Bytes(&r->http_max_request_body_bytes, 1024))
                          .On("traces_url_path", conf::String(&r->http_traces_url_path))
                          .Run();
                    })
                .Run();
          })
      .Run();
}

Status ParseReceivers(const YAML::Node& n, CollectorConfig* c) {
  return Section(n, "receivers")
      .Otherwise([&](const YAML::Node& key, const YAML::Node& node, const std::string& path) -> Status {
        std::string id = path.substr(std::string("receivers.").size());
        VV_RETURN_IF_ERROR(CheckId(key, path, id));
        if (Type(id) != "otlp") {
          return Section::Error(key, path, "receiver type \"" + Type(id) + "\" is not supported (supported: otlp)");
        }
        ReceiverConfig r;
        r.id = id;
        VV_RETURN_IF_ERROR(ParseOtlpReceiver(node, path, &r));
        if (!r.grpc_enabled && !r.http_enabled) {
          return Section::Error(key, path, "must enable at least one protocol (protocols.grpc or protocols.http)");
        }
        c->receivers.push_back(std::move(r));
        return Status::OK();
      })
      .Run();
}

Status ParseProcessors(const YAML::Node& n, CollectorConfig* c) {
  return Section(n, "processors")
      .Otherwise([&](const YAML::Node& key, const YAML::Node& node, const std::string& path) -> Status {
        std::string id = path.substr(std::string("processors.").size());
        VV_RETURN_IF_ERROR(CheckId(key, path, id));
        const ProcessorType* type = FindProcessorType(Type(id));
        if (type == nullptr) {
          return Section::Error(key, path,
                                "processor type \"" + Type(id) + "\" is not supported (supported: " +
                                    Joined(ProcessorTypes()) + ")");
        }
        VV_ASSIGN_OR_RETURN(ProcessorFactory build, type->parse(node, path));
        c->processors[id] = ProcessorConfig{id, Type(id), std::move(build)};
        return Status::OK();
      })
      .Run();
}

Status ParseExporters(const YAML::Node& n, CollectorConfig* c) {
  return Section(n, "exporters")
      .Otherwise([&](const YAML::Node& key, const YAML::Node& node, const std::string& path) -> Status {
        std::string id = path.substr(std::string("exporters.").size());
        VV_RETURN_IF_ERROR(CheckId(key, path, id));
        const ExporterType* type = FindExporterType(Type(id));
        if (type == nullptr) {
          return Section::Error(key, path,
                                "exporter type \"" + Type(id) + "\" is not supported (supported: " +
                                    Joined(ExporterTypes()) + ")");
        }
        std::string storage;
        VV_ASSIGN_OR_RETURN(ExporterFactory build, type->parse(node, path, &storage));
        c->exporters[id] = ExporterConfig{id, Type(id), std::move(build), std::move(storage)};
        return Status::OK();
      })
      .Run();
}

struct Extensions {
  std::map<std::string, HealthCheckConfig> health_check;
  std::map<std::string, ZpagesConfig> zpages;
  std::map<std::string, FileStorageConfig> file_storage;
  std::map<std::string, int> lines;
};

Status ParseExtensions(const YAML::Node& n, Extensions* e) {
  return Section(n, "extensions")
      .Otherwise([&](const YAML::Node& key, const YAML::Node& node, const std::string& path) -> Status {
        std::string id = path.substr(std::string("extensions.").size());
        VV_RETURN_IF_ERROR(CheckId(key, path, id));
        std::string type = Type(id);
        if (type == "health_check") {
          HealthCheckConfig& h = e->health_check[id];
          bool ignored = false;
          std::chrono::milliseconds interval{0};
          int64_t threshold = 0;
          return Section(node, path)
              .On("endpoint", conf::String(&h.endpoint))
              .On("path", conf::String(&h.path))
              .On("response_body",
                  [&](const YAML::Node& b, const std::string& bp) {
                    return Section(b, bp)
                        .On("healthy", conf::String(&h.healthy_body))
                        .On("unhealthy", conf::String(&h.unhealthy_body))
                        .Run();
                  })
              // Documented by the Collector as not working; Vivace's health always reflects
              // the pipelines (see docs/configuration.md), so the flag changes nothing.
              .On("check_collector_pipeline",
                  [&](const YAML::Node& b, const std::string& bp) {
                    return Section(b, bp)
                        .On("enabled", conf::Bool(&ignored))
                        .On("interval", conf::Duration(&interval))
                        .On("exporter_failure_threshold", conf::Int64(&threshold, 0, INT32_MAX))
                        .Run();
                  })
              .Run();
        }
        if (type == "zpages") {
          return Section(node, path).On("endpoint", conf::String(&e->zpages[id].endpoint)).Run();
        }
        if (type == "file_storage") {
          FileStorageConfig& f = e->file_storage[id];
          std::chrono::milliseconds timeout{1000};
          return Section(node, path)
              .On("directory", conf::String(&f.directory))
              .On("create_directory", conf::Bool(&f.create_directory))
              .On("fsync", conf::Bool(&f.fsync))
              .On("timeout", conf::Duration(&timeout))
              .Run();
        }
        return Section::Error(key, path,
                              "extension type \"" + type + "\" is not supported (supported: file_storage, "
                              "health_check, zpages)");
      })
      .Run();
}

Status ParseTelemetry(const YAML::Node& n, const std::string& path, TelemetryConfig* t) {
  return Section(n, path)
      .On("logs",
          [&](const YAML::Node& l, const std::string& lp) {
            return Section(l, lp)
                .On("level", [&](const YAML::Node& v, const std::string& vp) -> Status {
                  VV_ASSIGN_OR_RETURN(std::string level, conf::Scalar(v, vp));
                  for (char& ch : level) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                  if (level != "debug" && level != "info" && level != "warn" && level != "error") {
                    return Section::Error(v, vp, "must be debug, info, warn or error");
                  }
                  t->logs_level = level;
                  return Status::OK();
                })
                .Run();
          })
      .On("metrics",
          [&](const YAML::Node& m, const std::string& mp) {
            return Section(m, mp)
                .On("address", conf::String(&t->metrics_address))
                .On("level",
                    [&](const YAML::Node& v, const std::string& vp) -> Status {
                      VV_ASSIGN_OR_RETURN(t->metrics_level, conf::Scalar(v, vp));
                      if (t->metrics_level != "none" && t->metrics_level != "basic" &&
                          t->metrics_level != "normal" && t->metrics_level != "detailed") {
                        return Section::Error(v, vp, "must be none, basic, normal or detailed");
                      }
                      return Status::OK();
                    })
                // The newer form: readers: [{pull: {exporter: {prometheus: {host, port}}}}].
                .On("readers",
                    [&](const YAML::Node& r, const std::string& rp) {
                      return conf::ForEach(r, rp, [&](const YAML::Node& item, const std::string& ip) {
                        return Section(item, ip)
                            .On("pull",
                                [&](const YAML::Node& pull, const std::string& pp) {
                                  return Section(pull, pp)
                                      .On("exporter",
                                          [&](const YAML::Node& ex, const std::string& ep) {
                                            return Section(ex, ep)
                                                .On("prometheus",
                                                    [&](const YAML::Node& pr, const std::string& prp) {
                                                      std::string host = "localhost";
                                                      int64_t port = 8888;
                                                      Status s = Section(pr, prp)
                                                                     .On("host", conf::String(&host))
                                                                     .On("port", conf::Int64(&port, 0, 65535))
                                                                     .Run();
                                                      t->metrics_address = host + ":" + std::to_string(port);
                                                      return s;
                                                    })
                                                .Run();
                                          })
                                      .Run();
                                })
                            .Run();
                      });
                    })
                .Run();
          })
      .Run();
}

Status ParseIdList(const YAML::Node& n, const std::string& path, std::vector<std::string>* out) {
  VV_RETURN_IF_ERROR(conf::StringList(out)(n, path));
  std::set<std::string> seen;
  for (const auto& id : *out) {
    if (!seen.insert(id).second) return Section::Error(n, path, "lists \"" + id + "\" twice");
  }
  return Status::OK();
}

}  // namespace

Result<CollectorConfig> ParseCollectorConfig(const CollectorNodes& nodes) {
  CollectorConfig c;
  auto present = [](const YAML::Node* n) { return n != nullptr && n->IsDefined() && !n->IsNull(); };
  if (present(nodes.receivers)) VV_RETURN_IF_ERROR(ParseReceivers(*nodes.receivers, &c));
  if (present(nodes.processors)) VV_RETURN_IF_ERROR(ParseProcessors(*nodes.processors, &c));
  if (present(nodes.exporters)) VV_RETURN_IF_ERROR(ParseExporters(*nodes.exporters, &c));
  Extensions ext;
  if (present(nodes.extensions)) VV_RETURN_IF_ERROR(ParseExtensions(*nodes.extensions, &ext));
  if (!present(nodes.service)) {
    if (!c.receivers.empty() || !c.processors.empty() || !c.exporters.empty()) {
      return InvalidArgument("service: missing; receivers, processors and exporters take effect only in "
                             "service.pipelines");
    }
    return c;
  }
  c.configured = true;
  const YAML::Node& service = *nodes.service;
  std::vector<std::string> extension_ids;
  std::optional<YAML::Node> extensions_node;
  VV_RETURN_IF_ERROR(
      Section(service, "service")
          .On("extensions",
              [&](const YAML::Node& n, const std::string& p) {
                extensions_node = n;
                return ParseIdList(n, p, &extension_ids);
              })
          .On("telemetry", [&](const YAML::Node& n, const std::string& p) { return ParseTelemetry(n, p, &c.telemetry); })
          .On("pipelines",
              [&](const YAML::Node& n, const std::string& p) {
                return Section(n, p)
                    .Otherwise([&](const YAML::Node& pkey, const YAML::Node& pn, const std::string& pp) -> Status {
                      std::string id = pp.substr(p.size() + 1);
                      VV_RETURN_IF_ERROR(CheckId(pkey, pp, id));
                      if (Type(id) != "traces") {
                        return Section::Error(pkey, pp, "only traces pipelines are supported, not \"" + Type(id) + "\"");
                      }
                      PipelineConfig pl;
                      pl.id = id;
                      VV_RETURN_IF_ERROR(
                          Section(pn, pp)
                              .On("receivers", [&](const YAML::Node& l, const std::string& lp) -> Status {
                                VV_RETURN_IF_ERROR(ParseIdList(l, lp, &pl.receivers));
                                for (const auto& r : pl.receivers) {
                                  bool found = false;
                                  for (const auto& rc : c.receivers) found |= rc.id == r;
                                  if (!found) return Section::Error(l, lp, "receiver \"" + r + "\" is not configured under receivers");
                                }
                                return Status::OK();
                              })
                              .On("processors", [&](const YAML::Node& l, const std::string& lp) -> Status {
                                VV_RETURN_IF_ERROR(ParseIdList(l, lp, &pl.processors));
                                for (const auto& r : pl.processors) {
                                  if (!c.processors.contains(r)) {
                                    return Section::Error(l, lp, "processor \"" + r + "\" is not configured under processors");
                                  }
                                }
                                return Status::OK();
                              })
                              .On("exporters", [&](const YAML::Node& l, const std::string& lp) -> Status {
                                VV_RETURN_IF_ERROR(ParseIdList(l, lp, &pl.exporters));
                                for (const auto& r : pl.exporters) {
                                  if (!c.exporters.contains(r)) {
                                    return Section::Error(l, lp, "exporter \"" + r + "\" is not configured under exporters");
                                  }
                                }
                                return Status::OK();
                              })
                              .Run());
                      if (pl.receivers.empty()) return Section::Error(pkey, pp, "must have at least one receiver");
                      if (pl.exporters.empty()) return Section::Error(pkey, pp, "must have at least one exporter");
                      c.pipelines.push_back(std::move(pl));
                      return Status::OK();
                    })
                    .Run();
              })
          .Run());
  if (c.pipelines.empty()) return InvalidArgument("service.pipelines: at least one traces pipeline is required");
  for (const std::string& id : extension_ids) {
    if (auto it = ext.health_check.find(id); it != ext.health_check.end()) {
      if (c.health_check) return Section::Error(*extensions_node, "service.extensions", "only one health_check may be enabled");
      c.health_check = it->second;
    } else if (auto z = ext.zpages.find(id); z != ext.zpages.end()) {
      if (c.zpages) return Section::Error(*extensions_node, "service.extensions", "only one zpages may be enabled");
      c.zpages = z->second;
    } else if (auto f = ext.file_storage.find(id); f != ext.file_storage.end()) {
      c.file_storage[id] = f->second;
    } else {
      return Section::Error(*extensions_node, "service.extensions", "extension \"" + id + "\" is not configured under extensions");
    }
  }
  for (const auto& [id, e] : c.exporters) {
    if (!e.storage.empty() && !c.file_storage.contains(e.storage)) {
      return InvalidArgument("exporters." + id + ".sending_queue.storage: extension \"" + e.storage +
                             "\" is not a file_storage listed in service.extensions");
    }
  }
  return c;
}

}  // namespace vivace::pipeline
