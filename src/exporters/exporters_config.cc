// Config parsers of the exporters (keys, defaults and validation as the Collector's
// exporterhelper, configretry, configtls, configgrpc/confighttp client and the exporters').

#include <fstream>
#include <sstream>

#include "conf/yaml.h"
#include "exporters/client_options.h"
#include "exporters/debug.h"
#include "exporters/otlp_grpc.h"
#include "exporters/otlp_http.h"
#include "exporters/retry.h"
#include "exporters/sending_queue.h"

namespace vivace::exporters {
namespace {

// The node of `key` if present (for error lines), else the section itself.
YAML::Node At(const YAML::Node& node, const char* key) {
  if (node && node.IsMap() && node[key]) return node[key];
  return node;
}

conf::Section::Handler Enum(std::string* out, std::vector<std::string> allowed) {
  return [out, allowed](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, path));
    for (const auto& a : allowed) {
      if (s == a) {
        *out = s;
        return Status::OK();
      }
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return conf::Section::Error(n, path, "must be one of " + list + " (got \"" + s + "\")");
  };
}

conf::Section::Handler Sub(std::function<Status(const YAML::Node&, const std::string&)> parse) {
  return parse;
}

// Keys every OTLP exporter shares: timeout, sending_queue, retry_on_failure, tls, headers.
void AddHelperKeys(conf::Section& s, ExporterHelperOptions* h, TlsOptions* tls,
                   HeaderList* headers) {
  s.On("timeout", conf::Duration(&h->timeout))
      .On("sending_queue",
          [h](const YAML::Node& n, const std::string& p) -> Status {
            VV_ASSIGN_OR_RETURN(h->queue, ParseSendingQueueOptions(n, p));
            return Status::OK();
          })
      .On("retry_on_failure",
          [h](const YAML::Node& n, const std::string& p) -> Status {
            VV_ASSIGN_OR_RETURN(h->retry, ParseRetryOptions(n, p));
            return Status::OK();
          })
      .On("tls", [tls](const YAML::Node& n,
                       const std::string& p) { return internal::ParseTls(n, p, tls); })
      .On("headers", [headers](const YAML::Node& n, const std::string& p) {
        return internal::ParseHeaders(n, p, headers);
      });
}

}  // namespace

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace internal {

Status ParseTls(const YAML::Node& node, const std::string& path, TlsOptions* out) {
  VV_RETURN_IF_ERROR(conf::Section(node, path)
                         .On("insecure", conf::Bool(&out->insecure))
                         .On("insecure_skip_verify", conf::Bool(&out->insecure_skip_verify))
                         .On("ca_file", conf::String(&out->ca_file))
                         .On("cert_file", conf::String(&out->cert_file))
                         .On("key_file", conf::String(&out->key_file))
                         .On("server_name_override", conf::String(&out->server_name_override))
                         .Run());
  if (out->cert_file.empty() != out->key_file.empty()) {
    return conf::Section::Error(node, path, "cert_file and key_file must be given together");
  }
  return Status::OK();
}

Status ParseHeaders(const YAML::Node& node, const std::string& path, HeaderList* out) {
  out->clear();
  if (!node || node.IsNull()) return Status::OK();
  if (!node.IsMap())
    return conf::Section::Error(node, path, "must be a mapping of header names to values");
  for (const auto& kv : node) {
    VV_ASSIGN_OR_RETURN(std::string key, conf::Key(kv.first, path));
    std::string p = conf::Join(path, key);
    if (key.empty()) return conf::Section::Error(kv.first, p, "header name is empty");
    for (char c : key) {
      if (c <= ' ' || c >= 127 || c == ':')
        return conf::Section::Error(kv.first, p, "invalid header name");
    }
    std::string value;
    if (!kv.second.IsNull()) {
      VV_ASSIGN_OR_RETURN(value, conf::Scalar(kv.second, p));
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      return conf::Section::Error(kv.second, p, "header value must be one line");
    }
    out->emplace_back(std::move(key), std::move(value));
  }
  return Status::OK();
}

Status ParseCompression(const YAML::Node& node, const std::string& path, bool allow_zstd_deflate,
                        Compression* out) {
  std::string s;
  if (!node.IsNull()) {
    VV_ASSIGN_OR_RETURN(s, conf::Scalar(node, path));
  }
  if (s.empty() || s == "none") {
    *out = Compression::kNone;
  } else if (s == "gzip") {
    *out = Compression::kGzip;
  } else if (allow_zstd_deflate && s == "zstd") {
    *out = Compression::kZstd;
  } else if (allow_zstd_deflate && s == "deflate") {
    *out = Compression::kDeflate;
  } else {
    return conf::Section::Error(
        node, path,
        std::string("unsupported compression \"") + s + "\" (use " +
            (allow_zstd_deflate ? "gzip, zstd, deflate or none)" : "gzip or none)"));
  }
  return Status::OK();
}

}  // namespace internal

Result<RetryOptions> ParseRetryOptions(const YAML::Node& node, const std::string& path) {
  RetryOptions o;
  VV_RETURN_IF_ERROR(conf::Section(node, path)
                         .On("enabled", conf::Bool(&o.enabled))
                         .On("initial_interval", conf::Duration(&o.initial_interval))
                         .On("max_interval", conf::Duration(&o.max_interval))
                         .On("max_elapsed_time", conf::Duration(&o.max_elapsed_time))
                         .On("multiplier", conf::Double(&o.multiplier, 0, 1e6))
                         .On("randomization_factor", conf::Double(&o.randomization_factor, 0, 1))
                         .Run());
  if (!o.enabled) return o;
  if (o.multiplier <= 0)
    return conf::Section::Error(At(node, "multiplier"), path, "'multiplier' must be positive");
  if (o.max_elapsed_time.count() > 0) {
    if (o.max_elapsed_time < o.initial_interval) {
      return conf::Section::Error(At(node, "max_elapsed_time"), path,
                                  "'max_elapsed_time' must not be less than 'initial_interval'");
    }
    if (o.max_elapsed_time < o.max_interval) {
      return conf::Section::Error(At(node, "max_elapsed_time"), path,
                                  "'max_elapsed_time' must not be less than 'max_interval'");
    }
  }
  return o;
}

Result<SendingQueueOptions> ParseSendingQueueOptions(const YAML::Node& node,
                                                     const std::string& path) {
  SendingQueueOptions o;
  std::string sizer = "requests";
  VV_RETURN_IF_ERROR(
      conf::Section(node, path)
          .On("enabled", conf::Bool(&o.enabled))
          .On("num_consumers", conf::Int(&o.num_consumers, 0, 100000))
          .On("queue_size", conf::Int64(&o.queue_size, 0, int64_t{1} << 50))
          .On("sizer", Enum(&sizer, {"requests", "items", "bytes"}))
          .On("block_on_overflow", conf::Bool(&o.block_on_overflow))
          .On("blocking", conf::Bool(&o.block_on_overflow))  // the Collector's deprecated name
          .On("wait_for_result", conf::Bool(&o.wait_for_result))
          .On("storage", conf::String(&o.storage))
          .On("batch", Sub([](const YAML::Node& n, const std::string& p) -> Status {
                return conf::Section::Error(n, p,
                                            "batching inside the sending queue is not supported; "
                                            "use the batch processor");
              }))
          .Run());
  o.sizer = sizer == "items"   ? QueueSizer::kItems
            : sizer == "bytes" ? QueueSizer::kBytes
                               : QueueSizer::kRequests;
  if (!o.enabled) return o;
  if (o.num_consumers <= 0) {
    return conf::Section::Error(At(node, "num_consumers"), path,
                                "`num_consumers` must be positive");
  }
  if (o.queue_size <= 0)
    return conf::Section::Error(At(node, "queue_size"), path, "`queue_size` must be positive");
  return o;
}

Result<OtlpGrpcOptions> ParseOtlpGrpcOptions(const YAML::Node& node, const std::string& path) {
  OtlpGrpcOptions o;
  conf::Section s(node, path);
  s.On("endpoint", conf::String(&o.endpoint))
      .On("compression",
          [&o](const YAML::Node& n, const std::string& p) {
            return internal::ParseCompression(n, p, /*allow_zstd_deflate=*/false, &o.compression);
          })
      .On("wait_for_ready", conf::Bool(&o.wait_for_ready))
      .On("authority", conf::String(&o.authority));
  AddHelperKeys(s, &o.helper, &o.tls, &o.headers);
  VV_RETURN_IF_ERROR(s.Run());
  if (o.endpoint.empty())
    return conf::Section::Error(node, path, "requires a non-empty \"endpoint\"");
  std::string_view target = o.endpoint;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) target.remove_prefix(scheme.size());
  }
  if (target.find("://") == std::string_view::npos) {
    // host:port (not a gRPC resolver URI such as dns:///host:port): the port must be there.
    size_t colon = target.rfind(':');
    std::string_view port =
        colon == std::string_view::npos ? std::string_view() : target.substr(colon + 1);
    while (!port.empty() && port.back() == '/') port.remove_suffix(1);
    bool digits = !port.empty();
    for (char c : port) digits &= (c >= '0' && c <= '9');
    if (!digits) {
      return conf::Section::Error(At(node, "endpoint"), conf::Join(path, "endpoint"),
                                  "must be host:port (got \"" + o.endpoint + "\")");
    }
  }
  return o;
}

Result<OtlpHttpOptions> ParseOtlpHttpOptions(const YAML::Node& node, const std::string& path) {
  OtlpHttpOptions o;
  o.helper.timeout = Millis(30000);  // confighttp's client default (otlp over gRPC: 5s)
  std::string encoding = "proto";
  conf::Section s(node, path);
  s.On("endpoint", conf::String(&o.endpoint))
      .On("traces_endpoint", conf::String(&o.traces_endpoint))
      .On("compression",
          [&o](const YAML::Node& n, const std::string& p) {
            return internal::ParseCompression(n, p, /*allow_zstd_deflate=*/true, &o.compression);
          })
      .On("encoding", Enum(&encoding, {"proto", "json"}))
      .On("disable_keep_alives", conf::Bool(&o.disable_keep_alives));
  AddHelperKeys(s, &o.helper, &o.tls, &o.headers);
  VV_RETURN_IF_ERROR(s.Run());
  o.helper.encoding = encoding == "json" ? RequestEncoding::kJson : RequestEncoding::kProto;
  Result<std::string> url = OtlpHttpTracesUrl(o);
  if (!url.ok()) {
    const char* key = !o.traces_endpoint.empty() ? "traces_endpoint" : "endpoint";
    return conf::Section::Error(At(node, key), path, url.status().message());
  }
  return o;
}

Result<DebugOptions> ParseDebugOptions(const YAML::Node& node, const std::string& path) {
  DebugOptions o;
  std::string verbosity = "basic";
  VV_RETURN_IF_ERROR(
      conf::Section(node, path)
          .On("verbosity", Enum(&verbosity, {"basic", "normal", "detailed"}))
          .On("sampling_initial", conf::Int64(&o.sampling_initial, 0, int64_t{1} << 40))
          .On("sampling_thereafter", conf::Int64(&o.sampling_thereafter, 0, int64_t{1} << 40))
          .On("use_internal_logger", conf::Bool(&o.use_internal_logger))
          .Run());
  o.verbosity = verbosity == "detailed" ? DebugVerbosity::kDetailed
                : verbosity == "normal" ? DebugVerbosity::kNormal
                                        : DebugVerbosity::kBasic;
  return o;
}

}  // namespace vivace::exporters
