#pragma once
// The `debug` exporter: writes what it receives to the log, as the Collector's
// exporter/debugexporter does.
//   basic:    one line per batch: Traces {"resource spans": R, "spans": S}
//   normal:   that line, then one line per span: "<name> <trace id> <span id> k=v ..."
//   detailed: that line, then every field of every span in the Collector's otlptext layout
//             (ResourceSpans #i / ScopeSpans #j / Span #k with attributes, events, links).
// Sampling as zap's sampler, per batch: in each second the first `sampling_initial` batches
// are written, then every `sampling_thereafter`-th (0 = none).
// Every batch completes with OK and counts in otelcol_exporter_sent_spans_total.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/metrics.h"
#include "base/mutex.h"
#include "exporters/exporter.h"

namespace YAML {
class Node;
}

namespace vivace::exporters {

enum class DebugVerbosity { kBasic, kNormal, kDetailed };

struct DebugOptions {
  DebugVerbosity verbosity = DebugVerbosity::kBasic;
  int64_t sampling_initial = 2;
  int64_t sampling_thereafter = 1;
  /// true: through the process log (src/base/logging.h); false: plain lines on stdout.
  bool use_internal_logger = true;
};

/// Parses a `debug` exporter section.
Result<DebugOptions> ParseDebugOptions(const YAML::Node& node, const std::string& path);

/// Receives each text the exporter writes (the count line, then the span text if any).
using DebugSink = std::function<void(std::string_view text)>;

/// The text of one batch at `verbosity` (empty for basic): the Collector's normal or
/// detailed marshaler output.
std::string FormatDebugText(const model::SpanBatch& batch, DebugVerbosity verbosity);

/// Thread-safe.
class DebugExporter final : public Exporter {
 public:
  /// `sink` null: the log (or stdout, per use_internal_logger). `now_nanos` null: the
  /// monotonic clock (injectable for sampling tests).
  DebugExporter(ComponentContext ctx, DebugOptions options, DebugSink sink = nullptr,
                std::function<uint64_t()> now_nanos = nullptr);

  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override;

 private:
  bool Sample();

  const ComponentContext ctx_;
  const DebugOptions options_;
  DebugSink sink_;
  std::function<uint64_t()> now_nanos_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  Counter* sent_spans_;
  Mutex mu_;
  uint64_t window_start_ VV_GUARDED_BY(mu_) = 0;
  int64_t window_count_ VV_GUARDED_BY(mu_) = 0;
  bool window_open_ VV_GUARDED_BY(mu_) = false;
};

}  // namespace vivace::exporters
