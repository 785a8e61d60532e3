#pragma once
// The attribute action engine shared by the `attributes` processor (span attributes) and the
// `resource` processor (resource attributes): the Collector's attraction package
// (contrib:internal/coreinternal/attraction).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/span_batch.h"
#include "processors/attr_values.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

/// One configured action, as written: `{key, action, value | from_attribute | from_context,
/// default_value, pattern, converted_type}`.
struct AttrActionConfig {
  std::string key;
  std::string action;  // insert|update|upsert|delete|hash|extract|convert (any case)
  std::optional<ConfigValue> value;
  std::string from_attribute;
  std::string from_context;
  std::optional<ConfigValue> default_value;
  std::string pattern;
  std::string converted_type;  // int|double|string
};

/// Parses an `actions:` list (attributes) or `attributes:` list (resource). Each action is
/// validated as the Collector does; errors name the action's path and line.
Result<std::vector<AttrActionConfig>> ParseAttrActions(const YAML::Node& node,
                                                       const std::string& path);

/// A compiled, immutable action list. Thread-safe to share; use one Runner per batch.
class AttrActions {
 public:
  /// Validates and compiles; an error names the action ("actions[2]: ...", with `field` as the
  /// list's name).
  static Result<AttrActions> Compile(const std::vector<AttrActionConfig>& actions,
                                     std::string_view field = "actions");
  /// Validation of one action (the Collector's NewAttrProc rules); the message has no path.
  static Status Validate(const AttrActionConfig& action);

  AttrActions(AttrActions&&) noexcept;
  AttrActions& operator=(AttrActions&&) noexcept;
  ~AttrActions();

  bool empty() const { return actions_.empty(); }

  /// Applies the actions to attribute lists of one batch. Strings the actions write (configured
  /// keys and values, hashes, conversions) are copied into the batch arena, configured ones once
  /// per Runner. Thread-compatible: one Runner per thread and batch.
  class Runner {
   public:
    Runner(const AttrActions& actions, model::SpanBatch& batch);
    /// Runs every action on the list `attrs` and returns the range of the result: `attrs`
    /// itself when nothing changed, else as AttrListEditor::Commit writes it (and the batch is
    /// marked modified).
    model::Range Apply(model::Range attrs);

   private:
    std::string_view Interned(uint32_t index);

    const AttrActions& actions_;
    model::SpanBatch& batch_;
    std::vector<std::string_view> interned_;  // arena copies of actions_.strings_, lazily
  };

 private:
  struct Action;
  AttrActions();

  std::vector<Action> actions_;
  std::vector<std::string> strings_;  // configured strings written into batches, by index
};

}  // namespace vivace::processors
