#pragma once
// The component types this build knows: each parses its configuration section into a factory.

#include <string>
#include <string_view>

#include "pipeline/config.h"

namespace vivace::pipeline {

struct ProcessorType {
  std::string_view type;
  Result<ProcessorFactory> (*parse)(const YAML::Node& node, const std::string& path);
};

struct ExporterType {
  std::string_view type;
  /// Also reports `sending_queue.storage` (empty if none) for reference checking.
  Result<ExporterFactory> (*parse)(const YAML::Node& node, const std::string& path, std::string* storage);
};

/// nullptr for an unknown type.
const ProcessorType* FindProcessorType(std::string_view type);
const ExporterType* FindExporterType(std::string_view type);

}  // namespace vivace::pipeline
