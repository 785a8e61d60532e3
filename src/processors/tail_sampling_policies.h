#pragma once
// The sampling policies of the tail_sampling processor (the Collector's
// processor/tailsamplingprocessor/internal/sampling): each looks at one whole trace and returns a
// Decision. The processor combines the decisions of its top-level policies (tail_sampling.h).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/ids.h"
#include "model/span_batch.h"

namespace vivace::processors {

/// What one policy says about a trace. The two inverted decisions come from `invert_match`
/// (deprecated in the Collector in favour of `drop`, still honoured the same way).
enum class Decision : uint8_t {
  kNotSampled,
  kSampled,
  kDropped,           // a `drop` policy matched: wins over everything
  kInvertSampled,     // invert_match: the key/value was not found anywhere
  kInvertNotSampled,  // invert_match: the key/value was found; wins over kSampled
};

/// "sampled", "not_sampled" or "dropped": the Collector's `decision` metric label.
std::string_view DecisionLabel(Decision d);
/// True for kSampled and kInvertSampled (the `sampled` metric label).
bool IsSampled(Decision d);

enum class PolicyType : uint8_t {
  kAlwaysSample,
  kLatency,
  kNumericAttribute,
  kProbabilistic,
  kStatusCode,
  kStringAttribute,
  kRateLimiting,
  kBytesLimiting,
  kSpanCount,
  kTraceState,
  kTraceFlags,
  kBooleanAttribute,
  kAnd,
  kNot,
  kDrop,
  kComposite,
};

struct RateAllocation {
  std::string policy;
  int64_t percent = 0;
};

/// One configured policy (a top-level entry of `policies` or a sub-policy). Only the fields of
/// its type are used; defaults are the Collector's.
struct PolicyConfig {
  std::string name;
  PolicyType type = PolicyType::kAlwaysSample;

  // latency
  int64_t threshold_ms = 0;
  int64_t upper_threshold_ms = 0;  // 0 = no upper bound
  // numeric_attribute, string_attribute, boolean_attribute, trace_state
  std::string key;
  int64_t min_value = 0;  // 0 = no lower bound (as in the Collector)
  int64_t max_value = 0;  // 0 = no upper bound
  bool invert_match = false;
  bool bool_value = false;              // boolean_attribute `value`
  std::vector<std::string> values;      // string_attribute, trace_state
  bool enabled_regex_matching = false;  // string_attribute
  int64_t cache_max_size = 0;           // string_attribute regex memo; 0 = 128
  // probabilistic
  double sampling_percentage = 0;
  std::string hash_salt;  // empty = "default-hash-seed"
  // status_code: "OK", "ERROR", "UNSET"
  std::vector<std::string> status_codes;
  // rate_limiting (token bucket, burst 2x)
  int64_t spans_per_second = 0;
  // bytes_limiting
  int64_t bytes_per_second = 0;
  int64_t burst_capacity = 0;  // 0 = 2 * bytes_per_second
  // span_count
  int64_t min_spans = 0;
  int64_t max_spans = 0;  // 0 = no upper bound
  // composite
  int64_t max_total_spans_per_second = 0;
  std::vector<std::string> policy_order;  // accepted; evaluation follows composite_sub_policy
  std::vector<RateAllocation> rate_allocation;
  // and_sub_policy, drop_sub_policy, composite_sub_policy, or the one not_sub_policy.
  std::vector<PolicyConfig> sub_policies;
};

/// Where a span of the trace lives: span `index` of `batch` (owned by the processor).
struct SpanLoc {
  const model::SpanBatch* batch;
  uint32_t index;
};

/// One trace as a policy sees it: its spans in arrival order plus a summary kept while they
/// arrived. Valid for the duration of one Evaluate call.
struct TraceView {
  model::TraceId trace_id;
  std::span<const SpanLoc> spans;
  uint64_t min_start_unix_nano = 0;  // earliest span start (0 if none had one)
  uint64_t max_end_unix_nano = 0;    // latest span end
  uint64_t now_ns = 0;               // the processor's clock, for the rate-based policies

  /// Estimated OTLP protobuf size of the trace (bytes_limiting); computed once on demand.
  uint64_t EncodedSize() const;

 private:
  mutable int64_t encoded_size_ = -1;
};

/// A policy evaluator. Thread-compatible: the processor evaluates one trace at a time, under
/// its lock; stateful policies (rate limits, regex memo) rely on that.
class Policy {
 public:
  virtual ~Policy() = default;
  virtual Decision Evaluate(const TraceView& trace) = 0;
};

/// Builds the evaluator of `config` (recursively for and/not/drop/composite). Fails on a
/// config that cannot work (bad regex, unknown status code, missing sub-policy).
Result<std::unique_ptr<Policy>> BuildPolicy(const PolicyConfig& config);

/// The Collector's probabilistic policy math, exposed for tests: FNV-1a 64 of salt + trace id
/// bytes, sampled when the hash is <= the threshold for `ratio` (MaxUint64 * ratio computed
/// with 64-bit precision and truncated, as Go's big.Float does).
uint64_t ProbabilisticHash(std::string_view salt, const model::TraceId& id);
uint64_t ProbabilisticThreshold(double ratio);

/// The OTLP protobuf size of span `i` of `batch` as a Span message (field framing included,
/// the tag/length that wraps it in ScopeSpans not included).
uint64_t EncodedSpanSize(const model::SpanBatch& batch, size_t i);

/// Validates a W3C tracestate and returns the value of `key`, or "" when the key is absent or
/// the tracestate is invalid (as go.opentelemetry.io/otel/trace.ParseTraceState + Get).
std::string_view TraceStateValue(std::string_view trace_state, std::string_view key);

}  // namespace vivace::processors
