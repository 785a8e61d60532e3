#include "otlp/json_decode.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/strings.h"
#include "otlp/enum_names.h"

namespace vivace::otlp {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Requests larger than this are parsed with a parser of their own, so that one huge request does
// not leave a thread holding its buffers for good.
constexpr size_t kMaxRetainedParserBytes = 16 << 20;

// True if `key` is the lowerCamelCase JSON name or the snake_case proto name of a field.
bool Is(std::string_view key, std::string_view camel, std::string_view snake) {
  return key == camel || key == snake;
}

// simdjson saturates DOM array sizes at 0xFFFFFF; count beyond that.
uint32_t ArraySize(array a) {
  size_t n = a.size();
  if (n < 0xFFFFFF) {
    return static_cast<uint32_t>(n);
  }
  n = 0;
  for ([[maybe_unused]] element e : a) {
    ++n;
  }
  return static_cast<uint32_t>(n);
}

template <typename T>
std::optional<T> ParseDecimal(std::string_view s) {
  T v{};
  if (s.empty()) {
    return std::nullopt;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// An unsigned integer from a JSON number (integral, in range) or a decimal string.
std::optional<uint64_t> ToUint64(element v) {
  switch (v.type()) {
    case element_type::INT64: {
      int64_t i = 0;
      if (v.get(i) != simdjson::SUCCESS || i < 0) {
        return std::nullopt;
      }
      return static_cast<uint64_t>(i);
    }
    case element_type::UINT64: {
      uint64_t u = 0;
      if (v.get(u) != simdjson::SUCCESS) {
        return std::nullopt;
      }
      return u;
    }
    case element_type::DOUBLE: {
      double d = 0;
      // 2^64: the first double above the uint64 range.
      if (v.get(d) != simdjson::SUCCESS || !(d >= 0 && d < 18446744073709551616.0) ||
          d != std::floor(d)) {
        return std::nullopt;
      }
      return static_cast<uint64_t>(d);
    }
    case element_type::STRING: {
      std::string_view s;
      if (v.get(s) != simdjson::SUCCESS) {
        return std::nullopt;
      }
      return ParseDecimal<uint64_t>(s);
    }
    default:
      return std::nullopt;
  }
}

// A signed integer from a JSON number (integral, in range) or, if `allow_string`, a decimal
// string.
std::optional<int64_t> ToInt64(element v, bool allow_string) {
  switch (v.type()) {
    case element_type::INT64: {
      int64_t i = 0;
      if (v.get(i) != simdjson::SUCCESS) {
        return std::nullopt;
      }
      return i;
    }
    case element_type::UINT64:
      return std::nullopt;  // simdjson uses UINT64 only above INT64_MAX
    case element_type::DOUBLE: {
      double d = 0;
      // [-2^63, 2^63): the doubles that convert to int64 exactly.
      if (v.get(d) != simdjson::SUCCESS ||
          !(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::floor(d)) {
        return std::nullopt;
      }
      return static_cast<int64_t>(d);
    }
    case element_type::STRING: {
      std::string_view s;
      if (!allow_string || v.get(s) != simdjson::SUCCESS) {
        return std::nullopt;
      }
      return ParseDecimal<int64_t>(s);
    }
    default:
      return std::nullopt;
  }
}

// A double from a JSON number, "NaN", "Infinity", "-Infinity" or a decimal string.
std::optional<double> ToDouble(element v) {
  if (v.is_number()) {
    double d = 0;
    if (v.get(d) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    return d;
  }
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  if (s == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (s == "Infinity") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-Infinity") {
    return -std::numeric_limits<double>::infinity();
  }
  // from_chars also takes "inf" and "nan"; only plain decimal notation is a JSON double.
  if (s.empty() || !(s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) {
    return std::nullopt;
  }
  std::optional<double> d = ParseDecimal<double>(s);
  if (!d || !std::isfinite(*d)) {
    return std::nullopt;
  }
  return d;
}


// An enum value from an integer or one of `names` (indexed by value).
template <size_t N>
std::optional<uint8_t> ToEnum(element v, const std::string_view (&names)[N]) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) {
    for (size_t i = 0; i < N; ++i) {
      if (s == names[i]) {
        return static_cast<uint8_t>(i);
      }
    }
    return std::nullopt;
  }
  std::optional<int64_t> i = ToInt64(v, /*allow_string=*/false);
  if (!i || *i < 0 || *i >= static_cast<int64_t>(N)) {
    return std::nullopt;
  }
  return static_cast<uint8_t>(*i);
}

// Walks the DOM of one request and appends its spans to a batch. Field errors name the path
// from the request root, kept as a stack of (field, index) segments while descending.
class Decoder {
 public:
  Decoder(const DecodeLimits& limits, model::SpanBatch* batch) : limits_(limits), batch_(batch) {}

  Status DecodeRequest(element root) {
    object obj;
    if (root.get(obj) != simdjson::SUCCESS) {
      return InvalidArgument("OTLP/JSON request: expected a JSON object");
    }
    for (auto [key, v] : obj) {
      if (Is(key, "resourceSpans", "resource_spans")) {
        VV_RETURN_IF_ERROR(ForEach(v, "resourceSpans", [&](object o) { return ResourceSpans(o); }));
      }
    }
    return Status::OK();
  }

 private:
  struct PathSegment {
    std::string_view field;  // a string literal: the lowerCamelCase field name
    int64_t index;           // element index in a repeated field, or -1
  };

  // Pushes a path segment for the lifetime of the scope.
  class Descend {
   public:
    Descend(Decoder* d, std::string_view field, int64_t index = -1) : d_(d) {
      d_->path_.push_back({field, index});
    }
    ~Descend() { d_->path_.pop_back(); }
    Descend(const Descend&) = delete;
    Descend& operator=(const Descend&) = delete;

   private:
    Decoder* d_;
  };

  // InvalidArgument "<path>.<field>: <what>".
  Status Error(std::string_view field, std::string_view what) const {
    std::string msg;
    auto add = [&msg](std::string_view name) {
      if (!msg.empty()) {
        msg += '.';
      }
      msg += name;
    };
    for (const PathSegment& s : path_) {
      add(s.field);
      if (s.index >= 0) {
        msg += '[';
        msg += std::to_string(s.index);
        msg += ']';
      }
    }
    if (!field.empty()) {
      add(field);
    }
    msg += ": ";
    msg += what;
    return InvalidArgument(std::move(msg));
  }

  // Calls fn(object) for each element of the array `v` (null = no elements), with the path
  // pointing at "field[i]". Null elements are errors: a repeated message has no unset entries.
  template <typename Fn>
  Status ForEach(element v, std::string_view field, Fn&& fn) {
    if (v.is_null()) {
      return Status::OK();
    }
    array arr;
    if (v.get(arr) != simdjson::SUCCESS) {
      return Error(field, "expected an array");
    }
    int64_t i = 0;
    for (element e : arr) {
      Descend d(this, field, i++);
      object obj;
      if (e.get(obj) != simdjson::SUCCESS) {
        return Error("", "expected an object");
      }
      VV_RETURN_IF_ERROR(fn(obj));
    }
    return Status::OK();
  }

  Status GetObject(element v, std::string_view field, object* out) const {
    if (v.get(*out) != simdjson::SUCCESS) {
      return Error(field, "expected an object");
    }
    return Status::OK();
  }

  Status GetArray(element v, std::string_view field, array* out) const {
    if (v.get(*out) != simdjson::SUCCESS) {
      return Error(field, "expected an array");
    }
    return Status::OK();
  }

  // Copies a string into the batch arena.
  Status GetString(element v, std::string_view field, std::string_view* out) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) {
      return Error(field, "expected a string");
    }
    *out = batch_->arena.Copy(s);
    return Status::OK();
  }

  Status GetUint32(element v, std::string_view field, uint32_t* out) const {
    std::optional<uint64_t> u = ToUint64(v);
    if (!u || *u > std::numeric_limits<uint32_t>::max()) {
      return Error(field, "expected a uint32 (number or decimal string)");
    }
    *out = static_cast<uint32_t>(*u);
    return Status::OK();
  }

  Status GetUint64(element v, std::string_view field, uint64_t* out) const {
    std::optional<uint64_t> u = ToUint64(v);
    if (!u) {
      return Error(field, "expected a uint64 (decimal string or number)");
    }
    *out = *u;
    return Status::OK();
  }

  template <size_t N>
  Status GetId(element v, std::string_view field, model::Id<N>* out) const {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) {
      return Error(field, "expected a hex string");
    }
    if (s.empty()) {
      *out = model::Id<N>();
      return Status::OK();
    }
    if (s.size() != 2 * N) {
      return Error(field, "expected " + std::to_string(2 * N) + " hex digits, got " +
                              std::to_string(s.size()) + " characters");
    }
    if (!HexDecode(s, out->bytes.data(), N)) {
      return Error(field, "invalid hex");
    }
    return Status::OK();
  }

  Status ResourceSpans(object obj) {
    // Scopes refer to their resource by index, and "resource" may follow "scopeSpans".
    auto resource = static_cast<uint32_t>(batch_->resources.size());
    batch_->resources.emplace_back();
    size_t spans_before = batch_->size();
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      if (Is(key, "resource", "resource")) {
        model::Resource r;
        VV_RETURN_IF_ERROR(Resource(v, &r));
        r.schema_url = batch_->resources[resource].schema_url;
        batch_->resources[resource] = r;
      } else if (Is(key, "schemaUrl", "schema_url")) {
        VV_RETURN_IF_ERROR(GetString(v, "schemaUrl", &batch_->resources[resource].schema_url));
      } else if (Is(key, "scopeSpans", "scope_spans")) {
        VV_RETURN_IF_ERROR(
            ForEach(v, "scopeSpans", [&](object o) { return ScopeSpans(o, resource); }));
      }
    }
    if (batch_->size() == spans_before) {
      batch_->resources.pop_back();  // no scope refers to it: empty scopes were dropped too
    }
    return Status::OK();
  }

  Status Resource(element e, model::Resource* r) {
    Descend d(this, "resource");
    object obj;
    VV_RETURN_IF_ERROR(GetObject(e, "", &obj));
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      if (Is(key, "attributes", "attributes")) {
        VV_RETURN_IF_ERROR(KeyValues(v, "attributes", 0, &r->attributes));
      } else if (Is(key, "droppedAttributesCount", "dropped_attributes_count")) {
        VV_RETURN_IF_ERROR(GetUint32(v, "droppedAttributesCount", &r->dropped_attributes_count));
      }
    }
    return Status::OK();
  }

  Status ScopeSpans(object obj, uint32_t resource) {
    auto scope = static_cast<uint32_t>(batch_->scopes.size());
    batch_->scopes.emplace_back();
    batch_->scopes[scope].resource = resource;
    size_t spans_before = batch_->size();
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      if (Is(key, "scope", "scope")) {
        model::Scope s;
        VV_RETURN_IF_ERROR(Scope(v, &s));
        s.resource = resource;
        s.schema_url = batch_->scopes[scope].schema_url;
        batch_->scopes[scope] = s;
      } else if (Is(key, "schemaUrl", "schema_url")) {
        VV_RETURN_IF_ERROR(GetString(v, "schemaUrl", &batch_->scopes[scope].schema_url));
      } else if (Is(key, "spans", "spans")) {
        VV_RETURN_IF_ERROR(ForEach(v, "spans", [&](object o) { return Span(o, scope); }));
      }
    }
    if (batch_->size() == spans_before) {
      batch_->scopes.pop_back();  // the last scope, and no span refers to it
    }
    return Status::OK();
  }

  Status Scope(element e, model::Scope* s) {
    Descend d(this, "scope");
    object obj;
    VV_RETURN_IF_ERROR(GetObject(e, "", &obj));
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      if (Is(key, "name", "name")) {
        VV_RETURN_IF_ERROR(GetString(v, "name", &s->name));
      } else if (Is(key, "version", "version")) {
        VV_RETURN_IF_ERROR(GetString(v, "version", &s->version));
      } else if (Is(key, "attributes", "attributes")) {
        VV_RETURN_IF_ERROR(KeyValues(v, "attributes", 0, &s->attributes));
      } else if (Is(key, "droppedAttributesCount", "dropped_attributes_count")) {
        VV_RETURN_IF_ERROR(GetUint32(v, "droppedAttributesCount", &s->dropped_attributes_count));
      }
    }
    return Status::OK();
  }

  Status Span(object obj, uint32_t scope) {
    model::SpanRow row;
    row.scope = scope;
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      if (Is(key, "traceId", "trace_id")) {
        VV_RETURN_IF_ERROR(GetId(v, "traceId", &row.trace_id));
      } else if (Is(key, "spanId", "span_id")) {
        VV_RETURN_IF_ERROR(GetId(v, "spanId", &row.span_id));
      } else if (Is(key, "parentSpanId", "parent_span_id")) {
        VV_RETURN_IF_ERROR(GetId(v, "parentSpanId", &row.parent_span_id));
      } else if (Is(key, "traceState", "trace_state")) {
        VV_RETURN_IF_ERROR(GetString(v, "traceState", &row.trace_state));
      } else if (Is(key, "flags", "flags")) {
        VV_RETURN_IF_ERROR(GetUint32(v, "flags", &row.flags));
      } else if (Is(key, "name", "name")) {
        VV_RETURN_IF_ERROR(GetString(v, "name", &row.name));
      } else if (Is(key, "kind", "kind")) {
        std::optional<uint8_t> k = ToEnum(v, kSpanKindNames);
        if (!k) {
          return Error("kind", "expected a SpanKind (0-5 or a name such as \"SPAN_KIND_SERVER\")");
        }
        row.kind = static_cast<model::SpanKind>(*k);
      } else if (Is(key, "startTimeUnixNano", "start_time_unix_nano")) {
        VV_RETURN_IF_ERROR(GetUint64(v, "startTimeUnixNano", &row.start_unix_nano));
      } else if (Is(key, "endTimeUnixNano", "end_time_unix_nano")) {
        VV_RETURN_IF_ERROR(GetUint64(v, "endTimeUnixNano", &row.end_unix_nano));
      } else if (Is(key, "attributes", "attributes")) {
        VV_RETURN_IF_ERROR(KeyValues(v, "attributes", 0, &row.attributes));
      } else if (Is(key, "droppedAttributesCount", "dropped_attributes_count")) {
        VV_RETURN_IF_ERROR(GetUint32(v, "droppedAttributesCount", &row.dropped_attributes_count));
      } else if (Is(key, "events", "events")) {
        VV_RETURN_IF_ERROR(Events(v, &row.events));
      } else if (Is(key, "droppedEventsCount", "dropped_events_count")) {
        VV_RETURN_IF_ERROR(GetUint32(v, "droppedEventsCount", &row.dropped_events_count));
      } else if (Is(key, "links", "links")) {
        VV_RETURN_IF_ERROR(Links(v, &row.links));
      } else if (Is(key, "droppedLinksCount", "dropped_links_count")) {
        VV_RETURN_IF_ERROR(GetUint32(v, "droppedLinksCount", &row.dropped_links_count));
      } else if (Is(key, "status", "status")) {
        VV_RETURN_IF_ERROR(SpanStatus(v, &row));
      }
    }
    batch_->Append(row);
    return Status::OK();
  }

  Status SpanStatus(element e, model::SpanRow* row) {
    Descend d(this, "status");
    object obj;
    VV_RETURN_IF_ERROR(GetObject(e, "", &obj));
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      if (Is(key, "message", "message")) {
        VV_RETURN_IF_ERROR(GetString(v, "message", &row->status_message));
      } else if (Is(key, "code", "code")) {
        std::optional<uint8_t> c = ToEnum(v, kStatusCodeNames);
        if (!c) {
          return Error("code", "expected a StatusCode (0-2 or a name such as \"STATUS_CODE_OK\")");
        }
        row->status_code = static_cast<model::StatusCode>(*c);
      }
    }
    return Status::OK();
  }

  Status Events(element v, model::Range* out) {
    array arr;
    VV_RETURN_IF_ERROR(GetArray(v, "events", &arr));
    *out = batch_->AllocEvents(ArraySize(arr));
    uint32_t i = 0;
    return ForEach(v, "events", [&](object obj) -> Status {
      model::Event ev;
      for (auto [key, f] : obj) {
        if (f.is_null()) {
          continue;
        }
        if (Is(key, "timeUnixNano", "time_unix_nano")) {
          VV_RETURN_IF_ERROR(GetUint64(f, "timeUnixNano", &ev.time_unix_nano));
        } else if (Is(key, "name", "name")) {
          VV_RETURN_IF_ERROR(GetString(f, "name", &ev.name));
        } else if (Is(key, "attributes", "attributes")) {
          VV_RETURN_IF_ERROR(KeyValues(f, "attributes", 0, &ev.attributes));
        } else if (Is(key, "droppedAttributesCount", "dropped_attributes_count")) {
          VV_RETURN_IF_ERROR(GetUint32(f, "droppedAttributesCount", &ev.dropped_attributes_count));
        }
      }
      batch_->events[out->first + i++] = ev;
      return Status::OK();
    });
  }

  Status Links(element v, model::Range* out) {
    array arr;
    VV_RETURN_IF_ERROR(GetArray(v, "links", &arr));
    *out = batch_->AllocLinks(ArraySize(arr));
    uint32_t i = 0;
    return ForEach(v, "links", [&](object obj) -> Status {
      model::Link link;
      for (auto [key, f] : obj) {
        if (f.is_null()) {
          continue;
        }
        if (Is(key, "traceId", "trace_id")) {
          VV_RETURN_IF_ERROR(GetId(f, "traceId", &link.trace_id));
        } else if (Is(key, "spanId", "span_id")) {
          VV_RETURN_IF_ERROR(GetId(f, "spanId", &link.span_id));
        } else if (Is(key, "traceState", "trace_state")) {
          VV_RETURN_IF_ERROR(GetString(f, "traceState", &link.trace_state));
        } else if (Is(key, "attributes", "attributes")) {
          VV_RETURN_IF_ERROR(KeyValues(f, "attributes", 0, &link.attributes));
        } else if (Is(key, "droppedAttributesCount", "dropped_attributes_count")) {
          VV_RETURN_IF_ERROR(
              GetUint32(f, "droppedAttributesCount", &link.dropped_attributes_count));
        } else if (Is(key, "flags", "flags")) {
          VV_RETURN_IF_ERROR(GetUint32(f, "flags", &link.flags));
        }
      }
      batch_->links[out->first + i++] = link;
      return Status::OK();
    });
  }

  // A repeated KeyValue field (attributes, or the values of a kvlist at nesting `depth`).
  Status KeyValues(element v, std::string_view field, uint32_t depth, model::Range* out) {
    array arr;
    VV_RETURN_IF_ERROR(GetArray(v, field, &arr));
    *out = batch_->AllocAttributes(ArraySize(arr));
    uint32_t i = 0;
    return ForEach(v, field, [&](object obj) -> Status {
      model::KeyValue kv;
      for (auto [key, f] : obj) {
        if (f.is_null()) {
          continue;
        }
        if (Is(key, "key", "key")) {
          VV_RETURN_IF_ERROR(GetString(f, "key", &kv.key));
        } else if (Is(key, "value", "value")) {
          Descend d(this, "value");
          VV_RETURN_IF_ERROR(AnyValue(f, depth, &kv.value));
        }
      }
      // The recursion may have grown the pool: index it only now.
      batch_->attributes[out->first + i++] = kv;
      return Status::OK();
    });
  }

  // An AnyValue inside `depth` enclosing arrays/kvlists. The path already points at it.
  Status AnyValue(element e, uint32_t depth, model::Value* out) {
    *out = model::Value();
    if (e.is_null()) {
      return Status::OK();
    }
    object obj;
    VV_RETURN_IF_ERROR(GetObject(e, "", &obj));
    std::string_view set_field;  // the oneof member already decoded, if any
    for (auto [key, v] : obj) {
      if (v.is_null()) {
        continue;
      }
      std::string_view field;
      if (Is(key, "stringValue", "string_value")) {
        field = "stringValue";
      } else if (Is(key, "boolValue", "bool_value")) {
        field = "boolValue";
      } else if (Is(key, "intValue", "int_value")) {
        field = "intValue";
      } else if (Is(key, "doubleValue", "double_value")) {
        field = "doubleValue";
      } else if (Is(key, "bytesValue", "bytes_value")) {
        field = "bytesValue";
      } else if (Is(key, "arrayValue", "array_value")) {
        field = "arrayValue";
      } else if (Is(key, "kvlistValue", "kvlist_value")) {
        field = "kvlistValue";
      } else {
        continue;
      }
      if (!set_field.empty()) {
        return Error(field, "AnyValue already has " + std::string(set_field) + " set");
      }
      set_field = field;
      VV_RETURN_IF_ERROR(AnyValueMember(v, field, depth, out));
    }
    return Status::OK();
  }

  Status AnyValueMember(element v, std::string_view field, uint32_t depth, model::Value* out) {
    if (field == "stringValue") {
      std::string_view s;
      VV_RETURN_IF_ERROR(GetString(v, field, &s));
      *out = model::Value::String(s);
    } else if (field == "boolValue") {
      bool b = false;
      if (v.get(b) != simdjson::SUCCESS) {
        return Error(field, "expected true or false");
      }
      *out = model::Value::Bool(b);
    } else if (field == "intValue") {
      std::optional<int64_t> i = ToInt64(v, /*allow_string=*/true);
      if (!i) {
        return Error(field, "expected an int64 (decimal string or number)");
      }
      *out = model::Value::Int(*i);
    } else if (field == "doubleValue") {
      std::optional<double> d = ToDouble(v);
      if (!d) {
        return Error(field, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
      }
      *out = model::Value::Double(*d);
    } else if (field == "bytesValue") {
      std::string_view s;
      if (v.get(s) != simdjson::SUCCESS) {
        return Error(field, "expected a base64 string");
      }
      std::optional<std::string> bytes = Base64Decode(s);
      if (!bytes) {
        return Error(field, "invalid base64");
      }
      *out = model::Value::Bytes(batch_->arena.Copy(*bytes));
    } else {
      // arrayValue {"values": [AnyValue...]} or kvlistValue {"values": [KeyValue...]}.
      if (depth >= limits_.max_value_depth) {
        return Error(field, "values nested deeper than " + std::to_string(limits_.max_value_depth) +
                                " levels");
      }
      object obj;
      VV_RETURN_IF_ERROR(GetObject(v, field, &obj));
      Descend d(this, field);
      bool is_array = field == "arrayValue";
      model::Range range{
          static_cast<uint32_t>(is_array ? batch_->values.size() : batch_->attributes.size()), 0};
      for (auto [key, f] : obj) {
        if (f.is_null() || !Is(key, "values", "values")) {
          continue;
        }
        if (!is_array) {
          VV_RETURN_IF_ERROR(KeyValues(f, "values", depth + 1, &range));
          continue;
        }
        array arr;
        VV_RETURN_IF_ERROR(GetArray(f, "values", &arr));
        range = batch_->AllocValues(ArraySize(arr));
        int64_t i = 0;
        for (element x : arr) {
          Descend dv(this, "values", i);
          model::Value elem;
          VV_RETURN_IF_ERROR(AnyValue(x, depth + 1, &elem));
          // The recursion may have grown the pool: index it only now.
          batch_->values[range.first + i++] = elem;
        }
      }
      *out = is_array ? model::Value::Array(range) : model::Value::KvList(range);
    }
    return Status::OK();
  }

  const DecodeLimits& limits_;
  model::SpanBatch* batch_;
  std::vector<PathSegment> path_;
};

}  // namespace

Status DecodeJsonRequest(std::string_view json, const DecodeLimits& limits,
                         model::SpanBatch* batch) {
  batch->otlp_proto = {};
  thread_local simdjson::dom::parser cached_parser;
  std::optional<simdjson::dom::parser> own_parser;
  simdjson::dom::parser* parser = &cached_parser;
  if (json.size() > kMaxRetainedParserBytes) {
    parser = &own_parser.emplace();
  }
  element root;
  simdjson::error_code err = parser->parse(json.data(), json.size()).get(root);
  if (err != simdjson::SUCCESS) {
    return InvalidArgument(std::string("OTLP/JSON request: invalid JSON: ") +
                           simdjson::error_message(err));
  }
  Decoder decoder(limits, batch);
  return decoder.DecodeRequest(root);
}

}  // namespace vivace::otlp
