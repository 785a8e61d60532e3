#pragma once
// SpanBatch: spans in columns, with every string a view into memory the batch owns.
// This is the unit that flows from receivers through processors into storage.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/arena.h"
#include "model/ids.h"

namespace vivace::model {

/// A half-open run [first, first + count) of a pool in the batch.
struct Range {
  uint32_t first = 0;
  uint32_t count = 0;
  uint32_t end() const { return first + count; }
};

enum class ValueKind : uint8_t { kEmpty = 0, kString, kBool, kInt, kDouble, kBytes, kArray, kKvList };

/// An OTLP AnyValue. Strings and bytes view batch-owned memory; arrays index batch.values and
/// kvlists index batch.attributes. Trivially copyable, 16 bytes.
struct Value {
  ValueKind kind = ValueKind::kEmpty;
  uint32_t size = 0;  // string/bytes length, or element count for arrays and kvlists
  union {
    const char* str;
    int64_t i;
    double d;
    bool b;
    uint32_t first;
  };
  Value() : i(0) {}

  static Value String(std::string_view s) { return Str(ValueKind::kString, s); }
  static Value Bytes(std::string_view s) { return Str(ValueKind::kBytes, s); }
  static Value Int(int64_t v) {
    Value x;
    x.kind = ValueKind::kInt;
    x.i = v;
    return x;
  }
  static Value Double(double v) {
    Value x;
    x.kind = ValueKind::kDouble;
    x.d = v;
    return x;
  }
  static Value Bool(bool v) {
    Value x;
    x.kind = ValueKind::kBool;
    x.b = v;
    return x;
  }
  static Value Array(Range r) { return Nested(ValueKind::kArray, r); }
  static Value KvList(Range r) { return Nested(ValueKind::kKvList, r); }

  std::string_view string() const { return {str, size}; }  // kString, kBytes
  Range range() const { return {first, size}; }            // kArray, kKvList

 private:
  static Value Str(ValueKind k, std::string_view s) {
    Value x;
    x.kind = k;
    x.size = static_cast<uint32_t>(s.size());
    x.str = s.data();
    return x;
  }
  static Value Nested(ValueKind k, Range r) {
    Value x;
    x.kind = k;
    x.size = r.count;
    x.first = r.first;
    return x;
  }
};

struct KeyValue {
  std::string_view key;
  Value value;
};

struct Resource {
  Range attributes;
  uint32_t dropped_attributes_count = 0;
  std::string_view schema_url;  // ResourceSpans.schema_url
};

struct Scope {
  uint32_t resource = 0;  // index into SpanBatch::resources
  std::string_view name;
  std::string_view version;
  Range attributes;
  uint32_t dropped_attributes_count = 0;
  std::string_view schema_url;  // ScopeSpans.schema_url
};

struct Event {
  uint64_t time_unix_nano = 0;
  std::string_view name;
  Range attributes;
  uint32_t dropped_attributes_count = 0;
};

struct Link {
  TraceId trace_id;
  SpanId span_id;
  std::string_view trace_state;
  Range attributes;
  uint32_t dropped_attributes_count = 0;
  uint32_t flags = 0;
};

// OTLP enum values (opentelemetry.proto.trace.v1).
enum class SpanKind : uint8_t { kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

/// One span, as the decoder assembles it before appending it to the columns.
struct SpanRow {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;
  std::string_view trace_state;
  uint32_t flags = 0;
  std::string_view name;
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  Range attributes;
  uint32_t dropped_attributes_count = 0;
  Range events;
  uint32_t dropped_events_count = 0;
  Range links;
  uint32_t dropped_links_count = 0;
  StatusCode status_code = StatusCode::kUnset;
  std::string_view status_message;
  uint32_t scope = 0;  // index into SpanBatch::scopes
};

/// Spans of one tenant in columns. Move-only. Thread-compatible.
/// Every string_view inside points into `arena` (or into a buffer the arena adopted), so views
/// stay valid exactly as long as the batch.
struct SpanBatch {
  std::string tenant;
  Arena arena;

  std::vector<Resource> resources;
  std::vector<Scope> scopes;

  // Span columns, all of size() length.
  std::vector<TraceId> trace_id;
  std::vector<SpanId> span_id;
  std::vector<SpanId> parent_span_id;
  std::vector<std::string_view> trace_state;
  std::vector<uint32_t> flags;
  std::vector<std::string_view> name;
  std::vector<SpanKind> kind;
  std::vector<uint64_t> start_unix_nano;
  std::vector<uint64_t> end_unix_nano;
  std::vector<Range> span_attributes;
  std::vector<uint32_t> dropped_attributes_count;
  std::vector<Range> span_events;
  std::vector<uint32_t> dropped_events_count;
  std::vector<Range> span_links;
  std::vector<uint32_t> dropped_links_count;
  std::vector<StatusCode> status_code;
  std::vector<std::string_view> status_message;
  std::vector<uint32_t> span_scope;

  // Pools the ranges above index.
  std::vector<KeyValue> attributes;
  std::vector<Value> values;  // array elements
  std::vector<Event> events;
  std::vector<Link> links;

  /// When set, the OTLP protobuf encoding (ExportTraceServiceRequest) of exactly this batch,
  /// owned by the arena. Anything that changes the batch must clear it.
  std::string_view otlp_proto;
  /// True when the spans were decoded from `otlp_proto` itself, so span i of the batch is span
  /// i of a decode of those bytes.
  bool decoded_from_otlp_proto = false;

  SpanBatch() = default;
  SpanBatch(SpanBatch&&) noexcept = default;
  SpanBatch& operator=(SpanBatch&&) noexcept = default;

  size_t size() const { return trace_id.size(); }
  bool empty() const { return trace_id.empty(); }

  void Reserve(size_t spans);
  void Append(const SpanRow& row);
  SpanRow Row(size_t i) const;

  /// Reserves `count` consecutive slots in a pool and returns their range.
  Range AllocAttributes(uint32_t count);
  Range AllocValues(uint32_t count);
  Range AllocEvents(uint32_t count);
  Range AllocLinks(uint32_t count);

  /// Approximate memory held, for limits and accounting.
  size_t MemoryBytes() const;

  /// Call after changing anything in the batch: the cached OTLP encoding no longer matches.
  void MarkModified() {
    otlp_proto = {};
    decoded_from_otlp_proto = false;
  }

  /// Keeps span i where keep[i] != 0, in order, and drops the rest (pools keep their
  /// contents; ranges of the kept spans stay valid). Marks the batch modified if any is dropped.
  void RetainSpans(const std::vector<uint8_t>& keep);
};

/// Deep-copies span `i` of `src` (with its scope and resource, deduplicated by index through
/// `scope_map`) into `dst`. Used to assemble query results from many batches.
class SpanCopier {
 public:
  explicit SpanCopier(SpanBatch* dst) : dst_(dst) {}
  /// Starts copying from a new source batch.
  void SetSource(const SpanBatch* src);
  void CopySpan(size_t i);

 private:
  Range CopyAttributes(Range r);
  Value CopyValue(const Value& v);
  std::string_view S(std::string_view s) { return dst_->arena.Copy(s); }

  SpanBatch* dst_;
  const SpanBatch* src_ = nullptr;
  std::vector<int64_t> scope_map_;     // src scope index -> dst scope index, -1 unmapped
  std::vector<int64_t> resource_map_;  // src resource index -> dst resource index
};

}  // namespace vivace::model
