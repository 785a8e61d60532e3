#include "ingest/ingester.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "base/clock.h"
#include "base/coding.h"
#include "base/logging.h"
#include "otlp/proto_decode.h"
#include "otlp/proto_encode.h"

namespace vivace::ingest {

std::string EncodeWalPayloadHeader(std::string_view tenant) {
  std::string out;
  PutVarint(&out, tenant.size());
  out.append(tenant);
  return out;
}

Result<std::pair<std::string_view, std::string_view>> DecodeWalPayload(std::string_view payload) {
  uint64_t len;
  const char* p = DecodeVarint(payload.data(), payload.data() + payload.size(), &len);
  if (p == nullptr || len > static_cast<uint64_t>(payload.data() + payload.size() - p)) {
    return InvalidArgument("malformed WAL payload header");
  }
  std::string_view tenant(p, len);
  std::string_view rest(p + len, payload.data() + payload.size() - (p + len));
  return std::make_pair(tenant, rest);
}

Ingester::Ingester(IngesterOptions options, MetricsRegistry* metrics) : options_(std::move(options)) {
  spans_ingested_ = metrics->GetCounter("vivace_ingester_spans_total", "Spans made durable and live.");
  bytes_ingested_ = metrics->GetCounter("vivace_ingester_bytes_total", "OTLP bytes appended to the WAL.");
  refused_backpressure_ = metrics->GetCounter("vivace_ingester_refused_batches_total",
                                              "Batches refused because the WAL queue was full.");
  metrics->AddGauge("vivace_ingester_live_traces", "Traces held live in memory.", {},
                    [this] { return static_cast<double>(live_traces()); });
  metrics->AddGauge("vivace_ingester_live_spans", "Spans held live in memory.", {},
                    [this] { return static_cast<double>(live_spans()); });
  metrics->AddGauge("vivace_ingester_live_bytes", "OTLP bytes of the live spans (held in the WAL).", {},
                    [this] { return static_cast<double>(live_bytes_.load()); });
  blocks_written_ = metrics->GetCounter("vivace_ingester_blocks_flushed_total", "Blocks written from live traces.");
  flush_failures_ = metrics->GetCounter("vivace_ingester_failed_flushes_total", "Flushes that failed (and are retried).");
  metrics->AddGauge("vivace_ingester_wal_pending_bytes", "Bytes queued for the WAL, not yet durable.", {},
                    [this] { return static_cast<double>(pending_bytes_.load()); });
}

Ingester::~Ingester() { Close(); }

Result<std::unique_ptr<Ingester>> Ingester::Open(IngesterOptions options, MetricsRegistry* metrics) {
  std::unique_ptr<Ingester> ing(new Ingester(std::move(options), metrics));
  uint64_t start = MonotonicNanos();
  VV_ASSIGN_OR_RETURN(ing->wal_, wal::Wal::Open(ing->options_.wal, [&](const wal::RecordLocation& where, std::string_view payload) {
                        return ing->Replay(where, payload);
                      }));
  const auto& st = ing->wal_->replay_stats();
  log::Info("WAL replayed: {} records, {} bytes, {} segments, {} spans in {} traces ({} truncated bytes, {} corrupt "
            "segments) in {} ms",
            st.records, st.bytes, st.segments, ing->live_spans(), ing->live_traces(), st.truncated_bytes,
            st.corrupt_segments, (MonotonicNanos() - start) / 1000000);
  {
    MutexLock l(ing->flush_mu_);
    ing->last_block_ns_ = MonotonicNanos();
  }
  if (ing->options_.store != nullptr && ing->options_.flush_check_period.count() > 0) {
    ing->flusher_ = std::thread([raw = ing.get()] { raw->FlushLoop(); });
  }
  return ing;
}

Status Ingester::Replay(const wal::RecordLocation& where, std::string_view payload) {
  auto parts = DecodeWalPayload(payload);
  if (!parts.ok()) {
    log::Warn("skipping WAL record: {}", parts.status().message());
    return Status::OK();
  }
  model::SpanBatch batch;
  batch.tenant = std::string(parts->first);
  Status s = otlp::DecodeProtoRequest(parts->second, options_.decode, &batch);
  if (!s.ok()) {
    // The record passed its CRC, so this is a bug or a format change, not disk corruption.
    log::Warn("skipping undecodable WAL record of tenant {}: {}", batch.tenant, s.message());
    return Status::OK();
  }
  Index(batch, where, parts->second.size());
  return Status::OK();
}

Ingester::Tenant* Ingester::GetTenant(std::string_view name) {
  MutexLock lock(tenants_mu_);
  auto it = tenants_.find(std::string(name));
  if (it != tenants_.end()) return it->second.get();
  auto t = std::make_unique<Tenant>();
  Tenant* raw = t.get();
  tenants_.emplace(std::string(name), std::move(t));
  return raw;
}

void Ingester::Index(const model::SpanBatch& b, const wal::RecordLocation& where, uint64_t otlp_bytes) {
  Tenant* t = GetTenant(b.tenant);
  MutexLock lock(t->mu);
  auto batch_index = static_cast<uint32_t>(t->batches.size());
  uint64_t new_traces = 0;
  uint64_t now = MonotonicNanos();
  uint64_t bytes_per_span = b.size() == 0 ? 0 : otlp_bytes / b.size();
  for (size_t i = 0; i < b.size(); ++i) {
    auto [it, inserted] = t->traces.try_emplace(b.trace_id[i]);
    new_traces += inserted;
    LiveTrace& lt = it->second;
    lt.spans.push_back(SpanRef{batch_index, static_cast<uint32_t>(i)});
    lt.start_unix_nano = std::min(lt.start_unix_nano, b.start_unix_nano[i]);
    lt.end_unix_nano = std::max(lt.end_unix_nano, b.end_unix_nano[i]);
    lt.last_append_ns = now;
    lt.bytes += bytes_per_span;
  }
  live_traces_.fetch_add(new_traces, std::memory_order_relaxed);
  live_spans_.fetch_add(b.size(), std::memory_order_relaxed);
  live_bytes_.fetch_add(bytes_per_span * b.size(), std::memory_order_relaxed);
  t->batches.push_back(where);
}

void Ingester::Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) {
  if (closed_.load()) {
    done(model::ConsumeResult{Unavailable("ingester is shutting down"), 0, "", 1});
    return;
  }
  if (pending_bytes_.load(std::memory_order_relaxed) > options_.max_pending_wal_bytes) {
    refused_backpressure_->Add();
    done(model::ConsumeResult{Unavailable("write-ahead log is behind; retry later"), 0, "", 1});
    return;
  }
  if (batch->otlp_proto.empty()) {
    std::string encoded;
    otlp::EncodeProtoTrace(*batch, &encoded);
    batch->otlp_proto = batch->arena.Adopt(std::move(encoded));
  }
  std::string header = EncodeWalPayloadHeader(batch->tenant);
  std::string_view pieces[2] = {header, batch->otlp_proto};
  uint64_t bytes = header.size() + batch->otlp_proto.size();
  pending_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  std::shared_ptr<model::SpanBatch> shared(std::move(batch));
  wal_->Append(pieces, [this, shared, bytes, done = std::move(done)](Status s, wal::RecordLocation where) mutable {
    pending_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    if (!s.ok()) {
      log::Error("WAL append failed: {}", s.ToString());
      done(model::ConsumeResult{Unavailable("write-ahead log append failed: " + std::string(s.message())), 0, "", 1});
      return;
    }
    size_t n = shared->size();
    // The span order of the live copy must be the decode order of its bytes: true for a batch
    // decoded from protobuf, and for one re-encoded above (the encoder groups by scope, so
    // re-decode to be sure the indices match).
    uint64_t otlp_bytes = shared->otlp_proto.size();
    if (shared->decoded_from_otlp_proto) {
      Index(*shared, where, otlp_bytes);
    } else {
      model::SpanBatch redecoded;
      redecoded.tenant = shared->tenant;
      if (otlp::DecodeProtoRequest(shared->otlp_proto, options_.decode, &redecoded).ok()) {
        Index(redecoded, where, otlp_bytes);
      }
    }
    shared.reset();
    spans_ingested_->Add(n);
    bytes_ingested_->Add(bytes);
    done(model::ConsumeResult{});
  });
}

std::vector<model::TraceId> Ingester::LiveTraceIds(std::string_view tenant, uint64_t start_s, uint64_t end_s) {
  std::vector<model::TraceId> out;
  Tenant* t;
  {
    MutexLock lock(tenants_mu_);
    auto it = tenants_.find(std::string(tenant));
    if (it == tenants_.end()) return out;
    t = it->second.get();
  }
  MutexLock lock(t->mu);
  for (const auto& [id, lt] : t->traces) {
    if (start_s != 0 && lt.end_unix_nano < start_s * 1000000000ull) continue;
    if (end_s != 0 && lt.start_unix_nano > end_s * 1000000000ull + 999999999ull) continue;
    out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<model::SpanBatch>> Ingester::FindTrace(std::string_view tenant, const model::TraceId& id,
                                                              uint64_t start_s, uint64_t end_s) {
  auto out = std::make_unique<model::SpanBatch>();
  out->tenant = std::string(tenant);
  Tenant* t;
  {
    MutexLock lock(tenants_mu_);
    auto it = tenants_.find(std::string(tenant));
    if (it == tenants_.end()) return out;
    t = it->second.get();
  }
  // Copy the trace's refs and record locations, then read the WAL without the lock: Index runs
  // on the WAL writer thread, and a lookup must not stall every append behind its disk reads.
  std::vector<SpanRef> refs;
  std::vector<wal::RecordLocation> records;  // per distinct batch, in ref order
  {
    MutexLock lock(t->mu);
    auto it = t->traces.find(id);
    if (it == t->traces.end()) return out;
    const LiveTrace& lt = it->second;
    // Overlap test with [start, end] in seconds; 0 leaves a side open.
    if (start_s != 0 && lt.end_unix_nano < start_s * 1000000000ull) return out;
    if (end_s != 0 && lt.start_unix_nano > end_s * 1000000000ull + 999999999ull) return out;
    refs = lt.spans;
    for (size_t k = 0; k < refs.size(); ++k) {
      if (k == 0 || refs[k].batch != refs[k - 1].batch) records.push_back(t->batches[refs[k].batch]);
    }
  }
  // Refs are in arrival order, so batches appear in increasing order: each source batch is
  // visited once and its resources and scopes are copied once.
  model::SpanCopier copier(out.get());
  std::unordered_set<model::SpanId, model::IdHash> seen;
  seen.reserve(refs.size());
  model::SpanBatch decoded;
  std::string record;
  size_t next_record = 0;
  bool skip = false;
  for (size_t k = 0; k < refs.size(); ++k) {
    const SpanRef& ref = refs[k];
    if (k == 0 || ref.batch != refs[k - 1].batch) {
      decoded = model::SpanBatch();
      auto read = wal_->Read(records[next_record++]);
      // A flush that committed these spans to a block may have deleted the segment since the
      // refs were copied; the block has them, and the merged read path asks the blocks too.
      skip = !read.ok() && read.status().code() == StatusCode::kNotFound;
      if (skip) continue;
      VV_ASSIGN_OR_RETURN(record, std::move(read));
      VV_ASSIGN_OR_RETURN(auto parts, DecodeWalPayload(record));
      VV_RETURN_IF_ERROR(otlp::DecodeProtoRequest(parts.second, options_.decode, &decoded).WithContext("live batch"));
      copier.SetSource(&decoded);
    }
    if (skip) continue;
    if (ref.span >= decoded.size()) return Internal("live index out of step with its batch");
    if (!seen.insert(decoded.span_id[ref.span]).second) continue;  // duplicate span id: first wins
    copier.CopySpan(ref.span);
  }
  return out;
}

void Ingester::FlushLoop() {
  for (;;) {
    {
      MutexLock l(stop_mu_);
      stop_cv_.WaitFor(stop_mu_, options_.flush_check_period, [&]() VV_REQUIRES(stop_mu_) { return stopping_; });
      if (stopping_) return;
    }
    Status s = Flush(false);
    if (!s.ok()) log::Error("flush failed (will retry): {}", s.ToString());
  }
}

Status Ingester::Flush(bool all) {
  if (options_.store == nullptr) return FailedPrecondition("no block storage configured");
  MutexLock flush_lock(flush_mu_);
  if (closed_.load()) return FailedPrecondition("ingester is closed");
  // Records appended before the roll are in segments below `first_new`.
  VV_ASSIGN_OR_RETURN(uint64_t first_new, wal_->Roll());
  uint64_t now = MonotonicNanos();
  std::vector<std::pair<std::string, Tenant*>> tenants;
  {
    MutexLock l(tenants_mu_);
    for (auto& [name, t] : tenants_) tenants.emplace_back(name, t.get());
  }
  Status result;
  for (auto& [name, t] : tenants) {
    Status s = FlushTenant(name, t, all, now);
    if (!s.ok()) {
      flush_failures_->Add();
      if (result.ok()) result = s;
    }
  }
  // Delete the WAL segments that no live span points into any more.
  uint64_t keep_from = first_new;
  for (auto& [name, t] : tenants) {
    MutexLock l(t->mu);
    for (const auto& [id, lt] : t->traces) {
      for (const SpanRef& r : lt.spans) keep_from = std::min(keep_from, t->batches[r.batch].segment);
    }
  }
  Status d = wal_->DeleteSegmentsBefore(keep_from);
  if (!d.ok() && result.ok()) result = d;
  return result;
}

Status Ingester::FlushTenant(const std::string& name, Tenant* t, bool all, uint64_t now) {
  std::vector<CutTrace> cut;
  std::vector<wal::RecordLocation> batches;  // a snapshot: the tenant's vector may grow meanwhile
  auto ns = [](std::chrono::milliseconds d) { return static_cast<uint64_t>(d.count()) * 1000000ull; };
  uint64_t cut_bytes = 0;
  {
    MutexLock l(t->mu);
    for (const auto& [id, lt] : t->traces) {
      if (!all && now - lt.last_append_ns < ns(options_.trace_idle_period)) continue;
      cut.push_back(CutTrace{id, lt.spans, lt.bytes});
      cut_bytes += lt.bytes;
    }
    batches = t->batches;
  }
  if (cut.empty()) return Status::OK();
  if (!all && cut_bytes < options_.max_block_bytes && now - last_block_ns_ < ns(options_.max_block_duration)) {
    return Status::OK();  // not due yet: let idle traces gather into a bigger block
  }
  std::sort(cut.begin(), cut.end(), [](const CutTrace& a, const CutTrace& b) { return a.id < b.id; });
  for (size_t begin = 0; begin < cut.size();) {
    size_t end = begin;
    uint64_t bytes = 0;
    while (end < cut.size() && (end == begin || bytes + cut[end].bytes <= options_.max_block_bytes)) {
      bytes += cut[end++].bytes;
    }
    std::span<const CutTrace> part(cut.data() + begin, end - begin);
    VV_RETURN_IF_ERROR(WriteBlock(name, part, batches));
    // The block is committed: its spans leave the live set. Spans that arrived for these traces
    // since they were chosen stay live (refs are only appended, so the cut ones are a prefix).
    MutexLock l(t->mu);
    uint64_t spans = 0, gone = 0, bytes_cut = 0;
    for (const CutTrace& c : part) {
      auto it = t->traces.find(c.id);
      if (it == t->traces.end()) continue;
      LiveTrace& lt = it->second;
      spans += c.spans.size();
      bytes_cut += c.bytes;
      if (lt.spans.size() <= c.spans.size()) {
        t->traces.erase(it);
        ++gone;
      } else {
        lt.spans.erase(lt.spans.begin(), lt.spans.begin() + static_cast<ptrdiff_t>(c.spans.size()));
        lt.bytes -= std::min(lt.bytes, c.bytes);
      }
    }
    if (t->traces.empty()) t->batches.clear();  // no ref left into any batch
    live_traces_.fetch_sub(gone, std::memory_order_relaxed);
    live_spans_.fetch_sub(spans, std::memory_order_relaxed);
    live_bytes_.fetch_sub(std::min(bytes_cut, live_bytes_.load()), std::memory_order_relaxed);
    begin = end;
  }
  last_block_ns_ = now;
  return Status::OK();
}

Status Ingester::WriteBlock(const std::string& tenant, std::span<const CutTrace> traces,
                            const std::vector<wal::RecordLocation>& batches) {
  // Decode each WAL record the traces point into, once.
  std::map<uint32_t, std::unique_ptr<model::SpanBatch>> decoded;
  for (const CutTrace& c : traces) {
    for (const SpanRef& r : c.spans) decoded.try_emplace(r.batch);
  }
  for (auto& [index, batch] : decoded) {
    if (index >= batches.size()) return Internal("live index refers to an unknown batch");
    VV_ASSIGN_OR_RETURN(std::string record, wal_->Read(batches[index]));
    batch = std::make_unique<model::SpanBatch>();
    std::string_view kept = batch->arena.Adopt(std::move(record));  // the spans view these bytes
    VV_ASSIGN_OR_RETURN(auto parts, DecodeWalPayload(kept));
    VV_RETURN_IF_ERROR(otlp::DecodeProtoRequest(parts.second, options_.decode, batch.get()).WithContext("WAL record"));
  }
  blocks::BlockWriterOptions block_options = options_.block;
  block_options.expected_traces = traces.size();
  blocks::BlockWriter writer(options_.store, tenant, block_options);
  std::vector<uint32_t> idx;
  for (const CutTrace& c : traces) {
    idx.clear();
    bool one_batch = true;
    for (const SpanRef& r : c.spans) {
      if (r.span >= decoded[r.batch]->size()) return Internal("live index out of step with its batch");
      one_batch &= r.batch == c.spans[0].batch;
      idx.push_back(r.span);
    }
    if (one_batch) {
      VV_RETURN_IF_ERROR(writer.AddTrace(*decoded[c.spans[0].batch], idx));
      continue;
    }
    model::SpanBatch merged;
    model::SpanCopier copier(&merged);
    uint32_t current = UINT32_MAX;
    for (const SpanRef& r : c.spans) {
      if (r.batch != current) copier.SetSource(decoded[current = r.batch].get());
      copier.CopySpan(r.span);
    }
    for (uint32_t k = 0; k < idx.size(); ++k) idx[k] = k;
    VV_RETURN_IF_ERROR(writer.AddTrace(merged, idx));
  }
  uint64_t start = MonotonicNanos();
  VV_ASSIGN_OR_RETURN(blocks::BlockMeta meta, writer.Finish());
  blocks_written_->Add();
  log::Info("flushed block {}/{}: {} traces, {} spans, {} bytes ({:.1f} B/span) in {} ms", tenant, meta.block_id,
            meta.total_traces, meta.total_spans, meta.total_bytes(),
            static_cast<double>(meta.total_bytes()) / static_cast<double>(std::max<uint64_t>(1, meta.total_spans)),
            (MonotonicNanos() - start) / 1000000);
  if (options_.on_block) options_.on_block(meta);
  return Status::OK();
}

void Ingester::Close() {
  {
    MutexLock l(stop_mu_);
    stopping_ = true;
    stop_cv_.NotifyAll();
  }
  if (flusher_.joinable()) flusher_.join();
  if (closed_.exchange(true)) return;
  if (wal_) wal_->Close();
}

}  // namespace vivace::ingest
