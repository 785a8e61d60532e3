#pragma once
// Exporters: the ends of a pipeline. `vivace` writes into local storage; `otlp` (gRPC) and
// `otlphttp` send to any OTLP backend through a sending queue with retries; `debug` logs.
// An exporter is shared by every pipeline that lists it, so Consume is called concurrently.

#include "base/status.h"
#include "model/component.h"
#include "model/span_sink.h"

namespace vivace::exporters {

using model::ComponentContext;

class Exporter : public model::SpanSink {
 public:
  /// Starts consumers and resumes a persistent queue. Called once before the first Consume.
  virtual Status Start() { return Status::OK(); }
  /// Stops taking data and ends the consumers: an in-memory queue is drained for at most the
  /// exporter's timeout, a persistent queue keeps what is not sent for the next start.
  virtual void Shutdown() {}
};

}  // namespace vivace::exporters
