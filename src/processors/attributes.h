#pragma once
// The `attributes` processor (actions on span attributes, with include/exclude) and the
// `resource` processor (the same actions on resource attributes), as the Collector's
// contrib:processor/attributesprocessor and contrib:processor/resourceprocessor.
//
//   processors:
//     attributes/redact:
//       actions:
//         - {key: db.statement, action: delete}
//         - {key: user.email, action: hash}
//         - {key: env, value: prod, action: insert}
//       include: {match_type: strict, services: [api]}
//     resource:
//       attributes:
//         - {key: deployment.environment, value: prod, action: upsert}

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "processors/attr_actions.h"
#include "processors/processor.h"
#include "processors/span_matcher.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct AttributesOptions {
  std::vector<AttrActionConfig> actions;  // required, non-empty
  MatchConfig match;                      // include / exclude
};

/// Parses `processors.attributes[/name]`; errors name the key path and line.
Result<AttributesOptions> ParseAttributesOptions(const YAML::Node& node, const std::string& path);

/// Runs the actions on the attributes of every span that include/exclude select.
/// Thread-safe: Apply may run concurrently on different batches.
class AttributesTransform : public BatchTransform {
 public:
  static Result<std::unique_ptr<AttributesTransform>> Create(const AttributesOptions& options);
  void Apply(model::SpanBatch& batch) override;

 private:
  AttributesTransform(AttrActions actions, SpanMatcher matcher)
      : actions_(std::move(actions)), matcher_(std::move(matcher)) {}

  AttrActions actions_;
  SpanMatcher matcher_;
};

struct ResourceOptions {
  std::vector<AttrActionConfig> attributes;  // required, non-empty
};

/// Parses `processors.resource[/name]`.
Result<ResourceOptions> ParseResourceOptions(const YAML::Node& node, const std::string& path);

/// Runs the actions once on the attributes of every resource of the batch (the spans of a
/// resource share it). Thread-safe.
class ResourceTransform : public BatchTransform {
 public:
  static Result<std::unique_ptr<ResourceTransform>> Create(const ResourceOptions& options);
  void Apply(model::SpanBatch& batch) override;

 private:
  explicit ResourceTransform(AttrActions actions) : actions_(std::move(actions)) {}

  AttrActions actions_;
};

}  // namespace vivace::processors
