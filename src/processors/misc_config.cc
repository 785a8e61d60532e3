// Configuration parsers of the redaction, attribute_limits, probabilistic_sampler, batch and
// memory_limiter processors: the Collector's keys, defaults and validation messages.

#include <fmt/format.h>
#include <re2/re2.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

#include "conf/yaml.h"
#include "processors/attribute_limits.h"
#include "processors/batch.h"
#include "processors/memory_limiter.h"
#include "processors/probabilistic_sampler.h"
#include "processors/redaction.h"

namespace vivace::processors {

using conf::Section;

namespace {

constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

/// A list of regexes, each checked to compile (the error names the element's line).
Section::Handler RegexList(std::vector<std::string>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    VV_RETURN_IF_ERROR(conf::StringList(out)(n, path));
    for (size_t i = 0; i < out->size(); ++i) {
      RE2::Options opts;
      opts.set_log_errors(false);
      RE2 re((*out)[i], opts);
      if (!re.ok()) {
        return Section::Error(n[i], path + "[" + std::to_string(i) + "]",
                              "error compiling regex \"" + (*out)[i] + "\": " + re.error());
      }
    }
    return Status::OK();
  };
}

Section::Handler Unsupported(std::string_view what) {
  return [what](const YAML::Node& n, const std::string& path) -> Status {
    return Section::Error(n, path, std::string(what) + " is not supported by vivace");
  };
}

/// A validation error about a whole section (the node may be absent: no line then).
Status SectionError(const YAML::Node& n, const std::string& path, std::string_view what) {
  if (!n || n.Mark().line < 0) return InvalidArgument(path + ": " + std::string(what));
  return Section::Error(n, path, what);
}

/// Accepted for compatibility and not used.
Status Ignore(const YAML::Node&, const std::string&) { return Status::OK(); }

/// A duration accepted for compatibility and not used.
Status IgnoredDuration(const YAML::Node& n, const std::string& path) {
  std::chrono::milliseconds unused{};
  return conf::Duration(&unused)(n, path);
}

}  // namespace

Result<RedactionOptions> ParseRedactionOptions(const YAML::Node& node, const std::string& path) {
  RedactionOptions o;
  auto hash = [&o](const YAML::Node& n, const std::string& p) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, p));
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s.empty()) {
      o.hash_function = RedactionHash::kNone;
    } else if (s == "md5") {
      o.hash_function = RedactionHash::kMd5;
    } else if (s == "sha1") {
      o.hash_function = RedactionHash::kSha1;
    } else if (s == "sha3") {
      o.hash_function = RedactionHash::kSha3;
    } else {
      return Section::Error(
          n, p, "unknown HashFunction " + s + ", allowed functions are sha1, sha3 and md5");
    }
    return Status::OK();
  };
  auto summary = [&o](const YAML::Node& n, const std::string& p) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, p));
    if (s == "debug") {
      o.summary = RedactionSummary::kDebug;
    } else if (s == "info") {
      o.summary = RedactionSummary::kInfo;
    } else if (s == "silent" || s.empty()) {
      o.summary = RedactionSummary::kSilent;
    } else {
      return Section::Error(n, p, "must be debug, info or silent");
    }
    return Status::OK();
  };
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("allow_all_keys", conf::Bool(&o.allow_all_keys))
                         .On("allowed_keys", conf::StringList(&o.allowed_keys))
                         .On("ignored_keys", conf::StringList(&o.ignored_keys))
                         .On("ignored_key_patterns", RegexList(&o.ignored_key_patterns))
                         .On("blocked_key_patterns", RegexList(&o.blocked_key_patterns))
                         .On("blocked_values", RegexList(&o.blocked_values))
                         .On("allowed_values", RegexList(&o.allowed_values))
                         .On("redact_all_types", conf::Bool(&o.redact_all_types))
                         .On("hash_function", hash)
                         .On("summary", summary)
                         .On("url_sanitizer", Unsupported("url_sanitizer"))
                         .On("db_sanitizer", Unsupported("db_sanitizer"))
                         .Run());
  return o;
}

Result<AttributeLimitsOptions> ParseAttributeLimitsOptions(const YAML::Node& node,
                                                           const std::string& path) {
  AttributeLimitsOptions o;
  auto optional = [](std::optional<uint32_t>* out) {
    return [out](const YAML::Node& n, const std::string& p) -> Status {
      uint32_t v = 0;
      VV_RETURN_IF_ERROR(conf::Int(&v, 0, kU32Max)(n, p));
      *out = v;
      return Status::OK();
    };
  };
  VV_RETURN_IF_ERROR(
      Section(node, path)
          .On("attribute_value_length_limit",
              conf::Int(&o.attribute_value_length_limit, 0, kU32Max))
          .On("attribute_count_limit", conf::Int(&o.attribute_count_limit, 0, kU32Max))
          .On("event_count_limit", conf::Int(&o.event_count_limit, 0, kU32Max))
          .On("link_count_limit", conf::Int(&o.link_count_limit, 0, kU32Max))
          .On("event_attribute_count_limit", optional(&o.event_attribute_count_limit))
          .On("link_attribute_count_limit", optional(&o.link_attribute_count_limit))
          .Run());
  return o;
}

Result<ProbabilisticSamplerOptions> ParseProbabilisticSamplerOptions(const YAML::Node& node,
                                                                     const std::string& path) {
  ProbabilisticSamplerOptions o;
  double pct = 0;
  std::optional<YAML::Node> pct_node;  // copied (a YAML::Node assignment would rebind)
  auto mode = [](const YAML::Node& n, const std::string& p) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, p));
    if (s.empty() || s == "hash_seed") return Status::OK();
    if (s == "proportional" || s == "equalizing") {
      return Section::Error(n, p, "mode \"" + s + "\" is not supported by vivace (only hash_seed)");
    }
    return Section::Error(n, p, "unsupported sampler mode \"" + s + "\"");
  };
  auto percentage = [&](const YAML::Node& n, const std::string& p) -> Status {
    VV_RETURN_IF_ERROR(conf::Double(&pct, -std::numeric_limits<double>::max(),
                                    std::numeric_limits<double>::max())(n, p));
    pct_node.emplace(n);
    return Status::OK();
  };
  int precision = o.sampling_precision;
  auto precision_handler = [&](const YAML::Node& n, const std::string& p) -> Status {
    int64_t v = 0;
    VV_RETURN_IF_ERROR(conf::Int64(&v, std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max())(n, p));
    if (v == 0) return Section::Error(n, p, "invalid sampling precision: 0");
    if (v > 14) {
      return Section::Error(
          n, p, "sampling precision is too great, should be <= 14: " + std::to_string(v));
    }
    if (v < 0) return Section::Error(n, p, "sampling precision must be from 1 to 14");
    precision = static_cast<int>(v);
    return Status::OK();
  };
  auto attribute_source = [](const YAML::Node& n, const std::string& p) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, p));
    if (s != "traceID" && s != "record") {
      return Section::Error(n, p,
                            "invalid attribute source: " + s + ". Expected: traceID or record");
    }
    return Status::OK();
  };
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("mode", mode)
                         .On("sampling_percentage", percentage)
                         .On("hash_seed", conf::Int(&o.hash_seed, 0, kU32Max))
                         .On("fail_closed", conf::Bool(&o.fail_closed))
                         .On("sampling_precision", precision_handler)
                         // Logs-only keys, accepted as the Collector does in a traces pipeline.
                         .On("attribute_source", attribute_source)
                         .On("from_attribute", Ignore)
                         .On("sampling_priority", Ignore)
                         .Run());
  o.sampling_precision = precision;
  if (pct_node) {
    const std::string p = conf::Join(path, "sampling_percentage");
    if (pct < 0) {
      return Section::Error(*pct_node, p, fmt::format("sampling rate is negative: {}%", pct));
    }
    // The Collector holds a float32: a larger number becomes +Inf, which it rejects.
    auto f = static_cast<float>(pct);
    if (std::isinf(f)) return Section::Error(*pct_node, p, "sampling rate is invalid: +Inf%");
    // The ratio is that float32 divided by 100; below 2^-56 nothing is representable.
    if (f > 0 && static_cast<double>(f) / 100 < std::ldexp(1.0, -56)) {
      return Section::Error(*pct_node, p, fmt::format("sampling rate is too small: {}%", pct));
    }
    o.sampling_percentage = f;
  }
  return o;
}

Result<BatchOptions> ParseBatchOptions(const YAML::Node& node, const std::string& path) {
  BatchOptions o;
  auto metadata_keys = [](const YAML::Node& n, const std::string& p) -> Status {
    std::vector<std::string> keys;
    VV_RETURN_IF_ERROR(conf::StringList(&keys)(n, p));
    if (!keys.empty()) {
      return Section::Error(
          n, p,
          "batching by client metadata is not supported by vivace: leave metadata_keys empty");
    }
    return Status::OK();
  };
  uint32_t cardinality = 1000;
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("timeout", conf::Duration(&o.timeout))
                         .On("send_batch_size", conf::Int(&o.send_batch_size, 0, kU32Max))
                         .On("send_batch_max_size", conf::Int(&o.send_batch_max_size, 0, kU32Max))
                         .On("metadata_keys", metadata_keys)
                         .On("metadata_cardinality_limit", conf::Int(&cardinality, 0, kU32Max))
                         .Run());
  if (o.send_batch_max_size != 0 && o.send_batch_max_size < o.send_batch_size) {
    return Section::Error(node["send_batch_max_size"], conf::Join(path, "send_batch_max_size"),
                          "send_batch_max_size must be greater or equal to send_batch_size");
  }
  return o;
}

Result<MemoryLimiterOptions> ParseMemoryLimiterOptions(const YAML::Node& node,
                                                       const std::string& path) {
  MemoryLimiterOptions o;
  VV_RETURN_IF_ERROR(
      Section(node, path)
          .On("check_interval", conf::Duration(&o.check_interval))
          .On("limit_mib", conf::Int(&o.limit_mib, 0, kU32Max))
          .On("spike_limit_mib", conf::Int(&o.spike_limit_mib, 0, kU32Max))
          .On("limit_percentage", conf::Int(&o.limit_percentage, 0, kU32Max))
          .On("spike_limit_percentage", conf::Int(&o.spike_limit_percentage, 0, kU32Max))
          .On("min_gc_interval_when_soft_limited",
              conf::Duration(&o.min_gc_interval_when_soft_limited))
          .On("min_gc_interval_when_hard_limited",
              conf::Duration(&o.min_gc_interval_when_hard_limited))
          // Newer Collectors' back-off bounds for forced GC: accepted, not used.
          .On("max_gc_interval_when_soft_limited", IgnoredDuration)
          .On("max_gc_interval_when_hard_limited", IgnoredDuration)
          .Run());
  Status valid = ValidateMemoryLimiterOptions(o);
  if (!valid.ok()) return SectionError(node, path, valid.message());
  return o;
}

}  // namespace vivace::processors
