#pragma once
// Processors: the stages of a Collector-style pipeline. Each is a SpanSink that passes what it
// keeps to the next sink. Transform-like processors (attributes, resource, span, redaction,
// filter, probabilistic_sampler) implement BatchTransform and run inside a TransformProcessor;
// stateful ones (batch, tail_sampling, memory_limiter) implement Processor directly.

#include <memory>
#include <string>

#include "model/component.h"
#include "model/span_sink.h"

namespace vivace::processors {

using model::ComponentContext;

class Processor : public model::SpanSink {
 public:
  /// Passes on everything still held (batch, tail_sampling decide and flush) and stops any
  /// timer. Consume is not called afterwards. Idempotent.
  virtual void Shutdown() {}
  /// True while the processor refuses data (memory_limiter above its soft limit); the
  /// health check reports unhealthy meanwhile.
  virtual bool Refusing() const { return false; }
};

/// A synchronous rewrite of one batch.
class BatchTransform {
 public:
  virtual ~BatchTransform() = default;
  /// Rewrites `batch` in place; may remove spans (SpanBatch::RetainSpans). Any change must
  /// call batch.MarkModified(). Thread-safe: called concurrently for different batches.
  virtual void Apply(model::SpanBatch& batch) = 0;
};

/// Runs a BatchTransform as a pipeline stage: an emptied batch completes with OK without
/// reaching `next` (the Collector's processorhelper drops empty data the same way).
class TransformProcessor : public Processor {
 public:
  TransformProcessor(std::unique_ptr<BatchTransform> transform, model::SpanSink* next)
      : transform_(std::move(transform)), next_(next) {}

  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override {
    transform_->Apply(*batch);
    if (batch->empty()) {
      done(model::ConsumeResult{});
      return;
    }
    next_->Consume(std::move(batch), std::move(done));
  }

 private:
  std::unique_ptr<BatchTransform> transform_;
  model::SpanSink* next_;
};

}  // namespace vivace::processors
