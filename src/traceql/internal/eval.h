#pragma once
// Evaluates a validated spanset query over one trace at a time (Tempo's ast_execute semantics,
// reference/tempo.md §1.4-§1.7). Internal to traceql.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "scan/fetch.h"
#include "traceql/ast.h"
#include "traceql/search.h"

namespace re2 {
class RE2;
}

namespace vivace::traceql::internal {

/// A spanset of one trace: batch rows, with attributes by(), aggregates attach.
struct EvalSpanset {
  std::vector<uint32_t> spans;
  std::vector<ResultAttribute> attributes;
};

/// A value during evaluation. Strings view the trace's batch or the query.
struct V {
  enum class K : uint8_t { kNil, kInt, kFloat, kString, kBool, kDuration, kStatus, kKind, kArray };
  K k = K::kNil;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string_view s;
  const model::Value* array = nullptr;  // kArray: elements in the batch's values pool
  uint32_t array_size = 0;
};

/// Thread-compatible; one per worker thread (it holds per-trace scratch space).
class Evaluator {
 public:
  /// REQUIRES: `query` validated, a spanset query; it must outlive the evaluator.
  explicit Evaluator(const Query& query);
  ~Evaluator();

  /// The spansets the query yields for `trace` (empty: the trace does not match).
  std::vector<EvalSpanset> Run(const scan::TraceView& trace);

  /// The attributes results carry for each span: those the filters name, and select()ed ones.
  const std::vector<Attribute>& returned_attributes() const { return returned_; }
  /// The value of `attr` for span `row` of the current trace (nil when absent).
  V Lookup(const Attribute& attr, uint32_t row);

 private:
  struct Ctx;
  std::vector<EvalSpanset> Pipe(const Pipeline& p, std::vector<EvalSpanset> input);
  std::vector<EvalSpanset> Stage_(const Stage& s, std::vector<EvalSpanset> input);
  std::vector<EvalSpanset> Spanset(const SpansetExpr& e, const std::vector<EvalSpanset>& input);
  EvalSpanset Filter(const FieldExpr* f, const EvalSpanset& in);
  bool MatchSpan(const FieldExpr& f, uint32_t row);
  V Eval(const FieldExpr& e, uint32_t row);
  V Intrinsic(const Attribute& a, uint32_t row);
  std::vector<uint32_t> Relate(Op op, const std::vector<uint32_t>& lhs, const std::vector<uint32_t>& rhs);
  V Aggregate(AggregateOp op, const FieldExpr* e, const EvalSpanset& ss);
  double ScalarValue(const ScalarExpr& s, const EvalSpanset& ss, bool* ok);
  const re2::RE2* Regex(const FieldExpr& e);

  const Query& query_;
  std::vector<Attribute> returned_;
  std::unordered_map<const FieldExpr*, std::unique_ptr<re2::RE2>> regexes_;
  // Per trace.
  const scan::TraceView* t_ = nullptr;
  std::vector<uint32_t> child_counts_;  // by row - first_span, computed on first use
  bool child_counts_ready_ = false;
  int32_t event_ = -1;  // the event (index into batch.events) an event-scoped lookup reads
  int32_t link_ = -1;
  std::deque<std::string> hex_;  // ids rendered as hex for the current comparison
  std::unordered_map<const FieldExpr*, uint8_t> scopes_;  // filter → 1 events, 2 links
};

/// Whether the filter names event- or link-scoped fields (evaluated once per event / link).
bool UsesScope(const FieldExpr* f, scan::Scope scope);
/// Static → value (strings view the static).
V FromStatic(const Static& s);
/// Value → static for results.
Static ToStatic(const V& v, const model::SpanBatch& batch);

}  // namespace vivace::traceql::internal
