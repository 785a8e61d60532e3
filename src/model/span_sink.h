#pragma once
// SpanSink: the write path's one interface. Receivers push batches into a sink; processors are
// sinks that wrap sinks; ingest, the generator and exporters are the final sinks.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "model/span_batch.h"

namespace vivace::model {

/// What became of a batch. `status` not OK means nothing was accepted (retryable or not, by
/// its code); OK with rejected_spans > 0 is a partial success.
struct ConsumeResult {
  Status status;
  uint64_t rejected_spans = 0;
  std::string rejected_message;
  /// For retryable refusals: how long the client should wait, in seconds (0 = unspecified).
  uint32_t retry_after_seconds = 0;
};

using ConsumeCallback = std::function<void(ConsumeResult)>;

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  /// Takes the batch. `done` is called exactly once, possibly on another thread, possibly
  /// before Consume returns, when the batch's fate is final (for storage: when it is durable).
  virtual void Consume(std::unique_ptr<SpanBatch> batch, ConsumeCallback done) = 0;
};

}  // namespace vivace::model
