#pragma once
// exporterhelper's `retry_on_failure`: exponential back-off with jitter around export attempts,
// honouring a server's throttling delay (HTTP Retry-After, gRPC RetryInfo), never retrying
// permanent errors, and giving up after `max_elapsed_time`. Time is injectable (RetryClock) so
// tests do not wait.
//
// Semantics (opentelemetry-collector exporter/exporterhelper, cenkalti/backoff):
//   wait_n = interval_n * (1 + randomization_factor * u), u uniform in [-1, 1]
//   interval_1 = initial_interval; interval_{n+1} = min(interval_n * multiplier, max_interval)
//   a throttled attempt waits max(wait_n, throttle delay);
//   when now + wait passes start + max_elapsed_time (> 0) the request is given up.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "base/status.h"

namespace YAML {
class Node;
}

namespace vivace::exporters {

using Millis = std::chrono::milliseconds;

struct RetryOptions {
  bool enabled = true;
  Millis initial_interval{5000};
  Millis max_interval{30000};
  Millis max_elapsed_time{300000};  // 0 = never give up
  double multiplier = 1.5;
  double randomization_factor = 0.5;
};

/// Parses a `retry_on_failure` section; validates as configretry.BackOffConfig.Validate.
Result<RetryOptions> ParseRetryOptions(const YAML::Node& node, const std::string& path);

/// The outcome of one export attempt.
struct Attempt {
  Status status;                // OK: the backend took the request (maybe partially)
  bool retryable = false;       // for errors: may a later attempt succeed?
  Millis throttle{0};           // for retryable errors: the least wait the server asked for
  uint64_t rejected_spans = 0;  // partial success: spans the backend refused (never retried)
  std::string rejected_message;

  static Attempt Ok() { return {}; }
  static Attempt Permanent(Status s) { return Attempt{std::move(s), false}; }
  static Attempt Retryable(Status s, Millis throttle = Millis(0)) {
    return Attempt{std::move(s), true, throttle};
  }
};

/// Time and waiting for retries. Thread-safe.
class RetryClock {
 public:
  virtual ~RetryClock() = default;
  /// Monotonic time since an arbitrary epoch.
  virtual std::chrono::nanoseconds Now() = 0;
  /// Waits for `d`; false (at once) when Interrupt has been called.
  virtual bool Sleep(Millis d) = 0;
  /// Makes every current and later Sleep return false. Used at shutdown.
  virtual void Interrupt() = 0;
};

/// steady_clock and a condition variable.
class SystemRetryClock final : public RetryClock {
 public:
  std::chrono::nanoseconds Now() override;
  bool Sleep(Millis d) override;
  void Interrupt() override;

 private:
  Mutex mu_;
  CondVar cv_;
  bool interrupted_ VV_GUARDED_BY(mu_) = false;
};

/// The back-off intervals of one request. Thread-compatible.
class Backoff {
 public:
  Backoff(const RetryOptions& options, uint64_t seed);
  /// The next wait, and grows the interval.
  Millis Next();

 private:
  double NextUniform();  // [0, 1)

  double initial_ms_, max_ms_, multiplier_, randomization_;
  double interval_ms_ = 0;  // 0 until the first Next
  uint64_t rng_;
};

enum class SendOutcome {
  kSent,         // an attempt succeeded (possibly a partial success)
  kFailed,       // a permanent error, retries exhausted, or retry disabled: drop the data
  kInterrupted,  // shutting down while waiting to retry: a persistent queue keeps the data
};

struct SendResult {
  SendOutcome outcome = SendOutcome::kSent;
  Attempt last;  // the last attempt
  int attempts = 0;
  bool exhausted = false;  // kFailed because time ran out (the last error was retryable)
};

/// Calls `attempt` until it succeeds, fails permanently, max_elapsed_time would pass, or
/// `clock` is interrupted. Each attempt runs at least once, even after an interrupt (an
/// in-memory queue drains at shutdown with one attempt per request). `what` names the
/// exporter in logs. `seed` varies the jitter.
SendResult SendWithRetry(const RetryOptions& options, RetryClock* clock, uint64_t seed,
                         std::string_view what, const std::function<Attempt()>& attempt);

/// A Retry-After header value: delay-seconds or an HTTP-date (RFC 1123, as Go's time.RFC1123,
/// also RFC 850 and asctime as RFC 9110 requires), relative to `now_unix_nanos`. nullopt when
/// malformed; a date in the past gives 0.
std::optional<Millis> ParseRetryAfter(std::string_view value, uint64_t now_unix_nanos);

/// RetryInfo.retry_delay from a serialized google.rpc.Status (grpc-status-details-bin):
/// nullopt when the status carries no RetryInfo.
std::optional<Millis> RetryDelayFromRpcStatus(std::string_view status_bytes);

/// google.rpc.Status.message from a serialized google.rpc.Status, empty if none.
std::string MessageFromRpcStatus(std::string_view status_bytes);

}  // namespace vivace::exporters
