#include "model/span_batch.h"

namespace vivace::model {

void SpanBatch::Reserve(size_t n) {
  trace_id.reserve(n);
  span_id.reserve(n);
  parent_span_id.reserve(n);
  trace_state.reserve(n);
  flags.reserve(n);
  name.reserve(n);
  kind.reserve(n);
  start_unix_nano.reserve(n);
  end_unix_nano.reserve(n);
  span_attributes.reserve(n);
  dropped_attributes_count.reserve(n);
  span_events.reserve(n);
  dropped_events_count.reserve(n);
  span_links.reserve(n);
  dropped_links_count.reserve(n);
  status_code.reserve(n);
  status_message.reserve(n);
  span_scope.reserve(n);
}

void SpanBatch::Append(const SpanRow& r) {
  trace_id.push_back(r.trace_id);
  span_id.push_back(r.span_id);
  parent_span_id.push_back(r.parent_span_id);
  trace_state.push_back(r.trace_state);
  flags.push_back(r.flags);
  name.push_back(r.name);
  kind.push_back(r.kind);
  start_unix_nano.push_back(r.start_unix_nano);
  end_unix_nano.push_back(r.end_unix_nano);
  span_attributes.push_back(r.attributes);
  dropped_attributes_count.push_back(r.dropped_attributes_count);
  span_events.push_back(r.events);
  dropped_events_count.push_back(r.dropped_events_count);
  span_links.push_back(r.links);
  dropped_links_count.push_back(r.dropped_links_count);
  status_code.push_back(r.status_code);
  status_message.push_back(r.status_message);
  span_scope.push_back(r.scope);
}

SpanRow SpanBatch::Row(size_t i) const {
  SpanRow r;
  r.trace_id = trace_id[i];
  r.span_id = span_id[i];
  r.parent_span_id = parent_span_id[i];
  r.trace_state = trace_state[i];
  r.flags = flags[i];
  r.name = name[i];
  r.kind = kind[i];
  r.start_unix_nano = start_unix_nano[i];
  r.end_unix_nano = end_unix_nano[i];
  r.attributes = span_attributes[i];
  r.dropped_attributes_count = dropped_attributes_count[i];
  r.events = span_events[i];
  r.dropped_events_count = dropped_events_count[i];
  r.links = span_links[i];
  r.dropped_links_count = dropped_links_count[i];
  r.status_code = status_code[i];
  r.status_message = status_message[i];
  r.scope = span_scope[i];
  return r;
}

namespace {
template <typename T>
void Compact(std::vector<T>& column, const std::vector<uint8_t>& keep) {
  size_t out = 0;
  for (size_t i = 0; i < column.size(); ++i) {
    if (keep[i]) column[out++] = column[i];
  }
  column.resize(out);
}
}  // namespace

void SpanBatch::RetainSpans(const std::vector<uint8_t>& keep) {
  size_t kept = 0;
  for (size_t i = 0; i < size(); ++i) kept += keep[i] != 0;
  if (kept == size()) return;
  Compact(trace_id, keep);
  Compact(span_id, keep);
  Compact(parent_span_id, keep);
  Compact(trace_state, keep);
  Compact(flags, keep);
  Compact(name, keep);
  Compact(kind, keep);
  Compact(start_unix_nano, keep);
  Compact(end_unix_nano, keep);
  Compact(span_attributes, keep);
  Compact(dropped_attributes_count, keep);
  Compact(span_events, keep);
  Compact(dropped_events_count, keep);
  Compact(span_links, keep);
  Compact(dropped_links_count, keep);
  Compact(status_code, keep);
  Compact(status_message, keep);
  Compact(span_scope, keep);
  MarkModified();
}

namespace {
template <typename T>
Range Alloc(std::vector<T>& pool, uint32_t count) {
  Range r{static_cast<uint32_t>(pool.size()), count};
  pool.resize(pool.size() + count);
  return r;
}
}  // namespace

Range SpanBatch::AllocAttributes(uint32_t count) { return Alloc(attributes, count); }
Range SpanBatch::AllocValues(uint32_t count) { return Alloc(values, count); }
Range SpanBatch::AllocEvents(uint32_t count) { return Alloc(events, count); }
Range SpanBatch::AllocLinks(uint32_t count) { return Alloc(links, count); }

size_t SpanBatch::MemoryBytes() const {
  size_t per_span = sizeof(TraceId) + 2 * sizeof(SpanId) + 3 * sizeof(std::string_view) + 2 * 8 +
                    3 * sizeof(Range) + 5 * 4 + 2;
  return arena.bytes_used() + size() * per_span + attributes.capacity() * sizeof(KeyValue) +
         values.capacity() * sizeof(Value) + events.capacity() * sizeof(Event) +
         links.capacity() * sizeof(Link) + resources.capacity() * sizeof(Resource) +
         scopes.capacity() * sizeof(Scope);
}

void SpanCopier::SetSource(const SpanBatch* src) {
  src_ = src;
  scope_map_.assign(src->scopes.size(), -1);
  resource_map_.assign(src->resources.size(), -1);
}

Value SpanCopier::CopyValue(const Value& v) {
  switch (v.kind) {
    case ValueKind::kString: return Value::String(S(v.string()));
    case ValueKind::kBytes: return Value::Bytes(S(v.string()));
    case ValueKind::kArray: {
      Range out = dst_->AllocValues(v.size);
      for (uint32_t k = 0; k < v.size; ++k) {
        Value copied = CopyValue(src_->values[v.first + k]);
        dst_->values[out.first + k] = copied;
      }
      return Value::Array(out);
    }
    case ValueKind::kKvList: return Value::KvList(CopyAttributes(v.range()));
    default: return v;
  }
}

Range SpanCopier::CopyAttributes(Range r) {
  Range out = dst_->AllocAttributes(r.count);
  for (uint32_t k = 0; k < r.count; ++k) {
    const KeyValue& kv = src_->attributes[r.first + k];
    std::string_view key = S(kv.key);
    Value v = CopyValue(kv.value);  // may grow the pool: assign by index afterwards
    dst_->attributes[out.first + k] = KeyValue{key, v};
  }
  return out;
}

void SpanCopier::CopySpan(size_t i) {
  SpanRow row = src_->Row(i);
  uint32_t src_scope = row.scope;
  if (scope_map_[src_scope] < 0) {
    const Scope& s = src_->scopes[src_scope];
    if (resource_map_[s.resource] < 0) {
      const Resource& r = src_->resources[s.resource];
      Resource nr{CopyAttributes(r.attributes), r.dropped_attributes_count, S(r.schema_url)};
      resource_map_[s.resource] = static_cast<int64_t>(dst_->resources.size());
      dst_->resources.push_back(nr);
    }
    Scope ns{static_cast<uint32_t>(resource_map_[s.resource]), S(s.name), S(s.version),
             CopyAttributes(s.attributes), s.dropped_attributes_count, S(s.schema_url)};
    scope_map_[src_scope] = static_cast<int64_t>(dst_->scopes.size());
    dst_->scopes.push_back(ns);
  }
  row.scope = static_cast<uint32_t>(scope_map_[src_scope]);
  row.trace_state = S(row.trace_state);
  row.name = S(row.name);
  row.status_message = S(row.status_message);
  row.attributes = CopyAttributes(row.attributes);
  Range ev = dst_->AllocEvents(row.events.count);
  for (uint32_t k = 0; k < row.events.count; ++k) {
    const Event& e = src_->events[row.events.first + k];
    Event ne{e.time_unix_nano, S(e.name), CopyAttributes(e.attributes), e.dropped_attributes_count};
    dst_->events[ev.first + k] = ne;
  }
  row.events = ev;
  Range lk = dst_->AllocLinks(row.links.count);
  for (uint32_t k = 0; k < row.links.count; ++k) {
    const Link& l = src_->links[row.links.first + k];
    Link nl{l.trace_id, l.span_id, S(l.trace_state), CopyAttributes(l.attributes),
            l.dropped_attributes_count, l.flags};
    dst_->links[lk.first + k] = nl;
  }
  row.links = lk;
  dst_->Append(row);
  dst_->otlp_proto = {};
  dst_->decoded_from_otlp_proto = false;
}

}  // namespace vivace::model
