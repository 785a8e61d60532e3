#include "otlp/proto_decode.h"

#include <cstring>
#include <string>
#include <vector>

#include "base/protowire.h"

namespace vivace::otlp {
namespace {

using model::Range;
using model::Value;
using protowire::Field;
using protowire::Reader;
using protowire::WireType;

// Field numbers: opentelemetry/proto/{trace,common,resource}/v1 (docs/formats/otlp.md).
namespace f {
constexpr uint32_t kRequestResourceSpans = 1;
constexpr uint32_t kRsResource = 1, kRsScopeSpans = 2, kRsSchemaUrl = 3;
constexpr uint32_t kResAttributes = 1, kResDropped = 2;
constexpr uint32_t kSsScope = 1, kSsSpans = 2, kSsSchemaUrl = 3;
constexpr uint32_t kScopeName = 1, kScopeVersion = 2, kScopeAttributes = 3, kScopeDropped = 4;
constexpr uint32_t kSpanTraceId = 1, kSpanSpanId = 2, kSpanTraceState = 3, kSpanParent = 4, kSpanName = 5,
                   kSpanKind = 6, kSpanStart = 7, kSpanEnd = 8, kSpanAttributes = 9, kSpanDroppedAttrs = 10,
                   kSpanEvents = 11, kSpanDroppedEvents = 12, kSpanLinks = 13, kSpanDroppedLinks = 14,
                   kSpanStatus = 15, kSpanFlags = 16;
constexpr uint32_t kEventTime = 1, kEventName = 2, kEventAttributes = 3, kEventDropped = 4;
constexpr uint32_t kLinkTraceId = 1, kLinkSpanId = 2, kLinkTraceState = 3, kLinkAttributes = 4,
                   kLinkDropped = 5, kLinkFlags = 6;
constexpr uint32_t kStatusMessage = 2, kStatusCode = 3;
constexpr uint32_t kKvKey = 1, kKvValue = 2;
constexpr uint32_t kAnyString = 1, kAnyBool = 2, kAnyInt = 3, kAnyDouble = 4, kAnyArray = 5, kAnyKvList = 6,
                   kAnyBytes = 7;
constexpr uint32_t kListValues = 1;
}  // namespace f

bool Is(const Field& fd, uint32_t number, WireType type) { return fd.number == number && fd.type == type; }

// One pass over the wire. Repeated children (attributes, array elements, events, links) are
// collected on scratch stacks and moved into the batch's pools when their parent message ends,
// so every parent gets a contiguous range without counting its children first. Nested values
// finish (and leave the stacks) before their parent continues, so the stacks nest correctly.
struct Scratch {
  std::vector<model::KeyValue> kvs;
  std::vector<Value> values;
  std::vector<model::Event> events;
  std::vector<model::Link> links;
};

class Decoder {
 public:
  Decoder(const DecodeLimits& limits, model::SpanBatch* batch, Scratch* scratch)
      : limits_(limits), b_(batch), sc_(*scratch) {}

  Status Request(std::string_view msg) {
    // Size the columns once: count spans (three levels of length-prefixed skipping) and guess
    // the attribute pool from the bytes (~30 bytes per key/value on the wire).
    uint64_t spans = 0;
    {
      Reader r(msg);
      Field rs, ss, sp;
      while (r.Next(&rs)) {
        if (!Is(rs, f::kRequestResourceSpans, WireType::kLen)) continue;
        Reader r2(rs.bytes);
        while (r2.Next(&ss)) {
          if (!Is(ss, f::kRsScopeSpans, WireType::kLen)) continue;
          Reader r3(ss.bytes);
          while (r3.Next(&sp)) spans += Is(sp, f::kSsSpans, WireType::kLen);
        }
      }
    }
    b_->Reserve(b_->size() + spans);
    b_->attributes.reserve(b_->attributes.size() + msg.size() / 30);
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (Is(fd, f::kRequestResourceSpans, WireType::kLen)) VV_RETURN_IF_ERROR(ResourceSpans(fd.bytes));
    }
    if (!r.ok()) return Malformed("request");
    return Status::OK();
  }

 private:
  Status Malformed(std::string_view what) {
    return InvalidArgument("malformed OTLP protobuf: truncated or invalid " + std::string(what) + " (resource_spans[" +
                           std::to_string(resource_index_) + "])");
  }

  // Moves the scratch entries above `base` into the batch pool and returns their range.
  template <typename T>
  static Range Finish(std::vector<T>& scratch, size_t base, std::vector<T>& pool) {
    Range r{static_cast<uint32_t>(pool.size()), static_cast<uint32_t>(scratch.size() - base)};
    pool.insert(pool.end(), scratch.begin() + static_cast<ptrdiff_t>(base), scratch.end());
    scratch.resize(base);
    return r;
  }

  Status ResourceSpans(std::string_view msg) {
    // The resource and schema_url first: every scope below refers to the resource.
    model::Resource res;
    Reader r(msg);
    Field fd;
    std::string_view resource_msg;
    while (r.Next(&fd)) {
      if (Is(fd, f::kRsResource, WireType::kLen)) resource_msg = fd.bytes;
      if (Is(fd, f::kRsSchemaUrl, WireType::kLen)) res.schema_url = fd.bytes;
    }
    if (!r.ok()) return Malformed("ResourceSpans");
    if (!resource_msg.empty()) VV_RETURN_IF_ERROR(Resource(resource_msg, &res));
    uint32_t resource_index = static_cast<uint32_t>(b_->resources.size());
    b_->resources.push_back(res);
    Reader r2(msg);
    while (r2.Next(&fd)) {
      if (Is(fd, f::kRsScopeSpans, WireType::kLen)) VV_RETURN_IF_ERROR(ScopeSpans(fd.bytes, resource_index));
    }
    ++resource_index_;
    return Status::OK();
  }

  Status Resource(std::string_view msg, model::Resource* res) {
    size_t base = sc_.kvs.size();
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (Is(fd, f::kResAttributes, WireType::kLen)) {
        VV_RETURN_IF_ERROR(PushKeyValue(fd.bytes, 0));
      } else if (Is(fd, f::kResDropped, WireType::kVarint)) {
        res->dropped_attributes_count = static_cast<uint32_t>(fd.varint);
      }
    }
    if (!r.ok()) return Malformed("Resource");
    res->attributes = Finish(sc_.kvs, base, b_->attributes);
    return Status::OK();
  }

  Status ScopeSpans(std::string_view msg, uint32_t resource_index) {
    model::Scope scope;
    scope.resource = resource_index;
    Reader r(msg);
    Field fd;
    std::string_view scope_msg;
    while (r.Next(&fd)) {
      if (Is(fd, f::kSsScope, WireType::kLen)) scope_msg = fd.bytes;
      if (Is(fd, f::kSsSchemaUrl, WireType::kLen)) scope.schema_url = fd.bytes;
    }
    if (!r.ok()) return Malformed("ScopeSpans");
    if (!scope_msg.empty()) VV_RETURN_IF_ERROR(Scope(scope_msg, &scope));
    uint32_t scope_index = static_cast<uint32_t>(b_->scopes.size());
    b_->scopes.push_back(scope);
    Reader r2(msg);
    while (r2.Next(&fd)) {
      if (Is(fd, f::kSsSpans, WireType::kLen)) VV_RETURN_IF_ERROR(Span(fd.bytes, scope_index));
    }
    return Status::OK();
  }

  Status Scope(std::string_view msg, model::Scope* scope) {
    size_t base = sc_.kvs.size();
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (Is(fd, f::kScopeName, WireType::kLen)) {
        scope->name = fd.bytes;
      } else if (Is(fd, f::kScopeVersion, WireType::kLen)) {
        scope->version = fd.bytes;
      } else if (Is(fd, f::kScopeAttributes, WireType::kLen)) {
        VV_RETURN_IF_ERROR(PushKeyValue(fd.bytes, 0));
      } else if (Is(fd, f::kScopeDropped, WireType::kVarint)) {
        scope->dropped_attributes_count = static_cast<uint32_t>(fd.varint);
      }
    }
    if (!r.ok()) return Malformed("InstrumentationScope");
    scope->attributes = Finish(sc_.kvs, base, b_->attributes);
    return Status::OK();
  }

  template <typename IdT>
  Status Id(std::string_view bytes, IdT* out, std::string_view what) {
    if (bytes.empty()) return Status::OK();  // unset
    if (bytes.size() != IdT::kSize) {
      return InvalidArgument("invalid " + std::string(what) + " length " + std::to_string(bytes.size()) +
                             " (want " + std::to_string(IdT::kSize) + " bytes) in resource_spans[" +
                             std::to_string(resource_index_) + "]");
    }
    std::memcpy(out->bytes.data(), bytes.data(), IdT::kSize);
    return Status::OK();
  }

  Status Span(std::string_view msg, uint32_t scope_index) {
    model::SpanRow row;
    row.scope = scope_index;
    size_t kv_base = sc_.kvs.size(), ev_base = sc_.events.size(), ln_base = sc_.links.size();
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (fd.type == WireType::kLen) {
        switch (fd.number) {
          case f::kSpanTraceId: VV_RETURN_IF_ERROR(Id(fd.bytes, &row.trace_id, "trace_id")); break;
          case f::kSpanSpanId: VV_RETURN_IF_ERROR(Id(fd.bytes, &row.span_id, "span_id")); break;
          case f::kSpanParent: VV_RETURN_IF_ERROR(Id(fd.bytes, &row.parent_span_id, "parent_span_id")); break;
          case f::kSpanTraceState: row.trace_state = fd.bytes; break;
          case f::kSpanName: row.name = fd.bytes; break;
          case f::kSpanAttributes: VV_RETURN_IF_ERROR(PushKeyValue(fd.bytes, 0)); break;
          case f::kSpanEvents: VV_RETURN_IF_ERROR(PushEvent(fd.bytes)); break;
          case f::kSpanLinks: VV_RETURN_IF_ERROR(PushLink(fd.bytes)); break;
          case f::kSpanStatus: VV_RETURN_IF_ERROR(SpanStatus(fd.bytes, &row)); break;
          default: break;
        }
      } else if (fd.type == WireType::kVarint) {
        switch (fd.number) {
          case f::kSpanKind: row.kind = static_cast<model::SpanKind>(fd.varint > 5 ? 0 : fd.varint); break;
          case f::kSpanDroppedAttrs: row.dropped_attributes_count = static_cast<uint32_t>(fd.varint); break;
          case f::kSpanDroppedEvents: row.dropped_events_count = static_cast<uint32_t>(fd.varint); break;
          case f::kSpanDroppedLinks: row.dropped_links_count = static_cast<uint32_t>(fd.varint); break;
          default: break;
        }
      } else if (fd.type == WireType::kFixed64) {
        if (fd.number == f::kSpanStart) row.start_unix_nano = fd.varint;
        if (fd.number == f::kSpanEnd) row.end_unix_nano = fd.varint;
      } else if (fd.type == WireType::kFixed32 && fd.number == f::kSpanFlags) {
        row.flags = static_cast<uint32_t>(fd.varint);
      }
    }
    if (!r.ok()) return Malformed("Span");
    row.attributes = Finish(sc_.kvs, kv_base, b_->attributes);
    row.events = Finish(sc_.events, ev_base, b_->events);
    row.links = Finish(sc_.links, ln_base, b_->links);
    b_->Append(row);
    return Status::OK();
  }

  Status SpanStatus(std::string_view msg, model::SpanRow* row) {
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (Is(fd, f::kStatusMessage, WireType::kLen)) row->status_message = fd.bytes;
      if (Is(fd, f::kStatusCode, WireType::kVarint)) {
        row->status_code = static_cast<model::StatusCode>(fd.varint > 2 ? 0 : fd.varint);
      }
    }
    if (!r.ok()) return Malformed("Status");
    return Status::OK();
  }

  Status PushEvent(std::string_view msg) {
    model::Event ev;
    size_t base = sc_.kvs.size();
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (Is(fd, f::kEventTime, WireType::kFixed64)) {
        ev.time_unix_nano = fd.varint;
      } else if (Is(fd, f::kEventName, WireType::kLen)) {
        ev.name = fd.bytes;
      } else if (Is(fd, f::kEventAttributes, WireType::kLen)) {
        VV_RETURN_IF_ERROR(PushKeyValue(fd.bytes, 0));
      } else if (Is(fd, f::kEventDropped, WireType::kVarint)) {
        ev.dropped_attributes_count = static_cast<uint32_t>(fd.varint);
      }
    }
    if (!r.ok()) return Malformed("Span.Event");
    ev.attributes = Finish(sc_.kvs, base, b_->attributes);
    sc_.events.push_back(ev);
    return Status::OK();
  }

  Status PushLink(std::string_view msg) {
    model::Link lk;
    size_t base = sc_.kvs.size();
    Reader r(msg);
    Field fd;
    while (r.Next(&fd)) {
      if (Is(fd, f::kLinkTraceId, WireType::kLen)) {
        VV_RETURN_IF_ERROR(Id(fd.bytes, &lk.trace_id, "link trace_id"));
      } else if (Is(fd, f::kLinkSpanId, WireType::kLen)) {
        VV_RETURN_IF_ERROR(Id(fd.bytes, &lk.span_id, "link span_id"));
      } else if (Is(fd, f::kLinkTraceState, WireType::kLen)) {
        lk.trace_state = fd.bytes;
      } else if (Is(fd, f::kLinkAttributes, WireType::kLen)) {
        VV_RETURN_IF_ERROR(PushKeyValue(fd.bytes, 0));
      } else if (Is(fd, f::kLinkDropped, WireType::kVarint)) {
        lk.dropped_attributes_count = static_cast<uint32_t>(fd.varint);
      } else if (Is(fd, f::kLinkFlags, WireType::kFixed32)) {
        lk.flags = static_cast<uint32_t>(fd.varint);
      }
    }
    if (!r.ok()) return Malformed("Span.Link");
    lk.attributes = Finish(sc_.kvs, base, b_->attributes);
    sc_.links.push_back(lk);
    return Status::OK();
  }

  // Decodes a KeyValue and pushes it on the key/value scratch stack.
  Status PushKeyValue(std::string_view msg, uint32_t depth) {
    Reader r(msg);
    Field fd;
    std::string_view key;
    std::string_view value_msg;
    bool has_value = false;
    while (r.Next(&fd)) {
      if (Is(fd, f::kKvKey, WireType::kLen)) key = fd.bytes;
      if (Is(fd, f::kKvValue, WireType::kLen)) {
        value_msg = fd.bytes;
        has_value = true;
      }
    }
    if (!r.ok()) return Malformed("KeyValue");
    Value v;
    if (has_value) {
      VV_RETURN_IF_ERROR(AnyValue(value_msg, depth, &v));
    }
    sc_.kvs.push_back(model::KeyValue{key, v});
    return Status::OK();
  }

  Status AnyValue(std::string_view msg, uint32_t depth, Value* out) {
    Reader r(msg);
    Field fd;
    Value v;
    // oneof: the last member on the wire wins, as in protobuf.
    std::string_view nested;
    while (r.Next(&fd)) {
      switch (fd.number) {
        case f::kAnyString:
          if (fd.type == WireType::kLen) v = Value::String(fd.bytes), nested = {};
          break;
        case f::kAnyBytes:
          if (fd.type == WireType::kLen) v = Value::Bytes(fd.bytes), nested = {};
          break;
        case f::kAnyBool:
          if (fd.type == WireType::kVarint) v = Value::Bool(fd.varint != 0), nested = {};
          break;
        case f::kAnyInt:
          if (fd.type == WireType::kVarint) v = Value::Int(static_cast<int64_t>(fd.varint)), nested = {};
          break;
        case f::kAnyDouble:
          if (fd.type == WireType::kFixed64) v = Value::Double(protowire::AsDouble(fd.varint)), nested = {};
          break;
        case f::kAnyArray:
        case f::kAnyKvList:
          if (fd.type == WireType::kLen) {
            v.kind = fd.number == f::kAnyArray ? model::ValueKind::kArray : model::ValueKind::kKvList;
            nested = fd.bytes;
          }
          break;
        default: break;
      }
    }
    if (!r.ok()) return Malformed("AnyValue");
    if (v.kind == model::ValueKind::kArray || v.kind == model::ValueKind::kKvList) {
      if (depth + 1 > limits_.max_value_depth) {
        return InvalidArgument("attribute value nested deeper than " + std::to_string(limits_.max_value_depth) +
                               " levels");
      }
      Reader lr(nested);
      if (v.kind == model::ValueKind::kArray) {
        size_t base = sc_.values.size();
        while (lr.Next(&fd)) {
          if (!Is(fd, f::kListValues, WireType::kLen)) continue;
          Value elem;
          VV_RETURN_IF_ERROR(AnyValue(fd.bytes, depth + 1, &elem));
          sc_.values.push_back(elem);
        }
        if (!lr.ok()) return Malformed("ArrayValue");
        *out = Value::Array(Finish(sc_.values, base, b_->values));
        return Status::OK();
      }
      size_t base = sc_.kvs.size();
      while (lr.Next(&fd)) {
        if (Is(fd, f::kListValues, WireType::kLen)) VV_RETURN_IF_ERROR(PushKeyValue(fd.bytes, depth + 1));
      }
      if (!lr.ok()) return Malformed("KeyValueList");
      *out = Value::KvList(Finish(sc_.kvs, base, b_->attributes));
      return Status::OK();
    }
    *out = v;
    return Status::OK();
  }

  const DecodeLimits& limits_;
  model::SpanBatch* b_;
  Scratch& sc_;
  uint32_t resource_index_ = 0;
};

}  // namespace

Status DecodeProtoRequest(std::string_view bytes, const DecodeLimits& limits, model::SpanBatch* batch) {
  // Per-thread scratch: its capacity is reused across requests, so steady state allocates nothing.
  thread_local Scratch scratch;
  Scratch* sc = &scratch;
  sc->kvs.clear();
  sc->values.clear();
  sc->events.clear();
  sc->links.clear();
  Status s = Decoder(limits, batch, sc).Request(bytes);
  // Do not let one huge request pin memory to this thread forever.
  if (sc->kvs.capacity() > (1u << 20)) std::vector<model::KeyValue>().swap(sc->kvs);
  if (sc->values.capacity() > (1u << 20)) std::vector<Value>().swap(sc->values);
  return s;
}

}  // namespace vivace::otlp
