#include "ingest/ingester.h"

#include <fmt/format.h>

#include <unordered_set>

#include <algorithm>

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
  for (size_t i = 0; i < b.size(); ++i) {
    auto [it, inserted] = t->traces.try_emplace(b.trace_id[i]);
    new_traces += inserted;
    LiveTrace& lt = it->second;
    lt.spans.push_back(SpanRef{batch_index, static_cast<uint32_t>(i)});
    lt.start_unix_nano = std::min(lt.start_unix_nano, b.start_unix_nano[i]);
    lt.end_unix_nano = std::max(lt.end_unix_nano, b.end_unix_nano[i]);
  }
  live_traces_.fetch_add(new_traces, std::memory_order_relaxed);
  live_spans_.fetch_add(b.size(), std::memory_order_relaxed);
  live_bytes_.fetch_add(otlp_bytes, std::memory_order_relaxed);
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
  MutexLock lock(t->mu);
  auto it = t->traces.find(id);
  if (it == t->traces.end()) return out;
  const LiveTrace& lt = it->second;
  // Overlap test with [start, end] in seconds; 0 leaves a side open.
  if (start_s != 0 && lt.end_unix_nano < start_s * 1000000000ull) return out;
  if (end_s != 0 && lt.start_unix_nano > end_s * 1000000000ull + 999999999ull) return out;
  // Refs are in arrival order, so batches appear in increasing order: each source batch is
  // visited once and its resources and scopes are copied once.
  model::SpanCopier copier(out.get());
  std::unordered_set<model::SpanId, model::IdHash> seen;
  seen.reserve(lt.spans.size());
  uint32_t current = UINT32_MAX;
  model::SpanBatch decoded;
  std::string record;
  for (const SpanRef& ref : lt.spans) {
    if (ref.batch != current) {
      decoded = model::SpanBatch();
      VV_ASSIGN_OR_RETURN(record, wal_->Read(t->batches[ref.batch]));
      VV_ASSIGN_OR_RETURN(auto parts, DecodeWalPayload(record));
      VV_RETURN_IF_ERROR(otlp::DecodeProtoRequest(parts.second, options_.decode, &decoded).WithContext("live batch"));
      copier.SetSource(&decoded);
      current = ref.batch;
    }
    if (ref.span >= decoded.size()) return Internal("live index out of step with its batch");
    if (!seen.insert(decoded.span_id[ref.span]).second) continue;  // duplicate span id: first wins
    copier.CopySpan(ref.span);
  }
  return out;
}

void Ingester::Close() {
  if (closed_.exchange(true)) return;
  if (wal_) wal_->Close();
}

}  // namespace vivace::ingest
