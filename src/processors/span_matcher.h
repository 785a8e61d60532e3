#pragma once
// The Collector's legacy include/exclude span matching (contrib:internal/filter/filterspan,
// filterconfig.MatchProperties), shared by the attributes, span and filter processors:
//
//   include|exclude:
//     match_type: strict|regexp          # required
//     regexp: {cacheenabled, cachemaxnumentries}
//     services: [..]                     # resource attribute service.name
//     span_names: [..]
//     span_kinds: [SPAN_KIND_SERVER, ..]
//     attributes: [{key, value}]         # value omitted: the key must exist
//     resources: [{key, value}]
//     libraries: [{name, version}]       # instrumentation scope
//
// Every condition given must match; a list matches when any entry does (attributes, resources
// and libraries: every entry must). Regexps search (unanchored), as Go's MatchString.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/span_batch.h"
#include "processors/attr_values.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct MatchAttributeConfig {
  std::string key;
  std::optional<ConfigValue> value;  // nullopt: only the key's presence is checked
};

struct MatchLibraryConfig {
  std::string name;
  std::optional<std::string> version;  // nullopt: any version
};

struct MatchProperties {
  std::string match_type;                // "strict" or "regexp"
  bool regexp_cache_enabled = false;     // accepted; matching is not cached
  int64_t regexp_cache_max_entries = 0;  // accepted; matching is not cached
  std::vector<std::string> services;
  std::vector<std::string> span_names;
  std::vector<std::string> span_kinds;
  std::vector<MatchAttributeConfig> attributes;
  std::vector<MatchAttributeConfig> resources;
  std::vector<MatchLibraryConfig> libraries;
};

struct MatchConfig {
  std::optional<MatchProperties> include;
  std::optional<MatchProperties> exclude;
};

/// Parses one `include:`/`exclude:` mapping, validated as the Collector validates it for spans.
Result<MatchProperties> ParseMatchProperties(const YAML::Node& node, const std::string& path);

/// The Collector's checks of one include/exclude for spans (match_type, at least one condition,
/// regexps that compile, regexp values that are strings); the message has no path.
Status ValidateMatchProperties(const MatchProperties& properties);

/// The OTLP enum spelling the Collector matches span_kinds against ("SPAN_KIND_SERVER").
std::string_view SpanKindName(model::SpanKind kind);

/// Compiled include/exclude. Immutable and thread-safe.
class SpanMatcher {
 public:
  /// An empty matcher: skips nothing.
  SpanMatcher();
  static Result<SpanMatcher> Create(const MatchConfig& config);
  SpanMatcher(SpanMatcher&&) noexcept;
  SpanMatcher& operator=(SpanMatcher&&) noexcept;
  ~SpanMatcher();

  /// True when include or exclude is configured.
  bool active() const { return include_ != nullptr || exclude_ != nullptr; }

  /// Evaluates the spans of one batch, computing the resource- and scope-level parts once per
  /// scope. Thread-compatible; the batch must not change while it is used.
  class Evaluator {
   public:
    Evaluator(const SpanMatcher& matcher, const model::SpanBatch& batch);
    /// The Collector's skip expression: not included, or excluded.
    bool Skip(size_t span);

   private:
    const SpanMatcher& matcher_;
    const model::SpanBatch& batch_;
    std::vector<int8_t> include_scope_;  // per scope: -1 unknown, 0 no, 1 yes
    std::vector<int8_t> exclude_scope_;
  };

  class Properties;

 private:
  std::unique_ptr<Properties> include_;
  std::unique_ptr<Properties> exclude_;
};

}  // namespace vivace::processors
