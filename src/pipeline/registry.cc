#include "pipeline/registry.h"

#include <algorithm>

#include "conf/yaml.h"
#include "exporters/exporter.h"
#include "pipeline/service.h"
#include "processors/processor.h"

namespace vivace::pipeline {
namespace {

// ---- exporters ----

Result<ExporterFactory> ParseVivaceExporter(const YAML::Node& node, const std::string& path, std::string*) {
  VV_RETURN_IF_ERROR(conf::Section(node, path).Run());
  return ExporterFactory([](const model::ComponentContext& ctx,
                            const ExporterEnv& env) -> Result<std::unique_ptr<exporters::Exporter>> {
    if (env.local_storage == nullptr) return FailedPrecondition("the vivace exporter needs local storage");
    return MakeLocalExporter(ctx, env.local_storage);
  });
}

// PROCESSOR_TYPES and EXPORTER_TYPES are filled in as the components land.
const ProcessorType kProcessorTypes[] = {
    {"", nullptr},
};

const ExporterType kExporterTypes[] = {
    {"vivace", &ParseVivaceExporter},
};

}  // namespace

const ProcessorType* FindProcessorType(std::string_view type) {
  for (const ProcessorType& t : kProcessorTypes) {
    if (t.parse != nullptr && t.type == type) return &t;
  }
  return nullptr;
}

const ExporterType* FindExporterType(std::string_view type) {
  for (const ExporterType& t : kExporterTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

std::vector<std::string> ProcessorTypes() {
  std::vector<std::string> out;
  for (const ProcessorType& t : kProcessorTypes) {
    if (t.parse != nullptr) out.emplace_back(t.type);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ExporterTypes() {
  std::vector<std::string> out;
  for (const ExporterType& t : kExporterTypes) out.emplace_back(t.type);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vivace::pipeline
