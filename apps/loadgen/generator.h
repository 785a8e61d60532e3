#pragma once
// Realistic, seeded synthetic traces for load tests and benchmarks: a dozen services calling
// each other over HTTP, gRPC, databases and messaging, with OpenTelemetry semantic-convention
// attributes, ~5% errors carrying exception events, and occasional links.

#include <cstdint>
#include <random>
#include <string>

#include "model/span_batch.h"

namespace vivace::loadgen {

struct GeneratorOptions {
  uint64_t seed = 1;
  int min_spans = 5;
  int max_spans = 60;
  int max_depth = 7;
  double error_rate = 0.05;
  double link_rate = 0.02;
  uint64_t start_unix_nano = 0;  // 0: now
};

class Generator {
 public:
  explicit Generator(GeneratorOptions options);
  /// Appends whole traces until the batch holds at least `min_spans` spans. Resources and scopes
  /// (one per service) are added to the batch on first use.
  void Fill(model::SpanBatch* batch, size_t min_spans);
  /// Encoded OTLP ExportTraceServiceRequest with at least `min_spans` spans.
  std::string Request(size_t min_spans, size_t* spans_out);

 private:
  struct Ctx;
  void Trace(Ctx& ctx);
  uint32_t Span(Ctx& ctx, int service, const model::SpanId& parent, uint64_t start, uint64_t duration, int depth,
                int kind_hint);
  uint64_t Rand() { return rng_(); }
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  GeneratorOptions opts_;
  std::mt19937_64 rng_;
  uint64_t clock_;
};

}  // namespace vivace::loadgen
