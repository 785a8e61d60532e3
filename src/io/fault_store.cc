#include "io/fault_store.h"

#include <cmath>
#include <thread>

#include "base/check.h"
#include "io/internal/common.h"

namespace vivace::io {

std::string_view StoreOpName(StoreOp op) {
  switch (op) {
    case StoreOp::kGet: return "Get";
    case StoreOp::kGetRange: return "GetRange";
    case StoreOp::kSize: return "Size";
    case StoreOp::kPut: return "Put";
    case StoreOp::kList: return "List";
    case StoreOp::kDelete: return "Delete";
  }
  return "?";
}

OpFaults& FaultPlan::For(StoreOp op) {
  return const_cast<OpFaults&>(static_cast<const FaultPlan*>(this)->For(op));
}

const OpFaults& FaultPlan::For(StoreOp op) const {
  switch (op) {
    case StoreOp::kGet: return get;
    case StoreOp::kGetRange: return get_range;
    case StoreOp::kSize: return size;
    case StoreOp::kPut: return put;
    case StoreOp::kList: return list;
    case StoreOp::kDelete: return del;
  }
  VV_CHECK(false);
}

FaultInjectingStore::FaultInjectingStore(ObjectStore* inner) : inner_(inner) {
  VV_CHECK(inner != nullptr);
  SetPlan(FaultPlan());
}

void FaultInjectingStore::SetPlan(const FaultPlan& plan) {
  for (size_t i = 0; i < kStoreOpCount; ++i) {
    const OpFaults& f = plan.For(static_cast<StoreOp>(i));
    VV_CHECK(f.code != StatusCode::kOk);
    VV_CHECK(f.fail_probability >= 0 && f.fail_probability <= 1);
    VV_CHECK(f.latency.count() >= 0);
  }
  VV_CHECK(plan.torn_put_probability >= 0 && plan.torn_put_probability <= 1);
  VV_CHECK(plan.torn_fraction >= 0 && plan.torn_fraction < 1);
  MutexLock lock(mu_);
  plan_ = plan;
  rng_.seed(plan.seed);
  calls_.fill(0);
  injected_.fill(0);
  torn_puts_ = 0;
  crashed_ = false;
}

uint64_t FaultInjectingStore::calls(StoreOp op) const {
  MutexLock lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

uint64_t FaultInjectingStore::injected(StoreOp op) const {
  MutexLock lock(mu_);
  return injected_[static_cast<size_t>(op)];
}

uint64_t FaultInjectingStore::torn_puts() const {
  MutexLock lock(mu_);
  return torn_puts_;
}

bool FaultInjectingStore::crashed() const {
  MutexLock lock(mu_);
  return crashed_;
}

bool FaultInjectingStore::Draw(double probability) {
  // No draw for a zero probability, so that enabling one kind of fault does not shift the
  // random sequence another kind sees.
  if (probability <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(rng_) < probability;
}

FaultInjectingStore::Decision FaultInjectingStore::Decide(StoreOp op, std::string_view key) {
  Decision d;
  std::chrono::microseconds latency{0};
  {
    MutexLock lock(mu_);
    auto i = static_cast<size_t>(op);
    d.number = ++calls_[i];
    std::string what = std::string(StoreOpName(op)) + " #" + std::to_string(d.number) + " of " +
                       internal::QuoteKey(key);
    if (crashed_ ||
        (op == StoreOp::kPut && plan_.crash_after_puts != 0 && d.number > plan_.crash_after_puts)) {
      crashed_ = true;
      ++injected_[i];
      d.action = Action::kFail;
      d.error = Unavailable("injected crash: store is down after Put #" +
                            std::to_string(plan_.crash_after_puts) + ", refusing " + what);
      return d;  // a dead process does not wait
    }
    const OpFaults& f = plan_.For(op);
    latency = f.latency;
    if (d.number == f.fail_nth || Draw(f.fail_probability)) {
      ++injected_[i];
      d.action = Action::kFail;
      d.error = Status(f.code, "injected fault: " + what);
    } else if (op == StoreOp::kPut &&
               (d.number == plan_.torn_put_nth || Draw(plan_.torn_put_probability))) {
      ++injected_[i];
      ++torn_puts_;
      d.action = Action::kTear;
    }
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  return d;
}

void FaultInjectingStore::AfterPut(uint64_t number) {
  MutexLock lock(mu_);
  if (plan_.crash_after_puts != 0 && number >= plan_.crash_after_puts) crashed_ = true;
}

Result<std::string> FaultInjectingStore::Get(std::string_view key) {
  Decision d = Decide(StoreOp::kGet, key);
  if (d.action == Action::kFail) return d.error;
  return inner_->Get(key);
}

Result<std::string> FaultInjectingStore::GetRange(std::string_view key, uint64_t offset,
                                                  uint64_t length) {
  Decision d = Decide(StoreOp::kGetRange, key);
  if (d.action == Action::kFail) return d.error;
  return inner_->GetRange(key, offset, length);
}

Result<uint64_t> FaultInjectingStore::Size(std::string_view key) {
  Decision d = Decide(StoreOp::kSize, key);
  if (d.action == Action::kFail) return d.error;
  return inner_->Size(key);
}

Status FaultInjectingStore::Put(std::string_view key, std::string_view data) {
  Decision d = Decide(StoreOp::kPut, key);
  Status s;
  switch (d.action) {
    case Action::kFail:
      s = std::move(d.error);
      break;
    case Action::kTear: {
      double fraction;
      {
        MutexLock lock(mu_);
        fraction = plan_.torn_fraction;
      }
      size_t keep = static_cast<size_t>(std::floor(static_cast<double>(data.size()) * fraction));
      if (keep >= data.size() && !data.empty()) keep = data.size() - 1;
      s = inner_->Put(key, data.substr(0, keep));
      if (s.ok()) {
        s = Unavailable("injected torn put: Put #" + std::to_string(d.number) + " of " +
                        internal::QuoteKey(key) + " stored " + std::to_string(keep) + " of " +
                        std::to_string(data.size()) + " bytes");
      }
      break;
    }
    case Action::kForward:
      s = inner_->Put(key, data);
      break;
  }
  AfterPut(d.number);
  return s;
}

Result<std::vector<ObjectInfo>> FaultInjectingStore::List(std::string_view prefix) {
  Decision d = Decide(StoreOp::kList, prefix);
  if (d.action == Action::kFail) return d.error;
  return inner_->List(prefix);
}

Status FaultInjectingStore::Delete(std::string_view key) {
  Decision d = Decide(StoreOp::kDelete, key);
  if (d.action == Action::kFail) return d.error;
  return inner_->Delete(key);
}

std::string FaultInjectingStore::Describe() const { return "faulty(" + inner_->Describe() + ")"; }

}  // namespace vivace::io
