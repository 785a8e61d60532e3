#pragma once
// Test-only helpers of processors_misc_test: building small SpanBatches and reading attribute
// lists back as text.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/span_batch.h"

namespace vivace::processors::testing {

using model::KeyValue;
using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

inline Value Str(SpanBatch& b, std::string_view s) { return Value::String(b.arena.Copy(s)); }

/// An attribute list in b's pool; keys and string values are copied into b's arena.
inline Range Attrs(SpanBatch& b, const std::vector<std::pair<std::string, Value>>& kvs) {
  Range r = b.AllocAttributes(static_cast<uint32_t>(kvs.size()));
  for (size_t k = 0; k < kvs.size(); ++k) {
    Value v = kvs[k].second;
    if (v.kind == ValueKind::kString) v = Str(b, v.string());
    if (v.kind == ValueKind::kBytes) v = Value::Bytes(b.arena.Copy(v.string()));
    b.attributes[r.first + k] = KeyValue{b.arena.Copy(kvs[k].first), v};
  }
  return r;
}

/// Appends a span (with a resource and scope created on first use). `trace` fills the trace
/// id's last byte, `span` the span id's.
inline size_t AddSpan(SpanBatch& b, Range attrs = {}, uint8_t trace = 1, uint8_t span = 1,
                      std::string_view name = "op") {
  if (b.resources.empty()) b.resources.push_back(model::Resource{});
  if (b.scopes.empty()) b.scopes.push_back(model::Scope{});
  model::SpanRow row;
  row.trace_id.bytes[15] = trace;
  row.trace_id.bytes[0] = 0x5a;
  row.span_id.bytes[7] = span;
  row.name = b.arena.Copy(name);
  row.attributes = attrs;
  b.Append(row);
  return b.size() - 1;
}

/// A value as text: strings as is, ints and bools as written, arrays as [a,b], maps as {k=v}.
inline std::string Text(const SpanBatch& b, const Value& v) {
  switch (v.kind) {
    case ValueKind::kString:
      return std::string(v.string());
    case ValueKind::kBytes:
      return "bytes:" + std::string(v.string());
    case ValueKind::kInt:
      return std::to_string(v.i);
    case ValueKind::kBool:
      return v.b ? "true" : "false";
    case ValueKind::kDouble:
      return std::to_string(v.d);
    case ValueKind::kArray: {
      std::string s = "[";
      for (uint32_t k = 0; k < v.size; ++k) s += (k ? "," : "") + Text(b, b.values[v.first + k]);
      return s + "]";
    }
    case ValueKind::kKvList: {
      std::string s = "{";
      for (uint32_t k = 0; k < v.size; ++k) {
        const KeyValue& kv = b.attributes[v.first + k];
        s += (k ? "," : "") + std::string(kv.key) + "=" + Text(b, kv.value);
      }
      return s + "}";
    }
    default:
      return "";
  }
}

/// An attribute list as key -> text (a repeated key keeps the last value).
inline std::map<std::string, std::string> AttrMap(const SpanBatch& b, Range r) {
  std::map<std::string, std::string> out;
  for (uint32_t k = 0; k < r.count; ++k) {
    const KeyValue& kv = b.attributes[r.first + k];
    out[std::string(kv.key)] = Text(b, kv.value);
  }
  return out;
}

}  // namespace vivace::processors::testing
