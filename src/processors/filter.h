#pragma once
// The `filter` processor for traces (contrib:processor/filterprocessor): drops spans.
//
//   processors:
//     filter/legacy:                      # the legacy form: the span matcher
//       spans:
//         include: {match_type: strict, services: [api]}      # dropped unless included
//         exclude: {match_type: regexp, span_names: ["^health"]}  # dropped when excluded
//     filter/ottl:
//       error_mode: ignore                # ignore | silent | propagate
//       traces:
//         span:                           # dropped when ANY condition is true
//           - attributes["http.route"] == "/health"
//           - kind == SPAN_KIND_INTERNAL and IsMatch(name, "^cache\\.")
//         resource:
//           - attributes["service.name"] == "canary"
//     filter/inferred:
//       trace_conditions:                 # v0.146+: paths carry their context
//         - span.status.code == STATUS_CODE_UNSET and resource.attributes["env"] == "dev"
//
// The OTTL subset is in ottl_condition.h. Conditions of the resource and scope contexts drop
// every span of the resource/scope, as dropping the resource does in the Collector. Span event
// conditions (traces.spanevent, spanevent.* paths) are rejected: they would drop events, not
// spans. Non-trace sections (metrics, logs, profiles, *_conditions) are accepted and ignored,
// so a Collector configuration shared across signals loads.
//
// Metric: otelcol_processor_filter_spans_filtered_total{filter="<component id>"}.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "model/component.h"
#include "processors/ottl_condition.h"
#include "processors/processor.h"
#include "processors/span_matcher.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

enum class OttlErrorMode : uint8_t { kIgnore, kSilent, kPropagate };

struct FilterOptions {
  /// The Collector's default since contrib v0.150 (feature gate
  /// processor.filter.defaultErrorModeIgnore); `propagate` before. The supported conditions
  /// cannot fail at run time, so the mode only matters for configuration compatibility.
  OttlErrorMode error_mode = OttlErrorMode::kIgnore;
  MatchConfig spans;                             // legacy spans.include / spans.exclude
  std::vector<std::string> resource_conditions;  // traces.resource
  std::vector<std::string> span_conditions;      // traces.span
  /// trace_conditions: basic (a list of strings, context inferred) or advanced entries.
  struct ContextConditions {
    std::string context;  // "" (inferred), "span", "resource" or "scope"
    std::vector<std::string> conditions;
    std::optional<OttlErrorMode> error_mode;
  };
  std::vector<ContextConditions> trace_conditions;
};

/// Parses `processors.filter[/name]`; errors name the key path and line (a bad condition is
/// reported at its list item).
Result<FilterOptions> ParseFilterOptions(const YAML::Node& node, const std::string& path);

/// Thread-safe: Apply may run concurrently on different batches.
class FilterTransform : public BatchTransform {
 public:
  /// `context.metrics` may be null (no metric).
  static Result<std::unique_ptr<FilterTransform>> Create(const FilterOptions& options,
                                                         const model::ComponentContext& context);
  void Apply(model::SpanBatch& batch) override;

 private:
  FilterTransform() = default;

  SpanMatcher matcher_;
  std::vector<OttlCondition> conditions_;
  Counter* filtered_ = nullptr;
};

}  // namespace vivace::processors
