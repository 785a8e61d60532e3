#pragma once
// FaultInjectingStore: an ObjectStore wrapper that fails, tears, delays or "crashes" operations
// according to a FaultPlan, for tests of the code above the store (retries, checksums, recovery).
// It lives in the library, not in a test directory, so that every module's tests can use it.
//
//   io::FaultInjectingStore faulty(inner.get());
//   io::FaultPlan plan;
//   plan.put.fail_nth = 2;        // the second Put fails with Unavailable
//   plan.crash_after_puts = 5;    // then everything fails after the fifth Put
//   faulty.SetPlan(plan);

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "io/object_store.h"

namespace vivace::io {

/// The operation kinds of ObjectStore (Describe excluded: it cannot fail).
enum class StoreOp : int { kGet, kGetRange, kSize, kPut, kList, kDelete };
inline constexpr size_t kStoreOpCount = 6;
/// "Get", "GetRange", ...
std::string_view StoreOpName(StoreOp op);

/// Faults for one operation kind. Calls are numbered from 1 per kind, counting from SetPlan.
struct OpFaults {
  /// Call number `fail_nth` fails (0: none).
  uint64_t fail_nth = 0;
  /// Every call fails with this probability, drawn from the plan's seeded RNG (0: never).
  double fail_probability = 0;
  /// The code of the injected errors: kUnavailable models a transient error a caller should
  /// retry, kInternal a hard one. Must not be kOk.
  StatusCode code = StatusCode::kUnavailable;
  /// Added before every call of this kind, whether it then fails or not.
  std::chrono::microseconds latency{0};
};

/// What FaultInjectingStore does. The default plan injects nothing.
struct FaultPlan {
  OpFaults get;
  OpFaults get_range;
  OpFaults size;
  OpFaults put;
  OpFaults list;
  OpFaults del;

  /// Torn puts. A real ObjectStore::Put is atomic, so a torn put does not model any store this
  /// project uses: it models a crash in the middle of an upload to a *non-atomic* store (or a
  /// corrupted object). The wrapped store gets a Put of only the first
  /// floor(size * torn_fraction) bytes (always fewer than all of them, unless the data is empty)
  /// under the real key, and the caller gets Unavailable (or the wrapped store's error). Tests
  /// use it to check that readers detect truncated objects via their checksums / lengths rather
  /// than trusting them. A Put already failed by `put` faults is not torn.
  /// Put number `torn_put_nth` is torn (0: none)...
  uint64_t torn_put_nth = 0;
  /// ...and every Put is torn with this probability.
  double torn_put_probability = 0;
  /// Fraction of the data a torn put writes, in [0, 1).
  double torn_fraction = 0.5;

  /// Simulated process death: Put number `crash_after_puts` goes through (subject to the other
  /// faults), and then every call of every kind fails with Unavailable until the next SetPlan
  /// (the "restart"). Counts all Put calls, including ones failed by other faults. 0: never.
  uint64_t crash_after_puts = 0;

  /// Seed of the RNG behind the probabilities: the same plan and the same sequence of calls
  /// give the same faults.
  uint64_t seed = 1;

  OpFaults& For(StoreOp op);
  const OpFaults& For(StoreOp op) const;
};

/// Forwards to a wrapped store, injecting the faults of its FaultPlan. Thread-safe (calls are
/// numbered in the order they enter the wrapper). Injected errors say "injected" in their message.
/// Does not own the wrapped store, which must outlive it.
class FaultInjectingStore final : public ObjectStore {
 public:
  /// Starts with the default (empty) plan.
  explicit FaultInjectingStore(ObjectStore* inner);

  /// Installs `plan` and resets every counter, the call numbering and the crashed state.
  /// REQUIRES (checked): probabilities in [0, 1], torn_fraction in [0, 1), codes not kOk,
  /// latencies not negative.
  void SetPlan(const FaultPlan& plan);

  /// Calls of `op` since SetPlan, including failed ones.
  uint64_t calls(StoreOp op) const;
  /// Calls of `op` since SetPlan that this wrapper failed (errors, torn puts, crashed state);
  /// errors of the wrapped store itself are not counted.
  uint64_t injected(StoreOp op) const;
  /// Torn puts since SetPlan.
  uint64_t torn_puts() const;
  /// Whether crash_after_puts has triggered.
  bool crashed() const;

  Result<std::string> Get(std::string_view key) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<uint64_t> Size(std::string_view key) override;
  Status Put(std::string_view key, std::string_view data) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  /// "faulty(<inner's description>)".
  std::string Describe() const override;

 private:
  enum class Action { kForward, kFail, kTear };
  struct Decision {
    Action action = Action::kForward;
    Status error;         // for kFail
    uint64_t number = 0;  // of the call, per kind
  };
  /// Numbers the call, decides its fate, updates the counters and sleeps for the latency.
  /// `key` is the key or List prefix, for the error message.
  Decision Decide(StoreOp op, std::string_view key);
  /// Called when a Put call ends, whatever happened to it: may enter the crashed state.
  void AfterPut(uint64_t number);
  bool Draw(double probability) VV_REQUIRES(mu_);

  ObjectStore* const inner_;
  mutable Mutex mu_;
  FaultPlan plan_ VV_GUARDED_BY(mu_);
  std::mt19937_64 rng_ VV_GUARDED_BY(mu_);
  std::array<uint64_t, kStoreOpCount> calls_ VV_GUARDED_BY(mu_) = {};
  std::array<uint64_t, kStoreOpCount> injected_ VV_GUARDED_BY(mu_) = {};
  uint64_t torn_puts_ VV_GUARDED_BY(mu_) = 0;
  bool crashed_ VV_GUARDED_BY(mu_) = false;
};

}  // namespace vivace::io
