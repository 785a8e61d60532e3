#pragma once
// A subset of OTTL boolean conditions over spans, as the filter processor uses them
// (contrib:pkg/ottl, contexts ottlspan / ottlresource / ottlscope). Supported:
//
//   paths     span: name, kind, kind.string, status.code, status.message, attributes["k"],
//                   trace_id.string, span_id.string, parent_span_id.string, trace_state, flags,
//                   start_time_unix_nano, end_time_unix_nano,
//                   dropped_{attributes,events,links}_count
//             resource: attributes["k"], dropped_attributes_count
//             scope (instrumentation_scope): name, version, attributes["k"],
//             dropped_attributes_count with or without the context prefix (`span.name`,
//             `resource.attributes["k"]`)
//   literals  "string", 12, -1.5, true, false, nil, SPAN_KIND_*, STATUS_CODE_*
//   operators == != < <= > >=, and, or, not, ( )
//   functions IsMatch(target, "regexp")
//
// Comparisons follow OTTL: values of different types are only unequal (`!=` is true, everything
// else false); ints and doubles compare numerically; nil equals only nil; strings compare
// bytewise; false < true. Anything else (other functions, math, span events, list literals)
// is a parse error naming the condition.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/span_batch.h"

namespace re2 {
class RE2;
}

namespace vivace::processors {

/// The OTTL context a condition is written for. kInferred (the filter's `trace_conditions`)
/// requires every path to carry its context prefix and takes the context from them.
enum class OttlContext : uint8_t { kInferred, kResource, kScope, kSpan };

/// A parsed condition, evaluated per span without allocating. Immutable and thread-safe.
class OttlCondition {
 public:
  /// Parses `text`; errors quote the condition and say where and what is wrong.
  static Result<OttlCondition> Parse(std::string_view text, OttlContext context);

  OttlCondition(OttlCondition&&) noexcept;
  OttlCondition& operator=(OttlCondition&&) noexcept;
  ~OttlCondition();

  /// The condition's value for span `span` of `batch` (with its scope and resource). A
  /// resource- or scope-context condition is the same for every span of the resource/scope.
  bool Eval(const model::SpanBatch& batch, size_t span) const;

  /// The context given, or for kInferred the one inferred from the paths.
  OttlContext context() const { return context_; }
  const std::string& text() const { return text_; }

  struct Operand;
  struct Node;

 private:
  class Parser;
  OttlCondition();

  bool EvalNode(uint32_t node, const model::SpanBatch& batch, size_t span) const;

  std::string text_;
  OttlContext context_ = OttlContext::kSpan;
  std::vector<Node> nodes_;  // the root is nodes_.back()
  std::vector<uint32_t> children_;
  std::vector<Operand> operands_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;
};

}  // namespace vivace::processors
