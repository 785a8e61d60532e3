// Configuration parsers of the attributes, resource, span and filter processors (and of the
// pieces they share: attribute actions, include/exclude matching, typed literal values).

#include <re2/re2.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "conf/yaml.h"
#include "processors/attributes.h"
#include "processors/filter.h"
#include "processors/ottl_condition.h"
#include "processors/span_matcher.h"
#include "processors/span_processor.h"

namespace vivace::processors {

using conf::Section;

namespace {

bool NullNode(const YAML::Node& n) { return !n || n.IsNull(); }

// Go's strconv.ParseInt(s, 0, 64) after yaml.v3 drops underscores: decimal, 0x, 0o, 0b and
// leading-zero octal.
std::optional<int64_t> YamlInt(std::string s) {
  std::erase(s, '_');
  std::string_view v = s;
  bool neg = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    neg = v[0] == '-';
    v.remove_prefix(1);
  }
  if (v.empty()) return std::nullopt;
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  } else if (v.size() > 2 && v[0] == '0' && (v[1] == 'o' || v[1] == 'O')) {
    base = 8;
    v.remove_prefix(2);
  } else if (v.size() > 2 && v[0] == '0' && (v[1] == 'b' || v[1] == 'B')) {
    base = 2;
    v.remove_prefix(2);
  } else if (v.size() > 1 && v[0] == '0') {
    base = 8;
    v.remove_prefix(1);
  }
  uint64_t mag = 0;
  for (char c : v) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : 99;
    if (d >= base) return std::nullopt;
    if (mag > (std::numeric_limits<uint64_t>::max() - d) / base) return std::nullopt;
    mag = mag * base + d;
  }
  if (!neg && mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  if (neg && mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1)
    return std::nullopt;
  return neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
}

// yaml.v3's float resolution: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and .inf/.nan.
std::optional<double> YamlFloat(const std::string& s) {
  constexpr std::string_view kInf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
  constexpr std::string_view kNegInf[] = {"-.inf", "-.Inf", "-.INF"};
  constexpr std::string_view kNan[] = {".nan", ".NaN", ".NAN"};
  for (std::string_view w : kInf) {
    if (s == w) return std::numeric_limits<double>::infinity();
  }
  for (std::string_view w : kNegInf) {
    if (s == w) return -std::numeric_limits<double>::infinity();
  }
  for (std::string_view w : kNan) {
    if (s == w) return std::numeric_limits<double>::quiet_NaN();
  }
  size_t i = 0;
  auto digits = [&]() {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  } else {
    if (!digits()) return std::nullopt;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

Section::Handler ConfigValueField(std::optional<ConfigValue>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(*out, ParseConfigValue(n, path));
    return Status::OK();
  };
}

Status StatusAt(const YAML::Node& n, const std::string& path, const Status& st) {
  return st.ok() ? st : Section::Error(n, path, st.message());
}

Section::Handler MatchField(std::optional<MatchProperties>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    if (NullNode(n)) return Status::OK();
    VV_ASSIGN_OR_RETURN(*out, ParseMatchProperties(n, path));
    return Status::OK();
  };
}

Section::Handler MatchAttributes(std::vector<MatchAttributeConfig>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    out->clear();
    return conf::ForEach(n, path, [out](const YAML::Node& item, const std::string& p) -> Status {
      MatchAttributeConfig a;
      VV_RETURN_IF_ERROR(Section(item, p)
                             .On("key", conf::String(&a.key))
                             .On("value", ConfigValueField(&a.value))
                             .Run());
      if (a.key.empty())
        return Section::Error(item, p, "can't have empty key in the list of attributes");
      out->push_back(std::move(a));
      return Status::OK();
    });
  };
}

Section::Handler NotForSpans(std::string_view field) {
  return [field](const YAML::Node& n, const std::string& path) -> Status {
    return Section::Error(n, path, std::string(field) + " should not be specified for trace spans");
  };
}

Result<OttlErrorMode> ParseErrorMode(const YAML::Node& n, const std::string& path) {
  VV_ASSIGN_OR_RETURN(std::string s, conf::Scalar(n, path));
  if (s == "ignore") return OttlErrorMode::kIgnore;
  if (s == "silent") return OttlErrorMode::kSilent;
  if (s == "propagate") return OttlErrorMode::kPropagate;
  return Section::Error(n, path,
                        "unknown error mode \"" + s + "\" (use ignore, silent or propagate)");
}

// A list of OTTL conditions, each parsed (and reported at its own line) for `context`.
Status ParseConditions(const YAML::Node& n, const std::string& path, OttlContext context,
                       std::vector<std::string>* out) {
  return conf::ForEach(n, path, [&](const YAML::Node& item, const std::string& p) -> Status {
    VV_ASSIGN_OR_RETURN(std::string text, conf::Scalar(item, p));
    VV_RETURN_IF_ERROR(StatusAt(item, p, OttlCondition::Parse(text, context).status()));
    out->push_back(std::move(text));
    return Status::OK();
  });
}

Section::Handler Ignored() {
  return [](const YAML::Node&, const std::string&) { return Status::OK(); };
}

}  // namespace

Result<std::optional<ConfigValue>> ParseConfigValue(const YAML::Node& n, const std::string& path) {
  if (NullNode(n)) return std::optional<ConfigValue>();
  if (!n.IsScalar()) {
    return Section::Error(n, path,
                          "must be a string, number or boolean (lists and maps are not supported)");
  }
  const std::string& s = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "!!str")
    return std::optional(ConfigValue::String(s));
  if (s == "true" || s == "True" || s == "TRUE") return std::optional(ConfigValue::Bool(true));
  if (s == "false" || s == "False" || s == "FALSE") return std::optional(ConfigValue::Bool(false));
  if (auto i = YamlInt(s)) return std::optional(ConfigValue::Int(*i));
  if (auto d = YamlFloat(s)) return std::optional(ConfigValue::Double(*d));
  return std::optional(ConfigValue::String(s));
}

Result<std::vector<AttrActionConfig>> ParseAttrActions(const YAML::Node& node,
                                                       const std::string& path) {
  std::vector<AttrActionConfig> out;
  VV_RETURN_IF_ERROR(
      conf::ForEach(node, path, [&out](const YAML::Node& item, const std::string& p) -> Status {
        AttrActionConfig a;
        VV_RETURN_IF_ERROR(Section(item, p)
                               .On("key", conf::String(&a.key))
                               .On("action", conf::String(&a.action))
                               .On("value", ConfigValueField(&a.value))
                               .On("from_attribute", conf::String(&a.from_attribute))
                               .On("from_context", conf::String(&a.from_context))
                               .On("default_value", ConfigValueField(&a.default_value))
                               .On("pattern", conf::String(&a.pattern))
                               .On("converted_type", conf::String(&a.converted_type))
                               .Run());
        VV_RETURN_IF_ERROR(StatusAt(item, p, AttrActions::Validate(a)));
        out.push_back(std::move(a));
        return Status::OK();
      }));
  return out;
}

Result<MatchProperties> ParseMatchProperties(const YAML::Node& node, const std::string& path) {
  MatchProperties mp;
  VV_RETURN_IF_ERROR(
      Section(node, path)
          .On("match_type", conf::String(&mp.match_type))
          .On("regexp",
              [&mp](const YAML::Node& n, const std::string& p) {
                return Section(n, p)
                    .On("cacheenabled", conf::Bool(&mp.regexp_cache_enabled))
                    .On("cachemaxnumentries",
                        conf::Int64(&mp.regexp_cache_max_entries, 0, INT32_MAX))
                    .Run();
              })
          .On("services", conf::StringList(&mp.services))
          .On("span_names", conf::StringList(&mp.span_names))
          .On("span_kinds", conf::StringList(&mp.span_kinds))
          .On("attributes", MatchAttributes(&mp.attributes))
          .On("resources", MatchAttributes(&mp.resources))
          .On("libraries",
              [&mp](const YAML::Node& n, const std::string& p) {
                return conf::ForEach(
                    n, p, [&mp](const YAML::Node& item, const std::string& ip) -> Status {
                      MatchLibraryConfig lib;
                      VV_RETURN_IF_ERROR(
                          Section(item, ip)
                              .On("name", conf::String(&lib.name))
                              .On("version",
                                  [&lib](const YAML::Node& v, const std::string& vp) -> Status {
                                    if (NullNode(v)) return Status::OK();
                                    VV_ASSIGN_OR_RETURN(lib.version, conf::Scalar(v, vp));
                                    return Status::OK();
                                  })
                              .Run());
                      mp.libraries.push_back(std::move(lib));
                      return Status::OK();
                    });
              })
          .On("log_bodies", NotForSpans("log_bodies"))
          .On("log_severity_texts", NotForSpans("log_severity_texts"))
          .On("log_severity_number", NotForSpans("log_severity_number"))
          .On("metric_names", NotForSpans("metric_names"))
          .Run());
  if (mp.match_type.empty())
    return Section::Error(node, path, "missing required field \"match_type\" (strict or regexp)");
  VV_RETURN_IF_ERROR(StatusAt(node, path, ValidateMatchProperties(mp)));
  return mp;
}

Result<AttributesOptions> ParseAttributesOptions(const YAML::Node& node, const std::string& path) {
  AttributesOptions o;
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("actions",
                             [&o](const YAML::Node& n, const std::string& p) -> Status {
                               VV_ASSIGN_OR_RETURN(o.actions, ParseAttrActions(n, p));
                               return Status::OK();
                             })
                         .On("include", MatchField(&o.match.include))
                         .On("exclude", MatchField(&o.match.exclude))
                         .Run());
  if (o.actions.empty()) return Section::Error(node, path, "missing required field \"actions\"");
  VV_RETURN_IF_ERROR(StatusAt(node, path, AttributesTransform::Create(o).status()));
  return o;
}

Result<ResourceOptions> ParseResourceOptions(const YAML::Node& node, const std::string& path) {
  ResourceOptions o;
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("attributes",
                             [&o](const YAML::Node& n, const std::string& p) -> Status {
                               VV_ASSIGN_OR_RETURN(o.attributes, ParseAttrActions(n, p));
                               return Status::OK();
                             })
                         .Run());
  if (o.attributes.empty())
    return Section::Error(node, path, "missing required field \"attributes\"");
  VV_RETURN_IF_ERROR(StatusAt(node, path, ResourceTransform::Create(o).status()));
  return o;
}

Result<SpanOptions> ParseSpanOptions(const YAML::Node& node, const std::string& path) {
  SpanOptions o;
  auto to_attributes = [&o](const YAML::Node& n, const std::string& p) -> Status {
    if (NullNode(n)) return Status::OK();
    SpanOptions::ToAttributes t;
    VV_RETURN_IF_ERROR(Section(n, p)
                           .On("rules",
                               [&t](const YAML::Node& rules, const std::string& rp) {
                                 return conf::ForEach(
                                     rules, rp,
                                     [&t](const YAML::Node& r, const std::string& ip) -> Status {
                                       VV_ASSIGN_OR_RETURN(std::string rule, conf::Scalar(r, ip));
                                       auto re = CompileGoRegexp(rule);
                                       if (!re.ok())
                                         return Section::Error(r, ip, re.status().message());
                                       t.rules.push_back(std::move(rule));
                                       return Status::OK();
                                     });
                               })
                           .On("break_after_match", conf::Bool(&t.break_after_match))
                           .On("keep_original_name", conf::Bool(&t.keep_original_name))
                           .Run());
    o.to_attributes = std::move(t);
    return Status::OK();
  };
  auto status = [&o](const YAML::Node& n, const std::string& p) -> Status {
    if (NullNode(n)) return Status::OK();
    SpanOptions::SetStatus s;
    VV_RETURN_IF_ERROR(Section(n, p)
                           .On("code", conf::String(&s.code))
                           .On("description", conf::String(&s.description))
                           .Run());
    if (s.code != "Unset" && s.code != "Error" && s.code != "Ok") {
      return Section::Error(
          n, p, "\"code\" must be \"Ok\", \"Error\" or \"Unset\", not \"" + s.code + "\"");
    }
    if (!s.description.empty() && s.code != "Error") {
      return Section::Error(n, p, "\"description\" can be specified only for \"code\" \"Error\"");
    }
    o.status = std::move(s);
    return Status::OK();
  };
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("name",
                             [&](const YAML::Node& n, const std::string& p) {
                               return Section(n, p)
                                   .On("from_attributes", conf::StringList(&o.from_attributes))
                                   .On("separator", conf::String(&o.separator))
                                   .On("to_attributes", to_attributes)
                                   .Run();
                             })
                         .On("status", status)
                         .On("include", MatchField(&o.match.include))
                         .On("exclude", MatchField(&o.match.exclude))
                         .Run());
  VV_RETURN_IF_ERROR(StatusAt(node, path, SpanTransform::Create(o).status()));
  return o;
}

Result<FilterOptions> ParseFilterOptions(const YAML::Node& node, const std::string& path) {
  FilterOptions o;
  auto traces = [&o](const YAML::Node& n, const std::string& p) {
    return Section(n, p)
        .On("resource",
            [&o](const YAML::Node& l, const std::string& lp) {
              return ParseConditions(l, lp, OttlContext::kResource, &o.resource_conditions);
            })
        .On("span",
            [&o](const YAML::Node& l, const std::string& lp) {
              return ParseConditions(l, lp, OttlContext::kSpan, &o.span_conditions);
            })
        .On("spanevent",
            [](const YAML::Node& l, const std::string& lp) -> Status {
              if (NullNode(l) || (l.IsSequence() && l.size() == 0)) return Status::OK();
              return Section::Error(
                  l, lp, "span event conditions are not supported: this filter drops whole spans");
            })
        .Run();
  };
  auto trace_conditions = [&o](const YAML::Node& n, const std::string& p) -> Status {
    if (NullNode(n)) return Status::OK();
    if (!n.IsSequence()) return Section::Error(n, p, "must be a list");
    bool basic = false;
    bool advanced = false;
    for (size_t i = 0; i < n.size(); ++i) (n[i].IsMap() ? advanced : basic) = true;
    if (basic && advanced) {
      return Section::Error(
          n, p,
          "configuring multiple configuration styles is not supported, please use only Basic "
          "configuration or only Advanced configuration");
    }
    if (basic) {
      FilterOptions::ContextConditions group;
      VV_RETURN_IF_ERROR(ParseConditions(n, p, OttlContext::kInferred, &group.conditions));
      o.trace_conditions.push_back(std::move(group));
      return Status::OK();
    }
    return conf::ForEach(n, p, [&o](const YAML::Node& item, const std::string& ip) -> Status {
      FilterOptions::ContextConditions group;
      OttlContext context = OttlContext::kInferred;
      VV_RETURN_IF_ERROR(
          Section(item, ip)
              .On("context",
                  [&](const YAML::Node& c, const std::string& cp) -> Status {
                    VV_ASSIGN_OR_RETURN(group.context, conf::Scalar(c, cp));
                    if (group.context == "span") {
                      context = OttlContext::kSpan;
                    } else if (group.context == "resource") {
                      context = OttlContext::kResource;
                    } else if (group.context == "scope") {
                      context = OttlContext::kScope;
                    } else if (group.context == "spanevent") {
                      return Section::Error(
                          c, cp,
                          "context \"spanevent\" is not supported: this filter drops whole spans");
                    } else if (!group.context.empty()) {
                      return Section::Error(c, cp,
                                            "unknown context \"" + group.context +
                                                "\" (use span, resource or scope)");
                    }
                    return Status::OK();
                  })
              .On("error_mode",
                  [&group](const YAML::Node& e, const std::string& ep) -> Status {
                    VV_ASSIGN_OR_RETURN(group.error_mode, ParseErrorMode(e, ep));
                    return Status::OK();
                  })
              .On("conditions",
                  [&](const YAML::Node& l, const std::string& lp) {
                    // `context` may come after `conditions`: parse them once the mapping is read.
                    return Status::OK();
                  })
              .Run());
      VV_RETURN_IF_ERROR(ParseConditions(item["conditions"], conf::Join(ip, "conditions"), context,
                                         &group.conditions));
      o.trace_conditions.push_back(std::move(group));
      return Status::OK();
    });
  };
  VV_RETURN_IF_ERROR(Section(node, path)
                         .On("error_mode",
                             [&o](const YAML::Node& n, const std::string& p) -> Status {
                               VV_ASSIGN_OR_RETURN(o.error_mode, ParseErrorMode(n, p));
                               return Status::OK();
                             })
                         .On("spans",
                             [&o](const YAML::Node& n, const std::string& p) {
                               return Section(n, p)
                                   .On("include", MatchField(&o.spans.include))
                                   .On("exclude", MatchField(&o.spans.exclude))
                                   .Run();
                             })
                         .On("traces", traces)
                         .On("trace_conditions", trace_conditions)
                         // Other signals: Vivace handles traces only.
                         .On("metrics", Ignored())
                         .On("logs", Ignored())
                         .On("profiles", Ignored())
                         .On("metric_conditions", Ignored())
                         .On("log_conditions", Ignored())
                         .On("profile_conditions", Ignored())
                         .Run());
  VV_RETURN_IF_ERROR(
      StatusAt(node, path, FilterTransform::Create(o, model::ComponentContext{}).status()));
  return o;
}

}  // namespace vivace::processors
