#include "query/searcher.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "blocks/block_fetcher.h"
#include "blocks/row_group.h"
#include "traceql/parser.h"

namespace vivace::query {
namespace {

// The ingester's live traces as a fetcher: each trace read back from the WAL and numbered.
class LiveFetcher : public scan::SpansetFetcher {
 public:
  LiveFetcher(ingest::Ingester* live, std::string tenant, uint64_t start_s, uint64_t end_s)
      : live_(live), tenant_(std::move(tenant)), start_s_(start_s), end_s_(end_s) {}

  Result<scan::FetchStats> Fetch(const scan::FetchRequest&, const scan::TraceVisitor& visit) override {
    scan::FetchStats st;
    for (const model::TraceId& id : live_->LiveTraceIds(tenant_, start_s_, end_s_)) {
      VV_ASSIGN_OR_RETURN(std::unique_ptr<model::SpanBatch> b, live_->FindTrace(tenant_, id, start_s_, end_s_));
      if (b->empty()) continue;  // flushed meanwhile: the blocks have it
      std::vector<uint32_t> idx(b->size());
      for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
      blocks::RowGroupBuilder builder;
      builder.AddTrace(*b, idx);
      const blocks::RowGroup& g = builder.group();
      if (g.traces.empty()) continue;
      ++st.inspected_traces;
      st.inspected_spans += g.traces[0].span_count;
      st.inspected_bytes += b->MemoryBytes();
      if (!visit(blocks::TraceViewOf(g, 0))) break;
    }
    return st;
  }

 private:
  ingest::Ingester* live_;
  std::string tenant_;
  uint64_t start_s_, end_s_;
};

// The fetchers of a tenant's data, with what each covers.
struct Sources {
  std::vector<std::unique_ptr<scan::SpansetFetcher>> fetchers;
  std::vector<traceql::FetchSource> list;
};

Sources Collect(storage::Blocklist* blocks, ingest::Ingester* live, std::string_view tenant, uint64_t start_s,
                uint64_t end_s) {
  Sources s;
  if (blocks != nullptr) {
    for (auto& r : blocks->Readers(tenant)) {
      const blocks::BlockMeta& m = r->meta();
      bool first = true;
      for (auto& job : blocks::BlockJobs(r)) {
        s.fetchers.push_back(std::move(job));
        s.list.push_back({s.fetchers.back().get(), m.start_unix_nano, m.end_unix_nano, first ? m.total_bytes() : 0,
                          first ? 1u : 0u});
        first = false;
      }
    }
  }
  if (live != nullptr) {
    s.fetchers.push_back(std::make_unique<LiveFetcher>(live, std::string(tenant), start_s, end_s));
    // Live data is the newest: it goes first.
    s.list.push_back({s.fetchers.back().get(), 0, UINT64_MAX, 0});
  }
  return s;
}

}  // namespace

Result<traceql::SearchResult> Searcher::Search(std::string_view tenant, const SearchRequest& request,
                                               const traceql::SearchProgress& progress) {
  Sources s = Collect(blocks_, live_, tenant, request.start_s, request.end_s);
  traceql::SearchOptions o;
  o.limit = request.limit;
  o.spans_per_spanset = request.spans_per_spanset;
  o.start_unix_nano = request.start_s * 1000000000ull;
  o.end_unix_nano = request.end_s == 0 ? 0 : request.end_s * 1000000000ull + 999999999ull;
  o.deadline = std::chrono::steady_clock::now() + opts_.timeout;
  o.max_inspected_bytes = opts_.max_bytes_per_search;
  o.threads = opts_.threads;
  return traceql::Search(request.query, s.list, o, progress);
}

namespace {

// Visits every trace of the sources (newest first) until `budget` stored bytes are read.
Status ScanAll(Sources& s, const scan::FetchRequest& req, uint64_t budget, const scan::TraceVisitor& visit,
               MetadataMetrics* m) {
  std::sort(s.list.begin(), s.list.end(), [](const auto& a, const auto& b) { return a.end_unix_nano > b.end_unix_nano; });
  m->total_jobs = static_cast<uint32_t>(s.list.size());
  for (const auto& src : s.list) {
    ++m->total_blocks;
    m->total_block_bytes += src.bytes;
  }
  for (const auto& src : s.list) {
    if (budget != 0 && m->inspected_bytes >= budget) break;
    VV_ASSIGN_OR_RETURN(scan::FetchStats st, src.fetcher->Fetch(req, visit));
    m->inspected_bytes += st.inspected_bytes;
    ++m->completed_jobs;
  }
  return Status::OK();
}

void AddKeys(const model::SpanBatch& b, model::Range r, std::set<std::string>* out) {
  for (uint32_t k = r.first; k < r.end(); ++k) out->emplace(b.attributes[k].key);
}

}  // namespace

Result<TagNamesResult> Searcher::TagNames(std::string_view tenant, const TagsRequest& request) {
  Sources s = Collect(blocks_, live_, tenant, request.start_s, request.end_s);
  std::map<std::string, std::set<std::string>> found;
  auto want = [&](std::string_view scope) { return request.scope.empty() || request.scope == scope; };
  scan::FetchRequest req;
  req.start_unix_nano = request.start_s * 1000000000ull;
  req.end_unix_nano = request.end_s == 0 ? 0 : request.end_s * 1000000000ull + 999999999ull;
  TagNamesResult out;
  VV_RETURN_IF_ERROR(ScanAll(s, req, opts_.max_bytes_per_tag_values_query, [&](const scan::TraceView& t) {
    const model::SpanBatch& b = *t.batch;
    for (uint32_t r = t.first_span; r < t.first_span + t.span_count; ++r) {
      const model::Scope& sc = b.scopes[b.span_scope[r]];
      if (want("span")) AddKeys(b, b.span_attributes[r], &found["span"]);
      if (want("resource")) AddKeys(b, b.resources[sc.resource].attributes, &found["resource"]);
      if (want("instrumentation")) AddKeys(b, sc.attributes, &found["instrumentation"]);
      if (want("event")) {
        for (uint32_t e = b.span_events[r].first; e < b.span_events[r].end(); ++e) AddKeys(b, b.events[e].attributes, &found["event"]);
      }
      if (want("link")) {
        for (uint32_t l = b.span_links[r].first; l < b.span_links[r].end(); ++l) AddKeys(b, b.links[l].attributes, &found["link"]);
      }
    }
    return true;
  }, &out.metrics));
  for (auto& [scope, names] : found) out.scopes[scope].assign(names.begin(), names.end());
  return out;
}

Result<TagValuesResult> Searcher::TagValues(std::string_view tenant, const TagValuesRequest& request) {
  scan::Attribute attr;
  if (request.v2) {
    auto a = traceql::ParseIdentifier(request.tag);
    if (!a.ok()) return InvalidArgument("please provide a valid tagName: " + std::string(a.status().message()));
    attr = *a;
  } else {
    attr = scan::Attribute::Named(scan::Scope::kNone, request.tag);
  }
  Sources s = Collect(blocks_, live_, tenant, request.start_s, request.end_s);
  std::set<std::pair<std::string, std::string>> found;  // (type, value)
  auto add = [&](const model::Value& v) {
    switch (v.kind) {
      case model::ValueKind::kString: found.emplace("string", std::string(v.string())); break;
      case model::ValueKind::kInt: found.emplace("int", std::to_string(v.i)); break;
      case model::ValueKind::kBool: found.emplace("bool", v.b ? "true" : "false"); break;
      case model::ValueKind::kDouble: {
        std::string d = std::to_string(v.d);
        d.erase(d.find_last_not_of('0') + 1);
        if (!d.empty() && d.back() == '.') d.pop_back();
        found.emplace("float", d);
        break;
      }
      default: break;
    }
  };
  auto find = [&](const model::SpanBatch& b, model::Range r) {
    for (uint32_t k = r.first; k < r.end(); ++k) {
      if (b.attributes[k].key == attr.name) add(b.attributes[k].value);
    }
  };
  // v2's `q`: only values of spans the query matches (any spanset query; "{}" or none: all).
  std::unique_ptr<traceql::SpanMatcher> matcher;
  std::string_view q = request.v2 ? std::string_view(request.query) : std::string_view();
  while (!q.empty() && std::isspace(static_cast<unsigned char>(q.front()))) q.remove_prefix(1);
  while (!q.empty() && std::isspace(static_cast<unsigned char>(q.back()))) q.remove_suffix(1);
  if (!q.empty() && q != "{}" && q != "{ }") {
    auto m = traceql::SpanMatcher::Create(q);
    if (!m.ok()) return InvalidArgument("invalid query in q: " + std::string(m.status().message()));
    matcher = std::move(*m);
  }
  scan::FetchRequest req = matcher != nullptr ? matcher->plan() : scan::FetchRequest{};
  req.start_unix_nano = request.start_s * 1000000000ull;
  req.end_unix_nano = request.end_s == 0 ? 0 : request.end_s * 1000000000ull + 999999999ull;
  std::vector<uint32_t> rows;
  TagValuesResult out;
  VV_RETURN_IF_ERROR(ScanAll(s, req, opts_.max_bytes_per_tag_values_query, [&](const scan::TraceView& t) {
    const model::SpanBatch& b = *t.batch;
    using scan::Intrinsic;
    using scan::Scope;
    rows.clear();
    if (matcher != nullptr) {
      rows = matcher->Match(t);
      if (rows.empty()) return true;
    } else {
      for (uint32_t r = t.first_span; r < t.first_span + t.span_count; ++r) rows.push_back(r);
    }
    switch (attr.intrinsic) {
      case Intrinsic::kTraceRootService:
        if (!t.root_service.empty()) found.emplace("string", std::string(t.root_service));
        return true;
      case Intrinsic::kTraceRootName:
        if (!t.root_name.empty()) found.emplace("string", std::string(t.root_name));
        return true;
      default: break;
    }
    for (uint32_t r : rows) {
      const model::Scope& sc = b.scopes[b.span_scope[r]];
      switch (attr.intrinsic) {
        case Intrinsic::kName: found.emplace("string", std::string(b.name[r])); continue;
        case Intrinsic::kStatusMessage:
          if (!b.status_message[r].empty()) found.emplace("string", std::string(b.status_message[r]));
          continue;
        case Intrinsic::kEventName:
          for (uint32_t e = b.span_events[r].first; e < b.span_events[r].end(); ++e) {
            found.emplace("string", std::string(b.events[e].name));
          }
          continue;
        case Intrinsic::kInstrumentationName:
          if (!sc.name.empty()) found.emplace("string", std::string(sc.name));
          continue;
        case Intrinsic::kInstrumentationVersion:
          if (!sc.version.empty()) found.emplace("string", std::string(sc.version));
          continue;
        case Intrinsic::kNone: break;
        default: return false;  // fixed or unbounded values: nothing to list
      }
      if (attr.scope == Scope::kNone || attr.scope == Scope::kSpan) find(b, b.span_attributes[r]);
      if (attr.scope == Scope::kNone || attr.scope == Scope::kResource) find(b, b.resources[sc.resource].attributes);
      if (attr.scope == Scope::kInstrumentation) find(b, sc.attributes);
      if (attr.scope == Scope::kEvent) {
        for (uint32_t e = b.span_events[r].first; e < b.span_events[r].end(); ++e) find(b, b.events[e].attributes);
      }
      if (attr.scope == Scope::kLink) {
        for (uint32_t l = b.span_links[r].first; l < b.span_links[r].end(); ++l) find(b, b.links[l].attributes);
      }
    }
    return request.limit == 0 || found.size() < request.limit;
  }, &out.metrics));
  for (const auto& [type, value] : found) out.values.push_back({type, value});
  return out;
}

}  // namespace vivace::query
