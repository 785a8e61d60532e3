#include "processors/tail_sampling_policies.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace vivace::processors {

using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

std::string_view DecisionLabel(Decision d) {
  switch (d) {
    case Decision::kSampled:
    case Decision::kInvertSampled:
      return "sampled";
    case Decision::kDropped:
      return "dropped";
    default:
      return "not_sampled";
  }
}

bool IsSampled(Decision d) { return d == Decision::kSampled || d == Decision::kInvertSampled; }

// ---------------------------------------------------------------------------------------------
// Probabilistic math.

uint64_t ProbabilisticHash(std::string_view salt, const model::TraceId& id) {
  constexpr uint64_t kOffsetBasis = 14695981039346656037ull;  // FNV-1a 64 parameters
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t h = kOffsetBasis;
  for (char c : salt) {
    h ^= static_cast<uint8_t>(c);
    h *= kPrime;
  }
  for (uint8_t b : id.bytes) {
    h ^= b;
    h *= kPrime;
  }
  return h;
}

uint64_t ProbabilisticThreshold(double ratio) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (!(ratio > 0)) return 0;  // also NaN
  if (ratio >= 1) return kMax;
  // ratio = mant * 2^(exp - 53) exactly, with mant < 2^53.
  int exp = 0;
  double frac = std::frexp(ratio, &exp);
  auto mant = static_cast<uint64_t>(std::ldexp(frac, 53));
  using u128 = unsigned __int128;
  u128 prod = static_cast<u128>(kMax) * mant;  // exact, < 2^117
  // Go computes MaxUint64 * ratio in a big.Float of 64-bit precision (round to nearest even),
  // then truncates to an integer: reproduce the rounding to 64 significant bits.
  auto hi = static_cast<uint64_t>(prod >> 64);
  auto lo = static_cast<uint64_t>(prod);
  int bits = hi != 0 ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll(lo);
  if (bits > 64) {
    int drop = bits - 64;
    u128 mask = (static_cast<u128>(1) << drop) - 1;
    u128 rem = prod & mask;
    u128 half = static_cast<u128>(1) << (drop - 1);
    prod >>= drop;
    if (rem > half || (rem == half && (prod & 1) != 0)) prod += 1;
    prod <<= drop;
  }
  int shift = 53 - exp;  // ratio < 1, so exp <= 0 and shift >= 53
  if (shift >= 128) return 0;
  u128 r = prod >> shift;
  return r > kMax ? kMax : static_cast<uint64_t>(r);
}

// ---------------------------------------------------------------------------------------------
// OTLP protobuf sizes (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto).

namespace {

uint64_t VarintSize(uint64_t v) {
  uint64_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
// A length-delimited field with a one-byte tag.
uint64_t LenField(uint64_t n) { return 1 + VarintSize(n) + n; }
uint64_t StringField(std::string_view s) { return s.empty() ? 0 : LenField(s.size()); }
uint64_t VarintField(uint64_t v) { return v == 0 ? 0 : 1 + VarintSize(v); }

uint64_t KeyValuesSize(const SpanBatch& b, Range r);

uint64_t AnyValueSize(const SpanBatch& b, const Value& v) {
  switch (v.kind) {
    case ValueKind::kString:
    case ValueKind::kBytes:
      return LenField(v.size);  // oneof members are written even if empty
    case ValueKind::kBool:
      return 2;
    case ValueKind::kInt:
      return 1 + VarintSize(static_cast<uint64_t>(v.i));
    case ValueKind::kDouble:
      return 9;
    case ValueKind::kArray: {
      uint64_t n = 0;
      for (uint32_t k = 0; k < v.size; ++k) n += LenField(AnyValueSize(b, b.values[v.first + k]));
      return LenField(n);
    }
    case ValueKind::kKvList:
      return LenField(KeyValuesSize(b, v.range()));
    default:
      return 0;
  }
}

// The repeated KeyValue field of a message (each entry framed with its tag and length).
uint64_t KeyValuesSize(const SpanBatch& b, Range r) {
  uint64_t n = 0;
  for (uint32_t k = r.first; k < r.end(); ++k) {
    const model::KeyValue& kv = b.attributes[k];
    n += LenField(StringField(kv.key) + LenField(AnyValueSize(b, kv.value)));
  }
  return n;
}

uint64_t ResourceSize(const SpanBatch& b, uint32_t r) {
  const model::Resource& res = b.resources[r];
  uint64_t msg = KeyValuesSize(b, res.attributes) + VarintField(res.dropped_attributes_count);
  constexpr uint64_t kResourceSpansFraming = 3;  // ResourceSpans tag + length, typical
  return kResourceSpansFraming + LenField(msg) + StringField(res.schema_url);
}

uint64_t ScopeSize(const SpanBatch& b, uint32_t s) {
  const model::Scope& sc = b.scopes[s];
  uint64_t msg = StringField(sc.name) + StringField(sc.version) + KeyValuesSize(b, sc.attributes) +
                 VarintField(sc.dropped_attributes_count);
  constexpr uint64_t kScopeSpansFraming = 3;  // ScopeSpans tag + length, typical
  return kScopeSpansFraming + LenField(msg) + StringField(sc.schema_url);
}

}  // namespace

uint64_t EncodedSpanSize(const SpanBatch& b, size_t i) {
  uint64_t n = 0;
  if (!b.trace_id[i].IsZero()) n += 18;  // field 1: tag, length, 16 bytes
  if (!b.span_id[i].IsZero()) n += 10;
  n += StringField(b.trace_state[i]);
  if (!b.parent_span_id[i].IsZero()) n += 10;
  if (b.flags[i] != 0) n += 6;  // field 16, fixed32: two-byte tag
  n += StringField(b.name[i]);
  n += VarintField(static_cast<uint64_t>(b.kind[i]));
  if (b.start_unix_nano[i] != 0) n += 9;
  if (b.end_unix_nano[i] != 0) n += 9;
  n += KeyValuesSize(b, b.span_attributes[i]);
  n += VarintField(b.dropped_attributes_count[i]);
  Range ev = b.span_events[i];
  for (uint32_t k = ev.first; k < ev.end(); ++k) {
    const model::Event& e = b.events[k];
    uint64_t m = (e.time_unix_nano != 0 ? 9 : 0) + StringField(e.name) +
                 KeyValuesSize(b, e.attributes) + VarintField(e.dropped_attributes_count);
    n += LenField(m);
  }
  n += VarintField(b.dropped_events_count[i]);
  Range lk = b.span_links[i];
  for (uint32_t k = lk.first; k < lk.end(); ++k) {
    const model::Link& l = b.links[k];
    uint64_t m = (l.trace_id.IsZero() ? 0 : 18) + (l.span_id.IsZero() ? 0 : 10) +
                 StringField(l.trace_state) + KeyValuesSize(b, l.attributes) +
                 VarintField(l.dropped_attributes_count) + (l.flags != 0 ? 5 : 0);
    n += LenField(m);
  }
  n += VarintField(b.dropped_links_count[i]);
  uint64_t status =
      StringField(b.status_message[i]) + VarintField(static_cast<uint64_t>(b.status_code[i]));
  n += LenField(status);  // Status is always written
  return n;
}

uint64_t TraceView::EncodedSize() const {
  if (encoded_size_ >= 0) return static_cast<uint64_t>(encoded_size_);
  // Exact Span messages; the resource and scope of each run of spans from one batch are counted
  // once per run, with typical framing (the Collector's TracesSize of the trace's batches).
  uint64_t total = 0;
  const SpanBatch* last_batch = nullptr;
  uint32_t last_resource = UINT32_MAX;
  uint32_t last_scope = UINT32_MAX;
  for (const SpanLoc& s : spans) {
    const SpanBatch& b = *s.batch;
    uint32_t scope = b.span_scope[s.index];
    if (scope < b.scopes.size()) {
      uint32_t resource = b.scopes[scope].resource;
      if (s.batch != last_batch || resource != last_resource) {
        if (resource < b.resources.size()) total += ResourceSize(b, resource);
        last_resource = resource;
        last_scope = UINT32_MAX;
      }
      if (s.batch != last_batch || scope != last_scope) total += ScopeSize(b, scope);
      last_scope = scope;
    }
    last_batch = s.batch;
    total += LenField(EncodedSpanSize(b, s.index));
  }
  encoded_size_ = static_cast<int64_t>(total);
  return total;
}

// ---------------------------------------------------------------------------------------------
// W3C tracestate (https://www.w3.org/TR/trace-context/#tracestate-header).

namespace {

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

bool ValidKeyPart(std::string_view s, size_t max_len, bool digit_first) {
  if (s.empty() || s.size() > max_len) return false;
  if (!IsLcAlpha(s[0]) && !(digit_first && IsDigit(s[0]))) return false;
  return std::all_of(s.begin() + 1, s.end(), IsKeyChar);
}

bool ValidKey(std::string_view key) {
  size_t at = key.find('@');
  if (at == std::string_view::npos) return ValidKeyPart(key, 256, false);
  return ValidKeyPart(key.substr(0, at), 241, true) && ValidKeyPart(key.substr(at + 1), 14, false);
}

bool ValidValue(std::string_view v) {
  if (v.empty() || v.size() > 256) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    char lo = i + 1 == v.size() ? 0x21 : 0x20;  // the last character may not be a space
    if (c < lo || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}
std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view TraceStateValue(std::string_view ts, std::string_view key) {
  constexpr int kMaxMembers = 32;
  std::string_view found;
  std::string_view seen[kMaxMembers];
  int members = 0;
  while (!ts.empty()) {
    size_t comma = ts.find(',');
    std::string_view member = ts.substr(0, comma);
    ts = comma == std::string_view::npos ? std::string_view() : ts.substr(comma + 1);
    if (TrimRight(TrimLeft(member)).empty()) continue;
    size_t eq = member.find('=');
    if (eq == std::string_view::npos) return {};
    std::string_view k = TrimLeft(member.substr(0, eq));
    std::string_view v = TrimRight(member.substr(eq + 1));
    if (!ValidKey(k) || !ValidValue(v) || members == kMaxMembers) return {};
    for (int j = 0; j < members; ++j) {
      if (seen[j] == k) return {};  // duplicate keys make the whole tracestate invalid
    }
    seen[members++] = k;
    if (k == key) found = v;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Evaluators.

namespace {

const Value* FindAttribute(const SpanBatch& b, Range r, std::string_view key) {
  for (uint32_t k = r.first; k < r.end(); ++k) {
    if (b.attributes[k].key == key) return &b.attributes[k].value;
  }
  return nullptr;
}

// pcommon.Value accessors: the wrong type reads as the zero value.
int64_t IntOf(const Value& v) { return v.kind == ValueKind::kInt ? v.i : 0; }
bool BoolOf(const Value& v) { return v.kind == ValueKind::kBool && v.b; }
std::string_view StrOf(const Value& v) {
  return v.kind == ValueKind::kString ? v.string() : std::string_view();
}

// True if `on_resource` holds for the resource of any run of spans, or `on_span` for any span
// (the Collector's hasResourceOrSpanWithCondition).
template <typename OnResource, typename OnSpan>
bool AnyResourceOrSpan(const TraceView& t, OnResource&& on_resource, OnSpan&& on_span) {
  const SpanBatch* last_batch = nullptr;
  uint32_t last_resource = UINT32_MAX;
  for (const SpanLoc& s : t.spans) {
    const SpanBatch& b = *s.batch;
    uint32_t scope = b.span_scope[s.index];
    if (scope < b.scopes.size()) {
      uint32_t resource = b.scopes[scope].resource;
      if ((s.batch != last_batch || resource != last_resource) && resource < b.resources.size()) {
        last_batch = s.batch;
        last_resource = resource;
        if (on_resource(b.resources[resource].attributes, b)) return true;
      }
    }
    if (on_span(b.span_attributes[s.index], b)) return true;
  }
  return false;
}

template <typename OnSpan>
bool AnySpan(const TraceView& t, OnSpan&& on_span) {
  for (const SpanLoc& s : t.spans) {
    if (on_span(*s.batch, s.index)) return true;
  }
  return false;
}

// `matches_resource`/`matches_span` say whether an attribute set matches the policy. Plain:
// Sampled if anything matches. invert_match: InvertNotSampled if anything matches, else
// InvertSampled (the Collector's invertHasResourceOrSpanWithCondition).
template <typename MatchResource, typename MatchSpan>
Decision AttributeDecision(const TraceView& t, bool invert, MatchResource&& matches_resource,
                           MatchSpan&& matches_span) {
  bool any = AnyResourceOrSpan(t, matches_resource, matches_span);
  if (invert) return any ? Decision::kInvertNotSampled : Decision::kInvertSampled;
  return any ? Decision::kSampled : Decision::kNotSampled;
}

// Token bucket with golang.org/x/time/rate semantics: starts full, refills continuously,
// a request larger than the burst never passes, a refused request takes nothing.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  bool Allow(uint64_t now_ns, uint64_t n) {
    if (started_ && now_ns > last_ns_) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * 1e-9 * rate_);
    }
    if (!started_ || now_ns > last_ns_) last_ns_ = now_ns;
    started_ = true;
    auto need = static_cast<double>(n);
    if (need > burst_ || tokens_ < need) return false;
    tokens_ -= need;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  uint64_t last_ns_ = 0;
  bool started_ = false;
};

class AlwaysSample final : public Policy {
 public:
  Decision Evaluate(const TraceView&) override { return Decision::kSampled; }
};

class Latency final : public Policy {
 public:
  Latency(int64_t threshold_ms, int64_t upper_ms)
      : threshold_ms_(threshold_ms), upper_ms_(upper_ms) {}
  Decision Evaluate(const TraceView& t) override {
    if (t.spans.empty()) return Decision::kNotSampled;
    int64_t d_ms =
        (static_cast<int64_t>(t.max_end_unix_nano) - static_cast<int64_t>(t.min_start_unix_nano)) /
        1000000;  // Go's Duration.Milliseconds truncates toward zero
    bool hit = upper_ms_ == 0 ? d_ms > threshold_ms_ : (d_ms > threshold_ms_ && d_ms <= upper_ms_);
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  int64_t threshold_ms_;
  int64_t upper_ms_;
};

class NumericAttribute final : public Policy {
 public:
  explicit NumericAttribute(const PolicyConfig& c)
      : key_(c.key),
        min_(c.min_value != 0 ? c.min_value : std::numeric_limits<int64_t>::min()),
        max_(c.max_value != 0 ? c.max_value : std::numeric_limits<int64_t>::max()),
        invert_(c.invert_match) {}
  Decision Evaluate(const TraceView& t) override {
    auto matches = [this](Range r, const SpanBatch& b) {
      const Value* v = FindAttribute(b, r, key_);
      if (v == nullptr) return false;
      int64_t x = IntOf(*v);
      return x >= min_ && x <= max_;
    };
    return AttributeDecision(t, invert_, matches, matches);
  }

 private:
  std::string key_;
  int64_t min_, max_;
  bool invert_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class StringAttribute final : public Policy {
 public:
  static Result<std::unique_ptr<Policy>> Make(const PolicyConfig& c) {
    auto p = std::unique_ptr<StringAttribute>(new StringAttribute(c));
    if (c.enabled_regex_matching) {
      for (const std::string& v : c.values) {
        auto re = std::make_unique<re2::RE2>(v, re2::RE2::Quiet);
        if (!re->ok())
          return InvalidArgument("invalid regular expression \"" + v + "\": " + re->error());
        p->regexes_.push_back(std::move(re));
      }
    } else {
      for (const std::string& v : c.values) {
        if (!v.empty()) p->exact_.insert(v);
      }
    }
    return std::unique_ptr<Policy>(std::move(p));
  }
  Decision Evaluate(const TraceView& t) override {
    auto on_resource = [this](Range r, const SpanBatch& b) {
      const Value* v = FindAttribute(b, r, key_);
      return v != nullptr && Matches(StrOf(*v));
    };
    auto on_span = [this](Range r, const SpanBatch& b) {
      const Value* v = FindAttribute(b, r, key_);
      return v != nullptr && !StrOf(*v).empty() && Matches(StrOf(*v));
    };
    return AttributeDecision(t, invert_, on_resource, on_span);
  }

 private:
  explicit StringAttribute(const PolicyConfig& c)
      : key_(c.key),
        invert_(c.invert_match),
        regex_(c.enabled_regex_matching),
        memo_max_(c.cache_max_size > 0 ? static_cast<size_t>(c.cache_max_size) : 128) {}

  bool Matches(std::string_view s) {
    if (!regex_) return exact_.find(s) != exact_.end();
    // The Collector keeps an LRU of regex results; a memo cleared when full gives the same
    // answers with the same bound.
    auto it = memo_.find(s);
    if (it != memo_.end()) return it->second;
    bool hit = false;
    for (const auto& re : regexes_) {
      if (re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re)) {  // Go MatchString
        hit = true;
        break;
      }
    }
    if (memo_.size() >= memo_max_) memo_.clear();
    memo_.emplace(std::string(s), hit);
    return hit;
  }

  std::string key_;
  bool invert_;
  bool regex_;
  size_t memo_max_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> exact_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;
  std::unordered_map<std::string, bool, StringHash, std::equal_to<>> memo_;
};

class BooleanAttribute final : public Policy {
 public:
  explicit BooleanAttribute(const PolicyConfig& c)
      : key_(c.key), value_(c.bool_value), invert_(c.invert_match) {}
  Decision Evaluate(const TraceView& t) override {
    auto matches = [this](Range r, const SpanBatch& b) {
      const Value* v = FindAttribute(b, r, key_);
      return v != nullptr && BoolOf(*v) == value_;
    };
    return AttributeDecision(t, invert_, matches, matches);
  }

 private:
  std::string key_;
  bool value_;
  bool invert_;
};

class Probabilistic final : public Policy {
 public:
  explicit Probabilistic(const PolicyConfig& c)
      : salt_(c.hash_salt.empty() ? "default-hash-seed" : c.hash_salt),
        threshold_(ProbabilisticThreshold(c.sampling_percentage / 100)) {}
  Decision Evaluate(const TraceView& t) override {
    return ProbabilisticHash(salt_, t.trace_id) <= threshold_ ? Decision::kSampled
                                                              : Decision::kNotSampled;
  }

 private:
  std::string salt_;
  uint64_t threshold_;
};

class StatusCodeFilter final : public Policy {
 public:
  explicit StatusCodeFilter(uint8_t mask) : mask_(mask) {}
  Decision Evaluate(const TraceView& t) override {
    bool hit = AnySpan(t, [this](const SpanBatch& b, uint32_t i) {
      return (mask_ & (1u << static_cast<unsigned>(b.status_code[i]))) != 0;
    });
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  uint8_t mask_;
};

class RateLimiting final : public Policy {
 public:
  explicit RateLimiting(int64_t sps)
      : bucket_(static_cast<double>(sps), 2.0 * static_cast<double>(sps)) {}
  Decision Evaluate(const TraceView& t) override {
    return bucket_.Allow(t.now_ns, t.spans.size()) ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  TokenBucket bucket_;
};

class BytesLimiting final : public Policy {
 public:
  BytesLimiting(int64_t bps, int64_t burst)
      : bucket_(static_cast<double>(bps), static_cast<double>(burst > 0 ? burst : 2 * bps)) {}
  Decision Evaluate(const TraceView& t) override {
    return bucket_.Allow(t.now_ns, t.EncodedSize()) ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  TokenBucket bucket_;
};

class SpanCount final : public Policy {
 public:
  SpanCount(int64_t min, int64_t max) : min_(min), max_(max) {}
  Decision Evaluate(const TraceView& t) override {
    auto n = static_cast<int64_t>(t.spans.size());
    bool hit = n >= min_ && (max_ == 0 || n <= max_);
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  int64_t min_, max_;
};

class TraceStateFilter final : public Policy {
 public:
  explicit TraceStateFilter(const PolicyConfig& c) : key_(c.key) {
    for (const std::string& v : c.values) {
      // A list member ("key=value") cannot exceed 256 characters.
      if (!v.empty() && key_.size() + v.size() < 256) values_.insert(v);
    }
  }
  Decision Evaluate(const TraceView& t) override {
    bool hit = AnySpan(t, [this](const SpanBatch& b, uint32_t i) {
      std::string_view ts = b.trace_state[i];
      if (ts.empty()) return false;
      std::string_view v = TraceStateValue(ts, key_);
      return !v.empty() && values_.find(v) != values_.end();
    });
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  std::string key_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> values_;
};

class TraceFlags final : public Policy {
 public:
  Decision Evaluate(const TraceView& t) override {
    bool hit = AnySpan(t, [](const SpanBatch& b, uint32_t i) { return (b.flags[i] & 0x01) != 0; });
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }
};

bool IsNotSampled(Decision d) {
  return d == Decision::kNotSampled || d == Decision::kInvertNotSampled;
}

class And final : public Policy {
 public:
  explicit And(std::vector<std::unique_ptr<Policy>> subs) : subs_(std::move(subs)) {}
  Decision Evaluate(const TraceView& t) override {
    for (auto& s : subs_) {
      if (IsNotSampled(s->Evaluate(t))) return Decision::kNotSampled;
    }
    return Decision::kSampled;
  }

 private:
  std::vector<std::unique_ptr<Policy>> subs_;
};

class Drop final : public Policy {
 public:
  explicit Drop(std::vector<std::unique_ptr<Policy>> subs) : subs_(std::move(subs)) {}
  Decision Evaluate(const TraceView& t) override {
    for (auto& s : subs_) {
      if (IsNotSampled(s->Evaluate(t))) return Decision::kNotSampled;
    }
    return Decision::kDropped;  // every sub-policy sampled
  }

 private:
  std::vector<std::unique_ptr<Policy>> subs_;
};

class Not final : public Policy {
 public:
  explicit Not(std::unique_ptr<Policy> sub) : sub_(std::move(sub)) {}
  Decision Evaluate(const TraceView& t) override {
    Decision d = sub_->Evaluate(t);
    if (d == Decision::kSampled) return Decision::kNotSampled;
    if (d == Decision::kNotSampled) return Decision::kSampled;
    return d;  // inverted decisions pass through unchanged, as in the Collector
  }

 private:
  std::unique_ptr<Policy> sub_;
};

// Sub-policies in order, each with a spans-per-second allocation counted per wall-clock
// second; the first that samples decides, sampling only if its allocation (and the total)
// still has room for the whole trace.
class Composite final : public Policy {
 public:
  struct Sub {
    std::unique_ptr<Policy> policy;
    int64_t allocated_sps = 0;
    int64_t sampled_sps = 0;
  };
  Composite(int64_t max_total_sps, std::vector<Sub> subs)
      : max_total_sps_(max_total_sps), subs_(std::move(subs)) {}
  Decision Evaluate(const TraceView& t) override {
    auto second = static_cast<int64_t>(t.now_ns / 1000000000);
    if (second != current_second_) {
      current_second_ = second;
      for (Sub& s : subs_) s.sampled_sps = 0;
    }
    auto spans = static_cast<int64_t>(t.spans.size());
    for (Sub& s : subs_) {
      if (!IsSampled(s.policy->Evaluate(t))) continue;
      int64_t if_sampled = s.sampled_sps + spans;
      if (if_sampled <= s.allocated_sps && if_sampled <= max_total_sps_) {
        s.sampled_sps = if_sampled;
        return Decision::kSampled;
      }
      return Decision::kNotSampled;  // over budget: a smaller trace may still fit later
    }
    return Decision::kNotSampled;
  }

 private:
  int64_t max_total_sps_;
  std::vector<Sub> subs_;
  int64_t current_second_ = -1;
};

Result<std::vector<std::unique_ptr<Policy>>> BuildAll(const std::vector<PolicyConfig>& configs) {
  std::vector<std::unique_ptr<Policy>> out;
  for (const PolicyConfig& c : configs) {
    VV_ASSIGN_OR_RETURN(auto p, BuildPolicy(c));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Policy>> BuildPolicy(const PolicyConfig& c) {
  auto named = [&c](Status s) { return s.WithContext("policy \"" + c.name + "\""); };
  switch (c.type) {
    case PolicyType::kAlwaysSample:
      return std::unique_ptr<Policy>(std::make_unique<AlwaysSample>());
    case PolicyType::kLatency:
      return std::unique_ptr<Policy>(
          std::make_unique<Latency>(c.threshold_ms, c.upper_threshold_ms));
    case PolicyType::kNumericAttribute:
      return std::unique_ptr<Policy>(std::make_unique<NumericAttribute>(c));
    case PolicyType::kProbabilistic:
      return std::unique_ptr<Policy>(std::make_unique<Probabilistic>(c));
    case PolicyType::kStatusCode: {
      if (c.status_codes.empty())
        return named(InvalidArgument("expected at least one status code to filter on"));
      uint8_t mask = 0;
      for (const std::string& code : c.status_codes) {
        if (code == "OK") {
          mask |= 1u << static_cast<unsigned>(model::StatusCode::kOk);
        } else if (code == "ERROR") {
          mask |= 1u << static_cast<unsigned>(model::StatusCode::kError);
        } else if (code == "UNSET") {
          mask |= 1u << static_cast<unsigned>(model::StatusCode::kUnset);
        } else {
          return named(
              InvalidArgument("unknown status code \"" + code + "\", supported: OK, ERROR, UNSET"));
        }
      }
      return std::unique_ptr<Policy>(std::make_unique<StatusCodeFilter>(mask));
    }
    case PolicyType::kStringAttribute: {
      auto p = StringAttribute::Make(c);
      if (!p.ok()) return named(p.status());
      return p;
    }
    case PolicyType::kRateLimiting:
      return std::unique_ptr<Policy>(std::make_unique<RateLimiting>(c.spans_per_second));
    case PolicyType::kBytesLimiting:
      return std::unique_ptr<Policy>(
          std::make_unique<BytesLimiting>(c.bytes_per_second, c.burst_capacity));
    case PolicyType::kSpanCount:
      return std::unique_ptr<Policy>(std::make_unique<SpanCount>(c.min_spans, c.max_spans));
    case PolicyType::kTraceState:
      return std::unique_ptr<Policy>(std::make_unique<TraceStateFilter>(c));
    case PolicyType::kTraceFlags:
      return std::unique_ptr<Policy>(std::make_unique<TraceFlags>());
    case PolicyType::kBooleanAttribute:
      return std::unique_ptr<Policy>(std::make_unique<BooleanAttribute>(c));
    case PolicyType::kAnd: {
      if (c.sub_policies.empty()) return named(InvalidArgument("and_sub_policy must not be empty"));
      VV_ASSIGN_OR_RETURN(auto subs, BuildAll(c.sub_policies));
      return std::unique_ptr<Policy>(std::make_unique<And>(std::move(subs)));
    }
    case PolicyType::kDrop: {
      if (c.sub_policies.empty())
        return named(InvalidArgument("drop_sub_policy must not be empty"));
      VV_ASSIGN_OR_RETURN(auto subs, BuildAll(c.sub_policies));
      return std::unique_ptr<Policy>(std::make_unique<Drop>(std::move(subs)));
    }
    case PolicyType::kNot: {
      if (c.sub_policies.size() != 1)
        return named(InvalidArgument("not needs exactly one not_sub_policy"));
      VV_ASSIGN_OR_RETURN(auto sub, BuildPolicy(c.sub_policies[0]));
      return std::unique_ptr<Policy>(std::make_unique<Not>(std::move(sub)));
    }
    case PolicyType::kComposite: {
      if (c.sub_policies.empty())
        return named(InvalidArgument("composite_sub_policy must not be empty"));
      // Allocation per sub-policy name: percent of the total, or an equal share when the
      // percent is not positive; a sub-policy without an allocation gets none (as upstream).
      auto total = static_cast<double>(c.max_total_spans_per_second);
      double equal_share = total / static_cast<double>(c.sub_policies.size());
      std::vector<Composite::Sub> subs;
      for (const PolicyConfig& sc : c.sub_policies) {
        Composite::Sub sub;
        VV_ASSIGN_OR_RETURN(sub.policy, BuildPolicy(sc));
        for (const RateAllocation& a : c.rate_allocation) {
          if (a.policy != sc.name) continue;
          double sps = a.percent > 0 ? static_cast<double>(a.percent) / 100 * total : equal_share;
          sub.allocated_sps = static_cast<int64_t>(sps);
        }
        subs.push_back(std::move(sub));
      }
      return std::unique_ptr<Policy>(
          std::make_unique<Composite>(c.max_total_spans_per_second, std::move(subs)));
    }
  }
  return named(InvalidArgument("unknown policy type"));
}

}  // namespace vivace::processors
