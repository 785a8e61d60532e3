#include "processors/filter.h"

namespace vivace::processors {

namespace {

Result<OttlContext> ContextByName(const std::string& name) {
  if (name.empty()) return OttlContext::kInferred;
  if (name == "span") return OttlContext::kSpan;
  if (name == "resource") return OttlContext::kResource;
  if (name == "scope") return OttlContext::kScope;
  if (name == "spanevent") {
    return InvalidArgument("context \"spanevent\" is not supported: this filter drops whole spans");
  }
  return InvalidArgument("unknown context \"" + name +
                         "\" (use span, resource or scope, or leave it out)");
}

}  // namespace

Result<std::unique_ptr<FilterTransform>> FilterTransform::Create(
    const FilterOptions& options, const model::ComponentContext& context) {
  std::unique_ptr<FilterTransform> t(new FilterTransform());
  if ((options.spans.include || options.spans.exclude) &&
      (!options.resource_conditions.empty() || !options.span_conditions.empty())) {
    return InvalidArgument(
        "cannot use \"traces.resource\", \"traces.span\", \"traces.spanevent\" and the span "
        "settings "
        "\"spans.include\", \"spans.exclude\" at the same time");
  }
  if (!options.trace_conditions.empty() &&
      (!options.resource_conditions.empty() || !options.span_conditions.empty())) {
    return InvalidArgument(
        "cannot use context inferred trace conditions \"trace_conditions\" and the settings "
        "\"traces.resource\", "
        "\"traces.span\", \"traces.spanevent\" at the same time");
  }
  VV_ASSIGN_OR_RETURN(t->matcher_, SpanMatcher::Create(options.spans));
  auto add = [&t](const std::string& text, OttlContext ctx) -> Status {
    VV_ASSIGN_OR_RETURN(OttlCondition c, OttlCondition::Parse(text, ctx));
    t->conditions_.push_back(std::move(c));
    return Status::OK();
  };
  for (const std::string& c : options.resource_conditions)
    VV_RETURN_IF_ERROR(add(c, OttlContext::kResource));
  for (const std::string& c : options.span_conditions)
    VV_RETURN_IF_ERROR(add(c, OttlContext::kSpan));
  for (const FilterOptions::ContextConditions& group : options.trace_conditions) {
    VV_ASSIGN_OR_RETURN(OttlContext ctx, ContextByName(group.context));
    for (const std::string& c : group.conditions) VV_RETURN_IF_ERROR(add(c, ctx));
  }
  if (context.metrics != nullptr) {
    t->filtered_ = context.metrics->GetCounter("otelcol_processor_filter_spans_filtered_total",
                                               "Number of spans dropped by the filter processor",
                                               {{"filter", context.id}});
  }
  return t;
}

void FilterTransform::Apply(model::SpanBatch& batch) {
  if (!matcher_.active() && conditions_.empty()) return;
  thread_local std::vector<uint8_t> keep;
  keep.assign(batch.size(), 1);
  size_t dropped = 0;
  std::optional<SpanMatcher::Evaluator> eval;
  if (matcher_.active()) eval.emplace(matcher_, batch);
  for (size_t i = 0; i < batch.size(); ++i) {
    bool drop = eval && eval->Skip(i);
    for (size_t c = 0; !drop && c < conditions_.size(); ++c) drop = conditions_[c].Eval(batch, i);
    if (drop) {
      keep[i] = 0;
      ++dropped;
    }
  }
  if (dropped == 0) return;
  batch.RetainSpans(keep);
  if (filtered_ != nullptr) filtered_->Add(dropped);
}

}  // namespace vivace::processors
