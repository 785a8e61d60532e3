#include "exporters/retry.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/logging.h"
#include "base/protowire.h"

namespace vivace::exporters {

std::chrono::nanoseconds SystemRetryClock::Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

bool SystemRetryClock::Sleep(Millis d) {
  MutexLock lock(mu_);
  cv_.WaitFor(mu_, d, [this]() VV_REQUIRES(mu_) { return interrupted_; });
  return !interrupted_;
}

void SystemRetryClock::Interrupt() {
  MutexLock lock(mu_);
  interrupted_ = true;
  cv_.NotifyAll();
}

Backoff::Backoff(const RetryOptions& options, uint64_t seed)
    : initial_ms_(static_cast<double>(options.initial_interval.count())),
      max_ms_(static_cast<double>(options.max_interval.count())),
      multiplier_(options.multiplier),
      randomization_(options.randomization_factor),
      rng_(seed) {}

double Backoff::NextUniform() {
  // splitmix64: a good 64-bit generator in three lines.
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

Millis Backoff::Next() {
  if (interval_ms_ == 0) interval_ms_ = initial_ms_;
  double delta = randomization_ * interval_ms_;
  double low = interval_ms_ - delta;
  double wait = low + NextUniform() * (2 * delta);
  // Grow, capped at max_interval (cenkalti/backoff's incrementCurrentInterval).
  if (multiplier_ <= 0 || interval_ms_ >= max_ms_ / multiplier_) {
    interval_ms_ = max_ms_;
  } else {
    interval_ms_ *= multiplier_;
  }
  return Millis(static_cast<int64_t>(std::llround(std::max(0.0, wait))));
}

SendResult SendWithRetry(const RetryOptions& options, RetryClock* clock, uint64_t seed,
                         std::string_view what, const std::function<Attempt()>& attempt) {
  SendResult result;
  const std::chrono::nanoseconds start = clock->Now();
  Backoff backoff(options, seed);
  while (true) {
    result.last = attempt();
    ++result.attempts;
    if (result.last.status.ok()) {
      result.outcome = SendOutcome::kSent;
      return result;
    }
    if (!result.last.retryable || !options.enabled) {
      result.outcome = SendOutcome::kFailed;
      return result;
    }
    Millis wait = std::max(backoff.Next(), result.last.throttle);
    if (options.max_elapsed_time.count() > 0 &&
        clock->Now() + wait > start + options.max_elapsed_time) {
      result.outcome = SendOutcome::kFailed;
      result.exhausted = true;
      return result;
    }
    log::Info(
        "exporter={} Exporting failed. Will retry the request after interval. interval={}ms "
        "error=\"{}\"",
        what, wait.count(), result.last.status.ToString());
    if (!clock->Sleep(wait)) {
      result.outcome = SendOutcome::kInterrupted;
      return result;
    }
  }
}

std::optional<Millis> ParseRetryAfter(std::string_view value, uint64_t now_unix_nanos) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return Millis(int64_t{999999999} * 1000);  // absurd but valid: cap
    int64_t seconds = 0;
    for (char c : value) seconds = seconds * 10 + (c - '0');
    return Millis(seconds * 1000);
  }
  // HTTP-date: IMF-fixdate (RFC 1123), obsolete RFC 850 and asctime forms.
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                             "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  std::string text(value);
  for (const char* format : kFormats) {
    struct tm tm;
    std::memset(&tm, 0, sizeof tm);
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    time_t t = ::timegm(&tm);
    int64_t when_ms = static_cast<int64_t>(t) * 1000;
    int64_t now_ms = static_cast<int64_t>(now_unix_nanos / 1000000);
    return Millis(std::max<int64_t>(0, when_ms - now_ms));
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kRetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";

// google.protobuf.Duration{seconds = 1, nanos = 2}.
Millis DecodeDuration(std::string_view bytes) {
  protowire::Reader r(bytes);
  protowire::Field f;
  int64_t seconds = 0, nanos = 0;
  while (r.Next(&f)) {
    if (f.type != protowire::WireType::kVarint) continue;
    if (f.number == 1) seconds = static_cast<int64_t>(f.varint);
    if (f.number == 2) nanos = static_cast<int32_t>(f.varint);
  }
  int64_t ms = seconds * 1000 + nanos / 1000000;
  return Millis(std::max<int64_t>(0, ms));
}

}  // namespace

std::optional<Millis> RetryDelayFromRpcStatus(std::string_view status_bytes) {
  // google.rpc.Status{code = 1, message = 2, details = 3 (repeated Any{type_url = 1, value = 2})}
  protowire::Reader r(status_bytes);
  protowire::Field f;
  while (r.Next(&f)) {
    if (f.number != 3 || f.type != protowire::WireType::kLen) continue;
    protowire::Reader any(f.bytes);
    protowire::Field a;
    std::string_view type_url, value;
    while (any.Next(&a)) {
      if (a.type != protowire::WireType::kLen) continue;
      if (a.number == 1) type_url = a.bytes;
      if (a.number == 2) value = a.bytes;
    }
    if (type_url != kRetryInfoType) continue;
    // RetryInfo{retry_delay = 1}
    protowire::Reader info(value);
    protowire::Field d;
    Millis delay(0);
    while (info.Next(&d)) {
      if (d.number == 1 && d.type == protowire::WireType::kLen) delay = DecodeDuration(d.bytes);
    }
    return delay;
  }
  return std::nullopt;
}

std::string MessageFromRpcStatus(std::string_view status_bytes) {
  protowire::Reader r(status_bytes);
  protowire::Field f;
  std::string message;
  while (r.Next(&f)) {
    if (f.number == 2 && f.type == protowire::WireType::kLen) message.assign(f.bytes);
  }
  return r.ok() ? message : std::string();
}

}  // namespace vivace::exporters
