#include "pipeline/registry.h"

#include <algorithm>

#include "conf/yaml.h"
#include "exporters/exporter.h"
#include "exporters/debug.h"
#include "exporters/otlp_grpc.h"
#include "exporters/otlp_http.h"
#include "pipeline/service.h"
#include "processors/attribute_limits.h"
#include "processors/attributes.h"
#include "processors/batch.h"
#include "processors/filter.h"
#include "processors/memory_limiter.h"
#include "processors/probabilistic_sampler.h"
#include "processors/processor.h"
#include "processors/redaction.h"
#include "processors/span_processor.h"
#include "processors/tail_sampling.h"

namespace vivace::pipeline {
namespace {

using processors::Processor;
using ProcessorResult = Result<std::unique_ptr<Processor>>;

/// A processor type whose options parse with `parse` and whose instance `make` builds.
template <typename Options, typename Make>
Result<ProcessorFactory> Factory(Result<Options> options, Make make) {
  if (!options.ok()) return options.status();
  return ProcessorFactory([o = std::move(*options), make](const model::ComponentContext& ctx,
                                                          model::SpanSink* next) -> ProcessorResult {
    return make(o, ctx, next);
  });
}

/// Wraps a BatchTransform built by `create` (Result or unique_ptr) in a TransformProcessor.
template <typename T>
ProcessorResult Transform(Result<std::unique_ptr<T>> transform, model::SpanSink* next) {
  if (!transform.ok()) return transform.status();
  return ProcessorResult(std::make_unique<processors::TransformProcessor>(std::move(*transform), next));
}

Result<ProcessorFactory> ParseAttributes(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseAttributesOptions(n, p), [](const auto& o, const auto&, auto* next) {
    return Transform(processors::AttributesTransform::Create(o), next);
  });
}
Result<ProcessorFactory> ParseResource(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseResourceOptions(n, p), [](const auto& o, const auto&, auto* next) {
    return Transform(processors::ResourceTransform::Create(o), next);
  });
}
Result<ProcessorFactory> ParseSpan(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseSpanOptions(n, p), [](const auto& o, const auto&, auto* next) {
    return Transform(processors::SpanTransform::Create(o), next);
  });
}
Result<ProcessorFactory> ParseFilter(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseFilterOptions(n, p), [](const auto& o, const auto& ctx, auto* next) {
    return Transform(processors::FilterTransform::Create(o, ctx), next);
  });
}
Result<ProcessorFactory> ParseRedaction(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseRedactionOptions(n, p), [](const auto& o, const auto&, auto* next) {
    return Transform(processors::RedactionTransform::Create(o), next);
  });
}
Result<ProcessorFactory> ParseAttributeLimits(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseAttributeLimitsOptions(n, p), [](const auto& o, const auto&, auto* next) {
    return Transform(Result<std::unique_ptr<processors::AttributeLimitsTransform>>(
                         std::make_unique<processors::AttributeLimitsTransform>(o)),
                     next);
  });
}
Result<ProcessorFactory> ParseProbabilisticSampler(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseProbabilisticSamplerOptions(n, p), [](const auto& o, const auto& ctx, auto* next) {
    return Transform(Result<std::unique_ptr<processors::ProbabilisticSamplerTransform>>(
                         std::make_unique<processors::ProbabilisticSamplerTransform>(o, ctx)),
                     next);
  });
}
Result<ProcessorFactory> ParseBatch(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseBatchOptions(n, p), [](const auto& o, const auto& ctx, auto* next) {
    return ProcessorResult(std::make_unique<processors::BatchProcessor>(o, ctx, next));
  });
}
Result<ProcessorFactory> ParseMemoryLimiter(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseMemoryLimiterOptions(n, p), [](const auto& o, const auto& ctx, auto* next) -> ProcessorResult {
    auto made = processors::MemoryLimiterProcessor::Create(o, ctx, next);
    if (!made.ok()) return made.status();
    return ProcessorResult(std::move(*made));
  });
}
Result<ProcessorFactory> ParseTailSampling(const YAML::Node& n, const std::string& p) {
  return Factory(processors::ParseTailSamplingOptions(n, p), [](const auto& o, const auto& ctx, auto* next) -> ProcessorResult {
    auto made = processors::TailSamplingProcessor::Create(o, ctx, next);
    if (!made.ok()) return made.status();
    return ProcessorResult(std::move(*made));
  });
}

// ---- exporters ----

Result<ExporterFactory> ParseOtlpGrpc(const YAML::Node& node, const std::string& path, std::string* storage) {
  VV_ASSIGN_OR_RETURN(exporters::OtlpGrpcOptions o, exporters::ParseOtlpGrpcOptions(node, path));
  *storage = o.helper.queue.storage;
  return ExporterFactory([o](const model::ComponentContext& ctx, const ExporterEnv&) {
    return exporters::NewOtlpGrpcExporter(ctx, o);
  });
}

Result<ExporterFactory> ParseDebug(const YAML::Node& node, const std::string& path, std::string*) {
  VV_ASSIGN_OR_RETURN(exporters::DebugOptions o, exporters::ParseDebugOptions(node, path));
  return ExporterFactory([o](const model::ComponentContext& ctx,
                             const ExporterEnv&) -> Result<std::unique_ptr<exporters::Exporter>> {
    return std::unique_ptr<exporters::Exporter>(std::make_unique<exporters::DebugExporter>(ctx, o));
  });
}

Result<ExporterFactory> ParseOtlpHttp(const YAML::Node& node, const std::string& path, std::string* storage) {
  VV_ASSIGN_OR_RETURN(exporters::OtlpHttpOptions o, exporters::ParseOtlpHttpOptions(node, path));
  *storage = o.helper.queue.storage;
  return ExporterFactory([o](const model::ComponentContext& ctx, const ExporterEnv&) {
    return exporters::NewOtlpHttpExporter(ctx, o);
  });
}

Result<ExporterFactory> ParseVivaceExporter(const YAML::Node& node, const std::string& path, std::string*) {
  VV_RETURN_IF_ERROR(conf::Section(node, path).Run());
  return ExporterFactory([](const model::ComponentContext& ctx,
                            const ExporterEnv& env) -> Result<std::unique_ptr<exporters::Exporter>> {
    if (env.local_storage == nullptr) return FailedPrecondition("the vivace exporter needs local storage");
    return MakeLocalExporter(ctx, env.local_storage);
  });
}

// PROCESSOR_TYPES and EXPORTER_TYPES are filled in as the components land.
// The Collector's own type names; `attribute_limits` is Vivace's.
const ProcessorType kProcessorTypes[] = {
    {"attributes", &ParseAttributes},
    {"resource", &ParseResource},
    {"span", &ParseSpan},
    {"filter", &ParseFilter},
    {"redaction", &ParseRedaction},
    {"attribute_limits", &ParseAttributeLimits},
    {"probabilistic_sampler", &ParseProbabilisticSampler},
    {"batch", &ParseBatch},
    {"memory_limiter", &ParseMemoryLimiter},
    {"tail_sampling", &ParseTailSampling},
};

// `otlp_grpc` and `otlp_http` are the Collector's current names; `otlp` and `otlphttp` the
// deprecated ones every existing config uses.
const ExporterType kExporterTypes[] = {
    {"vivace", &ParseVivaceExporter},
    {"otlp", &ParseOtlpGrpc},
    {"otlp_grpc", &ParseOtlpGrpc},
    {"otlphttp", &ParseOtlpHttp},
    {"otlp_http", &ParseOtlpHttp},
    {"debug", &ParseDebug},
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
