#pragma once
// TraceQL's syntax tree (Tempo's grammar, reference/tempo.md §1.10). Parse (parser.h) builds it,
// Validate checks types and support, ToString prints it back so that it parses to the same tree.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scan/types.h"

namespace vivace::traceql {

using scan::Attribute;
using scan::Op;
using scan::Static;
using scan::StaticType;

/// An expression over one span's fields, inside `{ }`, aggregates and `by()`.
struct FieldExpr {
  enum class Kind : uint8_t { kStatic, kAttribute, kBinary, kUnary };
  Kind kind = Kind::kStatic;
  Op op = Op::kNone;  // kBinary, kUnary (kNot, kNeg, kExists, kNotExists)
  Static value;       // kStatic
  Attribute attr;     // kAttribute
  std::unique_ptr<FieldExpr> lhs, rhs;  // kUnary uses lhs
};
using FieldPtr = std::unique_ptr<FieldExpr>;

enum class AggregateOp : uint8_t { kCount, kAvg, kMin, kMax, kSum };

struct Pipeline;

/// A number computed per spanset: an aggregate, a constant, arithmetic on them; or, in a scalar
/// pipeline filter, a parenthesised pipeline ending in an aggregate.
struct ScalarExpr {
  enum class Kind : uint8_t { kStatic, kAggregate, kBinary, kPipeline };
  Kind kind = Kind::kStatic;
  Static value;             // kStatic
  AggregateOp agg = AggregateOp::kCount;  // kAggregate, and the last stage of kPipeline
  FieldPtr agg_expr;        // null for count()
  Op op = Op::kNone;        // kBinary
  std::unique_ptr<ScalarExpr> lhs, rhs;
  std::unique_ptr<Pipeline> pipeline;  // kPipeline: the stages before the aggregate
};
using ScalarPtr = std::unique_ptr<ScalarExpr>;

/// A spanset-valued expression: a filter, a spanset operation, or a parenthesised pipeline.
struct SpansetExpr {
  enum class Kind : uint8_t { kFilter, kOperation, kPipeline };
  Kind kind = Kind::kFilter;
  FieldPtr filter;  // kFilter; null for `{ }`
  Op op = Op::kNone;  // kOperation: a spanset operator
  std::unique_ptr<SpansetExpr> lhs, rhs;
  std::unique_ptr<Pipeline> pipeline;  // kPipeline
};
using SpansetPtr = std::unique_ptr<SpansetExpr>;

struct Stage {
  enum class Kind : uint8_t { kSpanset, kScalarFilter, kGroup, kCoalesce, kSelect };
  Kind kind = Kind::kSpanset;
  SpansetPtr spanset;             // kSpanset
  Op cmp = Op::kNone;             // kScalarFilter: lhs cmp rhs
  ScalarPtr lhs, rhs;
  FieldPtr by;                    // kGroup
  std::vector<Attribute> select;  // kSelect
};

struct Pipeline {
  std::vector<Stage> stages;
};

enum class MetricsFn : uint8_t {
  kRate,
  kCountOverTime,
  kMinOverTime,
  kMaxOverTime,
  kSumOverTime,
  kAvgOverTime,
  kQuantileOverTime,
  kHistogramOverTime,
  kCompare,
};

struct MetricsAggregate {
  MetricsFn fn = MetricsFn::kRate;
  Attribute attr;                   // *_over_time
  std::vector<Static> quantiles;    // quantile_over_time
  std::vector<Attribute> by;
  FieldPtr compare_filter;          // compare({...}); null for `{}`
  std::vector<int64_t> compare_args;  // topN[, start, end]
};

struct SecondStage {
  enum class Kind : uint8_t { kTopK, kBottomK, kFilter };
  Kind kind = Kind::kTopK;
  int64_t k = 0;
  Op op = Op::kNone;  // kFilter
  Static value;
};

/// A metrics query: a pipeline ending in a metrics function, arithmetic between such queries
/// and numbers, each with optional second stages.
struct MetricsExpr {
  enum class Kind : uint8_t { kPipeline, kBinary, kScalar };
  Kind kind = Kind::kPipeline;
  std::unique_ptr<Pipeline> pipeline;  // kPipeline
  MetricsAggregate agg;
  Op op = Op::kNone;  // kBinary: + - * /
  std::unique_ptr<MetricsExpr> lhs, rhs;
  Static value;  // kScalar
  std::vector<SecondStage> second;
};

struct Hint {
  std::string name;
  Static value;
};

struct Query {
  std::unique_ptr<Pipeline> spansets;    // a search query, or
  std::unique_ptr<MetricsExpr> metrics;  // a metrics query
  std::vector<Hint> hints;
};

std::string_view AggregateName(AggregateOp op);
std::string_view MetricsFnName(MetricsFn fn);

/// TraceQL text for the tree; parsing it gives an equal tree.
std::string ToString(const Query& q);
std::string ToString(const FieldExpr& e);
std::string ToString(const Attribute& a);
std::string ToString(const Static& s);

}  // namespace vivace::traceql
