#include "server/config.h"

#include "conf/yaml.h"


#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace vivace::server {
namespace {

using conf::Bool;
using conf::Bytes;
using conf::Duration;
using conf::Int;
using conf::Section;
using conf::String;

Section::Handler Fraction(double* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, path));
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v > 0) || v > 0.5) {
      return Section::Error(n, path, "must be a number above 0 and at most 0.5");
    }
    *out = v;
    return Status::OK();
  };
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view s) { return conf::ParseDuration(s); }
Result<uint64_t> ParseBytes(std::string_view s) { return conf::ParseBytes(s); }

Result<Config> ParseConfig(std::string_view yaml) {
  VV_ASSIGN_OR_RETURN(YAML::Node root, conf::LoadYaml(yaml));
  Config c;
  std::string sync = "always";
  YAML::Node receivers, processors, exporters, extensions, service;
  auto stash = [](YAML::Node* out) {
    return [out](const YAML::Node& n, const std::string&) {
      *out = n;
      return Status::OK();
    };
  };
  Status st = Section(root, "")
      .On("receivers", stash(&receivers))
      .On("processors", stash(&processors))
      .On("exporters", stash(&exporters))
      .On("extensions", stash(&extensions))
      .On("service", stash(&service))
      .On("server", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p)
            .On("http_listen", String(&c.server.http_listen))
            .On("grpc_listen", String(&c.server.grpc_listen))
            .On("log_level", String(&c.server.log_level))
            .On("http_threads", Int(&c.server.http_threads, 0, 256))
            .Run();
      })
      .On("storage", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p)
            .On("path", String(&c.storage.path))
            .On("wal", [&](const YAML::Node& w, const std::string& wp) {
              return Section(w, wp)
                  .On("sync", String(&sync))
                  .On("sync_interval", Duration(&c.storage.wal_sync_interval))
                  .On("segment_size", Bytes(&c.storage.wal_segment_bytes, 1 << 20))
                  .Run();
            })
            .On("block", [&](const YAML::Node& b, const std::string& bp) {
              return Section(b, bp)
                  .On("compression", String(&c.storage.block_compression))
                  .On("row_group_spans", Int(&c.storage.block_row_group_spans, 64, 1 << 24))
                  .On("bloom_filter_false_positive", Fraction(&c.storage.block_bloom_false_positive))
                  .On("cache_size", Bytes(&c.storage.block_cache_bytes, 0))
                  .Run();
            })
            .On("blocklist_poll", Duration(&c.storage.blocklist_poll))
            .Run();
      })
      .On("ingester", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p)
            .On("max_pending_wal_bytes", Bytes(&c.ingester.max_pending_wal_bytes, 1 << 20))
            .On("trace_idle_period", Duration(&c.ingester.trace_idle_period))
            .On("max_block_bytes", Bytes(&c.ingester.max_block_bytes, 1 << 10))
            .On("max_block_duration", Duration(&c.ingester.max_block_duration))
            .On("flush_check_period", Duration(&c.ingester.flush_check_period))
            .Run();
      })
      .On("compactor", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p)
            .On("disabled", [&](const YAML::Node& d, const std::string& dp) {
              bool disabled = false;
              VV_RETURN_IF_ERROR(Bool(&disabled)(d, dp));
              c.compactor.enabled = !disabled;
              return Status::OK();
            })
            .On("compaction", [&](const YAML::Node& cn, const std::string& cp) {
              return Section(cn, cp)
                  .On("compaction_cycle", Duration(&c.compactor.compaction_cycle))
                  .On("compaction_window", Duration(&c.compactor.compaction_window))
                  .On("block_retention", Duration(&c.compactor.block_retention))
                  .On("compacted_block_retention", Duration(&c.compactor.compacted_block_retention))
                  .On("max_block_bytes", Bytes(&c.compactor.max_block_bytes, 1 << 10))
                  .On("max_compaction_objects", Int(&c.compactor.max_compaction_objects, 1, UINT64_MAX))
                  .On("min_input_blocks", Int(&c.compactor.min_input_blocks, 2, 64))
                  .On("max_input_blocks", Int(&c.compactor.max_input_blocks, 2, 64))
                  .Run();
            })
            .Run();
      })
      .On("overrides", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p)
            .On("per_tenant", [&](const YAML::Node& t, const std::string& tp) -> Status {
              if (!t || t.IsNull()) return Status::OK();
              if (!t.IsMap()) return Section::Error(t, tp, "must be a mapping of tenant ids");
              for (const auto& kv : t) {
                VV_ASSIGN_OR_RETURN(std::string tenant, conf::Key(kv.first, tp));
                Config::TenantOverrides& o = c.overrides[tenant];
                VV_RETURN_IF_ERROR(
                    Section(kv.second, tp + "." + tenant)
                        .On("compaction", [&](const YAML::Node& cn, const std::string& cp) {
                          std::chrono::milliseconds retention{0};
                          Status s = Section(cn, cp).On("block_retention", Duration(&retention)).Run();
                          if (s.ok() && cn["block_retention"]) o.block_retention = retention;
                          return s;
                        })
                        .Run());
              }
              return Status::OK();
            })
            .Run();
      })
      .On("distributor", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p)
            .On("receivers", [&](const YAML::Node& r, const std::string& rp) {
              return Section(r, rp)
                  .On("otlp", [&](const YAML::Node& o, const std::string& op) {
                    c.otlp.grpc_enabled = false;  // as in the Collector: listed protocols only
                    c.otlp.http_enabled = false;
                    return Section(o, op)
                        .On("protocols", [&](const YAML::Node& pr, const std::string& pp) {
                          return Section(pr, pp)
                              .On("grpc", [&](const YAML::Node& g, const std::string& gp) {
                                c.otlp.grpc_enabled = true;
                                uint64_t mib = c.otlp.grpc_max_recv_msg_bytes >> 20;
                                Status s = Section(g, gp)
                                               .On("endpoint", String(&c.otlp.grpc_endpoint))
                                               .On("max_recv_msg_size_mib", Int(&mib, 1, 1024))
                                               .Run();
                                c.otlp.grpc_max_recv_msg_bytes = mib << 20;
                                return s;
                              })
                              .On("http", [&](const YAML::Node& h, const std::string& hp) {
                                c.otlp.http_enabled = true;
                                return Section(h, hp)
                                    .On("endpoint", String(&c.otlp.http_endpoint))
                                    .On("max_request_body_size", Bytes(&c.otlp.http_max_request_body_bytes, 1024))
                                    .Run();
                              })
                              .Run();
                        })
                        .Run();
                  })
                  .Run();
            })
            .Run();
      })
      .On("limits", [&](const YAML::Node& n, const std::string& p) {
        return Section(n, p).On("max_attribute_value_depth", Int(&c.limits.max_attribute_value_depth, 1, 256)).Run();
      })
      .Run();
  VV_RETURN_IF_ERROR(st);
  VV_ASSIGN_OR_RETURN(c.collector, pipeline::ParseCollectorConfig(pipeline::CollectorNodes{
                                       &receivers, &processors, &exporters, &extensions, &service}));
  if (sync == "always") {
    c.storage.wal_sync = wal::SyncPolicy::kAlways;
  } else if (sync == "interval") {
    c.storage.wal_sync = wal::SyncPolicy::kInterval;
  } else if (sync == "none") {
    c.storage.wal_sync = wal::SyncPolicy::kNone;
  } else {
    return InvalidArgument("storage.wal.sync: must be always, interval or none, not \"" + sync + "\"");
  }
  if (c.storage.wal_sync_interval.count() <= 0) return InvalidArgument("storage.wal.sync_interval: must be positive");
  if (c.storage.block_compression != "zstd" && c.storage.block_compression != "lz4" &&
      c.storage.block_compression != "none") {
    return InvalidArgument("storage.block.compression: must be zstd, lz4 or none, not \"" + c.storage.block_compression +
                           "\"");
  }
  if (c.compactor.max_input_blocks < c.compactor.min_input_blocks) {
    return InvalidArgument("compactor.compaction.max_input_blocks: must be at least min_input_blocks");
  }
  if (c.compactor.compaction_cycle.count() <= 0 || c.compactor.compaction_window.count() < 1000) {
    return InvalidArgument("compactor.compaction: compaction_cycle must be positive and compaction_window at least 1s");
  }
  if (c.storage.blocklist_poll.count() <= 0) return InvalidArgument("storage.blocklist_poll: must be positive");
  static const char* kLevels[] = {"debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok |= c.server.log_level == l;
  if (!level_ok) return InvalidArgument("server.log_level: must be debug, info, warn or error");
  return c;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseConfig(ss.str());
  if (!c.ok()) return c.status().WithContext(path);
  return c;
}

}  // namespace vivace::server
