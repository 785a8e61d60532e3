#include "processors/attributes.h"

namespace vivace::processors {

Result<std::unique_ptr<AttributesTransform>> AttributesTransform::Create(
    const AttributesOptions& options) {
  if (options.actions.empty()) {
    return InvalidArgument(
        "error creating \"attributes\" processor due to missing required field \"actions\"");
  }
  VV_ASSIGN_OR_RETURN(AttrActions actions, AttrActions::Compile(options.actions));
  VV_ASSIGN_OR_RETURN(SpanMatcher matcher, SpanMatcher::Create(options.match));
  return std::unique_ptr<AttributesTransform>(
      new AttributesTransform(std::move(actions), std::move(matcher)));
}

void AttributesTransform::Apply(model::SpanBatch& batch) {
  AttrActions::Runner runner(actions_, batch);
  if (!matcher_.active()) {
    for (size_t i = 0; i < batch.size(); ++i)
      batch.span_attributes[i] = runner.Apply(batch.span_attributes[i]);
    return;
  }
  SpanMatcher::Evaluator eval(matcher_, batch);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (eval.Skip(i)) continue;
    batch.span_attributes[i] = runner.Apply(batch.span_attributes[i]);
  }
}

Result<std::unique_ptr<ResourceTransform>> ResourceTransform::Create(
    const ResourceOptions& options) {
  if (options.attributes.empty()) {
    return InvalidArgument(
        "error creating \"resource\" processor due to missing required field \"attributes\"");
  }
  VV_ASSIGN_OR_RETURN(AttrActions actions, AttrActions::Compile(options.attributes, "attributes"));
  return std::unique_ptr<ResourceTransform>(new ResourceTransform(std::move(actions)));
}

void ResourceTransform::Apply(model::SpanBatch& batch) {
  AttrActions::Runner runner(actions_, batch);
  for (model::Resource& r : batch.resources) r.attributes = runner.Apply(r.attributes);
}

}  // namespace vivace::processors
