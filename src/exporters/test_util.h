#pragma once
// Test-only helpers of the exporters' tests: batches with recognisable spans, and a retry clock
// that records the waits it is asked for instead of waiting.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "exporters/retry.h"
#include "model/span_batch.h"

namespace vivace::exporters::testing {

/// `n` spans named "op-<first + i>" with span ids first + i (big-endian in the last bytes)
/// under one resource (service.name = "svc") and one scope ("lib" "1.0").
inline std::unique_ptr<model::SpanBatch> MakeBatch(uint64_t first, size_t n,
                                                   std::string tenant = "") {
  auto b = std::make_unique<model::SpanBatch>();
  b->tenant = std::move(tenant);
  model::Range res_attrs = b->AllocAttributes(1);
  b->attributes[res_attrs.first] = model::KeyValue{"service.name", model::Value::String("svc")};
  b->resources.push_back(model::Resource{res_attrs, 0, ""});
  b->scopes.push_back(model::Scope{0, "lib", "1.0", {}, 0, ""});
  for (size_t i = 0; i < n; ++i) {
    uint64_t id = first + i;
    model::SpanRow row;
    row.trace_id.bytes[0] = 0xab;
    row.trace_id.bytes[15] = static_cast<uint8_t>(id & 0xff);
    for (int k = 0; k < 8; ++k) row.span_id.bytes[7 - k] = static_cast<uint8_t>(id >> (8 * k));
    row.name = b->arena.Copy("op-" + std::to_string(id));
    row.kind = model::SpanKind::kServer;
    row.start_unix_nano = 1'700'000'000'000'000'000ull + id;
    row.end_unix_nano = row.start_unix_nano + 1000;
    row.attributes = b->AllocAttributes(1);
    b->attributes[row.attributes.first] =
        model::KeyValue{"i", model::Value::Int(static_cast<int64_t>(id))};
    b->Append(row);
  }
  return b;
}

/// The number encoded in a span id by MakeBatch.
inline uint64_t SpanNumber(const model::SpanId& id) {
  uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v = (v << 8) | id.bytes[k];
  return v;
}

/// Records every wait, advances its own time by it, and really sleeps only `real` (so that
/// other threads make progress). Interrupt works as the system clock's.
class RecordingClock final : public RetryClock {
 public:
  explicit RecordingClock(Millis real = Millis(0)) : real_(real) {}

  std::chrono::nanoseconds Now() override {
    MutexLock lock(mu_);
    return now_;
  }
  bool Sleep(Millis d) override {
    {
      MutexLock lock(mu_);
      if (interrupted_) return false;
      sleeps_.push_back(d);
      now_ += d;
    }
    if (real_.count() > 0) std::this_thread::sleep_for(real_);
    MutexLock lock(mu_);
    return !interrupted_;
  }
  void Interrupt() override {
    MutexLock lock(mu_);
    interrupted_ = true;
  }
  std::vector<Millis> sleeps() {
    MutexLock lock(mu_);
    return sleeps_;
  }
  void Advance(Millis d) {
    MutexLock lock(mu_);
    now_ += d;
  }

 private:
  const Millis real_;
  Mutex mu_;
  std::chrono::nanoseconds now_ VV_GUARDED_BY(mu_){0};
  bool interrupted_ VV_GUARDED_BY(mu_) = false;
  std::vector<Millis> sleeps_ VV_GUARDED_BY(mu_);
};

}  // namespace vivace::exporters::testing
