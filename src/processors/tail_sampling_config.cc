// Parsing of the `tail_sampling` processor section. Keys, defaults and checks follow the
// Collector's processor/tailsamplingprocessor (config.go, README).

#include <re2/re2.h>

#include <limits>
#include <set>
#include <utility>

#include "conf/yaml.h"
#include "processors/tail_sampling.h"

namespace vivace::processors {
namespace {

using conf::Section;

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

// Where a policy sits decides which types it may have.
enum class Level { kTop, kSub, kCompositeSub };

struct TypeName {
  std::string_view name;
  PolicyType type;
};
constexpr TypeName kTypes[] = {
    {"always_sample", PolicyType::kAlwaysSample},
    {"latency", PolicyType::kLatency},
    {"numeric_attribute", PolicyType::kNumericAttribute},
    {"probabilistic", PolicyType::kProbabilistic},
    {"status_code", PolicyType::kStatusCode},
    {"string_attribute", PolicyType::kStringAttribute},
    {"rate_limiting", PolicyType::kRateLimiting},
    {"bytes_limiting", PolicyType::kBytesLimiting},
    {"span_count", PolicyType::kSpanCount},
    {"trace_state", PolicyType::kTraceState},
    {"trace_flags", PolicyType::kTraceFlags},
    {"boolean_attribute", PolicyType::kBooleanAttribute},
    {"and", PolicyType::kAnd},
    {"not", PolicyType::kNot},
    {"drop", PolicyType::kDrop},
    {"composite", PolicyType::kComposite},
};

std::string_view TypeNameOf(PolicyType t) {
  for (const TypeName& n : kTypes) {
    if (n.type == t) return n.name;
  }
  return "?";
}

// The mapping under the key named after the type (e.g. `latency: {threshold_ms: 100}`).
Status ParseTypeBlock(const YAML::Node& n, const std::string& path, PolicyConfig* c);
// Checks that need the whole policy, once its block was read; "" when fine.
std::string Validate(const PolicyConfig& c);

Status ParsePolicy(const YAML::Node& node, const std::string& path, PolicyConfig* c, Level level) {
  if (!node.IsMap()) return Section::Error(node, path, "must be a mapping with name and type");
  std::string type;
  bool has_type = false;
  // First pass: name and type, so the type block can be checked against the type.
  for (const auto& kv : node) {
    VV_ASSIGN_OR_RETURN(std::string key, conf::Key(kv.first, path));
    if (key == "name") {
      VV_ASSIGN_OR_RETURN(c->name, conf::Scalar(kv.second, conf::Join(path, key)));
    } else if (key == "type") {
      VV_ASSIGN_OR_RETURN(type, conf::Scalar(kv.second, conf::Join(path, key)));
      has_type = true;
    }
  }
  if (!has_type) return Section::Error(node, path, "type is required");
  if (type == "ottl_condition") {
    return Section::Error(
        node, conf::Join(path, "type"),
        "policy type ottl_condition is not supported by Vivace's tail_sampling; "
        "use string_attribute, numeric_attribute, boolean_attribute, status_code or and/not/drop "
        "combinations instead");
  }
  bool known = false;
  for (const TypeName& t : kTypes) {
    if (t.name == type) {
      c->type = t.type;
      known = true;
    }
  }
  if (!known) {
    std::string list;
    for (const TypeName& t : kTypes) list += (list.empty() ? "" : ", ") + std::string(t.name);
    return Section::Error(node, conf::Join(path, "type"),
                          "unknown policy type \"" + type + "\" (supported: " + list + ")");
  }
  if (level != Level::kTop && (c->type == PolicyType::kDrop || c->type == PolicyType::kComposite)) {
    return Section::Error(node, conf::Join(path, "type"),
                          "a " + type + " policy cannot be a sub-policy");
  }
  if (level == Level::kTop && c->name.empty())
    return Section::Error(node, path, "policy name cannot be empty");

  Section s(node, path);
  s.On("name", [](const YAML::Node&, const std::string&) { return Status::OK(); });
  s.On("type", [](const YAML::Node&, const std::string&) { return Status::OK(); });
  s.Otherwise([&](const YAML::Node& k, const YAML::Node& n, const std::string& p) -> Status {
    VV_ASSIGN_OR_RETURN(std::string key, conf::Key(k, path));
    bool is_type_block = false;
    for (const TypeName& t : kTypes) is_type_block |= t.name == key;
    if (!is_type_block && key != "ottl_condition") return Section::Error(k, p, "unknown key");
    if (key != type) {
      return Section::Error(
          k, p, "is the configuration of a " + key + " policy, but this policy has type " + type);
    }
    return ParseTypeBlock(n, p, c);
  });
  VV_RETURN_IF_ERROR(s.Run());
  std::string problem = Validate(*c);
  if (!problem.empty()) return Section::Error(node, path, problem);
  return Status::OK();
}

Status ParseSubPolicies(const YAML::Node& n, const std::string& path, PolicyConfig* c,
                        Level level) {
  c->sub_policies.clear();
  if (!n.IsSequence()) return Section::Error(n, path, "must be a list of policies");
  return conf::ForEach(n, path, [&](const YAML::Node& item, const std::string& p) {
    PolicyConfig sub;
    VV_RETURN_IF_ERROR(ParsePolicy(item, p, &sub, level));
    c->sub_policies.push_back(std::move(sub));
    return Status::OK();
  });
}

Status ParseTypeBlock(const YAML::Node& n, const std::string& path, PolicyConfig* c) {
  Section s(n, path);
  switch (c->type) {
    case PolicyType::kAlwaysSample:
    case PolicyType::kTraceFlags:
      break;
    case PolicyType::kLatency:
      s.On("threshold_ms", conf::Int64(&c->threshold_ms, 0, kI64Max));
      s.On("upper_threshold_ms", conf::Int64(&c->upper_threshold_ms, 0, kI64Max));
      break;
    case PolicyType::kNumericAttribute:
      s.On("key", conf::String(&c->key));
      s.On("min_value", conf::Int64(&c->min_value, kI64Min, kI64Max));
      s.On("max_value", conf::Int64(&c->max_value, kI64Min, kI64Max));
      s.On("invert_match", conf::Bool(&c->invert_match));
      break;
    case PolicyType::kProbabilistic:
      s.On("sampling_percentage", conf::Double(&c->sampling_percentage, -1e300, 1e300));
      s.On("hash_salt", conf::String(&c->hash_salt));
      break;
    case PolicyType::kStatusCode:
      s.On("status_codes", conf::StringList(&c->status_codes));
      break;
    case PolicyType::kStringAttribute:
      s.On("key", conf::String(&c->key));
      s.On("values", conf::StringList(&c->values));
      s.On("enabled_regex_matching", conf::Bool(&c->enabled_regex_matching));
      s.On("cache_max_size", conf::Int64(&c->cache_max_size, 0, 1 << 30));
      s.On("invert_match", conf::Bool(&c->invert_match));
      break;
    case PolicyType::kRateLimiting:
      s.On("spans_per_second", conf::Int64(&c->spans_per_second, 1, kI64Max));
      break;
    case PolicyType::kBytesLimiting:
      s.On("bytes_per_second", conf::Int64(&c->bytes_per_second, 1, kI64Max));
      s.On("burst_capacity", conf::Int64(&c->burst_capacity, 0, kI64Max));
      break;
    case PolicyType::kSpanCount:
      s.On("min_spans", conf::Int64(&c->min_spans, 0, std::numeric_limits<int32_t>::max()));
      s.On("max_spans", conf::Int64(&c->max_spans, 0, std::numeric_limits<int32_t>::max()));
      break;
    case PolicyType::kTraceState:
      s.On("key", conf::String(&c->key));
      s.On("values", conf::StringList(&c->values));
      break;
    case PolicyType::kBooleanAttribute:
      s.On("key", conf::String(&c->key));
      s.On("value", conf::Bool(&c->bool_value));
      s.On("invert_match", conf::Bool(&c->invert_match));
      break;
    case PolicyType::kAnd:
      s.On("and_sub_policy", [c](const YAML::Node& v, const std::string& p) {
        return ParseSubPolicies(v, p, c, Level::kSub);
      });
      break;
    case PolicyType::kDrop:
      s.On("drop_sub_policy", [c](const YAML::Node& v, const std::string& p) {
        return ParseSubPolicies(v, p, c, Level::kSub);
      });
      break;
    case PolicyType::kNot:
      s.On("not_sub_policy", [c](const YAML::Node& v, const std::string& p) {
        PolicyConfig sub;
        VV_RETURN_IF_ERROR(ParsePolicy(v, p, &sub, Level::kSub));
        c->sub_policies.assign(1, std::move(sub));
        return Status::OK();
      });
      break;
    case PolicyType::kComposite:
      s.On("max_total_spans_per_second", conf::Int64(&c->max_total_spans_per_second, 0, kI64Max));
      s.On("policy_order", conf::StringList(&c->policy_order));
      s.On("composite_sub_policy", [c](const YAML::Node& v, const std::string& p) {
        return ParseSubPolicies(v, p, c, Level::kCompositeSub);
      });
      s.On("rate_allocation", [c](const YAML::Node& v, const std::string& p) {
        c->rate_allocation.clear();
        if (!v.IsSequence()) return Section::Error(v, p, "must be a list of {policy, percent}");
        return conf::ForEach(v, p, [c](const YAML::Node& item, const std::string& ip) {
          RateAllocation a;
          VV_RETURN_IF_ERROR(Section(item, ip)
                                 .On("policy", conf::String(&a.policy))
                                 .On("percent", conf::Int64(&a.percent, 0, 100))
                                 .Run());
          c->rate_allocation.push_back(std::move(a));
          return Status::OK();
        });
      });
      break;
  }
  return s.Run();
}

std::string Validate(const PolicyConfig& c) {
  const std::string type(TypeNameOf(c.type));
  switch (c.type) {
    case PolicyType::kLatency:
      if (c.upper_threshold_ms != 0 && c.upper_threshold_ms <= c.threshold_ms) {
        return "latency.upper_threshold_ms must be greater than threshold_ms (or 0 for no upper "
               "bound)";
      }
      break;
    case PolicyType::kNumericAttribute:
      if (c.key.empty()) return "numeric_attribute.key is required";
      if (c.min_value == 0 && c.max_value == 0) {
        return "numeric_attribute needs min_value or max_value (0 means unbounded)";
      }
      if (c.min_value != 0 && c.max_value != 0 && c.max_value < c.min_value) {
        return "numeric_attribute.max_value must be >= min_value";
      }
      break;
    case PolicyType::kStatusCode:
      if (c.status_codes.empty())
        return "status_code.status_codes needs at least one of OK, ERROR, UNSET";
      for (const std::string& code : c.status_codes) {
        if (code != "OK" && code != "ERROR" && code != "UNSET") {
          return "unknown status code \"" + code + "\" (supported: OK, ERROR, UNSET)";
        }
      }
      break;
    case PolicyType::kStringAttribute:
      if (c.key.empty()) return "string_attribute.key is required";
      if (c.enabled_regex_matching) {
        for (const std::string& v : c.values) {
          re2::RE2 re(v, re2::RE2::Quiet);
          if (!re.ok())
            return "string_attribute: invalid regular expression \"" + v + "\": " + re.error();
        }
      }
      break;
    case PolicyType::kBooleanAttribute:
    case PolicyType::kTraceState:
      if (c.key.empty()) return type + ".key is required";
      break;
    case PolicyType::kRateLimiting:
      if (c.spans_per_second <= 0) return "rate_limiting.spans_per_second is required";
      break;
    case PolicyType::kBytesLimiting:
      if (c.bytes_per_second <= 0) return "bytes_limiting.bytes_per_second is required";
      break;
    case PolicyType::kSpanCount:
      if (c.max_spans != 0 && c.max_spans < c.min_spans) {
        return "span_count.max_spans must be >= min_spans (or 0 for no upper bound)";
      }
      break;
    case PolicyType::kAnd:
    case PolicyType::kDrop:
      if (c.sub_policies.empty())
        return type + "." + type + "_sub_policy needs at least one policy";
      break;
    case PolicyType::kNot:
      if (c.sub_policies.size() != 1) return "not.not_sub_policy is required";
      break;
    case PolicyType::kComposite: {
      if (c.sub_policies.empty()) return "composite.composite_sub_policy needs at least one policy";
      std::set<std::string> names;
      for (const PolicyConfig& s : c.sub_policies) names.insert(s.name);
      for (const RateAllocation& a : c.rate_allocation) {
        if (names.count(a.policy) == 0) {
          return "composite.rate_allocation names \"" + a.policy +
                 "\", which is not a composite_sub_policy";
        }
      }
      for (const std::string& p : c.policy_order) {
        if (names.count(p) == 0) {
          return "composite.policy_order names \"" + p + "\", which is not a composite_sub_policy";
        }
      }
      break;
    }
    default:
      break;
  }
  return "";
}

}  // namespace

Result<TailSamplingOptions> ParseTailSamplingOptions(const YAML::Node& node,
                                                     const std::string& path) {
  TailSamplingOptions o;
  bool has_policies = false;
  VV_RETURN_IF_ERROR(
      Section(node, path)
          .On("decision_wait", conf::Duration(&o.decision_wait))
          .On("num_traces", conf::Int(&o.num_traces, 1, std::numeric_limits<uint32_t>::max() / 2))
          .On("expected_new_traces_per_sec",
              conf::Int(&o.expected_new_traces_per_sec, 0, 1ull << 32))
          .On("decision_cache",
              [&o](const YAML::Node& n, const std::string& p) {
                return Section(n, p)
                    .On("sampled_cache_size", conf::Int(&o.sampled_cache_size, 0,
                                                        std::numeric_limits<uint32_t>::max() / 2))
                    .On("non_sampled_cache_size",
                        conf::Int(&o.non_sampled_cache_size, 0,
                                  std::numeric_limits<uint32_t>::max() / 2))
                    .Run();
              })
          .On("sample_on_first_match", conf::Bool(&o.sample_on_first_match))
          .On("drop_pending_traces_on_shutdown", conf::Bool(&o.drop_pending_traces_on_shutdown))
          .On("policies",
              [&](const YAML::Node& n, const std::string& p) -> Status {
                has_policies = true;
                if (!n.IsSequence()) return Section::Error(n, p, "must be a list of policies");
                std::set<std::string> names;
                return conf::ForEach(
                    n, p, [&](const YAML::Node& item, const std::string& ip) -> Status {
                      PolicyConfig c;
                      VV_RETURN_IF_ERROR(ParsePolicy(item, ip, &c, Level::kTop));
                      if (!names.insert(c.name).second)
                        return Section::Error(item, ip, "duplicate policy name \"" + c.name + "\"");
                      // Builds the evaluator once, so that what only fails there (a bad regex)
                      // is a configuration error.
                      auto built = BuildPolicy(c);
                      if (!built.ok()) return Section::Error(item, ip, built.status().message());
                      o.policies.push_back(std::move(c));
                      return Status::OK();
                    });
              })
          .Run());
  if (o.decision_wait.count() <= 0) {
    return InvalidArgument(conf::Join(path, "decision_wait") + ": must be greater than 0");
  }
  if (!has_policies || o.policies.empty()) {
    return InvalidArgument(conf::Join(path, "policies") + ": at least one policy is required");
  }
  return o;
}

}  // namespace vivace::processors
