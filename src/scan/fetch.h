#pragma once
// The seam between the TraceQL engine and storage (Tempo's SpansetFetcher). The engine says
// which conditions a trace must be able to meet; a fetcher (a block, the live head, a test fake)
// uses them to skip what cannot match — time ranges, row-group statistics, dictionaries — and
// hands every remaining trace to the engine, which evaluates the query exactly.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/ids.h"
#include "model/span_batch.h"
#include "scan/types.h"

namespace vivace::scan {

/// Nested-set numbers of a span within its trace: a span's descendants are exactly the spans
/// whose `left` lies in (left, right). `parent` is the parent's `left`, 0 for a root (or a span
/// whose parent is missing).
struct NestedSet {
  uint32_t left = 0;
  uint32_t right = 0;
  uint32_t parent = 0;
};

struct ServiceStat {
  std::string_view name;
  uint32_t spans = 0;
  uint32_t errors = 0;  // spans with status code ERROR
};

/// One trace as a fetcher hands it to the engine. Every view is valid only during the visit.
struct TraceView {
  model::TraceId id;
  /// The trace's spans are rows [first_span, first_span + span_count) of `batch`.
  const model::SpanBatch* batch = nullptr;
  uint32_t first_span = 0;
  uint32_t span_count = 0;
  /// Indexed by batch row, like the batch's columns.
  const NestedSet* nested = nullptr;
  uint64_t start_unix_nano = 0;  // earliest span start
  uint64_t end_unix_nano = 0;    // latest span end
  std::string_view root_service;  // "" when the root span is not in this part of the trace
  std::string_view root_name;
  std::span<const ServiceStat> services;
};

/// "Some span (or its resource, scope, event or link) of the trace can satisfy `attr op
/// operands`". op kNone only names an attribute the engine reads, without constraining it.
struct Condition {
  Attribute attr;
  Op op = Op::kNone;
  std::vector<Static> operands;
  /// Conditions sharing a nonzero group hold on one span together (they come from one filter
  /// `{ a && b }`), so they are one alternative of the request; 0: an alternative of its own.
  uint32_t group = 0;
};

/// What a trace must beat to enter the results the engine already holds (most recent start
/// first, ties by trace id): a fetcher may skip a trace that cannot, without reading it whole.
struct ResultBound {
  bool full = false;  // false: the results have room, every trace is wanted
  uint32_t room = 0;  // when not full: how many more results they take (0: no limit known)
  uint64_t start_unix_nano = 0;  // of the held trace that would be displaced next
  model::TraceId id;
  std::vector<model::TraceId> held;  // sorted: parts of these traces merge, whatever their start

  bool Wants(const model::TraceId& t, uint64_t start) const {
    if (!full || start > start_unix_nano) return true;
    if (start == start_unix_nano && t.view() < id.view()) return true;
    return std::binary_search(held.begin(), held.end(), t,
                              [](const model::TraceId& a, const model::TraceId& b) { return a.view() < b.view(); });
  }
};

struct FetchRequest {
  /// Traces overlapping [start, end] (unix nanoseconds; 0 = open on that side).
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::vector<Condition> conditions;
  /// True: a trace can match only if every alternative (a group, or an ungrouped condition) can
  /// hold in it. False: only if at least one can (or the list is empty). A fetcher may skip data that cannot match and must not
  /// skip anything else.
  bool all_conditions = false;
  /// A trace can match only if at least this many of its spans satisfy the conditions on one
  /// span together (from `{ ... } | count() > n`); 0: no such bound. Meaningful when the
  /// conditions are one alternative (with all_conditions, one group or one condition) or none
  /// (then it bounds the trace's span count); fetchers ignore it otherwise.
  uint32_t min_matching_spans = 0;
  /// Every attribute and intrinsic the engine reads (in filters, by, select, aggregates). With
  /// `reads_all` false a fetcher may hand over traces holding only those plus the span basics
  /// (ids, parent, times, name, kind, status, structure, resource and scope names).
  std::vector<Attribute> reads;
  bool reads_all = true;
  /// Optional, thread-safe: the current bound of the results. It only ever tightens, so a
  /// fetcher may take it once per unit of work (a row group) and skip the traces it rules out.
  std::function<ResultBound()> bound;
};

/// What a fetch read and skipped, for the search response's metrics and for benchmarks.
struct FetchStats {
  uint64_t inspected_bytes = 0;  // bytes read from storage (compressed)
  uint64_t inspected_traces = 0;
  uint64_t inspected_spans = 0;
  uint64_t row_groups = 0;
  uint64_t row_groups_pruned = 0;  // skipped by statistics or dictionaries, never decompressed
  uint64_t row_groups_filtered = 0;  // skipped after the columnar pass over a few columns
};

/// Returns false to stop the fetch early (enough results, deadline, cancellation).
using TraceVisitor = std::function<bool(const TraceView&)>;

class SpansetFetcher {
 public:
  virtual ~SpansetFetcher() = default;
  /// Calls `visit` for every trace that may satisfy `req`, in the fetcher's order, from the
  /// calling thread. Errors name what failed to read.
  virtual Result<FetchStats> Fetch(const FetchRequest& req, const TraceVisitor& visit) = 0;
};

}  // namespace vivace::scan
