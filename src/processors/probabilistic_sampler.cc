#include "processors/probabilistic_sampler.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace vivace::processors {

using model::KeyValue;
using model::SpanBatch;
using model::ValueKind;

namespace {

// pkg/sampling: 56-bit thresholds and randomness; threshold 2^56 never samples.
constexpr uint64_t kNever = uint64_t{1} << 56;
constexpr uint64_t kAllProbabilities = kNever - 1;  // randomness sampled at every threshold
constexpr uint32_t kHashBuckets = 0x4000;           // 14 bits of the FNV hash

enum class Priority { kDefer, kKeep, kDrop };

/// The OpenTracing `sampling.priority` span attribute, read as the Collector does.
Priority ParsePriority(const SpanBatch& b, model::Range attrs) {
  static constexpr std::string_view kKey = "sampling.priority";
  for (uint32_t k = 0; k < attrs.count; ++k) {
    const KeyValue& kv = b.attributes[attrs.first + k];
    if (kv.key != kKey) continue;
    double v;
    switch (kv.value.kind) {
      case ValueKind::kInt:
        v = static_cast<double>(kv.value.i);
        break;
      case ValueKind::kDouble:
        v = kv.value.d;
        break;
      case ValueKind::kString: {
        std::string_view s = kv.value.string();
        if (!s.empty() && s[0] == '+') s.remove_prefix(1);
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return Priority::kDefer;
        break;
      }
      default:
        return Priority::kDefer;
    }
    if (v == 0) return Priority::kDrop;
    return v > 0 ? Priority::kKeep : Priority::kDefer;  // NaN and negatives defer
  }
  return Priority::kDefer;
}

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsLcAlphaNum(char c) { return IsLcAlpha(c) || (c >= '0' && c <= '9'); }
bool IsKeyChar(char c) { return IsLcAlphaNum(c) || c == '_' || c == '-' || c == '*' || c == '/'; }
bool IsNonBlankValueChar(char c) {
  return (c >= 0x21 && c <= 0x2B) || (c >= 0x2D && c <= 0x3C) || (c >= 0x3E && c <= 0x7E);
}
bool IsOTelValueChar(char c) {
  return IsLcAlphaNum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ValidW3CKey(std::string_view key) {
  if (key.empty()) return false;
  size_t at = key.find('@');
  auto chars_ok = [](std::string_view s) {
    for (char c : s) {
      if (!IsKeyChar(c)) return false;
    }
    return true;
  };
  if (at == std::string_view::npos) return IsLcAlpha(key[0]) && chars_ok(key.substr(1));
  std::string_view tenant = key.substr(0, at), system = key.substr(at + 1);
  if (tenant.empty() || system.empty() || !IsLcAlphaNum(tenant[0]) || !IsLcAlpha(system[0])) {
    return false;
  }
  if (tenant.size() > 241 || system.size() > 14) return false;
  return chars_ok(tenant.substr(1)) && chars_ok(system.substr(1));
}

bool ValidW3CValue(std::string_view v) {
  if (v.empty() || v.size() > 256 || !IsNonBlankValueChar(v.back())) return false;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] != 0x20 && !IsNonBlankValueChar(v[i])) return false;
  }
  return true;
}

bool ParseHex(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void AppendHex56(uint64_t v, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 52; shift >= 0; shift -= 4) out->push_back(kDigits[(v >> shift) & 0xF]);
}

/// A W3C tracestate with its OpenTelemetry (`ot`) member taken apart, as pkg/sampling's
/// W3CTraceState does, so that the sampler can add `rv`/`th` and write it back.
class TraceState {
 public:
  /// False when the Collector would report the tracestate as invalid.
  bool Parse(std::string_view input) {
    if (input.empty()) return true;
    if (input.size() > 1024) return false;
    int items = 0;
    bool ok = true;
    while (!input.empty()) {
      // W3C allows at most 32 members; pkg/sampling counts empty ones too and stops at 32.
      if (++items >= 32) return false;
      size_t comma = input.find(',');
      std::string_view member = TrimOws(input.substr(0, comma));
      input = comma == std::string_view::npos ? std::string_view() : input.substr(comma + 1);
      if (member.empty()) continue;
      size_t eq = member.find('=');
      if (eq == std::string_view::npos || eq < 1) return false;
      std::string_view key = member.substr(0, eq), value = member.substr(eq + 1);
      if (key.size() > 256 || !ValidW3CKey(key) || !ValidW3CValue(value)) return false;
      if (key == "ot") {
        ok = ParseOTel(value) && ok;
      } else {
        others_.push_back(member);
      }
    }
    return ok;
  }

  bool has_rv() const { return !rv_.empty() || rv_set_; }
  bool has_th() const { return has_th_; }
  uint64_t th() const { return th_; }

  void SetRandomness(uint64_t rnd) {
    rv_set_ = true;
    rv_value_ = rnd;
  }
  /// UpdateTValueWithSampling: the threshold may only rise (probability only fall).
  void UpdateThreshold(uint64_t threshold) {
    if (has_th_ && th_ > threshold) return;
    has_th_ = threshold != kNever;
    th_ = threshold;
    th_text_ = {};
  }

  /// `ot=rv:..;th:..;<other ot fields>` first, then the other members.
  void Serialize(std::string* out) const {
    out->clear();
    bool any_ot = has_rv() || has_th_ || !ot_others_.empty();
    if (any_ot) {
      out->append("ot=");
      bool first = true;
      auto sep = [&] {
        if (!first) out->push_back(';');
        first = false;
      };
      if (has_rv()) {
        sep();
        out->append("rv:");
        if (rv_set_) {
          AppendHex56(rv_value_, out);
        } else {
          out->append(rv_);
        }
      }
      if (has_th_) {
        sep();
        out->append("th:");
        if (!th_text_.empty()) {
          out->append(th_text_);
        } else if (th_ == 0) {
          out->push_back('0');
        } else {
          size_t start = out->size();
          AppendHex56(th_, out);
          while (out->size() > start + 1 && out->back() == '0') out->pop_back();
        }
      }
      for (std::string_view f : ot_others_) {
        sep();
        out->append(f);
      }
    }
    for (std::string_view m : others_) {
      if (!out->empty()) out->push_back(',');
      out->append(m);
    }
  }

 private:
  bool ParseOTel(std::string_view v) {
    rv_ = {};
    has_th_ = false;
    th_text_ = {};
    ot_others_.clear();
    if (v.size() > 256 || v.empty() || v.back() == ';') return false;
    bool ok = true;
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view member = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      size_t colon = member.find(':');
      if (member.empty() || colon == std::string_view::npos || colon < 1) return false;
      std::string_view key = member.substr(0, colon), value = member.substr(colon + 1);
      if (!IsLcAlpha(key[0])) return false;
      for (char c : key) {
        if (!IsLcAlphaNum(c)) return false;
      }
      for (char c : value) {
        if (!IsOTelValueChar(c)) return false;
      }
      if (key == "rv") {
        uint64_t r;
        if (value.size() == 14 && ParseHex(value, &r)) {
          rv_ = value;
        } else {
          ok = false;
        }
      } else if (key == "th") {
        uint64_t t;
        if (!value.empty() && value.size() <= 14 && ParseHex(value, &t)) {
          has_th_ = true;
          th_ = t << (4 * (14 - value.size()));
          th_text_ = value;
        } else {
          ok = false;
        }
      } else {
        ot_others_.push_back(member);
      }
    }
    return ok;
  }

  std::vector<std::string_view> others_;     // "key=value" members other than ot, in order
  std::vector<std::string_view> ot_others_;  // "k:v" fields of ot other than rv and th
  std::string_view rv_;                      // as received
  bool rv_set_ = false;
  uint64_t rv_value_ = 0;
  bool has_th_ = false;
  uint64_t th_ = 0;
  std::string_view th_text_;  // as received, while unchanged
};

}  // namespace

uint64_t ProbabilisticSamplerTransform::HashRandomness(const model::TraceId& id, uint32_t seed) {
  // FNV-1a 32 (Go's hash/fnv New32a) over the seed's little-endian bytes, then the trace ID.
  uint32_t h = 2166136261u;
  for (int i = 0; i < 4; ++i) {
    h ^= (seed >> (8 * i)) & 0xFF;
    h *= 16777619u;
  }
  for (uint8_t b : id.bytes) {
    h ^= b;
    h *= 16777619u;
  }
  uint64_t hashed = h & (kHashBuckets - 1);
  // randomnessFromBytes: R' = 0x3fff - hashed in the top 14 bits, then a mix of the hash's top
  // bits, then hashed itself.
  uint64_t rprime = kHashBuckets - 1 - hashed;
  uint64_t unused = h >> (32 - 14);
  uint64_t mixed = unused ^ (unused << 10);
  return (rprime << 42) | (mixed << 14) | hashed;
}

ProbabilisticSamplerTransform::ProbabilisticSamplerTransform(const ProbabilisticSamplerOptions& o,
                                                             const model::ComponentContext& ctx)
    : seed_(o.hash_seed), fail_closed_(o.fail_closed) {
  float pct = o.sampling_percentage > 100 ? 100.0f : o.sampling_percentage;
  // uint32(pct * percentageScaleFactor): a float32 product, truncated (kept for compatibility
  // with every earlier version of the Collector's sampler).
  float product = pct * static_cast<float>(kHashBuckets / 100.0);  // SSE: no excess precision
  auto rate = static_cast<uint32_t>(product);
  never_ = pct <= 0 || rate == 0;
  threshold_ =
      never_ ? kNever : static_cast<uint64_t>(kHashBuckets - std::min(rate, kHashBuckets)) << 42;
  if (ctx.metrics != nullptr) {
    static constexpr const char* kPolicyNames[kPolicies] = {"trace_id_hash", "sampling_priority",
                                                            "missing_randomness"};
    for (int p = 0; p < kPolicies; ++p) {
      for (int s = 0; s < 2; ++s) {
        Labels labels = {
            {"processor", ctx.id}, {"policy", kPolicyNames[p]}, {"sampled", s ? "true" : "false"}};
        counts_[p][s] = ctx.metrics->GetCounter(
            "otelcol_processor_probabilistic_sampler_count_spans_processed_total",
            "Count of spans that were sampled or not.", labels);
        deprecated_counts_[p][s] = ctx.metrics->GetCounter(
            "otelcol_processor_probabilistic_sampler_count_traces_sampled_total",
            "[DEPRECATED] Count of spans that were sampled or not.", labels);
      }
    }
  }
}

void ProbabilisticSamplerTransform::Apply(SpanBatch& batch) {
  size_t n = batch.size();
  std::vector<uint8_t> keep(n);
  uint64_t counts[kPolicies][2] = {};
  std::string serialized;
  bool rewrote = false;
  for (size_t i = 0; i < n; ++i) {
    Priority priority = ParsePriority(batch, batch.span_attributes[i]);
    TraceState ts;
    bool carrier = ts.Parse(batch.trace_state[i]);
    bool error = !carrier;
    uint64_t randomness;
    Policy policy;
    if (never_) {
      // The Collector's never-sampler uses a placeholder randomness and does not hash.
      randomness = kAllProbabilities;
      policy = kPriority;
    } else {
      bool missing = batch.trace_id[i].IsZero();
      randomness = missing ? kAllProbabilities : HashRandomness(batch.trace_id[i], seed_);
      policy = missing ? kMissing : kTraceIdHash;
      if (carrier && (ts.has_rv() || ts.has_th())) {
        // Explicit randomness or threshold: the consistent modes' business, not hash_seed's.
        error = true;
        carrier = false;
      } else if (carrier) {
        ts.SetRandomness(randomness);
      }
      error = error || missing;
    }
    uint64_t threshold = error ? (fail_closed_ ? kNever : 0) : (never_ ? kNever : threshold_);
    if (priority != Priority::kDefer) {
      threshold = priority == Priority::kKeep ? 0 : kNever;
      policy = kPriority;
    }
    bool sampled = randomness >= threshold;
    keep[i] = sampled;
    ++counts[policy][sampled];
    if (sampled && carrier) {
      ts.UpdateThreshold(threshold);
      ts.Serialize(&serialized);
      if (serialized != batch.trace_state[i]) {
        batch.trace_state[i] = batch.arena.Copy(serialized);
        rewrote = true;
      }
    }
  }
  if (rewrote) batch.MarkModified();
  batch.RetainSpans(keep);
  for (int p = 0; p < kPolicies; ++p) {
    for (int s = 0; s < 2; ++s) {
      if (counts[p][s] == 0 || counts_[p][s] == nullptr) continue;
      counts_[p][s]->Add(counts[p][s]);
      deprecated_counts_[p][s]->Add(counts[p][s]);
    }
  }
}

}  // namespace vivace::processors
