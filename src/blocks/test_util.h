#pragma once
// Test helpers for block storage: random traces with every field and value type, and a
// canonical text form of a trace for equality checks. Header-only; tests only.

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"
#include "blocks/row_group.h"
#include "blocks/value_codec.h"
#include "model/span_batch.h"

namespace vivace::blocks::testing {

class RandomTraces {
 public:
  explicit RandomTraces(uint32_t seed) : rng_(seed) {}

  /// A batch of `traces` traces with 1..max_spans spans each, spread over a few resources and
  /// scopes, in a shuffled span order. Parents: mostly a span of the same trace, sometimes
  /// absent, dangling, or on a cycle; sometimes a duplicate span id.
  model::SpanBatch Make(int traces, int max_spans) {
    model::SpanBatch b;
    b.tenant = "t";
    int resources = 1 + Int(3);
    for (int r = 0; r < resources; ++r) {
      model::Resource res;
      res.attributes = Attrs(&b, Int(4), 1, true);
      res.dropped_attributes_count = Int(2);
      res.schema_url = Maybe(&b, "https://opentelemetry.io/schemas/1.21.0");
      b.resources.push_back(res);
      int scopes = 1 + Int(2);
      for (int c = 0; c < scopes; ++c) {
        model::Scope sc;
        sc.resource = static_cast<uint32_t>(r);
        sc.name = Maybe(&b, "io.opentelemetry.lib" + std::to_string(Int(3)));
        sc.version = Maybe(&b, "1." + std::to_string(Int(9)));
        sc.attributes = Attrs(&b, Int(2), 1, false);
        sc.dropped_attributes_count = Int(2);
        sc.schema_url = Maybe(&b, "https://example.com/scope");
        b.scopes.push_back(sc);
      }
    }
    std::vector<model::SpanRow> rows;
    for (int t = 0; t < traces; ++t) {
      model::TraceId tid;
      for (auto& byte : tid.bytes) byte = static_cast<uint8_t>(Int(256));
      int n = 1 + Int(max_spans);
      std::vector<model::SpanId> ids(n);
      for (auto& id : ids) {
        for (auto& byte : id.bytes) byte = static_cast<uint8_t>(1 + Int(255));
      }
      uint64_t base = 1700000000000000000ull + static_cast<uint64_t>(Int(1000000)) * 1000000ull;
      for (int s = 0; s < n; ++s) {
        model::SpanRow row;
        row.trace_id = tid;
        row.span_id = ids[s];
        int p = Int(10);
        if (s > 0 && p < 7) row.parent_span_id = ids[Int(s)];
        if (p == 7) {
          for (auto& byte : row.parent_span_id.bytes) byte = static_cast<uint8_t>(Int(256));  // dangling
        }
        if (p == 8 && s + 1 < n) row.parent_span_id = ids[s + 1];  // may close a cycle
        row.trace_state = Maybe(&b, "vendor=" + std::to_string(Int(5)));
        row.flags = Int(3) == 0 ? 0x301 : Int(2);
        row.name = b.arena.Copy("op-" + std::to_string(Int(6)));
        row.kind = static_cast<model::SpanKind>(Int(6));
        row.start_unix_nano = base + static_cast<uint64_t>(Int(1000000));
        row.end_unix_nano = row.start_unix_nano + static_cast<uint64_t>(Int(5000000));
        if (Int(20) == 0) row.end_unix_nano = row.start_unix_nano - 5;  // bad data round-trips too
        row.attributes = Attrs(&b, Int(6), 3, false);
        row.dropped_attributes_count = Int(2);
        int events = Int(3);
        row.events = b.AllocEvents(events);
        for (int e = 0; e < events; ++e) {
          model::Event& ev = b.events[row.events.first + e];
          ev.time_unix_nano = row.start_unix_nano + static_cast<uint64_t>(Int(1000));
          ev.name = b.arena.Copy(Int(2) ? "exception" : "log");
          Range attrs = Attrs(&b, Int(3), 2, false);
          b.events[row.events.first + e].attributes = attrs;
          b.events[row.events.first + e].dropped_attributes_count = Int(2);
        }
        row.dropped_events_count = Int(2);
        int links = Int(2);
        row.links = b.AllocLinks(links);
        for (int l = 0; l < links; ++l) {
          model::Link lk;
          for (auto& byte : lk.trace_id.bytes) byte = static_cast<uint8_t>(Int(256));
          for (auto& byte : lk.span_id.bytes) byte = static_cast<uint8_t>(Int(256));
          lk.trace_state = Maybe(&b, "k=v");
          lk.flags = Int(2);
          lk.attributes = Attrs(&b, Int(2), 1, false);
          lk.dropped_attributes_count = Int(2);
          b.links[row.links.first + l] = lk;
        }
        row.dropped_links_count = Int(2);
        row.status_code = static_cast<model::StatusCode>(Int(3));
        row.status_message = row.status_code == model::StatusCode::kError ? b.arena.Copy("boom") : std::string_view();
        row.scope = static_cast<uint32_t>(Int(static_cast<int>(b.scopes.size())));
        rows.push_back(row);
        if (Int(30) == 0) rows.push_back(row);  // a duplicate span
      }
    }
    std::shuffle(rows.begin(), rows.end(), rng_);
    for (const auto& r : rows) b.Append(r);
    return b;
  }

 private:
  using Range = model::Range;
  int Int(int n) { return n <= 0 ? 0 : static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::string_view Maybe(model::SpanBatch* b, const std::string& s) { return Int(2) ? b->arena.Copy(s) : ""; }

  model::Value RandomValue(model::SpanBatch* b, int depth) {
    switch (Int(depth > 0 ? 8 : 6)) {
      case 0: return model::Value();
      case 1: return model::Value::String(b->arena.Copy("value-" + std::to_string(Int(20))));
      case 2: return model::Value::Bool(Int(2) == 1);
      case 3: return model::Value::Int(static_cast<int64_t>(rng_()) * (Int(2) ? -1 : 1));
      case 4: return model::Value::Double(Int(2) ? 3.25 * Int(100) : -0.0);
      case 5: return model::Value::Bytes(b->arena.Copy(std::string("\0\xff\x01", 3)));
      case 6: {
        int n = Int(4);
        Range r = b->AllocValues(n);
        for (int k = 0; k < n; ++k) {
          model::Value v = RandomValue(b, depth - 1);
          b->values[r.first + k] = v;
        }
        return model::Value::Array(r);
      }
      default: return model::Value::KvList(Attrs(b, Int(3), depth - 1, false));
    }
  }

  // `service`: include service.name (the first attribute) like every real resource.
  Range Attrs(model::SpanBatch* b, int n, int depth, bool service) {
    // Common keys repeat so that some become dedicated columns; the same key sometimes changes type.
    static const char* kKeys[] = {"http.method", "http.status_code", "db.system", "peer.service", "retry", "ratio"};
    int total = n + (service ? 1 : 0);
    Range r = b->AllocAttributes(total);
    int k = 0;
    if (service) {
      b->attributes[r.first + k++] =
          model::KeyValue{b->arena.Copy("service.name"), model::Value::String(b->arena.Copy("svc-" + std::to_string(Int(4))))};
    }
    for (; k < total; ++k) {
      std::string key = Int(3) ? kKeys[Int(6)] : "custom." + std::to_string(Int(50));
      model::Value v = RandomValue(b, depth);
      b->attributes[r.first + k] = model::KeyValue{b->arena.Copy(key), v};
    }
    return r;
  }

  std::mt19937 rng_;
};

/// A canonical text form of the spans of `b` (any order, any resource/scope layout): spans sorted
/// by (trace id, span id), each with its resource and scope content; attributes sorted by key
/// (blocks keep attributes as a map: dedicated columns come first), events and links in order.
inline std::string Canonical(const model::SpanBatch& b) {
  auto attrs = [&](model::Range r) {
    std::vector<std::string> kv;
    for (uint32_t k = r.first; k < r.end(); ++k) {
      std::string v;
      EncodeValue(b, b.attributes[k].value, &v);
      kv.push_back(std::string(b.attributes[k].key) + "=" + HexEncode(v));
    }
    std::stable_sort(kv.begin(), kv.end());
    std::string out = "{";
    for (auto& s : kv) out += s + ",";
    return out + "}";
  };
  std::vector<std::string> spans;
  for (size_t i = 0; i < b.size(); ++i) {
    const model::Scope& sc = b.scopes[b.span_scope[i]];
    const model::Resource& res = b.resources[sc.resource];
    std::string s = b.trace_id[i].Hex() + "/" + b.span_id[i].Hex() + " parent=" + b.parent_span_id[i].Hex();
    s += " res=" + attrs(res.attributes) + std::to_string(res.dropped_attributes_count) + std::string(res.schema_url);
    s += " scope=" + std::string(sc.name) + "|" + std::string(sc.version) + "|" + attrs(sc.attributes) +
         std::to_string(sc.dropped_attributes_count) + "|" + std::string(sc.schema_url);
    s += " ts=" + std::string(b.trace_state[i]) + " flags=" + std::to_string(b.flags[i]) + " name=" +
         std::string(b.name[i]) + " kind=" + std::to_string(static_cast<int>(b.kind[i]));
    s += " t=" + std::to_string(b.start_unix_nano[i]) + ".." + std::to_string(b.end_unix_nano[i]);
    s += " attrs=" + attrs(b.span_attributes[i]) + std::to_string(b.dropped_attributes_count[i]);
    for (uint32_t e = b.span_events[i].first; e < b.span_events[i].end(); ++e) {
      const model::Event& ev = b.events[e];
      s += " ev(" + std::to_string(ev.time_unix_nano) + "," + std::string(ev.name) + "," + attrs(ev.attributes) +
           std::to_string(ev.dropped_attributes_count) + ")";
    }
    s += std::to_string(b.dropped_events_count[i]);
    for (uint32_t l = b.span_links[i].first; l < b.span_links[i].end(); ++l) {
      const model::Link& lk = b.links[l];
      s += " link(" + lk.trace_id.Hex() + "," + lk.span_id.Hex() + "," + std::string(lk.trace_state) + "," +
           std::to_string(lk.flags) + "," + attrs(lk.attributes) + std::to_string(lk.dropped_attributes_count) + ")";
    }
    s += std::to_string(b.dropped_links_count[i]);
    s += " status=" + std::to_string(static_cast<int>(b.status_code[i])) + ":" + std::string(b.status_message[i]);
    spans.push_back(std::move(s));
  }
  std::sort(spans.begin(), spans.end());
  std::string out;
  for (auto& s : spans) out += s + "\n";
  return out;
}

/// `b` without duplicate span ids within a trace (first occurrence kept): what storage returns.
inline model::SpanBatch Deduplicated(const model::SpanBatch& b) {
  model::SpanBatch out;
  model::SpanCopier copier(&out);
  copier.SetSource(&b);
  std::vector<std::pair<model::TraceId, model::SpanId>> seen;
  for (size_t i = 0; i < b.size(); ++i) {
    std::pair<model::TraceId, model::SpanId> key{b.trace_id[i], b.span_id[i]};
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    copier.CopySpan(i);
  }
  return out;
}

/// A row group holding every trace of `b`, in trace-id order.
inline RowGroup BuildRowGroup(const model::SpanBatch& b) {
  std::map<model::TraceId, std::vector<uint32_t>> traces;
  for (uint32_t i = 0; i < b.size(); ++i) traces[b.trace_id[i]].push_back(i);
  RowGroupBuilder builder;
  for (const auto& [id, spans] : traces) builder.AddTrace(b, spans);
  return builder.Take();
}

}  // namespace vivace::blocks::testing
