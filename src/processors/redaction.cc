#include "processors/redaction.h"

#include <openssl/evp.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "base/hash.h"
#include "base/strings.h"

namespace vivace::processors {

using model::KeyValue;
using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

namespace {

// The summary attributes (processor.go constants). They are always allowed, so that a second
// redaction processor keeps (and adds to) what the first wrote.
constexpr std::string_view kRedactedKeys = "redaction.redacted.keys";
constexpr std::string_view kRedactedCount = "redaction.redacted.count";
constexpr std::string_view kMaskedKeys = "redaction.masked.keys";
constexpr std::string_view kMaskedCount = "redaction.masked.count";
constexpr std::string_view kAllowedKeys = "redaction.allowed.keys";
constexpr std::string_view kAllowedCount = "redaction.allowed.count";
constexpr std::string_view kIgnoredCount = "redaction.ignored.count";
constexpr std::string_view kSummaryKeys[] = {
    kRedactedKeys, kRedactedCount, kMaskedKeys, kMaskedCount, kAllowedKeys, kAllowedCount,
    kIgnoredCount,
    // Written by the Collector for log bodies; allowed through for the same reason.
    "redaction.body.redacted.keys", "redaction.body.redacted.count", "redaction.body.masked.keys",
    "redaction.body.masked.count", "redaction.body.allowed.keys", "redaction.body.allowed.count",
    "redaction.body.ignored.count"};

constexpr std::string_view kMask = "****";

/// Regexes matched as a group. One alternation of them all answers "does any match?" in a
/// single DFA pass without allocating (the common, no-match case); an RE2::Set says which match;
/// the individual RE2s serve replacement and the fallback when a DFA runs out of memory.
class PatternList {
 public:
  Status Add(const std::string& pattern) {
    auto re = std::make_unique<RE2>(pattern, Options());
    if (!re->ok()) return InvalidArgument("invalid regex \"" + pattern + "\": " + re->error());
    if (!set_) set_ = std::make_unique<RE2::Set>(Options(), RE2::UNANCHORED);
    std::string error;
    if (set_->Add(pattern, &error) < 0) {
      return InvalidArgument("invalid regex \"" + pattern + "\": " + error);
    }
    each_.push_back(std::move(re));
    return Status::OK();
  }
  Status Compile() {
    if (!set_) return Status::OK();
    if (!set_->Compile()) return InvalidArgument("regex set too large to compile");
    std::vector<const RE2*> all;
    for (const auto& re : each_) all.push_back(re.get());
    any_ = Alternation(all);
    if (!any_->ok()) return InvalidArgument("regexes do not combine: " + any_->error());
    return Status::OK();
  }

  static RE2::Options Options() {
    RE2::Options opts;
    opts.set_log_errors(false);
    return opts;
  }
  /// `(?:a)|(?:b)|...`: flags such as (?i) stay inside their group.
  static std::unique_ptr<RE2> Alternation(const std::vector<const RE2*>& res) {
    std::string alt;
    for (const RE2* re : res) {
      if (!alt.empty()) alt.push_back('|');
      alt += "(?:" + re->pattern() + ")";
    }
    return std::make_unique<RE2>(alt, Options());
  }

  bool empty() const { return each_.empty(); }
  size_t size() const { return each_.size(); }
  const RE2& at(size_t i) const { return *each_[i]; }

  bool MatchesAny(std::string_view s) const {
    return any_ != nullptr && RE2::PartialMatch(s, *any_);
  }

  /// Indices of the patterns matching `s`, ascending.
  void MatchAll(std::string_view s, std::vector<int>* out) const {
    out->clear();
    if (!MatchesAny(s)) return;
    RE2::Set::ErrorInfo info;
    if (set_->Match(s, out, &info)) {
      std::sort(out->begin(), out->end());
      return;
    }
    out->clear();
    if (info.kind == RE2::Set::kNoError) return;
    for (size_t i = 0; i < each_.size(); ++i) {
      if (RE2::PartialMatch(s, *each_[i])) out->push_back(static_cast<int>(i));
    }
  }

 private:
  std::unique_ptr<RE2::Set> set_;
  std::vector<std::unique_ptr<RE2>> each_;
  std::unique_ptr<RE2> any_;
};

enum class KeyAction : uint8_t { kIgnore, kRedact, kMaskKey, kExamine };

size_t RuneWidth(std::string_view s, size_t i) {
  auto c = static_cast<uint8_t>(s[i]);
  size_t n = c < 0x80                 ? 1
             : c >= 0xC2 && c <= 0xDF ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

}  // namespace

struct RedactionTransform::Rules {
  bool allow_all_keys = false;
  bool redact_all_types = false;
  RedactionHash hash = RedactionHash::kNone;
  RedactionSummary summary = RedactionSummary::kSilent;
  std::set<std::string, std::less<>> allowed;
  std::set<std::string, std::less<>> ignored;
  PatternList ignored_patterns;
  PatternList blocked_keys;
  PatternList allowed_values;
  PatternList blocked_values;
  RE2 whole{".*"};  // masks a whole value, as the Collector's maskAllValuesRegex
  // Whether any key needs looking at (otherwise every key is kExamine).
  bool keys_matter = false;
  // Whether the empty string (the Collector's view of a non-string value) matches an allowed
  // or a blocked value pattern.
  bool empty_allowed = false;
  bool empty_blocked = false;
  // Any allowed or blocked value pattern: one pass rules out most values.
  std::unique_ptr<RE2> value_prefilter;

  KeyAction Classify(std::string_view key) const {
    if (ignored.find(key) != ignored.end() || ignored_patterns.MatchesAny(key)) {
      return KeyAction::kIgnore;
    }
    if (!allow_all_keys && allowed.find(key) == allowed.end()) return KeyAction::kRedact;
    if (blocked_keys.MatchesAny(key)) return KeyAction::kMaskKey;
    return KeyAction::kExamine;
  }

  /// Appends the replacement for one matched text: "****" or the hex digest.
  void AppendMask(std::string_view matched, std::string* out) const {
    const EVP_MD* md = nullptr;
    switch (hash) {
      case RedactionHash::kNone:
        out->append(kMask);
        return;
      case RedactionHash::kMd5:
        md = EVP_md5();
        break;
      case RedactionHash::kSha1:
        md = EVP_sha1();
        break;
      case RedactionHash::kSha3:
        md = EVP_sha3_256();
        break;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(matched.data(), matched.size(), digest, &len, md, nullptr);
    AppendHex(out, std::string_view(reinterpret_cast<const char*>(digest), len));
  }

  /// Replaces every match of `re` in `s` as Go's Regexp.ReplaceAllStringFunc does (an empty
  /// match right after a match is not replaced; the search advances a rune at a time).
  void ReplaceAll(const RE2& re, std::string_view s, std::string* out) const {
    out->clear();
    size_t n = s.size();
    size_t search = 0;
    size_t last_end = 0;
    re2::StringPiece m;
    while (search <= n) {
      if (!re.Match(s, search, n, RE2::UNANCHORED, &m, 1)) break;
      size_t a0 = static_cast<size_t>(m.data() - s.data());
      size_t a1 = a0 + m.size();
      out->append(s.substr(last_end, a0 - last_end));
      if (a1 > last_end || a0 == 0) AppendMask(s.substr(a0, a1 - a0), out);
      last_end = a1;
      size_t width = search < n ? RuneWidth(s, search) : 0;
      if (search + width > a1) {
        search += width;
      } else if (search + 1 > a1) {
        ++search;
      } else {
        search = a1;
      }
    }
    out->append(s.substr(std::min(last_end, n)));
  }
};

namespace {

/// A per-batch memo from strings (views into the batch) to a small decision: keys and many
/// values repeat across the spans of a batch, and one hash probe is far cheaper than the set
/// lookups and regex passes behind a decision.
template <typename T>
class ViewMemo {
 public:
  /// The memoised decision for `s`, computing it with `decide(s)` the first time.
  template <typename Decide>
  T Get(std::string_view s, Decide&& decide) {
    uint64_t h = Hash64(s);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        T v = decide(s);
        slot = Slot{s, h, v, true};
        if (++used_ * 2 > slots_.size()) Grow();
        return v;
      }
      if (slot.hash == h && slot.key == s) return slot.value;
    }
  }

 private:
  struct Slot {
    std::string_view key;
    uint64_t hash = 0;
    T value{};
    bool used = false;
  };
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (!s.used) continue;
      size_t i = s.hash & mask;
      while (slots_[i].used) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_ = std::vector<Slot>(64);
  size_t used_ = 0;
};

// Values longer than this are rarely repeated: they are matched without the memo.
constexpr size_t kMemoMaxValue = 128;

/// Go's strconv formatting of a float64 as pcommon.Value.AsString does it.
void AppendGoFloat(double d, std::string* out) {
  char buf[64];
  if (std::isnan(d) || std::isinf(d)) {
    out->append("json: unsupported value: ");
    out->append(std::isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
    return;
  }
  double a = std::fabs(d);
  bool sci = a != 0 && (a < 1e-6 || a >= 1e21);
  auto r = std::to_chars(buf, buf + sizeof buf, d,
                         sci ? std::chars_format::scientific : std::chars_format::fixed);
  size_t n = static_cast<size_t>(r.ptr - buf);
  // Go's formatter then shortens a negative two-digit exponent: "1e-07" -> "1e-7".
  if (sci && n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];
    --n;
  }
  out->append(buf, n);
}

/// Working state of one Apply, reused across the attribute lists of a batch.
class Redactor {
 public:
  Redactor(const RedactionTransform::Rules& rules, SpanBatch& batch) : r_(rules), b_(batch) {}

  bool changed() const { return changed_; }

  /// Redacts the attribute list `range` and returns where it now lives (possibly moved to the
  /// end of the pool when summary attributes did not fit).
  Range Process(Range range) {
    redacted_.clear();
    masked_.clear();
    allowed_.clear();
    size_t ignored = 0;
    size_t kept = 0;
    for (uint32_t k = 0; k < range.count; ++k) {
      uint32_t idx = range.first + k;
      KeyValue kv = b_.attributes[idx];
      KeyAction action =
          r_.keys_matter ? keys_.Get(kv.key, [this](std::string_view k) { return r_.Classify(k); })
                         : KeyAction::kExamine;
      if (action == KeyAction::kIgnore) {
        ++ignored;
      } else if (action == KeyAction::kRedact) {
        redacted_.push_back(kv.key);
        changed_ = true;
        continue;  // dropped: not copied down
      } else {
        ExamineValue(kv, action);
      }
      b_.attributes[range.first + kept++] = kv;
    }
    range.count = static_cast<uint32_t>(kept);
    if (r_.summary == RedactionSummary::kSilent ||
        (redacted_.empty() && masked_.empty() && allowed_.empty() && ignored == 0)) {
      return range;
    }
    return AddSummary(range, ignored);
  }

 private:
  /// Rules 3-5 for one kept attribute; updates kv.value when masked.
  void ExamineValue(KeyValue& kv, KeyAction action) {
    bool is_string = kv.value.kind == ValueKind::kString;
    // The Collector looks at value.Str(), which is "" for non-strings unless redact_all_types:
    // the empty string's fate is precomputed.
    std::string_view str;
    bool allowed;
    if (is_string || r_.redact_all_types) {
      str = is_string ? kv.value.string() : AsString(kv.value);
      bool any = false;
      if (r_.value_prefilter != nullptr) {
        auto match = [this](std::string_view v) {
          return RE2::PartialMatch(v, *r_.value_prefilter);
        };
        any = is_string && str.size() <= kMemoMaxValue ? values_.Get(str, match) : match(str);
      }
      if (!any && action != KeyAction::kMaskKey) return;
      allowed = any && r_.allowed_values.MatchesAny(str);
    } else {
      allowed = r_.empty_allowed;
      if (!allowed && action != KeyAction::kMaskKey && !r_.empty_blocked) return;
    }
    if (allowed) {
      allowed_.push_back(kv.key);
      return;
    }
    if (action == KeyAction::kMaskKey) {
      r_.ReplaceAll(r_.whole, str, &out_);
      SetString(kv, out_);
      masked_.push_back(kv.key);
      return;
    }
    if (r_.blocked_values.empty()) return;
    r_.blocked_values.MatchAll(str, &hits_);
    if (hits_.empty()) return;
    // Each blocked regex applies in order to the result of the previous ones; the set's answer
    // is exact until the first change, after which each later regex is rechecked.
    std::string current(str);
    bool modified = false;
    size_t next_hit = 0;
    for (size_t i = 0; i < r_.blocked_values.size(); ++i) {
      bool matches;
      if (!modified) {
        matches = next_hit < hits_.size() && hits_[next_hit] == static_cast<int>(i);
        if (matches) ++next_hit;
      } else {
        matches = RE2::PartialMatch(current, r_.blocked_values.at(i));
      }
      if (!matches) continue;
      r_.ReplaceAll(r_.blocked_values.at(i), current, &out_);
      modified = modified || out_ != current;
      current.swap(out_);
    }
    if (current != str) {
      SetString(kv, current);
      masked_.push_back(kv.key);
    }
  }

  std::string_view AsString(const Value& v) {
    scratch_.clear();
    switch (v.kind) {
      case ValueKind::kBool:
        scratch_ = v.b ? "true" : "false";
        break;
      case ValueKind::kInt:
        scratch_ = std::to_string(v.i);
        break;
      case ValueKind::kDouble:
        AppendGoFloat(v.d, &scratch_);
        break;
      case ValueKind::kBytes:
        AppendBase64(&scratch_, v.string());
        break;
      default:
        break;  // arrays and maps: not examined
    }
    return scratch_;
  }

  void SetString(KeyValue& kv, std::string_view s) {
    kv.value = Value::String(b_.arena.Copy(s));
    changed_ = true;
  }

  /// Position of `key` in the list, or -1.
  int64_t Find(Range range, std::string_view key) const {
    for (uint32_t k = 0; k < range.count; ++k) {
      if (b_.attributes[range.first + k].key == key) return range.first + k;
    }
    return -1;
  }

  void PutKeys(Range range, std::string_view name, std::vector<std::string_view>& keys) {
    if (keys.empty() || r_.summary != RedactionSummary::kDebug) return;
    int64_t at = Find(range, name);
    std::vector<std::string_view> all(keys.begin(), keys.end());
    if (at >= 0 && b_.attributes[at].value.kind == ValueKind::kString) {
      std::string_view prev = b_.attributes[at].value.string();
      while (!prev.empty()) {
        size_t comma = prev.find(',');
        all.push_back(prev.substr(0, comma));
        prev = comma == std::string_view::npos ? std::string_view() : prev.substr(comma + 1);
      }
    }
    std::sort(all.begin(), all.end());
    std::string joined;
    for (size_t i = 0; i < all.size(); ++i) {
      if (i > 0) joined.push_back(',');
      joined.append(all[i]);
    }
    Put(at, name, Value::String(b_.arena.Copy(joined)));
  }

  void PutCount(Range range, std::string_view name, size_t count) {
    if (count == 0) return;
    int64_t at = Find(range, name);
    int64_t total = static_cast<int64_t>(count);
    if (at >= 0 && b_.attributes[at].value.kind == ValueKind::kInt) {
      total += b_.attributes[at].value.i;
    }
    Put(at, name, Value::Int(total));
  }

  void Put(int64_t at, std::string_view name, Value v) {
    if (at >= 0) {
      b_.attributes[at].value = v;
    } else {
      added_.push_back(KeyValue{b_.arena.Copy(name), v});
    }
    changed_ = true;
  }

  Range AddSummary(Range range, size_t ignored) {
    added_.clear();
    PutKeys(range, kRedactedKeys, redacted_);
    PutCount(range, kRedactedCount, redacted_.size());
    PutKeys(range, kMaskedKeys, masked_);
    PutCount(range, kMaskedCount, masked_.size());
    PutKeys(range, kAllowedKeys, allowed_);
    PutCount(range, kAllowedCount, allowed_.size());
    PutCount(range, kIgnoredCount, ignored);
    if (added_.empty()) return range;
    // Slots freed by removed attributes take the additions in place; otherwise the list moves
    // to the end of the pool (the old slots become unreferenced).
    uint32_t total = range.count + static_cast<uint32_t>(added_.size());
    uint32_t capacity = range.count + static_cast<uint32_t>(redacted_.size());
    Range out = range;
    if (total > capacity) {
      out = b_.AllocAttributes(total);
      for (uint32_t k = 0; k < range.count; ++k) {
        b_.attributes[out.first + k] = b_.attributes[range.first + k];
      }
    }
    for (size_t k = 0; k < added_.size(); ++k) {
      b_.attributes[out.first + range.count + k] = added_[k];
    }
    out.count = total;
    return out;
  }

  const RedactionTransform::Rules& r_;
  SpanBatch& b_;
  ViewMemo<KeyAction> keys_;
  ViewMemo<bool> values_;  // string value -> matches some allowed or blocked value pattern
  bool changed_ = false;
  std::vector<std::string_view> redacted_, masked_, allowed_;
  std::vector<KeyValue> added_;
  std::vector<int> hits_;
  std::string out_;
  std::string scratch_;
};

}  // namespace

Result<std::unique_ptr<RedactionTransform>> RedactionTransform::Create(const RedactionOptions& o) {
  auto rules = std::make_unique<Rules>();
  rules->allow_all_keys = o.allow_all_keys;
  rules->redact_all_types = o.redact_all_types;
  rules->hash = o.hash_function;
  rules->summary = o.summary;
  rules->allowed.insert(o.allowed_keys.begin(), o.allowed_keys.end());
  for (std::string_view k : kSummaryKeys) rules->allowed.emplace(k);
  rules->ignored.insert(o.ignored_keys.begin(), o.ignored_keys.end());
  struct List {
    const std::vector<std::string>* patterns;
    PatternList* out;
    const char* name;
  };
  for (const List& l :
       {List{&o.ignored_key_patterns, &rules->ignored_patterns, "ignored_key_patterns"},
        List{&o.blocked_key_patterns, &rules->blocked_keys, "blocked_key_patterns"},
        List{&o.allowed_values, &rules->allowed_values, "allowed_values"},
        List{&o.blocked_values, &rules->blocked_values, "blocked_values"}}) {
    for (const std::string& p : *l.patterns) VV_RETURN_IF_ERROR(l.out->Add(p).WithContext(l.name));
    VV_RETURN_IF_ERROR(l.out->Compile().WithContext(l.name));
  }
  rules->keys_matter = !o.allow_all_keys || !rules->ignored.empty() ||
                       !rules->ignored_patterns.empty() || !rules->blocked_keys.empty();
  std::vector<const RE2*> value_patterns;
  for (const PatternList* l : {&rules->allowed_values, &rules->blocked_values}) {
    for (size_t i = 0; i < l->size(); ++i) value_patterns.push_back(&l->at(i));
  }
  if (!value_patterns.empty()) {
    rules->value_prefilter = PatternList::Alternation(value_patterns);
    if (!rules->value_prefilter->ok()) return InvalidArgument("value patterns do not combine");
  }
  rules->empty_allowed = rules->allowed_values.MatchesAny("");
  rules->empty_blocked = rules->blocked_values.MatchesAny("");
  return std::unique_ptr<RedactionTransform>(new RedactionTransform(std::move(rules)));
}

RedactionTransform::RedactionTransform(std::unique_ptr<const Rules> rules)
    : rules_(std::move(rules)) {}
RedactionTransform::~RedactionTransform() = default;

void RedactionTransform::Apply(SpanBatch& batch) {
  Redactor red(*rules_, batch);
  // Resources and scopes are shared by the spans that index them: each is processed once.
  for (auto& res : batch.resources) res.attributes = red.Process(res.attributes);
  for (auto& scope : batch.scopes) scope.attributes = red.Process(scope.attributes);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch.span_attributes[i] = red.Process(batch.span_attributes[i]);
    Range events = batch.span_events[i];
    for (uint32_t e = 0; e < events.count; ++e) {
      Range a = batch.events[events.first + e].attributes;
      batch.events[events.first + e].attributes = red.Process(a);
    }
  }
  if (red.changed()) batch.MarkModified();
}

}  // namespace vivace::processors
