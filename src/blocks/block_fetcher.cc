// Pruning, cheapest first: the block's time range (meta), each row group's time range (index),
// its statistics (footer: durations, status codes, kinds, dedicated columns' presence and int
// ranges), then — once its bytes are read, before anything is decompressed but a few dictionary
// pages — the dictionaries of the string columns the conditions name. Only row groups that
// survive are decoded and handed to the engine, which evaluates the query exactly; so every test
// here only has to be conservative (never skip what could match).

#include "blocks/block_fetcher.h"

#include "blocks/row_group_filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <memory>

namespace vivace::blocks {
namespace {

using scan::Condition;
using scan::Intrinsic;
using scan::Op;
using scan::Scope;
using scan::Static;
using scan::StaticType;

bool MayCompareRange(Op op, int64_t lo, int64_t hi, int64_t x) {
  switch (op) {
    case Op::kEq: return lo <= x && x <= hi;
    case Op::kNeq: return !(lo == x && hi == x);
    case Op::kGt: return hi > x;
    case Op::kGte: return hi >= x;
    case Op::kLt: return lo < x;
    case Op::kLte: return lo <= x;
    default: return true;
  }
}

// A bitmask of values (status codes, kinds) against `op x`.
bool MayMatchMask(Op op, uint32_t mask, int64_t x) {
  if (x < 0 || x > 31) return op == Op::kNeq;
  uint32_t bit = 1u << x;
  if (op == Op::kEq) return (mask & bit) != 0;
  if (op == Op::kNeq) return (mask & ~bit) != 0;
  return true;
}

// Statistics only (no I/O). False: no span of the row group can satisfy `c`.
bool MayMatchStats(const Condition& c, const RowGroupStats& st) {
  if (c.op == Op::kNone) return true;
  const Static* v = c.operands.empty() ? nullptr : &c.operands[0];
  switch (c.attr.intrinsic) {
    case Intrinsic::kDuration:
      if (v == nullptr || !scan::IsNumeric(v->type)) return true;
      if (v->type == StaticType::kFloat) return true;  // keep exactness simple
      return MayCompareRange(c.op, static_cast<int64_t>(st.min_duration_nano), static_cast<int64_t>(st.max_duration_nano), v->i);
    case Intrinsic::kStatus:
      return v == nullptr || v->type != StaticType::kStatus || MayMatchMask(c.op, st.status_codes, v->i);
    case Intrinsic::kKind:
      return v == nullptr || v->type != StaticType::kKind || MayMatchMask(c.op, st.kinds, v->i);
    default: return true;  // other intrinsics and named attributes: MayMatchColumns
  }
}

struct Peeker {
  RowGroupFilter& filter;
  const BlockMeta& meta;
  std::map<std::string, ColumnPeek, std::less<>> cache;

  const ColumnPeek* Get(const std::string& name) {
    auto it = cache.find(name);
    if (it != cache.end()) return &it->second;
    auto p = filter.Peek(name);
    if (!p.ok()) return nullptr;  // unreadable: don't prune; the decode reports the error
    return &cache.emplace(name, std::move(*p)).first->second;
  }
};

// Whether a column's values may include one satisfying `op value` (strings).
bool ColumnMay(Peeker& pk, const std::string& column, Op op, const Static* v, const re2::RE2* re) {
  const ColumnPeek* p = pk.Get(column);
  if (p == nullptr || !p->exists) return true;
  if (p->values == 0) return false;
  if (!p->has_dictionary || v == nullptr) return true;
  if (op == Op::kEq) {
    return std::find(p->dictionary.begin(), p->dictionary.end(), v->s) != p->dictionary.end();
  }
  if (op == Op::kRegex && re != nullptr) {
    for (std::string_view d : p->dictionary) {
      if (RE2::FullMatch(re2::StringPiece(d.data(), d.size()), *re)) return true;
    }
    return false;
  }
  if (op == Op::kNeq) {
    for (std::string_view d : p->dictionary) {
      if (d != v->s) return true;
    }
    return false;
  }
  return true;
}

// Whether a key appears in a generic attribute table ("span_attr", ...) of the row group.
bool GenericHasKey(Peeker& pk, std::string_view owner, const std::string& key) {
  const ColumnPeek* p = pk.Get(std::string(owner) + "_attr.key");
  if (p == nullptr || !p->exists) return true;
  if (p->values == 0) return false;
  if (!p->has_dictionary) return true;
  return std::find(p->dictionary.begin(), p->dictionary.end(), key) != p->dictionary.end();
}

// A named attribute of span or resource: the dedicated column (if any) or the generic table.
bool OwnerMay(Peeker& pk, const RowGroupStats& st, std::string_view owner, DedicatedColumn::Owner downer,
              const Condition& c, const re2::RE2* re) {
  const Static* v = c.operands.empty() ? nullptr : &c.operands[0];
  bool string_value = v != nullptr && v->type == StaticType::kString &&
                      (c.op == Op::kEq || c.op == Op::kRegex);
  // Dedicated column?
  for (size_t i = 0; i < pk.meta.dedicated.size(); ++i) {
    const DedicatedColumn& d = pk.meta.dedicated[i];
    if (d.owner != downer || d.key != c.attr.name) continue;
    bool present = i < st.dedicated.size() ? st.dedicated[i].present > 0 : true;
    if (present) {
      if (!string_value || d.kind != model::ValueKind::kString) return true;
      std::string column = std::string(downer == DedicatedColumn::Owner::kSpan ? "span" : "resource") + ".attr." + d.key;
      if (ColumnMay(pk, column, c.op, v, re)) return true;
    }
    break;
  }
  if (!GenericHasKey(pk, owner, c.attr.name)) return false;
  if (!string_value) return true;
  // Arrays (and kvlists) live in the composite column; an array element may match too.
  const ColumnPeek* composite = pk.Get(std::string(owner) + "_attr.composite");
  if (composite == nullptr || !composite->exists || composite->values > 0) return true;
  return ColumnMay(pk, std::string(owner) + "_attr.string", c.op, v, re);
}

bool MayMatchColumns(Peeker& pk, const Condition& c, const RowGroupStats& st, const re2::RE2* re) {
  if (c.op == Op::kNone || c.op == Op::kNotExists || c.op == Op::kNotRegex) return true;
  const Static* v = c.operands.empty() ? nullptr : &c.operands[0];
  bool str = v != nullptr && v->type == StaticType::kString;
  auto column = [&](const char* name) { return !str || ColumnMay(pk, name, c.op, v, re); };
  switch (c.attr.intrinsic) {
    case Intrinsic::kName: return column("span.name");
    case Intrinsic::kStatusMessage: return column("span.status_message");
    case Intrinsic::kTraceRootService: return column("trace.root_service");
    case Intrinsic::kTraceRootName: return column("trace.root_name");
    case Intrinsic::kEventName: return column("event.name");
    case Intrinsic::kInstrumentationName: return column("scope.name");
    case Intrinsic::kInstrumentationVersion: return column("scope.version");
    case Intrinsic::kNone: break;
    default: return true;
  }
  if (c.attr.parent) return true;
  switch (c.attr.scope) {
    case Scope::kSpan: return OwnerMay(pk, st, "span", DedicatedColumn::Owner::kSpan, c, re);
    case Scope::kResource: return OwnerMay(pk, st, "resource", DedicatedColumn::Owner::kResource, c, re);
    case Scope::kNone:
      return OwnerMay(pk, st, "span", DedicatedColumn::Owner::kSpan, c, re) ||
             OwnerMay(pk, st, "resource", DedicatedColumn::Owner::kResource, c, re);
    case Scope::kEvent: return GenericHasKey(pk, "event", c.attr.name);
    case Scope::kLink: return GenericHasKey(pk, "link", c.attr.name);
    case Scope::kInstrumentation: return GenericHasKey(pk, "scope", c.attr.name);
    case Scope::kTrace: return true;
  }
  return true;
}

// Combines per-condition answers as the request says.
template <typename F>
bool Survives(const scan::FetchRequest& req, F&& may) {
  if (req.conditions.empty()) return true;
  bool any = false;
  for (size_t i = 0; i < req.conditions.size(); ++i) {
    bool m = may(i);
    if (req.all_conditions && !m) return false;
    any = any || m;
  }
  return req.all_conditions || any;
}

}  // namespace

// A trace the first pass could not rule out, waiting for the second.
struct Candidate {
  uint64_t start_unix_nano;
  model::TraceId id;
  uint32_t row_group;
  uint32_t trace;  // in the row group
};

bool NewerFirst(const Candidate& a, const Candidate& b) {
  if (a.start_unix_nano != b.start_unix_nano) return a.start_unix_nano > b.start_unix_nano;
  return a.id.view() < b.id.view();
}

Result<scan::FetchStats> BlockFetcher::Fetch(const scan::FetchRequest& req, const scan::TraceVisitor& visit) {
  scan::FetchStats stats;
  const BlockMeta& meta = reader_->meta();
  if ((req.start_unix_nano != 0 && meta.end_unix_nano < req.start_unix_nano) ||
      (req.end_unix_nano != 0 && meta.start_unix_nano > req.end_unix_nano)) {
    return stats;
  }
  VV_ASSIGN_OR_RETURN(auto shared_index, reader_->SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  std::shared_ptr<const Footer> footer;
  if (!req.conditions.empty()) {
    VV_ASSIGN_OR_RETURN(footer, reader_->CachedFooter());
  }
  std::vector<PreparedCondition> prepared = PrepareConditions(req);
  ColumnIndex columns(meta.dedicated);
  size_t end = std::min(end_, index.size());
  stats.row_groups = end > first_ ? end - first_ : 0;

  // The first pass, row group by row group: which traces may match and are still wanted. The
  // trace table (read with the header) goes first: once the results are full, most row groups
  // hold no trace recent enough to enter them, and their condition columns are never read.
  std::vector<Candidate> candidates;
  std::vector<uint8_t> wanted;
  for (size_t i = first_; i < end; ++i) {
    const RowGroupEntry& e = index[i];
    if ((req.start_unix_nano != 0 && e.end_unix_nano < req.start_unix_nano) ||
        (req.end_unix_nano != 0 && e.start_unix_nano > req.end_unix_nano)) {
      ++stats.row_groups_pruned;
      continue;
    }
    const RowGroupStats* st = footer != nullptr && i < footer->stats.size() ? &footer->stats[i] : nullptr;
    if (st != nullptr && !Survives(req, [&](size_t k) { return MayMatchStats(req.conditions[k], *st); })) {
      ++stats.row_groups_pruned;
      continue;
    }
    VV_ASSIGN_OR_RETURN(RowGroupChunks chunks, reader_->OpenRowGroup(i));
    RowGroupFilter filter(&chunks, columns);
    VV_ASSIGN_OR_RETURN(std::span<const model::TraceId> ids, filter.TraceIds());
    VV_ASSIGN_OR_RETURN(std::span<const uint64_t> starts, filter.TraceStarts());
    scan::ResultBound bound = req.bound ? req.bound() : scan::ResultBound{};
    wanted.assign(ids.size(), 1);
    bool any = !bound.full;
    if (bound.full) {
      for (size_t t = 0; t < ids.size(); ++t) {
        wanted[t] = bound.Wants(ids[t], starts[t]) ? 1 : 0;
        any = any || wanted[t] != 0;
      }
    }
    if (any && st != nullptr) {
      Peeker pk{filter, meta, {}};
      bool survives = Survives(req, [&](size_t k) {
        return MayMatchStats(req.conditions[k], *st) &&
               MayMatchColumns(pk, req.conditions[k], *st, prepared[k].regex.get());
      });
      if (!survives) {
        ++stats.row_groups_pruned;
        stats.inspected_bytes += chunks.bytes_read();
        continue;
      }
    }
    if (any) {
      // The columnar pass over the columns the conditions name.
      VV_ASSIGN_OR_RETURN(std::vector<uint8_t> may, filter.Candidates(prepared, req.all_conditions, req.min_matching_spans));
      any = false;
      for (size_t t = 0; t < may.size(); ++t) {
        if (may[t] == 0 || wanted[t] == 0) continue;
        candidates.push_back({starts[t], ids[t], static_cast<uint32_t>(i), static_cast<uint32_t>(t)});
        any = true;
      }
    }
    stats.inspected_bytes += chunks.bytes_read();
    if (!any) ++stats.row_groups_filtered;
  }

  // The second pass, most recent candidates first, a few row groups at a time: each decodes
  // only its wanted traces and the columns the query reads, and every wanted candidate of a
  // row group is built in the one decode. Candidates that the bound has meanwhile ruled out
  // are never built.
  std::sort(candidates.begin(), candidates.end(), NewerFirst);
  size_t groups = end > first_ ? end - first_ : 0;
  // The candidates of each row group: of_group[group_first[g] .. group_first[g + 1]).
  std::vector<uint32_t> group_first(groups + 1, 0);
  for (const Candidate& c : candidates) ++group_first[c.row_group - first_ + 1];
  for (size_t g = 0; g < groups; ++g) group_first[g + 1] += group_first[g];
  std::vector<uint32_t> of_group(candidates.size());
  {
    std::vector<uint32_t> fill(group_first.begin(), group_first.end() - 1);
    for (size_t k = 0; k < candidates.size(); ++k) of_group[fill[candidates[k].row_group - first_]++] = static_cast<uint32_t>(k);
  }
  std::vector<uint8_t> done_groups(groups, 0);
  std::vector<uint8_t> in_batch(done_groups.size(), 0);
  std::vector<uint32_t> batch;  // row groups of this round
  size_t next = 0;
  while (next < candidates.size()) {
    scan::ResultBound bound = req.bound ? req.bound() : scan::ResultBound{};
    // Traces this round may add: enough to fill the results, or a few better ones.
    size_t budget = bound.full ? 4 : bound.room != 0 ? bound.room : SIZE_MAX;
    batch.clear();
    size_t taken = 0;
    bool rest_held_only = false;
    for (; next < candidates.size() && taken < budget; ++next) {
      const Candidate& c = candidates[next];
      if (done_groups[c.row_group - first_] != 0) continue;  // built with its row group already
      if (!bound.Wants(c.id, c.start_unix_nano)) {
        rest_held_only = true;  // newest first: no later one can beat the bound, bar held traces
        break;
      }
      if (in_batch[c.row_group - first_] == 0) batch.push_back(c.row_group);
      in_batch[c.row_group - first_] = 1;
      ++taken;
    }
    if (rest_held_only) {
      // Parts of traces already held merge whatever their start; nothing else is wanted.
      for (size_t k = next; k < candidates.size(); ++k) {
        const Candidate& c = candidates[k];
        if (done_groups[c.row_group - first_] != 0 || !bound.Wants(c.id, c.start_unix_nano)) continue;
        if (in_batch[c.row_group - first_] == 0) batch.push_back(c.row_group);
        in_batch[c.row_group - first_] = 1;
      }
      next = candidates.size();
    }
    for (uint32_t g : batch) {
      // Every candidate of the group that the bound still wants.
      VV_ASSIGN_OR_RETURN(RowGroupChunks chunks, reader_->OpenRowGroup(g));
      RowGroupFilter filter(&chunks, columns);
      VV_ASSIGN_OR_RETURN(std::span<const model::TraceId> ids, filter.TraceIds());
      DecodeSelection sel;
      sel.traces.assign(ids.size(), 0);
      for (uint32_t k = group_first[g - first_]; k < group_first[g - first_ + 1]; ++k) {
        const Candidate& c = candidates[of_group[k]];
        if (bound.Wants(c.id, c.start_unix_nano)) sel.traces[c.trace] = 1;
      }
      done_groups[g - first_] = 1;
      VV_ASSIGN_OR_RETURN(sel.columns, filter.Columns(req));
      VV_ASSIGN_OR_RETURN(RowGroup rg, reader_->DecodeRowGroupChunks(g, chunks, &sel));
      stats.inspected_bytes += chunks.bytes_read();
      stats.inspected_spans += index[g].spans;
      for (size_t t = 0; t < rg.traces.size(); ++t) {
        ++stats.inspected_traces;
        if (!visit(TraceViewOf(rg, t))) return stats;
      }
    }
    for (uint32_t g : batch) in_batch[g - first_] = 0;
  }
  return stats;
}

std::vector<std::unique_ptr<BlockFetcher>> BlockJobs(std::shared_ptr<BlockReader> reader, size_t row_groups) {
  std::vector<std::unique_ptr<BlockFetcher>> jobs;
  size_t n = reader->meta().row_groups;
  row_groups = std::max<size_t>(row_groups, 1);
  for (size_t first = 0; first < n || first == 0; first += row_groups) {
    jobs.push_back(std::make_unique<BlockFetcher>(reader, first, std::min(n, first + row_groups)));
    if (n == 0) break;
  }
  return jobs;
}

}  // namespace vivace::blocks
