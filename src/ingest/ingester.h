#pragma once
// The ingester: makes batches durable in the WAL, then indexes them per tenant as live traces.
// A batch is acknowledged only after the WAL has made it durable (per the WAL's sync policy);
// on Open, the WAL is replayed so that every acknowledged span is live again.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/metrics.h"
#include "base/mutex.h"
#include "blocks/block.h"
#include "io/object_store.h"
#include "model/span_sink.h"
#include "otlp/limits.h"
#include "model/trace_source.h"
#include "wal/wal.h"

namespace vivace::ingest {

struct IngesterOptions {
  wal::Options wal;
  /// Back-pressure: while more than this many bytes are queued for the WAL but not yet durable,
  /// new batches are refused with UNAVAILABLE (HTTP 503 + Retry-After), so a slow disk cannot
  /// make memory grow without bound.
  uint64_t max_pending_wal_bytes = 256ull << 20;
  otlp::DecodeLimits decode;

  /// Where cut traces are written as blocks; nullptr keeps everything live (and in the WAL).
  io::ObjectStore* store = nullptr;
  blocks::BlockWriterOptions block;
  /// A trace is cut from the live set once no span has arrived for it for this long.
  std::chrono::milliseconds trace_idle_period{10000};
  /// Idle traces are written as soon as they add up to this many OTLP bytes...
  uint64_t max_block_bytes = 100ull << 20;
  /// ...or once this long has passed since the last block was written. One block never holds
  /// more than max_block_bytes of traces: a larger cut becomes several blocks.
  std::chrono::milliseconds max_block_duration{std::chrono::minutes(5)};
  /// How often the background flusher looks for idle traces; 0 disables it (tests flush by hand).
  std::chrono::milliseconds flush_check_period{10000};
  /// Called after each block is committed (its meta.json written), before its traces leave
  /// the live set.
  std::function<void(const blocks::BlockMeta&)> on_block;
};

/// Thread-safe. Implements SpanSink (write path) and TraceSource (trace by ID).
class Ingester : public model::SpanSink, public model::TraceSource {
 public:
  static Result<std::unique_ptr<Ingester>> Open(IngesterOptions options, MetricsRegistry* metrics);
  ~Ingester() override;

  void Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) override;
  Result<std::unique_ptr<model::SpanBatch>> FindTrace(std::string_view tenant, const model::TraceId& id,
                                                      uint64_t start_s, uint64_t end_s) override;

  /// The live traces of `tenant` overlapping [start_s, end_s] (0 = open), for search: the
  /// engine reads each with FindTrace.
  std::vector<model::TraceId> LiveTraceIds(std::string_view tenant, uint64_t start_s, uint64_t end_s);

  /// Cuts live traces into blocks: every trace when `all` (POST /flush), else the idle ones
  /// (when they are due, see IngesterOptions). Then deletes the WAL segments no live trace
  /// needs. Serialised with itself. A crash at any point loses nothing: traces leave the live
  /// set and the WAL only after their block is committed.
  Status Flush(bool all);

  /// Stops the flusher, waits for pending appends, then closes the WAL. Consume afterwards
  /// fails. Idempotent.
  void Close();

  const wal::ReplayStats& replay_stats() const { return wal_->replay_stats(); }
  uint64_t live_traces() const { return live_traces_.load(std::memory_order_relaxed); }
  uint64_t live_spans() const { return live_spans_.load(std::memory_order_relaxed); }

 private:
  // A span's home: batch index within the tenant, span index within the batch.
  struct SpanRef {
    uint32_t batch;
    uint32_t span;
  };
  struct LiveTrace {
    std::vector<SpanRef> spans;
    uint64_t start_unix_nano = UINT64_MAX;
    uint64_t end_unix_nano = 0;
    uint64_t last_append_ns = 0;  // MonotonicNanos of the last span's arrival
    uint64_t bytes = 0;           // approximate OTLP bytes of its spans
  };
  // A trace chosen for a block: the refs cut (a prefix of LiveTrace::spans: refs are only ever
  // appended) and the WAL records they point into.
  struct CutTrace {
    model::TraceId id;
    std::vector<SpanRef> spans;
    uint64_t bytes = 0;
  };
  // The live state of one tenant. A batch is kept only as the location of its WAL record: the
  // decoded columns are dropped after indexing, and a lookup reads the record back (from the
  // page cache, usually) and decodes it again. Memory is the index alone, about 60 bytes per
  // span. Span indices in SpanRef follow the decode order of the record's OTLP bytes.
  struct Tenant {
    Mutex mu;
    std::vector<wal::RecordLocation> batches VV_GUARDED_BY(mu);
    std::unordered_map<model::TraceId, LiveTrace, model::IdHash> traces VV_GUARDED_BY(mu);
  };

  Ingester(IngesterOptions options, MetricsRegistry* metrics);
  Tenant* GetTenant(std::string_view name);
  // Indexes the spans of `batch`, whose OTLP encoding is the WAL record at `where`.
  void Index(const model::SpanBatch& batch, const wal::RecordLocation& where, uint64_t otlp_bytes);
  Status Replay(const wal::RecordLocation& where, std::string_view payload);
  Status FlushTenant(const std::string& name, Tenant* t, bool all, uint64_t now) VV_REQUIRES(flush_mu_);
  Status WriteBlock(const std::string& tenant, std::span<const CutTrace> traces,
                    const std::vector<wal::RecordLocation>& batches);
  void FlushLoop();

  IngesterOptions options_;
  std::unique_ptr<wal::Wal> wal_;
  Mutex tenants_mu_;
  std::unordered_map<std::string, std::unique_ptr<Tenant>> tenants_ VV_GUARDED_BY(tenants_mu_);
  std::atomic<uint64_t> pending_bytes_{0};
  std::atomic<uint64_t> live_traces_{0};
  std::atomic<uint64_t> live_spans_{0};
  std::atomic<uint64_t> live_bytes_{0};
  std::atomic<bool> closed_{false};
  Mutex flush_mu_;  // serialises Flush
  uint64_t last_block_ns_ VV_GUARDED_BY(flush_mu_) = 0;
  Mutex stop_mu_;
  CondVar stop_cv_;
  bool stopping_ VV_GUARDED_BY(stop_mu_) = false;
  std::thread flusher_;
  Counter* blocks_written_;
  Counter* flush_failures_;
  Counter* spans_ingested_;
  Counter* bytes_ingested_;
  Counter* refused_backpressure_;
};

/// WAL payload of one batch: varint tenant length, tenant, OTLP protobuf request bytes.
/// Layout: docs/formats/wal_v1.md ("Ingest payload").
std::string EncodeWalPayloadHeader(std::string_view tenant);
/// Splits a payload into tenant and OTLP bytes. InvalidArgument if malformed.
Result<std::pair<std::string_view, std::string_view>> DecodeWalPayload(std::string_view payload);

}  // namespace vivace::ingest
