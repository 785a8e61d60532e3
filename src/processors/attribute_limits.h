#pragma once
// The `attribute_limits` processor (Vivace's own; the names are the OpenTelemetry SDK's span
// limits): caps what one span may carry, the way an SDK would have before export.
//
//   attribute_value_length_limit   strings are cut to this many characters (UTF-8 code points;
//                                  never inside a character), bytes values to this many bytes;
//                                  also inside arrays and maps, at any depth
//   attribute_count_limit          attributes kept per span, resource, scope, event and link
//                                  (the first ones are kept); dropped_attributes_count grows
//   event_count_limit              events kept per span (the first); dropped_events_count grows
//   link_count_limit               links kept per span (the first); dropped_links_count grows
//   event_attribute_count_limit    per event; default: attribute_count_limit
//   link_attribute_count_limit     per link; default: attribute_count_limit
//
// 0 means no limit, the default for each. Cutting only shortens views and ranges: no copy.

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "processors/processor.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct AttributeLimitsOptions {
  uint32_t attribute_value_length_limit = 0;
  uint32_t attribute_count_limit = 0;
  uint32_t event_count_limit = 0;
  uint32_t link_count_limit = 0;
  std::optional<uint32_t> event_attribute_count_limit;  // unset: attribute_count_limit
  std::optional<uint32_t> link_attribute_count_limit;   // unset: attribute_count_limit
};

Result<AttributeLimitsOptions> ParseAttributeLimitsOptions(const YAML::Node& node,
                                                           const std::string& path);

/// Thread-safe (stateless after construction).
class AttributeLimitsTransform : public BatchTransform {
 public:
  explicit AttributeLimitsTransform(const AttributeLimitsOptions& options);
  void Apply(model::SpanBatch& batch) override;

 private:
  uint32_t value_length_;
  uint32_t attributes_;
  uint32_t events_;
  uint32_t links_;
  uint32_t event_attributes_;
  uint32_t link_attributes_;
};

/// The longest prefix of `s` with at most `max_chars` UTF-8 characters (a byte that is not a
/// continuation byte starts a character, so invalid UTF-8 is cut between bytes).
std::string_view TruncateUtf8(std::string_view s, uint32_t max_chars);

}  // namespace vivace::processors
