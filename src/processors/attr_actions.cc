#include "processors/attr_actions.h"

#include <openssl/sha.h>
#include <re2/re2.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace vivace::processors {

using model::KeyValue;
using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

// ---- AttrActions ----

namespace {

enum class Kind : uint8_t { kInsert, kUpdate, kUpsert, kDelete, kHash, kExtract, kConvert };
enum class Target : uint8_t { kNone, kInt, kDouble, kString };

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<Kind> ParseKind(std::string_view lower) {
  if (lower == "insert") return Kind::kInsert;
  if (lower == "update") return Kind::kUpdate;
  if (lower == "upsert") return Kind::kUpsert;
  if (lower == "delete") return Kind::kDelete;
  if (lower == "hash") return Kind::kHash;
  if (lower == "extract") return Kind::kExtract;
  if (lower == "convert") return Kind::kConvert;
  return std::nullopt;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Go's strconv.ParseInt(s, 10, 64).
std::optional<int64_t> ParseGoInt(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  if (digits.empty() || digits[0] == '+') return std::nullopt;
  int64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

// Go's strconv.ParseFloat(s, 64), decimal forms plus inf/infinity/nan.
std::optional<double> ParseGoFloat(std::string_view s) {
  bool neg = false;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string lower = Lower(body);
  if (lower == "inf" || lower == "infinity") {
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (body.empty() || body[0] == '+' || body[0] == '-') return std::nullopt;
  double v = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (r.ec != std::errc() || r.ptr != body.data() + body.size()) return std::nullopt;
  return neg ? -v : v;
}

// Go's int64(f) on amd64: truncation, and 0x8000000000000000 when out of range or NaN.
int64_t GoFloatToInt(double d) {
  if (std::isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(d);
}

// The attraction hash: SHA-1 hex of the value's bytes (ints and doubles as 8 little-endian
// bytes, bools as one byte); other kinds and empty strings become "".
Value HashValue(const Value& v, Arena& arena) {
  unsigned char scratch[8];
  const unsigned char* data = scratch;
  size_t n = 0;
  switch (v.kind) {
    case ValueKind::kString:
      data = reinterpret_cast<const unsigned char*>(v.str);
      n = v.size;
      break;
    case ValueKind::kBool:
      scratch[0] = v.b ? 1 : 0;
      n = 1;
      break;
    case ValueKind::kInt:
    case ValueKind::kDouble: {
      uint64_t bits;
      if (v.kind == ValueKind::kInt) {
        bits = static_cast<uint64_t>(v.i);
      } else {
        std::memcpy(&bits, &v.d, 8);
      }
      for (int k = 0; k < 8; ++k) scratch[k] = static_cast<unsigned char>(bits >> (8 * k));
      n = 8;
      break;
    }
    default:
      break;
  }
  if (n == 0) return Value::String({});
  // SHA-256, the Collector's hash since contrib v0.79 (#22831; SHA-1 before).
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(data, n, md);
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr size_t kHexSize = size_t{2} * SHA256_DIGEST_LENGTH;
  char* out = arena.Allocate(kHexSize);
  for (size_t k = 0; k < SHA256_DIGEST_LENGTH; ++k) {
    out[2 * k] = kHex[md[k] >> 4];
    out[2 * k + 1] = kHex[md[k] & 15];
  }
  return Value::String({out, kHexSize});
}

// The attraction convert action: the converted value, or nullopt when it stays as it is.
std::optional<Value> ConvertValue(const SpanBatch& batch, Target target, const Value& v,
                                  Arena& arena) {
  switch (target) {
    case Target::kString: {
      if (v.kind == ValueKind::kString) return std::nullopt;
      thread_local std::string text;
      text.clear();
      AppendAsString(batch, v, text);
      return Value::String(arena.Copy(text));
    }
    case Target::kInt:
      switch (v.kind) {
        case ValueKind::kDouble:
          return Value::Int(GoFloatToInt(v.d));
        case ValueKind::kBool:
          return Value::Int(v.b ? 1 : 0);
        case ValueKind::kString:
          if (auto n = ParseGoInt(v.string())) {
            return Value::Int(*n);
          }
          return std::nullopt;
        default:
          return std::nullopt;
      }
    case Target::kDouble:
      switch (v.kind) {
        case ValueKind::kInt:
          return Value::Double(static_cast<double>(v.i));
        case ValueKind::kBool:
          return Value::Double(v.b ? 1 : 0);
        case ValueKind::kString:
          if (auto d = ParseGoFloat(v.string())) {
            return Value::Double(*d);
          }
          return std::nullopt;
        default:
          return std::nullopt;
      }
    case Target::kNone:
      return std::nullopt;
  }
  return std::nullopt;
}

constexpr uint32_t kNoString = UINT32_MAX;

}  // namespace

struct AttrActions::Action {
  Kind kind = Kind::kDelete;
  std::string key;
  uint32_t key_string = kNoString;  // index into strings_, for writing the key
  std::optional<ConfigValue> literal;
  uint32_t literal_string = kNoString;
  std::string from_attribute;
  std::optional<ConfigValue> default_value;
  uint32_t default_string = kNoString;
  std::optional<KeyRegexp> key_regex;   // delete, hash
  std::unique_ptr<re2::RE2> regex;      // extract
  std::vector<uint32_t> group_strings;  // extract: strings_ index of the name of group i + 1
  Target target = Target::kNone;
};

AttrActions::AttrActions() = default;
AttrActions::AttrActions(AttrActions&&) noexcept = default;
AttrActions& AttrActions::operator=(AttrActions&&) noexcept = default;
AttrActions::~AttrActions() = default;

Status AttrActions::Validate(const AttrActionConfig& a) {
  std::string name = Lower(a.action);
  if (name.empty()) return InvalidArgument("missing required field \"action\"");
  std::optional<Kind> kind = ParseKind(name);
  if (!kind) {
    return InvalidArgument("unsupported action " + Quoted(a.action) +
                           " (use insert, update, upsert, delete, hash, extract or convert)");
  }
  if (*kind == Kind::kDelete || *kind == Kind::kHash) {
    if (a.key.empty() && a.pattern.empty()) {
      return InvalidArgument("action " + Quoted(name) + " needs \"key\" or \"pattern\" (or both)");
    }
  } else if (a.key.empty()) {
    return InvalidArgument("missing required field \"key\" for action " + Quoted(name));
  }
  int sources =
      (a.value ? 1 : 0) + (a.from_attribute.empty() ? 0 : 1) + (a.from_context.empty() ? 0 : 1);
  auto not_used = [&](std::string_view field) {
    return InvalidArgument("action " + Quoted(name) + " does not use the \"" + std::string(field) +
                           "\" field");
  };
  if (a.default_value && *kind != Kind::kInsert && *kind != Kind::kUpdate &&
      *kind != Kind::kUpsert) {
    return not_used("default_value");
  }
  switch (*kind) {
    case Kind::kInsert:
    case Kind::kUpdate:
    case Kind::kUpsert:
      if (sources == 0 && !a.default_value) {
        return InvalidArgument("action " + Quoted(name) +
                               " needs one of \"value\", \"from_attribute\" or \"from_context\"");
      }
      if (sources > 1) {
        return InvalidArgument(
            "action " + Quoted(name) +
            " takes only one of \"value\", \"from_attribute\" and \"from_context\"");
      }
      if (!a.pattern.empty()) return not_used("pattern");
      if (!a.converted_type.empty()) return not_used("converted_type");
      if (!a.from_context.empty()) {
        return InvalidArgument(
            "\"from_context\" (" + Quoted(a.from_context) +
            ") is not supported: Vivace keeps no client metadata (metadata.*, auth.*, "
            "client.address) with the spans it receives");
      }
      return Status::OK();
    case Kind::kDelete:
    case Kind::kHash:
      if (a.value) return not_used("value");
      if (!a.from_attribute.empty()) return not_used("from_attribute");
      if (!a.from_context.empty()) return not_used("from_context");
      if (!a.converted_type.empty()) return not_used("converted_type");
      if (!a.pattern.empty()) {
        auto re = CompileGoRegexp(a.pattern);
        if (!re.ok())
          return InvalidArgument("field \"pattern\": " + std::string(re.status().message()));
      }
      return Status::OK();
    case Kind::kExtract: {
      if (sources > 0)
        return InvalidArgument("action \"extract\" does not use a value source field");
      if (a.pattern.empty())
        return InvalidArgument("missing required field \"pattern\" for action \"extract\"");
      if (!a.converted_type.empty()) return not_used("converted_type");
      auto re = CompileGoRegexp(a.pattern);
      if (!re.ok())
        return InvalidArgument("field \"pattern\": " + std::string(re.status().message()));
      int groups = (*re)->NumberOfCapturingGroups();
      if (groups == 0) return InvalidArgument("field \"pattern\" contains no named matcher groups");
      if (static_cast<int>((*re)->CapturingGroupNames().size()) != groups) {
        return InvalidArgument("field \"pattern\" contains at least one unnamed matcher group");
      }
      return Status::OK();
    }
    case Kind::kConvert:
      if (sources > 0 || !a.pattern.empty()) {
        return InvalidArgument(
            "action \"convert\" does not use value sources or the \"pattern\" field");
      }
      if (a.converted_type.empty()) {
        return InvalidArgument("missing required field \"converted_type\" for action \"convert\"");
      }
      if (a.converted_type != "int" && a.converted_type != "double" &&
          a.converted_type != "string") {
        return InvalidArgument("invalid value " + Quoted(a.converted_type) +
                               " in field \"converted_type\" (use int, double or string)");
      }
      return Status::OK();
  }
  return Status::OK();
}

Result<AttrActions> AttrActions::Compile(const std::vector<AttrActionConfig>& configs,
                                         std::string_view field) {
  AttrActions out;
  auto add_string = [&out](const std::string& s) {
    out.strings_.push_back(s);
    return static_cast<uint32_t>(out.strings_.size() - 1);
  };
  for (size_t i = 0; i < configs.size(); ++i) {
    const AttrActionConfig& c = configs[i];
    Status st = Validate(c);
    if (!st.ok()) return st.WithContext(std::string(field) + "[" + std::to_string(i) + "]");
    Action a;
    a.kind = *ParseKind(Lower(c.action));
    a.key = c.key;
    a.key_string = add_string(c.key);
    a.literal = c.value;
    if (a.literal && a.literal->kind == ConfigValue::Kind::kString)
      a.literal_string = add_string(a.literal->s);
    a.from_attribute = c.from_attribute;
    a.default_value = c.default_value;
    if (a.default_value && a.default_value->kind == ConfigValue::Kind::kString) {
      a.default_string = add_string(a.default_value->s);
    }
    if (a.kind == Kind::kExtract) {
      VV_ASSIGN_OR_RETURN(a.regex, CompileGoRegexp(c.pattern));
      const auto& names = a.regex->CapturingGroupNames();
      for (int g = 1; g <= a.regex->NumberOfCapturingGroups(); ++g)
        a.group_strings.push_back(add_string(names.at(g)));
    } else if (!c.pattern.empty()) {
      VV_ASSIGN_OR_RETURN(a.key_regex, KeyRegexp::Compile(c.pattern));
    }
    if (c.converted_type == "int") a.target = Target::kInt;
    if (c.converted_type == "double") a.target = Target::kDouble;
    if (c.converted_type == "string") a.target = Target::kString;
    out.actions_.push_back(std::move(a));
  }
  return out;
}

AttrActions::Runner::Runner(const AttrActions& actions, SpanBatch& batch)
    : actions_(actions), batch_(batch), interned_(actions.strings_.size()) {}

std::string_view AttrActions::Runner::Interned(uint32_t index) {
  std::string_view& v = interned_[index];
  if (v.data() == nullptr) v = batch_.arena.Copy(actions_.strings_[index]);
  return v;
}

Range AttrActions::Runner::Apply(Range attrs) {
  AttrListEditor ed(batch_, attrs);
  for (const Action& a : actions_.actions_) {
    switch (a.kind) {
      case Kind::kDelete:
        ed.RemoveIf([&a](const KeyValue& kv) {
          return (!a.key.empty() && kv.key == a.key) || (a.key_regex && a.key_regex->Find(kv.key));
        });
        break;
      case Kind::kInsert:
      case Kind::kUpdate:
      case Kind::kUpsert: {
        std::optional<Value> source;
        if (a.literal) {
          source = a.literal->ToValue(a.literal_string == kNoString ? std::string_view()
                                                                    : Interned(a.literal_string));
        } else if (!a.from_attribute.empty()) {
          int from = ed.Find(a.from_attribute);
          if (from >= 0) source = ed.at(from).value;
        }
        if (!source && a.default_value) {
          source = a.default_value->ToValue(
              a.default_string == kNoString ? std::string_view() : Interned(a.default_string));
        }
        if (!source) break;
        int i = ed.Find(a.key);
        if (i >= 0) {
          if (a.kind != Kind::kInsert) ed.Set(i, *source);
        } else if (a.kind != Kind::kUpdate) {
          ed.Append(Interned(a.key_string), *source);
        }
        break;
      }
      case Kind::kHash:
        for (size_t i = 0; i < ed.size(); ++i) {
          const KeyValue& kv = ed.at(i);
          if ((!a.key.empty() && kv.key == a.key) || (a.key_regex && a.key_regex->Find(kv.key))) {
            ed.Set(i, HashValue(kv.value, batch_.arena));
          }
        }
        break;
      case Kind::kExtract: {
        int i = ed.Find(a.key);
        if (i < 0 || ed.at(i).value.kind != ValueKind::kString) break;
        std::string_view text = ed.at(i).value.string();
        thread_local std::vector<re2::StringPiece> groups;
        groups.assign(a.group_strings.size() + 1, re2::StringPiece());
        if (!a.regex->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                            re2::RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) {
          break;
        }
        for (size_t g = 0; g < a.group_strings.size(); ++g) {
          const re2::StringPiece& m = groups[g + 1];
          ed.Upsert(Interned(a.group_strings[g]),
                    Value::String(std::string_view(m.data(), m.size())));
        }
        break;
      }
      case Kind::kConvert: {
        int i = ed.Find(a.key);
        if (i < 0) break;
        if (auto converted = ConvertValue(batch_, a.target, ed.at(i).value, batch_.arena))
          ed.Set(i, *converted);
        break;
      }
    }
  }
  return ed.Commit();
}

}  // namespace vivace::processors
