#include "processors/attr_values.h"

#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>

#include "base/hash.h"

namespace vivace::processors {

using model::KeyValue;
using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

// ---- ConfigValue ----

ConfigValue ConfigValue::String(std::string v) {
  ConfigValue c;
  c.kind = Kind::kString;
  c.s = std::move(v);
  return c;
}
ConfigValue ConfigValue::Int(int64_t v) {
  ConfigValue c;
  c.kind = Kind::kInt;
  c.i = v;
  return c;
}
ConfigValue ConfigValue::Double(double v) {
  ConfigValue c;
  c.kind = Kind::kDouble;
  c.d = v;
  return c;
}
ConfigValue ConfigValue::Bool(bool v) {
  ConfigValue c;
  c.kind = Kind::kBool;
  c.b = v;
  return c;
}

Value ConfigValue::ToValue(std::string_view string_storage) const {
  switch (kind) {
    case Kind::kString:
      return Value::String(string_storage);
    case Kind::kInt:
      return Value::Int(i);
    case Kind::kDouble:
      return Value::Double(d);
    case Kind::kBool:
      return Value::Bool(b);
  }
  return Value();
}

bool ConfigValue::Equals(const Value& v) const {
  switch (kind) {
    case Kind::kString:
      return v.kind == ValueKind::kString && v.string() == s;
    case Kind::kInt:
      return v.kind == ValueKind::kInt && v.i == i;
    case Kind::kDouble:
      return v.kind == ValueKind::kDouble && v.d == d;
    case Kind::kBool:
      return v.kind == ValueKind::kBool && v.b == b;
  }
  return false;
}

// ---- Regexps ----

Result<std::unique_ptr<re2::RE2>> CompileGoRegexp(std::string_view pattern) {
  // Go accepts `(?<name>re)` as well as `(?P<name>re)`; older RE2 only the latter.
  std::string p;
  p.reserve(pattern.size() + 4);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      p += c;
      p += pattern[++i];
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      p += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      p += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') p += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') p += pattern[++i];
      continue;
    }
    if (c == '(' && pattern.substr(i, 3) == "(?<" && i + 3 < pattern.size() &&
        pattern[i + 3] != '=' && pattern[i + 3] != '!') {
      p += "(?P<";
      i += 2;
      continue;
    }
    p += c;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(p, options);
  if (!re->ok()) {
    return InvalidArgument("invalid regular expression \"" + std::string(pattern) +
                           "\": " + re->error());
  }
  return re;
}

bool RegexpFind(const re2::RE2& re, std::string_view text) {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

Result<KeyRegexp> KeyRegexp::Compile(std::string_view pattern) {
  static std::atomic<uint64_t> next_id{1};
  KeyRegexp k;
  VV_ASSIGN_OR_RETURN(k.re_, CompileGoRegexp(pattern));
  k.id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  return k;
}

KeyRegexp::KeyRegexp(KeyRegexp&&) noexcept = default;
KeyRegexp& KeyRegexp::operator=(KeyRegexp&&) noexcept = default;
KeyRegexp::~KeyRegexp() = default;

bool KeyRegexp::Find(std::string_view key) const {
  struct Entry {
    uint64_t id = 0;
    uint64_t hash = 0;
    std::string key;
    bool match = false;
  };
  constexpr size_t kEntries = 1024;  // direct-mapped; a few hundred distinct keys is typical
  thread_local std::vector<Entry> memo(kEntries);
  uint64_t h = Hash64(key, id_);
  Entry& e = memo[h & (kEntries - 1)];
  if (e.id == id_ && e.hash == h && e.key == key) return e.match;
  e.id = id_;
  e.hash = h;
  e.key.assign(key);
  e.match = RegexpFind(*re_, key);
  return e.match;
}

// ---- Value helpers ----

const Value* FindAttribute(const SpanBatch& batch, Range attrs, std::string_view key) {
  const KeyValue* kv = batch.attributes.data() + attrs.first;
  for (uint32_t i = 0; i < attrs.count; ++i) {
    if (kv[i].key == key) return &kv[i].value;
  }
  return nullptr;
}

namespace {

// Go's strconv.FormatFloat(v, 'f', -1, 64).
std::string_view FormatFloatF(double v, char* buf, size_t cap) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  auto r = std::to_chars(buf, buf + cap, v, std::chars_format::fixed);
  return {buf, static_cast<size_t>(r.ptr - buf)};
}

// pcommon's float64AsString: encoding/json's (ES6) number formatting.
void AppendFloatAsString(double v, std::string& out) {
  if (std::isnan(v) || std::isinf(v)) {
    out += "json: unsupported value: ";
    out += std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[384];
  double a = std::fabs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    size_t n = r.ptr - buf;
    // e-07 -> e-7, as Go cleans it up.
    if (n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
      buf[n - 2] = buf[n - 1];
      --n;
    }
    out.append(buf, n);
    return;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  out.append(buf, r.ptr - buf);
}

void AppendBase64(std::string_view in, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (in.size() - i == 1) {
    uint32_t n = byte(i) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
}

// A JSON string as Go's encoding/json writes it (HTML-safe escaping).
void AppendJsonString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      out += (s[i + 2] & 1) ? "\\u2029" : "\\u2028";  // U+2028/U+2029
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void AppendJson(const SpanBatch& batch, const Value& v, std::string& out) {
  switch (v.kind) {
    case ValueKind::kEmpty:
      out += "null";
      return;
    case ValueKind::kString:
      AppendJsonString(v.string(), out);
      return;
    case ValueKind::kBytes: {
      std::string b64;
      AppendBase64(v.string(), b64);
      AppendJsonString(b64, out);
      return;
    }
    case ValueKind::kArray: {
      out += '[';
      for (uint32_t k = 0; k < v.size; ++k) {
        if (k > 0) out += ',';
        AppendJson(batch, batch.values[v.first + k], out);
      }
      out += ']';
      return;
    }
    case ValueKind::kKvList: {
      // Go marshals maps with sorted keys; the last of duplicate keys wins.
      std::map<std::string_view, const Value*> sorted;
      for (uint32_t k = 0; k < v.size; ++k) {
        const KeyValue& kv = batch.attributes[v.first + k];
        sorted[kv.key] = &kv.value;
      }
      out += '{';
      bool first = true;
      for (const auto& [key, value] : sorted) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(key, out);
        out += ':';
        AppendJson(batch, *value, out);
      }
      out += '}';
      return;
    }
    default:
      AppendAsString(batch, v, out);
  }
}

}  // namespace

bool ScalarText::Set(const Value& v) {
  switch (v.kind) {
    case ValueKind::kString:
      view_ = v.string();
      return true;
    case ValueKind::kBool:
      view_ = v.b ? "true" : "false";
      return true;
    case ValueKind::kInt: {
      auto r = std::to_chars(buf_, buf_ + sizeof(buf_), v.i);
      view_ = {buf_, static_cast<size_t>(r.ptr - buf_)};
      return true;
    }
    case ValueKind::kDouble:
      view_ = FormatFloatF(v.d, buf_, sizeof(buf_));
      return true;
    default:
      view_ = {};
      return false;
  }
}

void AppendAsString(const SpanBatch& batch, const Value& v, std::string& out) {
  switch (v.kind) {
    case ValueKind::kEmpty:
      return;
    case ValueKind::kString:
      out += v.string();
      return;
    case ValueKind::kBool:
      out += v.b ? "true" : "false";
      return;
    case ValueKind::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.i);
      out.append(buf, r.ptr - buf);
      return;
    }
    case ValueKind::kDouble:
      AppendFloatAsString(v.d, out);
      return;
    case ValueKind::kBytes:
      AppendBase64(v.string(), out);
      return;
    case ValueKind::kArray:
    case ValueKind::kKvList:
      AppendJson(batch, v, out);
      return;
  }
}

// ---- AttrListEditor ----

namespace {
std::vector<KeyValue>& ScratchList() {
  thread_local std::vector<KeyValue> list;
  return list;
}
}  // namespace

AttrListEditor::AttrListEditor(SpanBatch& batch, Range attrs)
    : batch_(batch), original_(attrs), list_(ScratchList()) {
  const KeyValue* first = batch.attributes.data() + attrs.first;
  list_.assign(first, first + attrs.count);
}

int AttrListEditor::Find(std::string_view key) const {
  for (size_t i = 0; i < list_.size(); ++i) {
    if (list_[i].key == key) return static_cast<int>(i);
  }
  return -1;
}

void AttrListEditor::Upsert(std::string_view key, Value v) {
  int i = Find(key);
  if (i >= 0) {
    Set(i, v);
  } else {
    Append(key, v);
  }
}

Range AttrListEditor::Commit() {
  if (!changed_) return original_;
  // A list that got no longer is written back over its own range: growing the pool (a copy of
  // every attribute of the batch, and fresh pages) would cost more than the edit itself.
  Range r = list_.size() <= original_.count
                ? Range{original_.first, static_cast<uint32_t>(list_.size())}
                : batch_.AllocAttributes(static_cast<uint32_t>(list_.size()));
  std::copy(list_.begin(), list_.end(), batch_.attributes.begin() + r.first);
  batch_.MarkModified();
  changed_ = false;
  original_ = r;
  return r;
}

}  // namespace vivace::processors
