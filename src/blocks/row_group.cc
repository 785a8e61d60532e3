#include "blocks/row_group.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "base/coding.h"
#include "base/crc32c.h"
#include "blocks/value_codec.h"

namespace vivace::blocks {
namespace {

using model::KeyValue;
using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

constexpr std::string_view kServiceName = "service.name";

// ---------------------------------------------------------------------------------------------
// Column table. The order is the storage order of format v1: append only, never reorder.

enum class Kind : uint8_t { kInt, kFixed8, kFixed16, kString };

struct ColumnDef {
  const char* name;
  Kind kind;
};

enum Col : uint32_t {
  kTraceId, kTraceSpanCount, kTraceStart, kTraceDuration, kTraceRootService, kTraceRootName, kTraceServiceCount,
  kServiceName_, kServiceSpans, kServiceErrors,
  kResourceSchemaUrl, kResourceDropped, kResourceAttrCount,
  kScopeName, kScopeVersion, kScopeSchemaUrl, kScopeDropped, kScopeAttrCount,
  kSpanId, kSpanParentKind, kSpanParentRaw, kSpanNestedLeft, kSpanNestedRight, kSpanNestedParent, kSpanResource,
  kSpanScope, kSpanName, kSpanKind, kSpanStatusCode, kSpanStatusMessage, kSpanStart, kSpanDuration, kSpanTraceState,
  kSpanFlags, kSpanDroppedAttrs, kSpanDroppedEvents, kSpanDroppedLinks, kSpanAttrCount, kSpanEventCount,
  kSpanLinkCount,
  kEventTime, kEventName, kEventDropped, kEventAttrCount,
  kLinkTraceId, kLinkSpanId, kLinkTraceState, kLinkFlags, kLinkDropped, kLinkAttrCount,
  kAttrTables,  // five generic attribute tables follow, kAttrColumns columns each
};

constexpr ColumnDef kBuiltins[] = {
    {"trace.id", Kind::kFixed16}, {"trace.span_count", Kind::kInt}, {"trace.start", Kind::kInt},
    {"trace.duration", Kind::kInt}, {"trace.root_service", Kind::kString}, {"trace.root_name", Kind::kString},
    {"trace.service_count", Kind::kInt},
    {"trace_service.name", Kind::kString}, {"trace_service.spans", Kind::kInt}, {"trace_service.errors", Kind::kInt},
    {"resource.schema_url", Kind::kString}, {"resource.dropped_attributes", Kind::kInt},
    {"resource.attr_count", Kind::kInt},
    {"scope.name", Kind::kString}, {"scope.version", Kind::kString}, {"scope.schema_url", Kind::kString},
    {"scope.dropped_attributes", Kind::kInt}, {"scope.attr_count", Kind::kInt},
    {"span.id", Kind::kFixed8}, {"span.parent_kind", Kind::kInt}, {"span.parent_id", Kind::kFixed8},
    {"span.nested_left", Kind::kInt}, {"span.nested_right", Kind::kInt}, {"span.nested_parent", Kind::kInt},
    {"span.resource", Kind::kInt}, {"span.scope", Kind::kInt}, {"span.name", Kind::kString},
    {"span.kind", Kind::kInt}, {"span.status_code", Kind::kInt}, {"span.status_message", Kind::kString},
    {"span.start", Kind::kInt}, {"span.duration", Kind::kInt}, {"span.trace_state", Kind::kString},
    {"span.flags", Kind::kInt}, {"span.dropped_attributes", Kind::kInt}, {"span.dropped_events", Kind::kInt},
    {"span.dropped_links", Kind::kInt}, {"span.attr_count", Kind::kInt}, {"span.event_count", Kind::kInt},
    {"span.link_count", Kind::kInt},
    {"event.time", Kind::kInt}, {"event.name", Kind::kString}, {"event.dropped_attributes", Kind::kInt},
    {"event.attr_count", Kind::kInt},
    {"link.trace_id", Kind::kFixed16}, {"link.span_id", Kind::kFixed8}, {"link.trace_state", Kind::kString},
    {"link.flags", Kind::kInt}, {"link.dropped_attributes", Kind::kInt}, {"link.attr_count", Kind::kInt},
};
static_assert(std::size(kBuiltins) == kAttrTables);

// Generic attribute tables, by owner, and their columns.
enum AttrOwner : uint32_t { kOwnSpan, kOwnResource, kOwnScope, kOwnEvent, kOwnLink, kOwners };
constexpr const char* kOwnerNames[kOwners] = {"span", "resource", "scope", "event", "link"};
enum AttrCol : uint32_t { kAKey, kAType, kAStr, kAInt, kADouble, kABool, kABytes, kAComposite, kAttrColumns };
constexpr ColumnDef kAttrDefs[kAttrColumns] = {
    {"key", Kind::kString},  {"type", Kind::kInt},  {"string", Kind::kString}, {"int", Kind::kInt},
    {"double", Kind::kFixed8}, {"bool", Kind::kInt}, {"bytes", Kind::kString},  {"composite", Kind::kString},
};
constexpr uint32_t kFirstDedicated = kAttrTables + static_cast<uint32_t>(kOwners) * kAttrColumns;

constexpr uint32_t AttrColumn(AttrOwner owner, AttrCol c) {
  return kAttrTables + static_cast<uint32_t>(owner) * kAttrColumns + static_cast<uint32_t>(c);
}

// Per dedicated column: a presence column and a value column.
uint32_t DedicatedPresent(size_t i) { return kFirstDedicated + 2 * static_cast<uint32_t>(i); }
uint32_t DedicatedValues(size_t i) { return kFirstDedicated + 2 * static_cast<uint32_t>(i) + 1; }

Kind DedicatedKind(ValueKind k) {
  switch (k) {
    case ValueKind::kString: return Kind::kString;
    case ValueKind::kDouble: return Kind::kFixed8;
    default: return Kind::kInt;  // int (zigzag), bool (0/1)
  }
}

size_t Width(Kind k) { return k == Kind::kFixed8 ? 8 : k == Kind::kFixed16 ? 16 : 0; }

// Every column of a row group while it is encoded or decoded.
struct ColumnData {
  Kind kind = Kind::kInt;
  std::vector<uint64_t> ints;
  std::string fixed;
  std::vector<std::string_view> strs;

  size_t size() const {
    switch (kind) {
      case Kind::kInt: return ints.size();
      case Kind::kString: return strs.size();
      default: return fixed.size() / Width(kind);
    }
  }
};

std::vector<ColumnData> MakeColumns(std::span<const DedicatedColumn> dedicated) {
  std::vector<ColumnData> cols(kFirstDedicated + 2 * dedicated.size());
  for (uint32_t i = 0; i < kAttrTables; ++i) cols[i].kind = kBuiltins[i].kind;
  for (uint32_t o = 0; o < kOwners; ++o) {
    for (uint32_t c = 0; c < kAttrColumns; ++c) cols[AttrColumn(AttrOwner(o), AttrCol(c))].kind = kAttrDefs[c].kind;
  }
  for (size_t i = 0; i < dedicated.size(); ++i) {
    cols[DedicatedPresent(i)].kind = Kind::kInt;
    cols[DedicatedValues(i)].kind = DedicatedKind(dedicated[i].kind);
  }
  return cols;
}

void PutDouble(std::string* out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  PutFixed64(out, bits);
}

double GetDouble(const std::string& fixed, size_t i) {
  uint64_t bits = DecodeFixed64(fixed.data() + 8 * i);
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

class Encoder {
 public:
  Encoder(const RowGroup& g, std::span<const DedicatedColumn> dedicated)
      : g_(g), b_(g.spans), dedicated_(dedicated), cols_(MakeColumns(dedicated)) {
    for (size_t i = 0; i < dedicated.size(); ++i) {
      auto& m = dedicated[i].owner == DedicatedColumn::Owner::kSpan ? span_dedicated_ : resource_dedicated_;
      m.emplace(dedicated[i].key, i);
    }
  }

  std::vector<ColumnData>& Run(uint64_t* base_start) {
    uint64_t base = UINT64_MAX;
    for (const TraceEntry& t : g_.traces) base = std::min(base, t.start_unix_nano);
    if (g_.traces.empty()) base = 0;
    *base_start = base;
    for (const TraceEntry& t : g_.traces) Trace(t, base);
    return cols_;
  }

 private:
  std::vector<uint64_t>& I(uint32_t c) { return cols_[c].ints; }
  std::string& F(uint32_t c) { return cols_[c].fixed; }
  std::vector<std::string_view>& S(uint32_t c) { return cols_[c].strs; }

  void Trace(const TraceEntry& t, uint64_t base) {
    F(kTraceId).append(t.id.view());
    I(kTraceSpanCount).push_back(t.span_count);
    I(kTraceStart).push_back(t.start_unix_nano - base);
    I(kTraceDuration).push_back(t.end_unix_nano - t.start_unix_nano);
    S(kTraceRootService).push_back(t.root_service);
    S(kTraceRootName).push_back(t.root_name);
    I(kTraceServiceCount).push_back(t.service_count);
    for (uint32_t k = t.first_service; k < t.first_service + t.service_count; ++k) {
      S(kServiceName_).push_back(g_.services[k].name);
      I(kServiceSpans).push_back(g_.services[k].spans);
      I(kServiceErrors).push_back(g_.services[k].errors);
    }
    uint32_t prev_left = 0;
    for (uint32_t s = t.first_span; s < t.first_span + t.span_count; ++s) {
      Span(s, t, prev_left);
      prev_left = g_.nested[s].left;
    }
  }

  void Span(uint32_t s, const TraceEntry& t, uint32_t prev_left) {
    const NestedSet& n = g_.nested[s];
    F(kSpanId).append(b_.span_id[s].view());
    uint64_t parent_kind = 0;
    if (n.parent != 0) {
      parent_kind = 1;  // the span whose left is n.parent
    } else if (!b_.parent_span_id[s].IsZero()) {
      parent_kind = 2;
      F(kSpanParentRaw).append(b_.parent_span_id[s].view());
    }
    I(kSpanParentKind).push_back(parent_kind);
    I(kSpanNestedLeft).push_back(n.left - prev_left);
    I(kSpanNestedRight).push_back(n.right - n.left);
    I(kSpanNestedParent).push_back(n.parent == 0 ? 0 : n.left - n.parent);
    uint32_t scope = b_.span_scope[s];
    I(kSpanResource).push_back(Resource(b_.scopes[scope].resource));
    I(kSpanScope).push_back(Scope(scope));
    S(kSpanName).push_back(b_.name[s]);
    I(kSpanKind).push_back(static_cast<uint64_t>(b_.kind[s]));
    I(kSpanStatusCode).push_back(static_cast<uint64_t>(b_.status_code[s]));
    S(kSpanStatusMessage).push_back(b_.status_message[s]);
    I(kSpanStart).push_back(b_.start_unix_nano[s] - t.start_unix_nano);
    I(kSpanDuration).push_back(ZigZag(static_cast<int64_t>(b_.end_unix_nano[s] - b_.start_unix_nano[s])));
    S(kSpanTraceState).push_back(b_.trace_state[s]);
    I(kSpanFlags).push_back(b_.flags[s]);
    I(kSpanDroppedAttrs).push_back(b_.dropped_attributes_count[s]);
    I(kSpanDroppedEvents).push_back(b_.dropped_events_count[s]);
    I(kSpanDroppedLinks).push_back(b_.dropped_links_count[s]);
    I(kSpanAttrCount).push_back(Attributes(kOwnSpan, b_.span_attributes[s], &span_dedicated_));
    Range ev = b_.span_events[s];
    I(kSpanEventCount).push_back(ev.count);
    for (uint32_t e = ev.first; e < ev.end(); ++e) {
      const model::Event& x = b_.events[e];
      I(kEventTime).push_back(ZigZag(static_cast<int64_t>(x.time_unix_nano - b_.start_unix_nano[s])));
      S(kEventName).push_back(x.name);
      I(kEventDropped).push_back(x.dropped_attributes_count);
      I(kEventAttrCount).push_back(Attributes(kOwnEvent, x.attributes, nullptr));
    }
    Range ln = b_.span_links[s];
    I(kSpanLinkCount).push_back(ln.count);
    for (uint32_t l = ln.first; l < ln.end(); ++l) {
      const model::Link& x = b_.links[l];
      F(kLinkTraceId).append(x.trace_id.view());
      F(kLinkSpanId).append(x.span_id.view());
      S(kLinkTraceState).push_back(x.trace_state);
      I(kLinkFlags).push_back(x.flags);
      I(kLinkDropped).push_back(x.dropped_attributes_count);
      I(kLinkAttrCount).push_back(Attributes(kOwnLink, x.attributes, nullptr));
    }
  }

  // Resources and scopes are stored once per distinct content in the row group.
  uint32_t Resource(uint32_t r) {
    if (resource_ids_.size() <= r) resource_ids_.resize(b_.resources.size(), UINT32_MAX);
    if (resource_ids_[r] != UINT32_MAX) return resource_ids_[r];
    const model::Resource& x = b_.resources[r];
    std::string key;
    EncodeAttributes(b_, x.attributes, &key);
    PutVarint(&key, x.dropped_attributes_count);
    key.append(x.schema_url);
    auto [it, inserted] = resource_by_content_.try_emplace(std::move(key), resource_rows_);
    if (inserted) {
      ++resource_rows_;
      S(kResourceSchemaUrl).push_back(x.schema_url);
      I(kResourceDropped).push_back(x.dropped_attributes_count);
      I(kResourceAttrCount).push_back(Attributes(kOwnResource, x.attributes, &resource_dedicated_));
    }
    return resource_ids_[r] = it->second;
  }

  uint32_t Scope(uint32_t c) {
    if (scope_ids_.size() <= c) scope_ids_.resize(b_.scopes.size(), UINT32_MAX);
    if (scope_ids_[c] != UINT32_MAX) return scope_ids_[c];
    const model::Scope& x = b_.scopes[c];
    std::string key;
    EncodeAttributes(b_, x.attributes, &key);
    PutVarint(&key, x.dropped_attributes_count);
    for (std::string_view s : {x.name, x.version, x.schema_url}) {
      PutVarint(&key, s.size());
      key.append(s);
    }
    auto [it, inserted] = scope_by_content_.try_emplace(std::move(key), scope_rows_);
    if (inserted) {
      ++scope_rows_;
      S(kScopeName).push_back(x.name);
      S(kScopeVersion).push_back(x.version);
      S(kScopeSchemaUrl).push_back(x.schema_url);
      I(kScopeDropped).push_back(x.dropped_attributes_count);
      I(kScopeAttrCount).push_back(Attributes(kOwnScope, x.attributes, nullptr));
    }
    return scope_ids_[c] = it->second;
  }

  // Writes the attributes of one owner row: those of a dedicated (key, type) into its column
  // (the first occurrence only), the rest into the owner's generic table. Returns the number of
  // generic rows written.
  uint32_t Attributes(AttrOwner owner, Range r, const std::unordered_map<std::string_view, size_t>* dedicated) {
    uint32_t generic = 0;
    if (dedicated != nullptr && !dedicated->empty()) taken_.assign(dedicated_.size(), false);
    for (uint32_t k = r.first; k < r.end(); ++k) {
      const KeyValue& kv = b_.attributes[k];
      if (dedicated != nullptr && !dedicated->empty()) {
        auto it = dedicated->find(kv.key);
        if (it != dedicated->end() && dedicated_[it->second].kind == kv.value.kind && !taken_[it->second]) {
          taken_[it->second] = true;
          DedicatedValue(it->second, kv.value);
          continue;
        }
      }
      GenericValue(owner, kv);
      ++generic;
    }
    if (dedicated != nullptr) {
      for (const auto& [key, i] : *dedicated) {
        if (!taken_[i]) I(DedicatedPresent(i)).push_back(0);
      }
    }
    return generic;
  }

  void DedicatedValue(size_t i, const Value& v) {
    I(DedicatedPresent(i)).push_back(1);
    uint32_t c = DedicatedValues(i);
    switch (v.kind) {
      case ValueKind::kString: S(c).push_back(v.string()); break;
      case ValueKind::kInt: I(c).push_back(ZigZag(v.i)); break;
      case ValueKind::kBool: I(c).push_back(v.b ? 1 : 0); break;
      case ValueKind::kDouble: PutDouble(&F(c), v.d); break;
      default: break;
    }
  }

  void GenericValue(AttrOwner owner, const KeyValue& kv) {
    S(AttrColumn(owner, kAKey)).push_back(kv.key);
    I(AttrColumn(owner, kAType)).push_back(static_cast<uint64_t>(kv.value.kind));
    const Value& v = kv.value;
    switch (v.kind) {
      case ValueKind::kEmpty: break;
      case ValueKind::kString: S(AttrColumn(owner, kAStr)).push_back(v.string()); break;
      case ValueKind::kBytes: S(AttrColumn(owner, kABytes)).push_back(v.string()); break;
      case ValueKind::kInt: I(AttrColumn(owner, kAInt)).push_back(ZigZag(v.i)); break;
      case ValueKind::kBool: I(AttrColumn(owner, kABool)).push_back(v.b ? 1 : 0); break;
      case ValueKind::kDouble: PutDouble(&F(AttrColumn(owner, kADouble)), v.d); break;
      case ValueKind::kArray:
      case ValueKind::kKvList: {
        std::string bytes;
        EncodeValue(b_, v, &bytes);
        S(AttrColumn(owner, kAComposite)).push_back(scratch_.Adopt(std::move(bytes)));
        break;
      }
    }
  }

  const RowGroup& g_;
  const SpanBatch& b_;
  std::span<const DedicatedColumn> dedicated_;
  std::vector<ColumnData> cols_;
  std::unordered_map<std::string_view, size_t> span_dedicated_, resource_dedicated_;
  std::vector<bool> taken_;
  std::vector<uint32_t> resource_ids_, scope_ids_;
  std::unordered_map<std::string, uint32_t> resource_by_content_, scope_by_content_;
  uint32_t resource_rows_ = 0, scope_rows_ = 0;
  Arena scratch_;
};

Status Corrupt(std::string_view why) { return DataLoss("corrupt row group: " + std::string(why)); }

}  // namespace

// ---------------------------------------------------------------------------------------------

std::vector<std::string> ColumnNames(std::span<const DedicatedColumn> dedicated) {
  std::vector<std::string> names;
  for (const ColumnDef& d : kBuiltins) names.emplace_back(d.name);
  for (uint32_t o = 0; o < kOwners; ++o) {
    for (uint32_t c = 0; c < kAttrColumns; ++c) {
      names.push_back(std::string(kOwnerNames[o]) + "_attr." + kAttrDefs[c].name);
    }
  }
  for (const DedicatedColumn& d : dedicated) {
    std::string base = std::string(d.owner == DedicatedColumn::Owner::kSpan ? "span" : "resource") + ".attr." + d.key;
    names.push_back(base + ".present");
    names.push_back(base);
  }
  return names;
}

std::vector<uint8_t> StringColumns(std::span<const DedicatedColumn> dedicated) {
  std::vector<uint8_t> out;
  for (const ColumnData& c : MakeColumns(dedicated)) out.push_back(c.kind == Kind::kString ? 1 : 0);
  return out;
}

std::vector<DedicatedColumn> ChooseDedicatedColumns(const SpanBatch& b, const DedicatedOptions& opts) {
  auto choose = [&](DedicatedColumn::Owner owner, std::span<const Range> owners, uint32_t max) {
    std::map<std::pair<std::string_view, ValueKind>, uint64_t> counts;
    for (const Range& r : owners) {
      std::vector<std::string_view> seen;
      for (uint32_t k = r.first; k < r.end(); ++k) {
        const KeyValue& kv = b.attributes[k];
        ValueKind kind = kv.value.kind;
        if (kind != ValueKind::kString && kind != ValueKind::kInt && kind != ValueKind::kDouble &&
            kind != ValueKind::kBool) {
          continue;
        }
        if (std::find(seen.begin(), seen.end(), kv.key) != seen.end()) continue;
        seen.push_back(kv.key);
        ++counts[{kv.key, kind}];
      }
    }
    // One type per key: the most frequent.
    std::map<std::string_view, std::pair<uint64_t, ValueKind>> best;
    for (const auto& [k, n] : counts) {
      auto& slot = best[k.first];
      if (n > slot.first) slot = {n, k.second};
    }
    std::vector<std::pair<uint64_t, DedicatedColumn>> ranked;
    for (const auto& [key, v] : best) {
      if (owners.empty() || static_cast<double>(v.first) < opts.min_share * static_cast<double>(owners.size())) {
        continue;
      }
      ranked.push_back({v.first, DedicatedColumn{owner, std::string(key), v.second}});
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (ranked.size() > max) ranked.resize(max);
    std::vector<DedicatedColumn> out;
    for (auto& r : ranked) out.push_back(std::move(r.second));
    return out;
  };
  std::vector<Range> resource_attrs;
  for (const model::Resource& r : b.resources) resource_attrs.push_back(r.attributes);
  std::vector<DedicatedColumn> out = choose(DedicatedColumn::Owner::kSpan, b.span_attributes, opts.max_span_columns);
  for (auto& d : choose(DedicatedColumn::Owner::kResource, resource_attrs, opts.max_resource_columns)) {
    out.push_back(std::move(d));
  }
  return out;
}

uint32_t RowGroupBuilder::AddTrace(const SpanBatch& src, std::span<const uint32_t> idx) {
  // Distinct spans of the trace, first occurrence wins.
  std::unordered_map<model::SpanId, uint32_t, model::IdHash> by_id;
  std::vector<uint32_t> spans;
  spans.reserve(idx.size());
  for (uint32_t i : idx) {
    if (by_id.try_emplace(src.span_id[i], static_cast<uint32_t>(spans.size())).second) spans.push_back(i);
  }
  const size_t n = spans.size();
  // Children lists; roots are spans whose parent is absent from the trace (or themselves).
  std::vector<int64_t> parent(n, -1);
  for (size_t k = 0; k < n; ++k) {
    const model::SpanId& p = src.parent_span_id[spans[k]];
    if (p.IsZero()) continue;
    auto it = by_id.find(p);
    if (it != by_id.end() && it->second != k) parent[k] = it->second;
  }
  auto earlier = [&](uint32_t a, uint32_t b) {
    uint64_t sa = src.start_unix_nano[spans[a]], sb = src.start_unix_nano[spans[b]];
    if (sa != sb) return sa < sb;
    return src.span_id[spans[a]] < src.span_id[spans[b]];
  };
  std::vector<std::vector<uint32_t>> children(n);
  std::vector<uint32_t> order(n);
  for (uint32_t k = 0; k < n; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), earlier);
  for (uint32_t k : order) {
    if (parent[k] >= 0) children[parent[k]].push_back(k);  // in start order, as `order` is
  }
  // Depth-first numbering from each root in start order. Spans on a parent cycle are never
  // reached from a root; the earliest unvisited one is then numbered as a root.
  std::vector<NestedSet> nested(n);
  std::vector<bool> visited(n, false);
  std::vector<uint32_t> preorder;
  preorder.reserve(n);
  uint32_t counter = 0;
  std::vector<std::pair<uint32_t, size_t>> stack;  // (span, next child)
  auto visit_from = [&](uint32_t root) {
    visited[root] = true;
    nested[root].left = ++counter;
    preorder.push_back(root);
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [s, next] = stack.back();
      if (next < children[s].size()) {
        uint32_t c = children[s][next++];
        if (visited[c]) continue;
        visited[c] = true;
        nested[c].left = ++counter;
        nested[c].parent = nested[s].left;
        preorder.push_back(c);
        stack.push_back({c, 0});
      } else {
        nested[s].right = ++counter;
        stack.pop_back();
      }
    }
  };
  for (uint32_t k : order) {
    if (parent[k] < 0 && !visited[k]) visit_from(k);
  }
  for (uint32_t k : order) {
    if (!visited[k]) visit_from(k);
  }

  RowGroup& g = group_;
  TraceEntry t;
  t.id = src.trace_id[spans[0]];
  t.first_span = static_cast<uint32_t>(g.spans.size());
  t.span_count = static_cast<uint32_t>(n);
  t.start_unix_nano = UINT64_MAX;
  model::SpanCopier copier(&g.spans);
  copier.SetSource(&src);
  std::map<std::string_view, ServiceStat> services;
  bool have_root = false;
  for (uint32_t k : preorder) {
    uint32_t i = spans[k];
    copier.CopySpan(i);
    g.nested.push_back(nested[k]);
    t.start_unix_nano = std::min(t.start_unix_nano, src.start_unix_nano[i]);
    t.end_unix_nano = std::max(t.end_unix_nano, src.end_unix_nano[i]);
    size_t s = g.spans.size() - 1;
    std::string_view service;
    const model::Resource& res = g.spans.resources[g.spans.scopes[g.spans.span_scope[s]].resource];
    for (uint32_t a = res.attributes.first; a < res.attributes.end(); ++a) {
      const KeyValue& kv = g.spans.attributes[a];
      if (kv.key == kServiceName && kv.value.kind == ValueKind::kString) {
        service = kv.value.string();
        break;
      }
    }
    ServiceStat& st = services[service];
    st.name = service;
    ++st.spans;
    st.errors += g.spans.status_code[s] == model::StatusCode::kError;
    if (!have_root && g.spans.parent_span_id[s].IsZero()) {
      have_root = true;
      t.root_service = service;
      t.root_name = g.spans.name[s];
    }
  }
  t.first_service = static_cast<uint32_t>(g.services.size());
  t.service_count = static_cast<uint32_t>(services.size());
  for (auto& [name, st] : services) g.services.push_back(st);
  g.traces.push_back(t);
  return t.span_count;
}

RowGroup RowGroupBuilder::Take() {
  RowGroup out = std::move(group_);
  group_ = RowGroup();
  return out;
}

std::string EncodeRowGroup(const RowGroup& group, std::span<const DedicatedColumn> dedicated,
                           const PageOptions& opts) {
  Encoder enc(group, dedicated);
  uint64_t base = 0;
  std::vector<ColumnData>& cols = enc.Run(&base);
  std::vector<std::string> chunks(cols.size());
  for (size_t c = 0; c < cols.size(); ++c) {
    ColumnData& d = cols[c];
    switch (d.kind) {
      case Kind::kInt: WriteIntChunk(d.ints, opts, &chunks[c]); break;
      case Kind::kString: WriteStringChunk(d.strs, opts, &chunks[c]); break;
      default: WriteFixedChunk(d.fixed, static_cast<uint32_t>(Width(d.kind)), opts, &chunks[c]); break;
    }
  }
  std::string header;
  PutVarint(&header, base);
  PutVarint(&header, chunks.size());
  for (const std::string& c : chunks) PutVarint(&header, c.size());
  std::string out;
  PutVarint(&out, header.size());
  out.append(header);
  PutFixed32(&out, crc32c::Mask(crc32c::Value(header)));
  for (const std::string& c : chunks) out.append(c);
  return out;
}

Result<RowGroupHeader> ParseRowGroupHeader(std::string_view prefix, uint64_t length, size_t columns, uint64_t* need) {
  *need = 0;
  const char* p = prefix.data();
  const char* end = p + prefix.size();
  uint64_t header_len;
  const char* after = DecodeVarint(p, end, &header_len);
  if (after == nullptr) {
    if (prefix.size() >= 10 || prefix.size() >= length) return Corrupt("truncated header");
    *need = std::min<uint64_t>(length, 10);
    return Corrupt("truncated header");
  }
  uint64_t lead = static_cast<uint64_t>(after - p);
  if (header_len > length || length - header_len < lead + 4) return Corrupt("truncated header");
  uint64_t data_offset = lead + header_len + 4;
  if (prefix.size() < data_offset) {
    *need = data_offset;
    return Corrupt("truncated header");
  }
  std::string_view header(after, header_len);
  if (crc32c::Value(header) != crc32c::Unmask(DecodeFixed32(after + header_len))) return Corrupt("header checksum mismatch");
  const char* h = header.data();
  const char* hend = h + header.size();
  RowGroupHeader out;
  out.data_offset = data_offset;
  uint64_t n;
  if ((h = DecodeVarint(h, hend, &out.base_start)) == nullptr || (h = DecodeVarint(h, hend, &n)) == nullptr) {
    return Corrupt("truncated header");
  }
  if (n != columns) {
    return Corrupt("has " + std::to_string(n) + " column chunks, the block's layout has " + std::to_string(columns));
  }
  out.offsets.reserve(n + 1);
  uint64_t at = data_offset;
  out.offsets.push_back(at);
  for (uint64_t c = 0; c < n; ++c) {
    uint64_t len;
    if ((h = DecodeVarint(h, hend, &len)) == nullptr) return Corrupt("truncated header");
    if (len > length - at) return Corrupt("column chunk extends past the row group");
    at += len;
    out.offsets.push_back(at);
  }
  if (h != hend) return Corrupt("trailing bytes in header");
  if (at != length) return Corrupt("trailing bytes after the last column chunk");
  return out;
}

Result<RowGroupLayout> ParseRowGroupLayout(std::string_view bytes, size_t columns) {
  uint64_t need;
  VV_ASSIGN_OR_RETURN(RowGroupHeader h, ParseRowGroupHeader(bytes, bytes.size(), columns, &need));
  RowGroupLayout out;
  out.base_start = h.base_start;
  out.chunks.reserve(columns);
  for (size_t c = 0; c < columns; ++c) out.chunks.push_back(bytes.substr(h.offsets[c], h.offsets[c + 1] - h.offsets[c]));
  return out;
}

namespace {

// Rebuilds a RowGroup from decoded columns. Every read is bounds-checked; the first problem
// sets `error_` and makes all further reads return zeros, and loops stop on it.
class Decoder {
 public:
  Decoder(std::vector<ColumnData>& cols, std::span<const DedicatedColumn> dedicated, RowGroup* g,
          const DecodeSelection* sel)
      : cols_(cols), pos_(cols.size(), 0), dedicated_(dedicated), g_(g), b_(g->spans) {
    for (const DedicatedColumn& d : dedicated) dedicated_keys_.push_back(b_.arena.Copy(d.key));
    keep_.assign(cols.size(), 1);
    if (sel != nullptr && !sel->columns.empty()) keep_ = sel->columns;
    for (const ColumnData& c : cols) sizes_.push_back(c.size());
    if (sel != nullptr) traces_ = sel->traces;
  }

  Status Run(uint64_t base) {
    Resources();
    Scopes();
    size_t traces = cols_[kTraceId].size();
    g_->traces.reserve(traces);
    if (!traces_.empty() && traces_.size() != traces) return Corrupt("trace selection does not match the trace table");
    for (size_t t = 0; t < traces && ok(); ++t) Trace(base, traces_.empty() || traces_[t] != 0);
    if (!ok()) return Corrupt(error_);
    for (size_t c = 0; c < cols_.size(); ++c) {
      if (keep_[c] && pos_[c] != cols_[c].size()) return Corrupt("column " + std::to_string(c) + " has values left over");
    }
    return Status::OK();
  }

 private:
  bool ok() const { return error_.empty(); }
  void Fail(std::string why) {
    if (ok()) error_ = std::move(why);
  }
  bool Take(uint32_t c) {
    if (!ok() || !keep_[c]) return false;
    if (pos_[c] >= sizes_[c]) {
      Fail("column " + std::to_string(c) + " ends early");
      return false;
    }
    return true;
  }
  uint64_t Int(uint32_t c) { return Take(c) ? cols_[c].ints[pos_[c]++] : 0; }
  uint32_t U32(uint32_t c) {
    uint64_t v = Int(c);
    if (v > UINT32_MAX) Fail("value out of range in column " + std::to_string(c));
    return static_cast<uint32_t>(v);
  }
  std::string_view Str(uint32_t c) { return Take(c) ? cols_[c].strs[pos_[c]++] : std::string_view(); }
  std::string_view Fixed(uint32_t c, size_t width) {
    if (!Take(c)) return std::string_view(kZeros, width);
    return std::string_view(cols_[c].fixed).substr(width * pos_[c]++, width);
  }
  double Double(uint32_t c) { return Take(c) ? GetDouble(cols_[c].fixed, pos_[c]++) : 0.0; }
  // Passes over `n` values of a column (of a trace that is not built).
  void Advance(uint32_t c, uint64_t n = 1) {
    if (!ok() || !keep_[c]) return;
    if (n > sizes_[c] - pos_[c]) {
      Fail("column " + std::to_string(c) + " ends early");
      return;
    }
    pos_[c] += n;
  }
  // Passes over `n` values of an int column, returning their sum (or, with `only`, how many
  // equal it). 0 for a column that is not selected.
  uint64_t SumOver(uint32_t c, uint64_t n, int64_t only = -1) {
    if (!ok() || !keep_[c]) return 0;
    if (n > sizes_[c] - pos_[c]) {
      Fail("column " + std::to_string(c) + " ends early");
      return 0;
    }
    const uint64_t* v = cols_[c].ints.data() + pos_[c];
    uint64_t sum = 0;
    if (only >= 0) {
      for (uint64_t i = 0; i < n; ++i) sum += v[i] == static_cast<uint64_t>(only);
    } else {
      for (uint64_t i = 0; i < n; ++i) {
        if (v[i] > (uint64_t{1} << 32)) {
          Fail("count out of range in column " + std::to_string(c));
          return 0;
        }
        sum += v[i];
      }
    }
    pos_[c] += n;
    return sum;
  }

  static constexpr char kZeros[16] = {};

  // The dedicated columns holding a value for the next owner row (spans and resources only).
  void CollectDedicated(DedicatedColumn::Owner dedicated_owner, bool with_dedicated) {
    present_.clear();
    if (!with_dedicated) return;
    for (size_t i = 0; i < dedicated_.size(); ++i) {
      if (dedicated_[i].owner == dedicated_owner && Int(DedicatedPresent(i)) != 0) present_.push_back(i);
    }
  }

  // Attributes of one owner row: the dedicated values present for it (CollectDedicated), then
  // `generic` rows of the owner's generic table.
  Range FillAttributes(AttrOwner owner, uint32_t generic) {
    if (!keep_[AttrColumn(owner, kAKey)]) generic = 0;  // the table is not selected
    if (generic > cols_[AttrColumn(owner, kAKey)].size()) {
      Fail("attribute count exceeds its table");
      return {};
    }
    Range r = b_.AllocAttributes(static_cast<uint32_t>(present_.size()) + generic);
    uint32_t k = r.first;
    for (size_t i : present_) {
      Value v;
      uint32_t c = DedicatedValues(i);
      switch (dedicated_[i].kind) {
        case ValueKind::kString: v = Value::String(Str(c)); break;
        case ValueKind::kInt: v = Value::Int(UnZigZag(Int(c))); break;
        case ValueKind::kBool: v = Value::Bool(Int(c) != 0); break;
        case ValueKind::kDouble: v = Value::Double(Double(c)); break;
        default: break;
      }
      b_.attributes[k++] = KeyValue{dedicated_keys_[i], v};
    }
    for (uint32_t n = 0; n < generic && ok(); ++n) {
      std::string_view key = Str(AttrColumn(owner, kAKey));
      uint64_t type = Int(AttrColumn(owner, kAType));
      Value v;
      switch (static_cast<ValueKind>(type)) {
        case ValueKind::kEmpty: break;
        case ValueKind::kString: v = Value::String(Str(AttrColumn(owner, kAStr))); break;
        case ValueKind::kBytes: v = Value::Bytes(Str(AttrColumn(owner, kABytes))); break;
        case ValueKind::kInt: v = Value::Int(UnZigZag(Int(AttrColumn(owner, kAInt)))); break;
        case ValueKind::kBool: v = Value::Bool(Int(AttrColumn(owner, kABool)) != 0); break;
        case ValueKind::kDouble: v = Value::Double(Double(AttrColumn(owner, kADouble))); break;
        case ValueKind::kArray:
        case ValueKind::kKvList: {
          std::string_view bytes = Str(AttrColumn(owner, kAComposite));
          if (!ok()) break;
          auto decoded = DecodeValue(&bytes, &b_);
          if (!decoded.ok() || !bytes.empty() || decoded->kind != static_cast<ValueKind>(type)) {
            Fail("bad composite value");
            break;
          }
          v = *decoded;
          break;
        }
        default: Fail("unknown value type " + std::to_string(type)); break;
      }
      b_.attributes[k++] = KeyValue{key, v};
    }
    return r;
  }

  void Resources() {
    size_t n = cols_[kResourceDropped].size();
    for (size_t r = 0; r < n && ok(); ++r) {
      model::Resource x;
      x.schema_url = Str(kResourceSchemaUrl);
      x.dropped_attributes_count = U32(kResourceDropped);
      CollectDedicated(DedicatedColumn::Owner::kResource, true);
      x.attributes = FillAttributes(kOwnResource, U32(kResourceAttrCount));
      b_.resources.push_back(x);
    }
  }

  void Scopes() {
    size_t n = cols_[kScopeDropped].size();
    for (size_t c = 0; c < n && ok(); ++c) {
      model::Scope x;
      x.name = Str(kScopeName);
      x.version = Str(kScopeVersion);
      x.schema_url = Str(kScopeSchemaUrl);
      x.dropped_attributes_count = U32(kScopeDropped);
      CollectDedicated(DedicatedColumn::Owner::kSpan, false);
      x.attributes = FillAttributes(kOwnScope, U32(kScopeAttrCount));
      scope_rows_.push_back(x);
    }
  }

  uint32_t BatchScope(uint64_t resource, uint64_t scope) {
    if (resource >= b_.resources.size() || scope >= scope_rows_.size()) {
      Fail("span refers to a missing resource or scope");
      return 0;
    }
    auto [it, inserted] = scope_pairs_.try_emplace({resource, scope}, static_cast<uint32_t>(b_.scopes.size()));
    if (inserted) {
      model::Scope x = scope_rows_[scope];
      x.resource = static_cast<uint32_t>(resource);
      b_.scopes.push_back(x);
    }
    return it->second;
  }

  void Trace(uint64_t base, bool build) {
    TraceEntry t;
    t.id = *model::TraceId::FromBytes(Fixed(kTraceId, 16));
    t.span_count = U32(kTraceSpanCount);
    t.start_unix_nano = base + Int(kTraceStart);
    t.end_unix_nano = t.start_unix_nano + Int(kTraceDuration);
    t.root_service = Str(kTraceRootService);
    t.root_name = Str(kTraceRootName);
    t.first_service = static_cast<uint32_t>(g_->services.size());
    t.service_count = U32(kTraceServiceCount);
    if (t.service_count > cols_[kServiceSpans].size() || t.span_count > cols_[kSpanId].size()) {
      Fail("trace counts exceed their tables");
      return;
    }
    if (!build) {
      Advance(kServiceName_, t.service_count);
      Advance(kServiceSpans, t.service_count);
      Advance(kServiceErrors, t.service_count);
      SkipSpans(t.span_count);
      return;
    }
    for (uint32_t k = 0; k < t.service_count && ok(); ++k) {
      ServiceStat st;
      st.name = Str(kServiceName_);
      st.spans = U32(kServiceSpans);
      st.errors = U32(kServiceErrors);
      g_->services.push_back(st);
    }
    t.first_span = static_cast<uint32_t>(b_.size());
    lefts_.clear();
    uint32_t prev_left = 0;
    for (uint32_t k = 0; k < t.span_count && ok(); ++k) prev_left = Span(t, prev_left);
    g_->traces.push_back(t);
  }

  uint32_t Span(const TraceEntry& t, uint32_t prev_left) {
    model::SpanRow row;
    row.trace_id = t.id;
    row.span_id = *model::SpanId::FromBytes(Fixed(kSpanId, 8));
    uint64_t parent_kind = Int(kSpanParentKind);
    NestedSet n;
    n.left = prev_left + U32(kSpanNestedLeft);
    n.right = n.left + U32(kSpanNestedRight);
    uint32_t up = U32(kSpanNestedParent);
    n.parent = up == 0 ? 0 : n.left - up;
    if (up > n.left) Fail("nested parent out of range");
    if (parent_kind == 1) {
      auto it = std::lower_bound(lefts_.begin(), lefts_.end(), std::make_pair(n.parent, model::SpanId()));
      if (n.parent == 0 || it == lefts_.end() || it->first != n.parent) {
        Fail("nested parent is not a span of the trace");
      } else {
        row.parent_span_id = it->second;
      }
    } else if (parent_kind == 2) {
      row.parent_span_id = *model::SpanId::FromBytes(Fixed(kSpanParentRaw, 8));
    } else if (parent_kind != 0) {
      Fail("unknown parent kind");
    }
    uint64_t resource = Int(kSpanResource);
    row.scope = BatchScope(resource, Int(kSpanScope));
    row.name = Str(kSpanName);
    uint64_t kind = Int(kSpanKind), status = Int(kSpanStatusCode);
    if (kind > 255 || status > 255) Fail("span kind or status out of range");
    row.kind = static_cast<model::SpanKind>(kind);
    row.status_code = static_cast<model::StatusCode>(status);
    row.status_message = Str(kSpanStatusMessage);
    row.start_unix_nano = t.start_unix_nano + Int(kSpanStart);
    row.end_unix_nano = row.start_unix_nano + static_cast<uint64_t>(UnZigZag(Int(kSpanDuration)));
    row.trace_state = Str(kSpanTraceState);
    row.flags = U32(kSpanFlags);
    row.dropped_attributes_count = U32(kSpanDroppedAttrs);
    row.dropped_events_count = U32(kSpanDroppedEvents);
    row.dropped_links_count = U32(kSpanDroppedLinks);
    CollectDedicated(DedicatedColumn::Owner::kSpan, true);
    row.attributes = FillAttributes(kOwnSpan, U32(kSpanAttrCount));
    uint32_t events = U32(kSpanEventCount);
    if (!keep_[kEventName]) events = 0;  // the event table is not selected
    if (events > cols_[kEventName].size()) Fail("event count exceeds its table");
    if (!ok()) return 0;
    row.events = b_.AllocEvents(events);
    for (uint32_t e = 0; e < events && ok(); ++e) {
      model::Event x;
      x.time_unix_nano = row.start_unix_nano + static_cast<uint64_t>(UnZigZag(Int(kEventTime)));
      x.name = Str(kEventName);
      x.dropped_attributes_count = U32(kEventDropped);
      CollectDedicated(DedicatedColumn::Owner::kSpan, false);
      x.attributes = FillAttributes(kOwnEvent, U32(kEventAttrCount));
      b_.events[row.events.first + e] = x;
    }
    uint32_t links = U32(kSpanLinkCount);
    if (!keep_[kLinkFlags]) links = 0;  // the link table is not selected
    if (links > cols_[kLinkFlags].size()) Fail("link count exceeds its table");
    if (!ok()) return 0;
    row.links = b_.AllocLinks(links);
    for (uint32_t l = 0; l < links && ok(); ++l) {
      model::Link x;
      x.trace_id = *model::TraceId::FromBytes(Fixed(kLinkTraceId, 16));
      x.span_id = *model::SpanId::FromBytes(Fixed(kLinkSpanId, 8));
      x.trace_state = Str(kLinkTraceState);
      x.flags = U32(kLinkFlags);
      x.dropped_attributes_count = U32(kLinkDropped);
      CollectDedicated(DedicatedColumn::Owner::kSpan, false);
      x.attributes = FillAttributes(kOwnLink, U32(kLinkAttrCount));
      b_.links[row.links.first + l] = x;
    }
    if (!ok()) return 0;
    b_.Append(row);
    g_->nested.push_back(n);
    lefts_.push_back({n.left, row.span_id});
    if (lefts_.size() > 1 && lefts_[lefts_.size() - 2].first >= n.left) Fail("nested-set lefts not increasing");
    return n.left;
  }

  // Passes over `n` spans of a trace that is not built: the values Span() would read, a
  // column at a time, without building anything.
  void SkipSpans(uint64_t n) {
    if (!ok()) return;
    Advance(kSpanId, n);
    Advance(kSpanParentRaw, SumOver(kSpanParentKind, n, 2));
    for (uint32_t c : {kSpanNestedLeft, kSpanNestedRight, kSpanNestedParent, kSpanResource, kSpanScope, kSpanName,
                       kSpanKind, kSpanStatusCode, kSpanStatusMessage, kSpanStart, kSpanDuration, kSpanTraceState,
                       kSpanFlags, kSpanDroppedAttrs, kSpanDroppedEvents, kSpanDroppedLinks}) {
      Advance(c, n);
    }
    for (size_t i = 0; i < dedicated_.size(); ++i) {
      if (dedicated_[i].owner != DedicatedColumn::Owner::kSpan) continue;
      uint64_t absent = SumOver(DedicatedPresent(i), n, 0);
      if (keep_[DedicatedPresent(i)]) Advance(DedicatedValues(i), n - absent);
    }
    SkipGeneric(kOwnSpan, SumOver(kSpanAttrCount, n));
    uint64_t events = SumOver(kSpanEventCount, n);
    for (uint32_t c : {kEventTime, kEventName, kEventDropped}) Advance(c, events);
    SkipGeneric(kOwnEvent, SumOver(kEventAttrCount, events));
    uint64_t links = SumOver(kSpanLinkCount, n);
    for (uint32_t c : {kLinkTraceId, kLinkSpanId, kLinkTraceState, kLinkFlags, kLinkDropped}) Advance(c, links);
    SkipGeneric(kOwnLink, SumOver(kLinkAttrCount, links));
  }

  // Passes over `rows` rows of an owner's generic attribute table.
  void SkipGeneric(AttrOwner owner, uint64_t rows) {
    if (!ok() || !keep_[AttrColumn(owner, kAKey)]) return;
    Advance(AttrColumn(owner, kAKey), rows);
    uint32_t type_column = AttrColumn(owner, kAType);
    if (!keep_[type_column]) return;
    if (rows > sizes_[type_column] - pos_[type_column]) {
      Fail("column " + std::to_string(type_column) + " ends early");
      return;
    }
    uint64_t per_type[8] = {};
    const uint64_t* types = cols_[type_column].ints.data() + pos_[type_column];
    for (uint64_t r = 0; r < rows; ++r) {
      if (types[r] >= 8) {
        Fail("unknown value type");
        return;
      }
      ++per_type[types[r]];
    }
    pos_[type_column] += rows;
    Advance(AttrColumn(owner, kAStr), per_type[static_cast<int>(ValueKind::kString)]);
    Advance(AttrColumn(owner, kABytes), per_type[static_cast<int>(ValueKind::kBytes)]);
    Advance(AttrColumn(owner, kAInt), per_type[static_cast<int>(ValueKind::kInt)]);
    Advance(AttrColumn(owner, kABool), per_type[static_cast<int>(ValueKind::kBool)]);
    Advance(AttrColumn(owner, kADouble), per_type[static_cast<int>(ValueKind::kDouble)]);
    Advance(AttrColumn(owner, kAComposite), per_type[static_cast<int>(ValueKind::kArray)] +
                                                per_type[static_cast<int>(ValueKind::kKvList)]);
  }

  std::vector<ColumnData>& cols_;
  std::vector<size_t> sizes_;  // values per column
  std::vector<size_t> pos_;
  std::vector<uint8_t> keep_;
  std::vector<uint8_t> traces_;
  std::span<const DedicatedColumn> dedicated_;
  RowGroup* g_;
  SpanBatch& b_;
  std::string error_;
  std::vector<size_t> present_;
  std::vector<std::string_view> dedicated_keys_;
  std::vector<model::Scope> scope_rows_;
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> scope_pairs_;
  std::vector<std::pair<uint32_t, model::SpanId>> lefts_;
};

}  // namespace

Result<RowGroup> DecodeRowGroup(std::string_view bytes, std::span<const DedicatedColumn> dedicated,
                                const ReadLimits& limits, const DecodeSelection* sel) {
  VV_ASSIGN_OR_RETURN(RowGroupLayout h, ParseRowGroupLayout(bytes, ColumnNames(dedicated).size()));
  return DecodeRowGroup(h, dedicated, limits, sel);
}

Result<RowGroup> DecodeRowGroup(const RowGroupLayout& h, std::span<const DedicatedColumn> dedicated,
                                const ReadLimits& limits, const DecodeSelection* sel) {
  std::vector<ColumnData> cols = MakeColumns(dedicated);
  if (h.chunks.size() != cols.size()) return InvalidArgument("row group layout does not match the block's columns");
  if (sel != nullptr && !sel->columns.empty() && sel->columns.size() != cols.size()) {
    return InvalidArgument("column selection does not match the block's layout");
  }
  RowGroup g;
  for (size_t c = 0; c < cols.size(); ++c) {
    if (sel != nullptr && !sel->columns.empty() && sel->columns[c] == 0) continue;
    std::string_view chunk = h.chunks[c];
    Status s;
    switch (cols[c].kind) {
      case Kind::kInt: {
        auto r = ReadIntChunk(chunk, limits);
        if (r.ok()) cols[c].ints = std::move(*r);
        s = internal::AsStatus(r);
        break;
      }
      case Kind::kString: {
        auto r = ReadStringChunk(chunk, limits, &g.spans.arena);
        if (r.ok()) cols[c].strs = std::move(*r);
        s = internal::AsStatus(r);
        break;
      }
      default: {
        auto r = ReadFixedChunk(chunk, static_cast<uint32_t>(Width(cols[c].kind)), limits);
        if (r.ok()) cols[c].fixed = std::move(*r);
        s = internal::AsStatus(r);
        break;
      }
    }
    if (!s.ok()) return s.WithContext("column " + ColumnNames(dedicated)[c]);
  }
  Decoder dec(cols, dedicated, &g, sel);
  VV_RETURN_IF_ERROR(dec.Run(h.base_start));
  return g;
}

Result<bool> RowGroupHasTrace(std::string_view bytes, size_t columns, const model::TraceId& id,
                              const ReadLimits& limits) {
  VV_ASSIGN_OR_RETURN(RowGroupLayout h, ParseRowGroupLayout(bytes, columns));
  VV_ASSIGN_OR_RETURN(std::string ids, ReadFixedChunk(h.chunks[kTraceId], 16, limits));
  // Sorted, 16 bytes each: binary search on the raw bytes (big-endian order is id order).
  size_t lo = 0, hi = ids.size() / 16;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = std::memcmp(ids.data() + mid * 16, id.view().data(), 16);
    if (c == 0) return true;
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return false;
}

scan::TraceView TraceViewOf(const RowGroup& g, size_t i) {
  const TraceEntry& t = g.traces[i];
  scan::TraceView v;
  v.id = t.id;
  v.batch = &g.spans;
  v.first_span = t.first_span;
  v.span_count = t.span_count;
  v.nested = g.nested.data();
  v.start_unix_nano = t.start_unix_nano;
  v.end_unix_nano = t.end_unix_nano;
  v.root_service = t.root_service;
  v.root_name = t.root_name;
  v.services = std::span<const scan::ServiceStat>(g.services.data() + t.first_service, t.service_count);
  return v;
}

void CopyTrace(const RowGroup& group, size_t t, model::SpanBatch* out) {
  model::SpanCopier copier(out);
  copier.SetSource(&group.spans);
  const TraceEntry& e = group.traces[t];
  for (uint32_t s = e.first_span; s < e.first_span + e.span_count; ++s) copier.CopySpan(s);
}

}  // namespace vivace::blocks
