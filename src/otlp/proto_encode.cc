#include "otlp/proto_encode.h"

#include <algorithm>

#include "base/protowire.h"

namespace vivace::otlp {
namespace {

using protowire::Writer;

class Encoder {
 public:
  Encoder(const model::SpanBatch& b, std::string* out) : b_(b), w_(out) {}

  void Trace() {
    std::vector<uint32_t> spans, scopes;
    GroupSpans(b_, &spans, &scopes);
    // Walk spans; open a new ResourceSpans / ScopeSpans whenever the resource / scope changes.
    size_t rs_token = 0, ss_token = 0;
    int64_t cur_resource = -1, cur_scope = -1;
    for (uint32_t i : spans) {
      uint32_t scope = b_.span_scope[i];
      uint32_t resource = b_.scopes[scope].resource;
      if (static_cast<int64_t>(scope) != cur_scope) {
        if (cur_scope >= 0) EndScope(ss_token);
        if (static_cast<int64_t>(resource) != cur_resource) {
          if (cur_resource >= 0) EndResource(rs_token, static_cast<uint32_t>(cur_resource));
          rs_token = BeginResource(resource);
          cur_resource = resource;
        }
        ss_token = BeginScope(scope);
        cur_scope = scope;
      }
      Span(i);
    }
    if (cur_scope >= 0) EndScope(ss_token);
    if (cur_resource >= 0) EndResource(rs_token, static_cast<uint32_t>(cur_resource));
  }

 private:
  size_t BeginResource(uint32_t r) {
    size_t tok = w_.BeginMessage(1);
    const model::Resource& res = b_.resources[r];
    if (res.attributes.count > 0 || res.dropped_attributes_count > 0) {
      size_t t = w_.BeginMessage(1);
      Attributes(1, res.attributes);
      w_.VarintIfSet(2, res.dropped_attributes_count);
      w_.EndMessage(t);
    }
    return tok;
  }
  void EndResource(size_t tok, uint32_t r) {
    w_.BytesIfSet(3, b_.resources[r].schema_url);
    w_.EndMessage(tok);
  }
  size_t BeginScope(uint32_t s) {
    size_t tok = w_.BeginMessage(2);
    const model::Scope& sc = b_.scopes[s];
    if (!sc.name.empty() || !sc.version.empty() || sc.attributes.count > 0 || sc.dropped_attributes_count > 0) {
      size_t t = w_.BeginMessage(1);
      w_.BytesIfSet(1, sc.name);
      w_.BytesIfSet(2, sc.version);
      Attributes(3, sc.attributes);
      w_.VarintIfSet(4, sc.dropped_attributes_count);
      w_.EndMessage(t);
    }
    schema_url_ = sc.schema_url;
    return tok;
  }
  void EndScope(size_t tok) {
    w_.BytesIfSet(3, schema_url_);
    w_.EndMessage(tok);
  }

  void Span(uint32_t i) {
    size_t tok = w_.BeginMessage(2);
    if (!b_.trace_id[i].IsZero()) w_.Bytes(1, b_.trace_id[i].view());
    if (!b_.span_id[i].IsZero()) w_.Bytes(2, b_.span_id[i].view());
    w_.BytesIfSet(3, b_.trace_state[i]);
    if (!b_.parent_span_id[i].IsZero()) w_.Bytes(4, b_.parent_span_id[i].view());
    w_.BytesIfSet(5, b_.name[i]);
    w_.VarintIfSet(6, static_cast<uint64_t>(b_.kind[i]));
    w_.Fixed64IfSet(7, b_.start_unix_nano[i]);
    w_.Fixed64IfSet(8, b_.end_unix_nano[i]);
    Attributes(9, b_.span_attributes[i]);
    w_.VarintIfSet(10, b_.dropped_attributes_count[i]);
    model::Range ev = b_.span_events[i];
    for (uint32_t k = ev.first; k < ev.end(); ++k) {
      const model::Event& e = b_.events[k];
      size_t t = w_.BeginMessage(11);
      w_.Fixed64IfSet(1, e.time_unix_nano);
      w_.BytesIfSet(2, e.name);
      Attributes(3, e.attributes);
      w_.VarintIfSet(4, e.dropped_attributes_count);
      w_.EndMessage(t);
    }
    w_.VarintIfSet(12, b_.dropped_events_count[i]);
    model::Range lk = b_.span_links[i];
    for (uint32_t k = lk.first; k < lk.end(); ++k) {
      const model::Link& l = b_.links[k];
      size_t t = w_.BeginMessage(13);
      if (!l.trace_id.IsZero()) w_.Bytes(1, l.trace_id.view());
      if (!l.span_id.IsZero()) w_.Bytes(2, l.span_id.view());
      w_.BytesIfSet(3, l.trace_state);
      Attributes(4, l.attributes);
      w_.VarintIfSet(5, l.dropped_attributes_count);
      w_.Fixed32IfSet(6, l.flags);
      w_.EndMessage(t);
    }
    w_.VarintIfSet(14, b_.dropped_links_count[i]);
    if (!b_.status_message[i].empty() || b_.status_code[i] != model::StatusCode::kUnset) {
      size_t t = w_.BeginMessage(15);
      w_.BytesIfSet(2, b_.status_message[i]);
      w_.VarintIfSet(3, static_cast<uint64_t>(b_.status_code[i]));
      w_.EndMessage(t);
    }
    w_.Fixed32IfSet(16, b_.flags[i]);
    w_.EndMessage(tok);
  }

  void Attributes(uint32_t field, model::Range r) {
    for (uint32_t k = r.first; k < r.end(); ++k) KeyValue(field, b_.attributes[k]);
  }

  void KeyValue(uint32_t field, const model::KeyValue& kv) {
    size_t t = w_.BeginMessage(field);
    w_.BytesIfSet(1, kv.key);
    AnyValue(2, kv.value);
    w_.EndMessage(t);
  }

  void AnyValue(uint32_t field, const model::Value& v) {
    size_t t = w_.BeginMessage(field);
    switch (v.kind) {
      case model::ValueKind::kEmpty: break;
      case model::ValueKind::kString: w_.Bytes(1, v.string()); break;
      case model::ValueKind::kBool: w_.Varint(2, v.b ? 1 : 0); break;
      case model::ValueKind::kInt: w_.Varint(3, static_cast<uint64_t>(v.i)); break;
      case model::ValueKind::kDouble: w_.Double(4, v.d); break;
      case model::ValueKind::kBytes: w_.Bytes(7, v.string()); break;
      case model::ValueKind::kArray: {
        size_t a = w_.BeginMessage(5);
        for (uint32_t k = v.first; k < v.first + v.size; ++k) AnyValue(1, b_.values[k]);
        w_.EndMessage(a);
        break;
      }
      case model::ValueKind::kKvList: {
        size_t a = w_.BeginMessage(6);
        for (uint32_t k = v.first; k < v.first + v.size; ++k) KeyValue(1, b_.attributes[k]);
        w_.EndMessage(a);
        break;
      }
    }
    w_.EndMessage(t);
  }

  const model::SpanBatch& b_;
  Writer w_;
  std::string_view schema_url_;
};

}  // namespace

void GroupSpans(const model::SpanBatch& b, std::vector<uint32_t>* span_order, std::vector<uint32_t>* scope_order) {
  // Scopes ordered by (resource, index); spans by that scope order, stable. Counting sort.
  size_t n_scopes = b.scopes.size();
  scope_order->resize(n_scopes);
  for (uint32_t s = 0; s < n_scopes; ++s) (*scope_order)[s] = s;
  std::stable_sort(scope_order->begin(), scope_order->end(),
                   [&](uint32_t x, uint32_t y) { return b.scopes[x].resource < b.scopes[y].resource; });
  std::vector<uint32_t> rank(n_scopes);
  for (uint32_t k = 0; k < n_scopes; ++k) rank[(*scope_order)[k]] = k;
  std::vector<uint32_t> start(n_scopes + 1, 0);
  for (uint32_t s : b.span_scope) ++start[rank[s] + 1];
  for (size_t k = 0; k < n_scopes; ++k) start[k + 1] += start[k];
  span_order->resize(b.size());
  for (uint32_t i = 0; i < b.size(); ++i) (*span_order)[start[rank[b.span_scope[i]]]++] = i;
}

void EncodeProtoTrace(const model::SpanBatch& batch, std::string* out) { Encoder(batch, out).Trace(); }

}  // namespace vivace::otlp
