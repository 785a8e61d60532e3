#include "exporters/debug.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "base/clock.h"
#include "base/logging.h"
#include "base/strings.h"
#include "otlp/proto_encode.h"

namespace vivace::exporters {
namespace {

using model::KeyValue;
using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

constexpr uint64_t kSecond = 1000000000;

std::string_view TypeName(ValueKind k) {
  switch (k) {
    case ValueKind::kEmpty:
      return "Empty";
    case ValueKind::kString:
      return "Str";
    case ValueKind::kBool:
      return "Bool";
    case ValueKind::kInt:
      return "Int";
    case ValueKind::kDouble:
      return "Double";
    case ValueKind::kBytes:
      return "Bytes";
    case ValueKind::kArray:
      return "Slice";
    case ValueKind::kKvList:
      return "Map";
  }
  return "Empty";
}

std::string_view KindName(model::SpanKind k) {
  switch (k) {
    case model::SpanKind::kInternal:
      return "Internal";
    case model::SpanKind::kServer:
      return "Server";
    case model::SpanKind::kClient:
      return "Client";
    case model::SpanKind::kProducer:
      return "Producer";
    case model::SpanKind::kConsumer:
      return "Consumer";
    default:
      return "Unspecified";
  }
}

std::string_view StatusName(model::StatusCode c) {
  switch (c) {
    case model::StatusCode::kOk:
      return "Ok";
    case model::StatusCode::kError:
      return "Error";
    default:
      return "Unset";
  }
}

// Go's strconv.FormatFloat(d, 'f', -1, 64): shortest digits that round-trip, no exponent.
void AppendDouble(std::string* out, double d) {
  if (std::isnan(d)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(d)) {
    out->append(d > 0 ? "+Inf" : "-Inf");
    return;
  }
  std::string s = fmt::format("{}", d);
  if (s.find_first_of("eE") != std::string::npos) {
    s = fmt::format("{:.17f}", d);
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  } else if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) {
    s.resize(s.size() - 2);
  }
  out->append(s);
}

// Go's time.Time.String() in UTC: "2020-02-11 20:26:12.000000321 +0000 UTC" (fraction trimmed).
std::string FormatTime(uint64_t unix_nano) {
  auto secs = static_cast<time_t>(unix_nano / kSecond);
  uint64_t nanos = unix_nano % kSecond;
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09llu", static_cast<unsigned long long>(nanos));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += " +0000 UTC";
  return out;
}

std::string IdHex(std::string_view bytes) {
  bool zero = std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
  return zero ? std::string() : HexEncode(bytes);
}

class Printer {
 public:
  explicit Printer(const SpanBatch& b) : b_(b) {}

  // pcommon.Value.AsString(): strings raw, containers as JSON.
  void AppendAsString(std::string* out, const Value& v) {
    switch (v.kind) {
      case ValueKind::kString:
        out->append(v.string());
        break;
      case ValueKind::kBool:
        out->append(v.b ? "true" : "false");
        break;
      case ValueKind::kInt:
        out->append(std::to_string(v.i));
        break;
      case ValueKind::kDouble:
        AppendDouble(out, v.d);
        break;
      case ValueKind::kBytes:
        AppendBase64(out, v.string());
        break;
      case ValueKind::kArray:
      case ValueKind::kKvList:
        AppendJson(out, v);
        break;
      case ValueKind::kEmpty:
        break;
    }
  }

  // As Go's encoding/json of Value.AsRaw(): map keys sorted.
  void AppendJson(std::string* out, const Value& v) {
    switch (v.kind) {
      case ValueKind::kString:
      case ValueKind::kBytes: {
        out->push_back('"');
        if (v.kind == ValueKind::kString) {
          AppendJsonEscaped(out, v.string());
        } else {
          AppendBase64(out, v.string());
        }
        out->push_back('"');
        break;
      }
      case ValueKind::kArray: {
        out->push_back('[');
        Range r = v.range();
        for (uint32_t i = r.first; i < r.end(); ++i) {
          if (i != r.first) out->push_back(',');
          AppendJson(out, b_.values[i]);
        }
        out->push_back(']');
        break;
      }
      case ValueKind::kKvList: {
        Range r = v.range();
        std::vector<const KeyValue*> kvs;
        for (uint32_t i = r.first; i < r.end(); ++i) kvs.push_back(&b_.attributes[i]);
        std::stable_sort(kvs.begin(), kvs.end(),
                         [](const KeyValue* a, const KeyValue* b) { return a->key < b->key; });
        out->push_back('{');
        for (size_t i = 0; i < kvs.size(); ++i) {
          if (i != 0) out->push_back(',');
          out->push_back('"');
          AppendJsonEscaped(out, kvs[i]->key);
          out->append("\":");
          AppendJson(out, kvs[i]->value);
        }
        out->push_back('}');
        break;
      }
      case ValueKind::kEmpty:
        out->append("null");
        break;
      default:
        AppendAsString(out, v);
        break;
    }
  }

  void Line(std::string_view text) {
    out_.append(text);
    out_.push_back('\n');
  }
  void Attr(std::string_view name, std::string_view value) {
    out_.append(fmt::format("    {:<15}: {}\n", name, value));
  }
  void Attributes(std::string_view header, Range r, std::string_view indent = "") {
    if (r.count == 0) return;
    out_.append(header);
    out_.append(":\n");
    for (uint32_t i = r.first; i < r.end(); ++i) {
      const KeyValue& kv = b_.attributes[i];
      out_.append(indent);
      out_.append("     -> ");
      out_.append(kv.key);
      out_.append(": ");
      out_.append(TypeName(kv.value.kind));
      out_.push_back('(');
      AppendAsString(&out_, kv.value);
      out_.append(")\n");
    }
  }

  void Detailed(const std::vector<uint32_t>& span_order, const std::vector<uint32_t>& scope_order) {
    size_t next_span = 0;
    int64_t resource = -1;
    int resource_index = -1, scope_index = 0;
    for (uint32_t s : scope_order) {
      const model::Scope& scope = b_.scopes[s];
      if (static_cast<int64_t>(scope.resource) != resource) {
        resource = scope.resource;
        ++resource_index;
        scope_index = 0;
        const model::Resource& res = b_.resources[scope.resource];
        Line(fmt::format("ResourceSpans #{}", resource_index));
        Line(fmt::format("Resource SchemaURL: {}", res.schema_url));
        Attributes("Resource attributes", res.attributes);
      }
      Line(fmt::format("ScopeSpans #{}", scope_index++));
      Line(fmt::format("ScopeSpans SchemaURL: {}", scope.schema_url));
      Line(fmt::format("InstrumentationScope {} {}", scope.name, scope.version));
      Attributes("InstrumentationScope attributes", scope.attributes);
      int span_index = 0;
      while (next_span < span_order.size() && b_.span_scope[span_order[next_span]] == s) {
        Span(span_order[next_span++], span_index++);
      }
    }
  }

  void Span(uint32_t i, int index) {
    Line(fmt::format("Span #{}", index));
    Attr("Trace ID", IdHex(b_.trace_id[i].view()));
    Attr("Parent ID", IdHex(b_.parent_span_id[i].view()));
    Attr("ID", IdHex(b_.span_id[i].view()));
    Attr("Name", b_.name[i]);
    Attr("Kind", KindName(b_.kind[i]));
    if (!b_.trace_state[i].empty()) Attr("TraceState", b_.trace_state[i]);
    Attr("Start time", FormatTime(b_.start_unix_nano[i]));
    Attr("End time", FormatTime(b_.end_unix_nano[i]));
    Attr("Status code", StatusName(b_.status_code[i]));
    Attr("Status message", b_.status_message[i]);
    if (b_.flags[i] != 0) Attr("Flags", std::to_string(b_.flags[i]));
    Attr("DroppedAttributesCount", std::to_string(b_.dropped_attributes_count[i]));
    Attributes("Attributes", b_.span_attributes[i]);
    Range events = b_.span_events[i];
    if (events.count > 0) {
      Line("Events:");
      for (uint32_t e = events.first; e < events.end(); ++e) {
        const model::Event& ev = b_.events[e];
        Line(fmt::format("SpanEvent #{}", e - events.first));
        Line(fmt::format("     -> Name: {}", ev.name));
        Line(fmt::format("     -> Timestamp: {}", FormatTime(ev.time_unix_nano)));
        Line(fmt::format("     -> DroppedAttributesCount: {}", ev.dropped_attributes_count));
        Attributes("     -> Attributes:", ev.attributes, "     ");
      }
    }
    Attr("DroppedEventsCount", std::to_string(b_.dropped_events_count[i]));
    Range links = b_.span_links[i];
    if (links.count > 0) {
      Line("Links:");
      for (uint32_t l = links.first; l < links.end(); ++l) {
        const model::Link& link = b_.links[l];
        Line(fmt::format("SpanLink #{}", l - links.first));
        Line(fmt::format("     -> Trace ID: {}", IdHex(link.trace_id.view())));
        Line(fmt::format("     -> ID: {}", IdHex(link.span_id.view())));
        Line(fmt::format("     -> TraceState: {}", link.trace_state));
        Line(fmt::format("     -> DroppedAttributesCount: {}", link.dropped_attributes_count));
        Attributes("     -> Attributes:", link.attributes, "     ");
      }
    }
    Attr("DroppedLinksCount", std::to_string(b_.dropped_links_count[i]));
  }

  void Normal(const std::vector<uint32_t>& span_order) {
    for (uint32_t i : span_order) {
      out_.append(b_.name[i]);
      out_.push_back(' ');
      out_.append(IdHex(b_.trace_id[i].view()));
      out_.push_back(' ');
      out_.append(IdHex(b_.span_id[i].view()));
      Range r = b_.span_attributes[i];
      for (uint32_t a = r.first; a < r.end(); ++a) {
        out_.push_back(' ');
        out_.append(b_.attributes[a].key);
        out_.push_back('=');
        AppendAsString(&out_, b_.attributes[a].value);
      }
      out_.push_back('\n');
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  const SpanBatch& b_;
  std::string out_;
};

size_t CountResources(const SpanBatch& b, const std::vector<uint32_t>& scope_order) {
  size_t n = 0;
  int64_t last = -1;
  for (uint32_t s : scope_order) {
    if (static_cast<int64_t>(b.scopes[s].resource) != last) {
      last = b.scopes[s].resource;
      ++n;
    }
  }
  return n;
}

}  // namespace

std::string FormatDebugText(const model::SpanBatch& batch, DebugVerbosity verbosity) {
  if (verbosity == DebugVerbosity::kBasic) return {};
  std::vector<uint32_t> span_order, scope_order;
  otlp::GroupSpans(batch, &span_order, &scope_order);
  Printer p(batch);
  if (verbosity == DebugVerbosity::kNormal) {
    p.Normal(span_order);
  } else {
    p.Detailed(span_order, scope_order);
  }
  return p.Take();
}

DebugExporter::DebugExporter(ComponentContext ctx, DebugOptions options, DebugSink sink,
                             std::function<uint64_t()> now_nanos)
    : ctx_(std::move(ctx)),
      options_(options),
      sink_(std::move(sink)),
      now_nanos_(std::move(now_nanos)) {
  if (!sink_) {
    if (options_.use_internal_logger) {
      sink_ = [](std::string_view text) { log::Info("{}", text); };
    } else {
      sink_ = [](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
        std::fflush(stdout);
      };
    }
  }
  if (!now_nanos_) now_nanos_ = [] { return MonotonicNanos(); };
  MetricsRegistry* metrics = ctx_.metrics;
  if (metrics == nullptr) {
    own_metrics_ = std::make_unique<MetricsRegistry>();
    metrics = own_metrics_.get();
  }
  sent_spans_ = metrics->GetCounter("otelcol_exporter_sent_spans_total",
                                    "Number of spans successfully sent to destination.",
                                    {{"exporter", ctx_.id}});
}

bool DebugExporter::Sample() {
  uint64_t now = now_nanos_();
  MutexLock lock(mu_);
  if (!window_open_ || now - window_start_ >= kSecond) {
    window_open_ = true;
    window_start_ = now;
    window_count_ = 0;
  }
  int64_t n = ++window_count_;
  if (n <= options_.sampling_initial) return true;
  if (options_.sampling_thereafter <= 0) return false;
  return (n - options_.sampling_initial) % options_.sampling_thereafter == 0;
}

void DebugExporter::Consume(std::unique_ptr<model::SpanBatch> batch, model::ConsumeCallback done) {
  if (batch != nullptr && !batch->empty()) {
    sent_spans_->Add(batch->size());
    if (Sample()) {
      std::vector<uint32_t> span_order, scope_order;
      otlp::GroupSpans(*batch, &span_order, &scope_order);
      sink_(fmt::format("Traces {{\"resource spans\": {}, \"spans\": {}}}",
                        CountResources(*batch, scope_order), batch->size()));
      if (options_.verbosity != DebugVerbosity::kBasic)
        sink_(FormatDebugText(*batch, options_.verbosity));
    }
  }
  done(model::ConsumeResult{});
}

}  // namespace vivace::exporters
