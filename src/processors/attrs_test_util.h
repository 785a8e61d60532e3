#pragma once
// Test-only helpers for the attributes/resource/span/filter processor tests: building small
// batches and printing attribute lists.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"
#include "conf/yaml.h"
#include "model/span_batch.h"

namespace vivace::processors::testing {

/// A typed attribute value for building test data.
using TV = std::variant<std::string, int64_t, double, bool>;
using Attrs = std::vector<std::pair<std::string, TV>>;

inline model::Range AddAttrs(model::SpanBatch& b, const Attrs& attrs) {
  model::Range r = b.AllocAttributes(static_cast<uint32_t>(attrs.size()));
  for (size_t k = 0; k < attrs.size(); ++k) {
    model::Value v;
    const TV& tv = attrs[k].second;
    if (const auto* s = std::get_if<std::string>(&tv)) v = model::Value::String(b.arena.Copy(*s));
    if (const auto* i = std::get_if<int64_t>(&tv)) v = model::Value::Int(*i);
    if (const auto* d = std::get_if<double>(&tv)) v = model::Value::Double(*d);
    if (const auto* x = std::get_if<bool>(&tv)) v = model::Value::Bool(*x);
    b.attributes[r.first + k] = model::KeyValue{b.arena.Copy(attrs[k].first), v};
  }
  return r;
}

inline uint32_t AddResource(model::SpanBatch& b, const Attrs& attrs) {
  model::Range r = AddAttrs(b, attrs);
  b.resources.push_back(model::Resource{r, 0, {}});
  return static_cast<uint32_t>(b.resources.size() - 1);
}

inline uint32_t AddScope(model::SpanBatch& b, uint32_t resource, std::string_view name = "lib",
                         std::string_view version = "1.0") {
  b.scopes.push_back(model::Scope{resource, b.arena.Copy(name), b.arena.Copy(version), {}, 0, {}});
  return static_cast<uint32_t>(b.scopes.size() - 1);
}

struct SpanSpec {
  uint32_t scope = 0;
  std::string name = "op";
  Attrs attrs;
  model::SpanKind kind = model::SpanKind::kInternal;
  model::StatusCode status = model::StatusCode::kUnset;
};

inline size_t AddSpan(model::SpanBatch& b, const SpanSpec& s) {
  model::SpanRow row;
  row.trace_id.bytes[15] = static_cast<uint8_t>(b.size() + 1);
  row.span_id.bytes[7] = static_cast<uint8_t>(b.size() + 1);
  row.name = b.arena.Copy(s.name);
  row.kind = s.kind;
  row.status_code = s.status;
  row.attributes = AddAttrs(b, s.attrs);
  row.scope = s.scope;
  b.Append(row);
  return b.size() - 1;
}

/// `key="str" key=12 key=d:1.5 key=true`, in list order.
inline std::string Dump(const model::SpanBatch& b, model::Range r) {
  std::string out;
  for (uint32_t k = 0; k < r.count; ++k) {
    const model::KeyValue& kv = b.attributes[r.first + k];
    if (!out.empty()) out += ' ';
    out += std::string(kv.key) + "=";
    switch (kv.value.kind) {
      case model::ValueKind::kString:
        out += "\"" + std::string(kv.value.string()) + "\"";
        break;
      case model::ValueKind::kInt:
        out += std::to_string(kv.value.i);
        break;
      case model::ValueKind::kDouble: {
        std::string d = std::to_string(kv.value.d);
        while (d.size() > 1 && d.back() == '0' && d[d.size() - 2] != '.') d.pop_back();
        out += "d:" + d;
        break;
      }
      case model::ValueKind::kBool:
        out += kv.value.b ? "true" : "false";
        break;
      default:
        out += "?";
    }
  }
  return out;
}

/// The YAML node of `text` (a test failure when it does not parse).
inline YAML::Node Yaml(const std::string& text) {
  auto n = conf::LoadYaml(text);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : YAML::Node();
}

}  // namespace vivace::processors::testing
