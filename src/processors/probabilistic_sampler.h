#pragma once
// The `probabilistic_sampler` processor (contrib processor/probabilisticsamplerprocessor) in its
// `hash_seed` mode, deciding exactly as the Collector does so that tiers of Vivace and Collectors
// agree:
//
//   hash    = FNV-1a-32 over the 4 little-endian bytes of hash_seed, then the 16 trace ID bytes
//   bucket  = hash & 0x3fff                       (14 bits)
//   rate    = uint32(float32(pct) * float32(0x4000 / 100.0))   (pct capped at 100)
//   keep    = bucket < rate
//
// as the Collector's 56-bit form of it: randomness R = (0x3fff - bucket) << 42 | ..., threshold
// T = (0x4000 - rate) << 42, keep when R >= T. A kept span's tracestate gets the OpenTelemetry
// `ot=rv:<R>;th:<T>` entry (first; other members follow unchanged), as the Collector writes.
//
// Errors (an all-zero trace ID, an unparsable tracestate, or one already carrying `rv` or `th`,
// which asks for the consistent modes) drop the span when `fail_closed` (the default) and keep
// it otherwise. Then the span attribute `sampling.priority` overrides: 0 drops, > 0 keeps
// (an int, a double or a string holding a number; negative values defer).
//
// The `proportional` and `equalizing` modes are not implemented: the parser rejects them.

#include <cstdint>
#include <string>

#include "base/metrics.h"
#include "base/status.h"
#include "processors/processor.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

struct ProbabilisticSamplerOptions {
  float sampling_percentage = 0;  // float32 like the Collector's; >= 100 keeps all, 0 drops all
  uint32_t hash_seed = 0;
  bool fail_closed = true;
  int sampling_precision = 4;  // 1..14; threshold hex digits (all 14 bits fit in the default)
};

Result<ProbabilisticSamplerOptions> ParseProbabilisticSamplerOptions(const YAML::Node& node,
                                                                     const std::string& path);

/// Thread-safe. Counts decisions, when ctx.metrics is set, in
/// otelcol_processor_probabilistic_sampler_count_spans_processed_total{processor, policy, sampled}
/// and its deprecated twin ..._count_traces_sampled_total (policy: trace_id_hash,
/// sampling_priority or missing_randomness; sampled: true or false).
class ProbabilisticSamplerTransform : public BatchTransform {
 public:
  ProbabilisticSamplerTransform(const ProbabilisticSamplerOptions& options,
                                const model::ComponentContext& ctx);
  void Apply(model::SpanBatch& batch) override;

  /// The hash_seed mode's 56-bit randomness of a trace ID (exposed for tests).
  static uint64_t HashRandomness(const model::TraceId& id, uint32_t seed);

 private:
  enum Policy { kTraceIdHash = 0, kPriority = 1, kMissing = 2, kPolicies = 3 };

  bool never_;          // sampling rate 0 (or rounded to 0)
  uint64_t threshold_;  // 56-bit; keep when randomness >= threshold_
  uint32_t seed_;
  bool fail_closed_;
  Counter* counts_[kPolicies][2] = {};  // [policy][sampled]
  Counter* deprecated_counts_[kPolicies][2] = {};
};

}  // namespace vivace::processors
