#include "query/search_render.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "base/protowire.h"
#include "base/strings.h"
#include "query/go_format.h"

namespace vivace::query {
namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kProtobuf = "application/protobuf";

// ---- value text shared by both encodings ----

// Tempo prints trace ids without leading zeros (pkg/util TraceIDToHexString).
std::string TraceIdText(const model::TraceId& id) {
  std::string hex = id.Hex();
  size_t nz = hex.find_first_not_of('0');
  return nz == std::string::npos ? std::string() : hex.substr(nz);
}

std::string_view StatusWord(int64_t code) {  // OTLP numbering (model::StatusCode)
  switch (code) {
    case 0:
      return "unset";
    case 1:
      return "ok";
    case 2:
      return "error";
    default:
      return {};
  }
}

std::string_view KindWord(int64_t kind) {  // OTLP numbering (model::SpanKind)
  static constexpr std::string_view kWords[] = {"unspecified", "internal", "server",
                                                "client",      "producer", "consumer"};
  return kind >= 0 && kind < 6 ? kWords[kind] : std::string_view();
}

// Statics that Tempo's AsAnyValue renders as strings.
std::optional<std::string> StringForm(const scan::Static& v) {
  switch (v.type) {
    case scan::StaticType::kString:
      return v.s;
    case scan::StaticType::kNil:
      return std::string("nil");
    case scan::StaticType::kDuration:
      return FormatGoDuration(v.i);
    case scan::StaticType::kStatus: {
      std::string_view w = StatusWord(v.i);
      return w.empty() ? "status(" + std::to_string(v.i) + ")" : std::string(w);
    }
    case scan::StaticType::kKind: {
      std::string_view w = KindWord(v.i);
      return w.empty() ? "kind(" + std::to_string(v.i) + ")" : std::string(w);
    }
    default:
      return std::nullopt;
  }
}

bool IsArray(scan::StaticType t) {
  return t == scan::StaticType::kIntArray || t == scan::StaticType::kFloatArray ||
         t == scan::StaticType::kStringArray || t == scan::StaticType::kBoolArray;
}

// ---- JSON ----

// A compact JSON writer that places commas. Inside an object every value gets its key (even
// ""); inside an array and at the top the key is ignored.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject(std::string_view key = {}) { Open(key, '{'); }
  void EndObject() { Close('}'); }
  void BeginArray(std::string_view key = {}) { Open(key, '['); }
  void EndArray() { Close(']'); }

  void String(std::string_view key, std::string_view v) {
    Key(key);
    *out_ += '"';
    AppendJsonEscaped(out_, v);
    *out_ += '"';
  }
  void StringIfSet(std::string_view key, std::string_view v) {
    if (!v.empty()) String(key, v);
  }
  template <typename T>
  void Number(std::string_view key, T v) {
    Key(key);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out_->append(buf, end - buf);
  }
  template <typename T>
  void NumberIfSet(std::string_view key, T v) {
    if (v != 0) Number(key, v);
  }
  /// 64-bit integers are strings in jsonpb.
  template <typename T>
  void QuotedIfSet(std::string_view key, T v) {
    if (v != 0) Quoted(key, v);
  }
  template <typename T>
  void Quoted(std::string_view key, T v) {
    Key(key);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    *out_ += '"';
    out_->append(buf, end - buf);
    *out_ += '"';
  }
  void Bool(std::string_view key, bool v) {
    Key(key);
    *out_ += v ? "true" : "false";
  }
  void Double(std::string_view key, double v) {
    Key(key);
    AppendJsonDouble(out_, v);
  }

 private:
  void Key(std::string_view key) {
    if (first_.empty()) return;
    if (!first_.back()) *out_ += ',';
    first_.back() = false;
    if (object_.back()) {
      *out_ += '"';
      AppendJsonEscaped(out_, key);
      *out_ += "\":";
    }
  }
  void Open(std::string_view key, char c) {
    Key(key);
    *out_ += c;
    first_.push_back(true);
    object_.push_back(c == '{');
  }
  void Close(char c) {
    first_.pop_back();
    object_.pop_back();
    *out_ += c;
  }

  std::string* out_;
  std::vector<bool> first_;   // per open container: nothing written in it yet
  std::vector<bool> object_;  // per open container: an object (else an array)
};

void JsonAnyValue(JsonWriter& w, std::string_view key, const scan::Static& v) {
  w.BeginObject(key);
  if (auto s = StringForm(v)) {
    w.String("stringValue", *s);
  } else if (v.type == scan::StaticType::kInt) {
    w.Quoted("intValue", v.i);
  } else if (v.type == scan::StaticType::kFloat) {
    w.Double("doubleValue", v.f);
  } else if (v.type == scan::StaticType::kBool) {
    w.Bool("boolValue", v.b);
  } else if (IsArray(v.type)) {
    w.BeginObject("arrayValue");
    if (!v.array.empty()) {
      w.BeginArray("values");
      for (const auto& e : v.array) JsonAnyValue(w, {}, e);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
}

void JsonAttributes(JsonWriter& w, const std::vector<traceql::ResultAttribute>& attrs) {
  if (attrs.empty()) return;
  w.BeginArray("attributes");
  for (const auto& a : attrs) {
    w.BeginObject();
    w.StringIfSet("key", a.key);
    JsonAnyValue(w, "value", a.value);
    w.EndObject();
  }
  w.EndArray();
}

void JsonSpanset(JsonWriter& w, std::string_view key, const traceql::SpansetResult& ss) {
  w.BeginObject(key);
  if (!ss.spans.empty()) {
    w.BeginArray("spans");
    for (const auto& sp : ss.spans) {
      w.BeginObject();
      w.String("spanID", sp.id.Hex());
      w.StringIfSet("name", sp.name);
      w.QuotedIfSet("startTimeUnixNano", sp.start_unix_nano);
      w.QuotedIfSet("durationNanos", sp.duration_nanos);
      JsonAttributes(w, sp.attributes);
      w.EndObject();
    }
    w.EndArray();
  }
  w.NumberIfSet("matched", ss.matched);
  JsonAttributes(w, ss.attributes);
  w.EndObject();
}

void JsonTrace(JsonWriter& w, const traceql::TraceResult& t) {
  w.BeginObject();
  w.StringIfSet("traceID", TraceIdText(t.id));
  w.StringIfSet("rootServiceName", t.root_service_name);
  w.StringIfSet("rootTraceName", t.root_trace_name);
  w.QuotedIfSet("startTimeUnixNano", t.start_unix_nano);
  w.NumberIfSet("durationMs", t.duration_ms);
  if (!t.spansets.empty()) {
    JsonSpanset(w, "spanSet", t.spansets.front());
    w.BeginArray("spanSets");
    for (const auto& ss : t.spansets) JsonSpanset(w, {}, ss);
    w.EndArray();
  }
  if (!t.service_stats.empty()) {
    w.BeginObject("serviceStats");
    for (const auto& [service, stats] :
         t.service_stats) {  // std::map: sorted, as jsonpb sorts map keys
      w.BeginObject(service);
      w.NumberIfSet("spanCount", stats.span_count);
      w.NumberIfSet("errorCount", stats.error_count);
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndObject();
}

void JsonSearchMetrics(JsonWriter& w, const traceql::SearchMetrics& m) {
  w.BeginObject("metrics");
  w.NumberIfSet("inspectedTraces",
                static_cast<uint32_t>(m.inspected_traces));  // uint32 in tempo.proto
  w.QuotedIfSet("inspectedBytes", m.inspected_bytes);
  w.NumberIfSet("totalBlocks", m.total_blocks);
  w.NumberIfSet("completedJobs", m.completed_jobs);
  w.NumberIfSet("totalJobs", m.total_jobs);
  w.QuotedIfSet("totalBlockBytes", m.total_block_bytes);
  w.QuotedIfSet("inspectedSpans", m.inspected_spans);
  w.EndObject();
}

void JsonMetadataMetrics(JsonWriter& w, const MetadataMetrics& m) {
  w.BeginObject("metrics");
  w.QuotedIfSet("inspectedBytes", m.inspected_bytes);
  w.NumberIfSet("totalJobs", m.total_jobs);
  w.NumberIfSet("completedJobs", m.completed_jobs);
  w.NumberIfSet("totalBlocks", m.total_blocks);
  w.QuotedIfSet("totalBlockBytes", m.total_block_bytes);
  w.EndObject();
}

void JsonStringArray(JsonWriter& w, std::string_view key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  w.BeginArray(key);
  for (const auto& v : values) w.String({}, v);
  w.EndArray();
}

// ---- protobuf (field numbers from tempo.proto and OTLP common.proto) ----

void ProtoAnyValue(protowire::Writer& w, uint32_t field, const scan::Static& v) {
  // AnyValue{string_value = 1, bool_value = 2, int_value = 3, double_value = 4, array_value = 5};
  // a set oneof member is written even when it holds its default.
  size_t m = w.BeginMessage(field);
  if (auto s = StringForm(v)) {
    w.Bytes(1, *s);
  } else if (v.type == scan::StaticType::kInt) {
    w.Varint(3, static_cast<uint64_t>(v.i));
  } else if (v.type == scan::StaticType::kFloat) {
    w.Double(4, v.f);
  } else if (v.type == scan::StaticType::kBool) {
    w.Varint(2, v.b ? 1 : 0);
  } else if (IsArray(v.type)) {
    size_t a = w.BeginMessage(5);  // ArrayValue{values = 1}
    for (const auto& e : v.array) ProtoAnyValue(w, 1, e);
    w.EndMessage(a);
  }
  w.EndMessage(m);
}

void ProtoAttributes(protowire::Writer& w, uint32_t field,
                     const std::vector<traceql::ResultAttribute>& attrs) {
  for (const auto& a : attrs) {
    size_t kv = w.BeginMessage(field);  // KeyValue{key = 1, value = 2}
    w.BytesIfSet(1, a.key);
    ProtoAnyValue(w, 2, a.value);
    w.EndMessage(kv);
  }
}

void ProtoSpanset(protowire::Writer& w, uint32_t field, const traceql::SpansetResult& ss) {
  // SpanSet{spans = 1, matched = 2, attributes = 3}
  size_t m = w.BeginMessage(field);
  for (const auto& sp : ss.spans) {
    // Span{spanID = 1, name = 2, startTimeUnixNano = 3, durationNanos = 4, attributes = 5}
    size_t s = w.BeginMessage(1);
    w.Bytes(1, sp.id.Hex());
    w.BytesIfSet(2, sp.name);
    w.VarintIfSet(3, sp.start_unix_nano);
    w.VarintIfSet(4, sp.duration_nanos);
    ProtoAttributes(w, 5, sp.attributes);
    w.EndMessage(s);
  }
  w.VarintIfSet(2, ss.matched);
  ProtoAttributes(w, 3, ss.attributes);
  w.EndMessage(m);
}

// One TraceSearchMetadata as field 1 of a SearchResponse.
void ProtoTrace(protowire::Writer& w, const traceql::TraceResult& t) {
  // TraceSearchMetadata{traceID = 1, rootServiceName = 2, rootTraceName = 3,
  // startTimeUnixNano = 4, durationMs = 5, spanSet = 6, spanSets = 7, serviceStats = 8}
  size_t m = w.BeginMessage(1);
  w.BytesIfSet(1, TraceIdText(t.id));
  w.BytesIfSet(2, t.root_service_name);
  w.BytesIfSet(3, t.root_trace_name);
  w.VarintIfSet(4, t.start_unix_nano);
  w.VarintIfSet(5, t.duration_ms);
  if (!t.spansets.empty()) {
    ProtoSpanset(w, 6, t.spansets.front());
    for (const auto& ss : t.spansets) ProtoSpanset(w, 7, ss);
  }
  for (const auto& [service, stats] : t.service_stats) {
    size_t e = w.BeginMessage(
        8);  // map entry{key = 1, value = 2 ServiceStats{spanCount = 1, errorCount = 2}}
    w.Bytes(1, service);  // gogo writes map keys even when empty
    size_t v = w.BeginMessage(2);
    w.VarintIfSet(1, stats.span_count);
    w.VarintIfSet(2, stats.error_count);
    w.EndMessage(v);
    w.EndMessage(e);
  }
  w.EndMessage(m);
}

void ProtoSearchMetrics(protowire::Writer& w, const traceql::SearchMetrics& m) {
  // SearchMetrics{inspectedTraces = 1, inspectedBytes = 2, totalBlocks = 3, completedJobs = 4,
  // totalJobs = 5, totalBlockBytes = 6, inspectedSpans = 7}, as field 2 of SearchResponse.
  size_t t = w.BeginMessage(2);
  w.VarintIfSet(1, static_cast<uint32_t>(m.inspected_traces));
  w.VarintIfSet(2, m.inspected_bytes);
  w.VarintIfSet(3, m.total_blocks);
  w.VarintIfSet(4, m.completed_jobs);
  w.VarintIfSet(5, m.total_jobs);
  w.VarintIfSet(6, m.total_block_bytes);
  w.VarintIfSet(7, m.inspected_spans);
  w.EndMessage(t);
}

void ProtoMetadataMetrics(protowire::Writer& w, const MetadataMetrics& m) {
  // MetadataMetrics{inspectedBytes = 1, totalJobs = 2, completedJobs = 3, totalBlocks = 4,
  // totalBlockBytes = 5}, field 2 of every tags response.
  size_t t = w.BeginMessage(2);
  w.VarintIfSet(1, m.inspected_bytes);
  w.VarintIfSet(2, m.total_jobs);
  w.VarintIfSet(3, m.completed_jobs);
  w.VarintIfSet(4, m.total_blocks);
  w.VarintIfSet(5, m.total_block_bytes);
  w.EndMessage(t);
}

// ---- tag lists ----

void SortUnique(std::vector<std::string>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

void Truncate(std::vector<std::string>* v, uint32_t limit) {
  if (limit != 0 && v->size() > limit) v->resize(limit);
}

constexpr std::string_view kIntrinsicTagNames[] = {
    "duration",
    "name",
    "status",
    "statusMessage",
    "kind",
    "rootServiceName",
    "rootName",
    "traceDuration",
    "event:name",
    "event:timeSinceStart",
    "link:spanID",
    "link:traceID",
    "instrumentation:name",
    "instrumentation:version",
    "trace:id",
    "span:id",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "span:duration",
    "span:name",
    "span:kind",
    "trace:rootName",
    "trace:rootService",
    "trace:duration",
};

std::vector<std::string> IntrinsicNames() {
  return std::vector<std::string>(std::begin(kIntrinsicTagNames), std::end(kIntrinsicTagNames));
}

}  // namespace

RenderedBody RenderSearch(const traceql::SearchResult& result, TraceFormat format) {
  RenderedBody out;
  if (format == TraceFormat::kProtobuf) {
    out.content_type = kProtobuf;
    protowire::Writer w(&out.body);
    for (const auto& t : result.traces) ProtoTrace(w, t);
    ProtoSearchMetrics(w, result.metrics);
    return out;
  }
  out.content_type = kJson;
  JsonWriter w(&out.body);
  w.BeginObject();
  if (!result.traces.empty()) {
    w.BeginArray("traces");
    for (const auto& t : result.traces) JsonTrace(w, t);
    w.EndArray();
  }
  JsonSearchMetrics(w, result.metrics);
  w.EndObject();
  return out;
}

std::vector<std::string> EncodeSearchSegments(std::span<const traceql::TraceResult> traces,
                                              const traceql::SearchMetrics& metrics,
                                              size_t max_bytes) {
  std::string metrics_bytes;
  protowire::Writer mw(&metrics_bytes);
  ProtoSearchMetrics(mw, metrics);

  std::vector<std::string> segments;
  std::string current;
  auto flush = [&] {
    current +=
        metrics_bytes;  // traces (field 1) first, then metrics (field 2), as gogo writes them
    segments.push_back(std::move(current));
    current.clear();
  };
  std::string one;
  for (const auto& t : traces) {
    one.clear();
    protowire::Writer tw(&one);
    ProtoTrace(tw, t);
    if (!current.empty() && current.size() + one.size() + metrics_bytes.size() > max_bytes) flush();
    current += one;
  }
  flush();
  return segments;
}

RenderedBody RenderTagNames(const TagNamesResult& found, std::string_view scope, uint32_t limit,
                            bool v2, TraceFormat format) {
  // Assemble scope -> sorted names, with the intrinsics where Tempo's frontend adds them.
  std::map<std::string, std::vector<std::string>> scopes;
  for (const auto& [name, tags] : found.scopes) {
    if (name == "intrinsic") continue;  // ours to add
    auto& dest = scopes[v2 ? name : std::string()];
    dest.insert(dest.end(), tags.begin(), tags.end());
  }
  bool intrinsics = v2 ? (scope.empty() || scope == "intrinsic") : scope == "intrinsic";
  if (intrinsics) {
    auto& dest = scopes[v2 ? "intrinsic" : ""];
    auto names = IntrinsicNames();
    dest.insert(dest.end(), names.begin(), names.end());
  }
  for (auto& [name, tags] : scopes) {
    SortUnique(&tags);
    Truncate(&tags, limit);
  }

  RenderedBody out;
  if (format == TraceFormat::kProtobuf) {
    out.content_type = kProtobuf;
    protowire::Writer w(&out.body);
    if (v2) {
      for (const auto& [name, tags] : scopes) {
        if (tags.empty()) continue;
        size_t s = w.BeginMessage(1);  // SearchTagsV2Scope{name = 1, tags = 2}
        w.BytesIfSet(1, name);
        for (const auto& t : tags) w.Bytes(2, t);
        w.EndMessage(s);
      }
    } else if (!scopes.empty()) {
      for (const auto& t : scopes.begin()->second)
        w.Bytes(1, t);  // SearchTagsResponse{tagNames = 1}
    }
    ProtoMetadataMetrics(w, found.metrics);
    return out;
  }
  out.content_type = kJson;
  JsonWriter w(&out.body);
  w.BeginObject();
  if (v2) {
    bool any = false;
    for (const auto& [name, tags] : scopes) any |= !tags.empty();
    if (any) {
      w.BeginArray("scopes");
      for (const auto& [name, tags] : scopes) {
        if (tags.empty()) continue;
        w.BeginObject();
        w.StringIfSet("name", name);
        JsonStringArray(w, "tags", tags);
        w.EndObject();
      }
      w.EndArray();
    }
  } else if (!scopes.empty()) {
    JsonStringArray(w, "tagNames", scopes.begin()->second);
  }
  JsonMetadataMetrics(w, found.metrics);
  w.EndObject();
  return out;
}

RenderedBody RenderTagValues(const TagValuesResult& found, std::string_view tag, uint32_t limit,
                             bool v2, TraceFormat format) {
  RenderedBody out;
  if (!v2) {
    std::vector<std::string> values;
    // Tempo's querier adds these "virtual" values before any found ones (pkg/search/util.go).
    if (tag == "status.code") values = {"unset", "ok", "error"};
    if (tag == "error") values = {"true"};
    for (const auto& v : found.values) values.push_back(v.value);
    SortUnique(&values);
    Truncate(&values, limit);
    if (format == TraceFormat::kProtobuf) {
      out.content_type = kProtobuf;
      protowire::Writer w(&out.body);
      for (const auto& v : values) w.Bytes(1, v);  // SearchTagValuesResponse{tagValues = 1}
      ProtoMetadataMetrics(w, found.metrics);
      return out;
    }
    out.content_type = kJson;
    JsonWriter w(&out.body);
    w.BeginObject();
    JsonStringArray(w, "tagValues", values);
    JsonMetadataMetrics(w, found.metrics);
    w.EndObject();
    return out;
  }

  std::vector<TagValue> values;
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const auto& v : found.values) {
    if (limit != 0 && values.size() >= limit) break;
    if (seen.emplace(v.type, v.value).second) values.push_back(v);
  }
  if (format == TraceFormat::kProtobuf) {
    out.content_type = kProtobuf;
    protowire::Writer w(&out.body);
    for (const auto& v : values) {
      size_t m = w.BeginMessage(
          1);  // SearchTagValuesV2Response{tagValues = 1 TagValue{type = 1, value = 2}}
      w.BytesIfSet(1, v.type);
      w.BytesIfSet(2, v.value);
      w.EndMessage(m);
    }
    ProtoMetadataMetrics(w, found.metrics);
    return out;
  }
  out.content_type = kJson;
  JsonWriter w(&out.body);
  w.BeginObject();
  if (!values.empty()) {
    w.BeginArray("tagValues");
    for (const auto& v : values) {
      w.BeginObject();
      w.StringIfSet("type", v.type);
      w.StringIfSet("value", v.value);
      w.EndObject();
    }
    w.EndArray();
  }
  JsonMetadataMetrics(w, found.metrics);
  w.EndObject();
  return out;
}

std::span<const std::string_view> IntrinsicTagNames() { return kIntrinsicTagNames; }

std::optional<std::vector<TagValue>> FixedTagValuesV2(std::string_view tag) {
  if (tag == "status" || tag == "span:status") {
    return std::vector<TagValue>{{"keyword", "ok"}, {"keyword", "error"}, {"keyword", "unset"}};
  }
  if (tag == "kind" || tag == "span:kind") {
    return std::vector<TagValue>{{"keyword", "client"},   {"keyword", "server"},
                                 {"keyword", "producer"}, {"keyword", "consumer"},
                                 {"keyword", "internal"}, {"keyword", "unspecified"}};
  }
  if (tag == "duration" || tag == "span:duration" || tag == "traceDuration")
    return std::vector<TagValue>{};
  return std::nullopt;
}

std::optional<TagValue> TagValueFromStatic(const scan::Static& value) {
  switch (value.type) {
    case scan::StaticType::kString:
      return TagValue{"string", value.s};
    case scan::StaticType::kBool:
      return TagValue{"bool", value.b ? "true" : "false"};
    case scan::StaticType::kInt:
      return TagValue{"int", std::to_string(value.i)};
    case scan::StaticType::kFloat: {
      // Static.String(): FormatFloat 'g', then ".0" when the text has neither '.' nor 'e'.
      std::string f = FormatGoFloatG(value.f);
      if (f.find_first_of(".e") == std::string::npos) f += ".0";
      return TagValue{"float", std::move(f)};
    }
    case scan::StaticType::kDuration:
      return TagValue{"duration", FormatGoDuration(value.i)};
    case scan::StaticType::kStatus:
    case scan::StaticType::kKind:
      return TagValue{"keyword", *StringForm(value)};
    default:
      return std::nullopt;
  }
}

}  // namespace vivace::query
