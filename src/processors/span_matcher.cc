#include "processors/span_matcher.h"

#include <re2/re2.h>

#include <algorithm>

namespace vivace::processors {

using model::SpanBatch;
using model::Value;
using model::ValueKind;

namespace {

constexpr std::string_view kSpanKindNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                               "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                               "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};

// filterset.FilterSet: strict equality with any entry, or an unanchored regexp search.
class StringSet {
 public:
  static Result<StringSet> Create(const std::vector<std::string>& entries, bool regexp) {
    StringSet set;
    set.regexp_ = regexp;
    if (!regexp) {
      set.strict_ = entries;
      return set;
    }
    for (const std::string& e : entries) {
      VV_ASSIGN_OR_RETURN(std::unique_ptr<re2::RE2> re, CompileGoRegexp(e));
      set.regexes_.push_back(std::move(re));
    }
    return set;
  }

  bool Matches(std::string_view s) const {
    if (!regexp_) {
      for (const std::string& e : strict_) {
        if (e == s) return true;
      }
      return false;
    }
    for (const auto& re : regexes_) {
      if (RegexpFind(*re, s)) return true;
    }
    return false;
  }

 private:
  bool regexp_ = false;
  std::vector<std::string> strict_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;
};

// filtermatcher.AttributeMatcher.
struct AttrMatcher {
  std::string key;
  std::optional<ConfigValue> strict;  // strict match_type with a value
  std::unique_ptr<re2::RE2> regex;    // regexp match_type with a value

  bool Matches(const Value& v) const {
    if (strict) return strict->Equals(v);
    if (regex) {
      ScalarText text;
      return text.Set(v) && RegexpFind(*regex, text.view());
    }
    return true;
  }
};

bool MatchAll(const std::vector<AttrMatcher>& matchers, const SpanBatch& batch,
              model::Range attrs) {
  for (const AttrMatcher& m : matchers) {
    const Value* v = FindAttribute(batch, attrs, m.key);
    if (v == nullptr || !m.Matches(*v)) return false;
  }
  return true;
}

struct LibraryMatcher {
  StringSet name;
  std::optional<StringSet> version;
};

}  // namespace

std::string_view SpanKindName(model::SpanKind kind) {
  auto k = static_cast<size_t>(kind);
  return k < std::size(kSpanKindNames) ? kSpanKindNames[k] : std::string_view();
}

class SpanMatcher::Properties {
 public:
  static Result<std::unique_ptr<Properties>> Create(const MatchProperties& mp) {
    bool regexp;
    if (mp.match_type == "strict") {
      regexp = false;
    } else if (mp.match_type == "regexp") {
      regexp = true;
    } else {
      return InvalidArgument("unrecognized match_type: '" + mp.match_type +
                             "', valid types are: [regexp strict]");
    }
    if (mp.services.empty() && mp.span_names.empty() && mp.attributes.empty() &&
        mp.libraries.empty() && mp.resources.empty() && mp.span_kinds.empty()) {
      return InvalidArgument(
          "at least one of \"services\", \"span_names\", \"span_kinds\", \"attributes\", "
          "\"libraries\" or "
          "\"resources\" field must be specified");
    }
    auto p = std::make_unique<Properties>();
    if (!mp.services.empty()) {
      VV_ASSIGN_OR_RETURN(StringSet s, StringSet::Create(mp.services, regexp));
      p->services_ = std::move(s);
    }
    if (!mp.span_names.empty()) {
      VV_ASSIGN_OR_RETURN(StringSet s, StringSet::Create(mp.span_names, regexp));
      p->names_ = std::move(s);
    }
    if (!mp.span_kinds.empty()) {
      if (!regexp) {
        for (const std::string& k : mp.span_kinds) {
          if (std::find(std::begin(kSpanKindNames), std::end(kSpanKindNames), k) ==
              std::end(kSpanKindNames)) {
            return InvalidArgument(
                "span_kinds: unknown kind \"" + k +
                "\" (use SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, "
                "SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER or SPAN_KIND_CONSUMER)");
          }
        }
      }
      VV_ASSIGN_OR_RETURN(StringSet s, StringSet::Create(mp.span_kinds, regexp));
      p->kinds_ = std::move(s);
    }
    VV_RETURN_IF_ERROR(AddAttributes(mp.attributes, regexp, p->attributes_));
    VV_RETURN_IF_ERROR(AddAttributes(mp.resources, regexp, p->resources_));
    for (const MatchLibraryConfig& lib : mp.libraries) {
      VV_ASSIGN_OR_RETURN(StringSet name, StringSet::Create({lib.name}, regexp));
      LibraryMatcher m{std::move(name), std::nullopt};
      if (lib.version) {
        VV_ASSIGN_OR_RETURN(StringSet version, StringSet::Create({*lib.version}, regexp));
        m.version = std::move(version);
      }
      p->libraries_.push_back(std::move(m));
    }
    return p;
  }

  /// The parts decided by the span's scope and resource: services, resources, libraries.
  bool MatchScope(const SpanBatch& batch, uint32_t scope_index) const {
    const model::Scope& scope = batch.scopes[scope_index];
    const model::Resource& resource = batch.resources[scope.resource];
    if (services_) {
      const Value* service = FindAttribute(batch, resource.attributes, "service.name");
      if (service == nullptr) {
        if (!services_->Matches("<nil-service-name>")) return false;
      } else if (service->kind == ValueKind::kString) {
        if (!services_->Matches(service->string())) return false;
      } else {
        thread_local std::string text;
        text.clear();
        AppendAsString(batch, *service, text);
        if (!services_->Matches(text)) return false;
      }
    }
    for (const LibraryMatcher& lib : libraries_) {
      if (!lib.name.Matches(scope.name)) return false;
      if (lib.version && !lib.version->Matches(scope.version)) return false;
    }
    return MatchAll(resources_, batch, resource.attributes);
  }

  /// The parts decided by the span itself: span_names, span_kinds, attributes.
  bool MatchSpan(const SpanBatch& batch, size_t span) const {
    if (names_ && !names_->Matches(batch.name[span])) return false;
    if (kinds_ && !kinds_->Matches(SpanKindName(batch.kind[span]))) return false;
    return MatchAll(attributes_, batch, batch.span_attributes[span]);
  }

 private:
  static Status AddAttributes(const std::vector<MatchAttributeConfig>& configs, bool regexp,
                              std::vector<AttrMatcher>& out) {
    for (const MatchAttributeConfig& c : configs) {
      if (c.key.empty()) return InvalidArgument("can't have empty key in the list of attributes");
      AttrMatcher m;
      m.key = c.key;
      if (c.value) {
        if (!regexp) {
          m.strict = c.value;
        } else if (c.value->kind != ConfigValue::Kind::kString) {
          const char* type = c.value->kind == ConfigValue::Kind::kBool  ? "Bool"
                             : c.value->kind == ConfigValue::Kind::kInt ? "Int"
                                                                        : "Double";
          return InvalidArgument("match_type=regexp for \"" + c.key +
                                 "\" only supports Str, but found " + type);
        } else {
          VV_ASSIGN_OR_RETURN(m.regex, CompileGoRegexp(c.value->s));
        }
      }
      out.push_back(std::move(m));
    }
    return Status::OK();
  }

  std::optional<StringSet> services_;
  std::optional<StringSet> names_;
  std::optional<StringSet> kinds_;
  std::vector<AttrMatcher> attributes_;
  std::vector<AttrMatcher> resources_;
  std::vector<LibraryMatcher> libraries_;
};

Status ValidateMatchProperties(const MatchProperties& properties) {
  return SpanMatcher::Properties::Create(properties).status();
}

SpanMatcher::SpanMatcher() = default;
SpanMatcher::SpanMatcher(SpanMatcher&&) noexcept = default;
SpanMatcher& SpanMatcher::operator=(SpanMatcher&&) noexcept = default;
SpanMatcher::~SpanMatcher() = default;

Result<SpanMatcher> SpanMatcher::Create(const MatchConfig& config) {
  SpanMatcher m;
  if (config.include) {
    auto p = Properties::Create(*config.include);
    if (!p.ok()) return p.status().WithContext("include");
    m.include_ = std::move(p).value();
  }
  if (config.exclude) {
    auto p = Properties::Create(*config.exclude);
    if (!p.ok()) return p.status().WithContext("exclude");
    m.exclude_ = std::move(p).value();
  }
  return m;
}

SpanMatcher::Evaluator::Evaluator(const SpanMatcher& matcher, const SpanBatch& batch)
    : matcher_(matcher), batch_(batch) {
  if (matcher.include_) include_scope_.assign(batch.scopes.size(), -1);
  if (matcher.exclude_) exclude_scope_.assign(batch.scopes.size(), -1);
}

bool SpanMatcher::Evaluator::Skip(size_t span) {
  uint32_t scope = batch_.span_scope[span];
  if (matcher_.include_) {
    int8_t& s = include_scope_[scope];
    if (s < 0) s = matcher_.include_->MatchScope(batch_, scope) ? 1 : 0;
    if (s == 0 || !matcher_.include_->MatchSpan(batch_, span)) return true;
  }
  if (matcher_.exclude_) {
    int8_t& s = exclude_scope_[scope];
    if (s < 0) s = matcher_.exclude_->MatchScope(batch_, scope) ? 1 : 0;
    if (s == 1 && matcher_.exclude_->MatchSpan(batch_, span)) return true;
  }
  return false;
}

}  // namespace vivace::processors
