#pragma once
// What every pipeline component (receiver, processor, exporter) is told when it is built.

#include <string>

#include "base/metrics.h"

namespace vivace::model {

struct ComponentContext {
  std::string id;        // the configured id: "attributes/redact", "otlp/tempo"
  std::string pipeline;  // the pipeline id: "traces", "traces/2" (empty for shared exporters)
  MetricsRegistry* metrics = nullptr;
  /// Where the component may keep files (persistent queues); empty = none configured.
  std::string data_dir;
};

}  // namespace vivace::model
