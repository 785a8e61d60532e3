#pragma once
// The `span` processor (contrib:processor/spanprocessor): renames spans from attributes,
// extracts attributes from span names, sets the status; include/exclude as `attributes`.
//
//   processors:
//     span/rename:
//       name:
//         from_attributes: [db.svc, operation]   # all must be present
//         separator: "::"
//         to_attributes:
//           rules: ['^/api/v1/document/(?P<documentId>.*)/update$']
//           break_after_match: false
//           keep_original_name: false
//       status: {code: Error, description: "failed"}  # Unset | Error | Ok
//       include: {match_type: strict, services: [api]}

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "processors/processor.h"
#include "processors/span_matcher.h"

namespace YAML {
class Node;
}
namespace re2 {
class RE2;
}

namespace vivace::processors {

struct SpanOptions {
  std::vector<std::string> from_attributes;
  std::string separator;
  /// name.to_attributes; nullopt when not configured.
  struct ToAttributes {
    std::vector<std::string> rules;
    bool break_after_match = false;
    bool keep_original_name = false;
  };
  std::optional<ToAttributes> to_attributes;
  struct SetStatus {
    std::string code;  // "Unset", "Error" or "Ok"
    std::string description;
  };
  std::optional<SetStatus> status;
  MatchConfig match;
};

/// Parses `processors.span[/name]`; errors name the key path and line.
Result<SpanOptions> ParseSpanOptions(const YAML::Node& node, const std::string& path);

/// Thread-safe: Apply may run concurrently on different batches.
class SpanTransform : public BatchTransform {
 public:
  static Result<std::unique_ptr<SpanTransform>> Create(const SpanOptions& options);
  ~SpanTransform() override;
  void Apply(model::SpanBatch& batch) override;

 private:
  struct Rule {
    std::unique_ptr<re2::RE2> re;
    std::vector<std::string> group_names;  // by group number - 1; "" for an unnamed group
    uint32_t first_name = 0;               // index of group 1's name in BatchState::names
  };
  struct BatchState;
  SpanTransform() = default;
  void ProcessSpan(model::SpanBatch& batch, size_t span, BatchState& state) const;

  SpanOptions options_;
  std::vector<Rule> rules_;
  uint32_t group_name_count_ = 0;
  SpanMatcher matcher_;
  bool set_status_ = false;
  model::StatusCode status_code_ = model::StatusCode::kUnset;
};

}  // namespace vivace::processors
