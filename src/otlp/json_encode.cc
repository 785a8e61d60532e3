#include "otlp/json_encode.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/strings.h"
#include "otlp/enum_names.h"

namespace vivace::otlp {
namespace {


// Writes one compact JSON document. Commas are placed automatically: a value or key written
// after a completed value gets one.
class Encoder {
 public:
  Encoder(const model::SpanBatch& batch, JsonFlavor flavor, std::string* out)
      : b_(batch), tempo_(flavor == JsonFlavor::kTempo), out_(out) {}

  void Trace(std::string_view top_key) {
    // Group spans: resource slots in first-appearance order, each with its scope slots in
    // first-appearance order, each with its spans in batch order.
    struct ScopeGroup {
      uint32_t scope;
      std::vector<uint32_t> spans;
    };
    struct ResourceGroup {
      uint32_t resource;
      std::vector<uint32_t> scope_groups;
    };
    std::vector<int64_t> scope_slot(b_.scopes.size(), -1);
    std::vector<int64_t> resource_slot(b_.resources.size(), -1);
    std::vector<ScopeGroup> scope_groups;
    std::vector<ResourceGroup> resource_groups;
    for (size_t i = 0; i < b_.size(); ++i) {
      uint32_t scope = b_.span_scope[i];
      VV_CHECK(scope < b_.scopes.size());
      if (scope_slot[scope] < 0) {
        uint32_t resource = b_.scopes[scope].resource;
        VV_CHECK(resource < b_.resources.size());
        if (resource_slot[resource] < 0) {
          resource_slot[resource] = static_cast<int64_t>(resource_groups.size());
          resource_groups.push_back({resource, {}});
        }
        scope_slot[scope] = static_cast<int64_t>(scope_groups.size());
        resource_groups[resource_slot[resource]].scope_groups.push_back(
            static_cast<uint32_t>(scope_groups.size()));
        scope_groups.push_back({scope, {}});
      }
      scope_groups[scope_slot[scope]].spans.push_back(static_cast<uint32_t>(i));
    }

    Open('{');
    Key(top_key);
    Open('[');
    for (const ResourceGroup& rg : resource_groups) {
      const model::Resource& r = b_.resources[rg.resource];
      Open('{');
      if (r.attributes.count != 0 || r.dropped_attributes_count != 0) {
        Key("resource");
        Open('{');
        Attributes(r.attributes, r.dropped_attributes_count);
        Close('}');
      }
      Key("scopeSpans");
      Open('[');
      for (uint32_t sg : rg.scope_groups) {
        const ScopeGroup& g = scope_groups[sg];
        const model::Scope& s = b_.scopes[g.scope];
        Open('{');
        if (!s.name.empty() || !s.version.empty() || s.attributes.count != 0 ||
            s.dropped_attributes_count != 0) {
          Key("scope");
          Open('{');
          StringField("name", s.name);
          StringField("version", s.version);
          Attributes(s.attributes, s.dropped_attributes_count);
          Close('}');
        }
        Key("spans");
        Open('[');
        for (uint32_t i : g.spans) {
          Span(i);
        }
        Close(']');
        StringField("schemaUrl", s.schema_url);
        Close('}');
      }
      Close(']');
      StringField("schemaUrl", r.schema_url);
      Close('}');
    }
    Close(']');
    Close('}');
  }

 private:
  void Span(size_t i) {
    Open('{');
    IdField("traceId", b_.trace_id[i]);
    IdField("spanId", b_.span_id[i]);
    StringField("traceState", b_.trace_state[i]);
    IdField("parentSpanId", b_.parent_span_id[i]);
    Uint32Field("flags", b_.flags[i]);
    StringField("name", b_.name[i]);
    EnumField("kind", static_cast<uint8_t>(b_.kind[i]), kSpanKindNames);
    Uint64Field("startTimeUnixNano", b_.start_unix_nano[i]);
    Uint64Field("endTimeUnixNano", b_.end_unix_nano[i]);
    Attributes(b_.span_attributes[i], b_.dropped_attributes_count[i]);

    model::Range events = b_.span_events[i];
    if (events.count != 0) {
      Key("events");
      Open('[');
      for (uint32_t e = events.first; e < events.end(); ++e) {
        const model::Event& ev = b_.events[e];
        Open('{');
        Uint64Field("timeUnixNano", ev.time_unix_nano);
        StringField("name", ev.name);
        Attributes(ev.attributes, ev.dropped_attributes_count);
        Close('}');
      }
      Close(']');
    }
    Uint32Field("droppedEventsCount", b_.dropped_events_count[i]);

    model::Range links = b_.span_links[i];
    if (links.count != 0) {
      Key("links");
      Open('[');
      for (uint32_t l = links.first; l < links.end(); ++l) {
        const model::Link& link = b_.links[l];
        Open('{');
        IdField("traceId", link.trace_id);
        IdField("spanId", link.span_id);
        StringField("traceState", link.trace_state);
        Attributes(link.attributes, link.dropped_attributes_count);
        Uint32Field("flags", link.flags);
        Close('}');
      }
      Close(']');
    }
    Uint32Field("droppedLinksCount", b_.dropped_links_count[i]);

    // Always present, even when empty, as in Tempo's output.
    Key("status");
    Open('{');
    StringField("message", b_.status_message[i]);
    EnumField("code", static_cast<uint8_t>(b_.status_code[i]), kStatusCodeNames);
    Close('}');
    Close('}');
  }

  // "attributes" and "droppedAttributesCount", each when not default.
  void Attributes(model::Range attrs, uint32_t dropped) {
    if (attrs.count != 0) {
      Key("attributes");
      KeyValues(attrs);
    }
    Uint32Field("droppedAttributesCount", dropped);
  }

  void KeyValues(model::Range r) {
    Open('[');
    for (uint32_t k = r.first; k < r.end(); ++k) {
      const model::KeyValue& kv = b_.attributes[k];
      Open('{');
      StringField("key", kv.key);
      Key("value");
      Value(kv.value);
      Close('}');
    }
    Close(']');
  }

  void Value(const model::Value& v) {
    Open('{');
    switch (v.kind) {
      case model::ValueKind::kEmpty:
        break;
      case model::ValueKind::kString:
        Key("stringValue");
        String(v.string());
        break;
      case model::ValueKind::kBool:
        Key("boolValue");
        Raw(v.b ? "true" : "false");
        break;
      case model::ValueKind::kInt:
        Key("intValue");
        Quoted(v.i);
        break;
      case model::ValueKind::kDouble:
        Key("doubleValue");
        Double(v.d);
        break;
      case model::ValueKind::kBytes:
        Key("bytesValue");
        Sep();
        out_->push_back('"');
        AppendBase64(out_, v.string());
        out_->push_back('"');
        comma_ = true;
        break;
      case model::ValueKind::kArray: {
        Key("arrayValue");
        Open('{');
        model::Range r = v.range();
        if (r.count != 0) {
          Key("values");
          Open('[');
          for (uint32_t k = r.first; k < r.end(); ++k) {
            Value(b_.values[k]);
          }
          Close(']');
        }
        Close('}');
        break;
      }
      case model::ValueKind::kKvList: {
        Key("kvlistValue");
        Open('{');
        model::Range r = v.range();
        if (r.count != 0) {
          Key("values");
          KeyValues(r);
        }
        Close('}');
        break;
      }
    }
    Close('}');
  }

  // Field writers that omit proto3 defaults.
  void StringField(std::string_view key, std::string_view s) {
    if (!s.empty()) {
      Key(key);
      String(s);
    }
  }
  void Uint32Field(std::string_view key, uint32_t v) {
    if (v != 0) {
      Key(key);
      Number(v);
    }
  }
  void Uint64Field(std::string_view key, uint64_t v) {
    if (v != 0) {
      Key(key);
      Quoted(v);
    }
  }
  template <size_t N>
  void IdField(std::string_view key, const model::Id<N>& id) {
    if (id.IsZero()) {
      return;
    }
    Key(key);
    Sep();
    out_->push_back('"');
    if (tempo_) {
      AppendBase64(out_, id.view());
    } else {
      AppendHex(out_, id.view());
    }
    out_->push_back('"');
    comma_ = true;
  }
  template <size_t N>
  void EnumField(std::string_view key, uint8_t v, const std::string_view (&names)[N]) {
    if (v == 0) {
      return;
    }
    Key(key);
    if (tempo_ && v < N) {
      String(names[v]);
    } else {
      Number(v);
    }
  }

  // Primitives.
  void Sep() {
    if (comma_) {
      out_->push_back(',');
    }
  }
  void Key(std::string_view k) {
    Sep();
    out_->push_back('"');
    AppendJsonEscaped(out_, k);
    out_->append("\":");
    comma_ = false;
  }
  void Open(char c) {
    Sep();
    out_->push_back(c);
    comma_ = false;
  }
  void Close(char c) {
    out_->push_back(c);
    comma_ = true;
  }
  void Raw(std::string_view s) {
    Sep();
    out_->append(s);
    comma_ = true;
  }
  void String(std::string_view s) {
    Sep();
    out_->push_back('"');
    AppendJsonEscaped(out_, s);
    out_->push_back('"');
    comma_ = true;
  }
  template <typename T>
  void Number(T v) {
    char buf[24];  // enough for any 64-bit integer
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    Raw(std::string_view(buf, end - buf));
  }
  template <typename T>
  void Quoted(T v) {
    char buf[24];
    buf[0] = '"';
    auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 1, v);
    *end++ = '"';
    Raw(std::string_view(buf, end - buf));
  }
  void Double(double d) {
    if (std::isnan(d)) {
      Raw("\"NaN\"");
      return;
    }
    if (std::isinf(d)) {
      Raw(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      return;
    }
    char buf[40];  // shortest round-trip form is at most 24 characters
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf) - 2, d);
    // "3" or "-0" would read back as an integer: keep them visibly floating point.
    bool integral = true;
    for (const char* p = buf; p < end; ++p) {
      if (*p == '.' || *p == 'e') {
        integral = false;
        break;
      }
    }
    if (integral) {
      *end++ = '.';
      *end++ = '0';
    }
    Raw(std::string_view(buf, end - buf));
  }

  const model::SpanBatch& b_;
  bool tempo_;
  std::string* out_;
  bool comma_ = false;
};

}  // namespace

void EncodeJsonTrace(const model::SpanBatch& batch, JsonFlavor flavor, std::string_view top_key,
                     std::string* out) {
  Encoder(batch, flavor, out).Trace(top_key);
}

}  // namespace vivace::otlp
