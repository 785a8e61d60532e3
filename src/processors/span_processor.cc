#include "processors/span_processor.h"

#include <re2/re2.h>

#include "processors/attr_values.h"

namespace vivace::processors {

using model::SpanBatch;
using model::Value;

// Strings of the configuration written into one batch, copied into its arena on first use.
struct SpanTransform::BatchState {
  std::vector<std::string_view> names;  // group names of all rules
  std::string_view description;
  bool description_copied = false;
};

SpanTransform::~SpanTransform() = default;

Result<std::unique_ptr<SpanTransform>> SpanTransform::Create(const SpanOptions& options) {
  if (options.from_attributes.empty() &&
      (!options.to_attributes || options.to_attributes->rules.empty()) && !options.status) {
    return InvalidArgument(
        "error creating \"span\" processor: either \"from_attributes\" or \"to_attributes\" must "
        "be specified in "
        "\"name:\" or \"status\" must be specified");
  }
  std::unique_ptr<SpanTransform> t(new SpanTransform());
  if (options.status) {
    const std::string& code = options.status->code;
    if (code == "Unset") {
      t->status_code_ = model::StatusCode::kUnset;
    } else if (code == "Error") {
      t->status_code_ = model::StatusCode::kError;
    } else if (code == "Ok") {
      t->status_code_ = model::StatusCode::kOk;
    } else {
      return InvalidArgument(
          "error creating \"span\" processor: \"status\" must have specified \"code\" as \"Ok\" "
          "or \"Error\" or \"Unset\"");
    }
    if (!options.status->description.empty() && code != "Error") {
      return InvalidArgument(
          "error creating \"span\" processor: \"description\" can be specified only for \"code\" "
          "\"Error\"");
    }
    t->set_status_ = true;
  }
  if (options.to_attributes) {
    for (const std::string& pattern : options.to_attributes->rules) {
      auto re = CompileGoRegexp(pattern);
      if (!re.ok())
        return InvalidArgument("invalid regexp pattern " + pattern + ": " +
                               std::string(re.status().message()));
      Rule rule;
      rule.re = std::move(re).value();
      const auto& names = rule.re->CapturingGroupNames();
      for (int g = 1; g <= rule.re->NumberOfCapturingGroups(); ++g) {
        auto it = names.find(g);
        rule.group_names.push_back(it == names.end() ? std::string() : it->second);
      }
      rule.first_name = t->group_name_count_;
      t->group_name_count_ += static_cast<uint32_t>(rule.group_names.size());
      t->rules_.push_back(std::move(rule));
    }
  }
  VV_ASSIGN_OR_RETURN(t->matcher_, SpanMatcher::Create(options.match));
  t->options_ = options;
  return t;
}

void SpanTransform::Apply(SpanBatch& batch) {
  BatchState state;
  state.names.resize(group_name_count_);
  if (!matcher_.active()) {
    for (size_t i = 0; i < batch.size(); ++i) ProcessSpan(batch, i, state);
    return;
  }
  SpanMatcher::Evaluator eval(matcher_, batch);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!eval.Skip(i)) ProcessSpan(batch, i, state);
  }
}

void SpanTransform::ProcessSpan(SpanBatch& batch, size_t i, BatchState& state) const {
  // name.from_attributes: rename only when every attribute is present.
  if (!options_.from_attributes.empty() && batch.span_attributes[i].count > 0) {
    thread_local std::string name;
    name.clear();
    bool all = true;
    for (size_t k = 0; k < options_.from_attributes.size(); ++k) {
      const Value* v = FindAttribute(batch, batch.span_attributes[i], options_.from_attributes[k]);
      if (v == nullptr) {
        all = false;
        break;
      }
      if (k > 0) name += options_.separator;
      ScalarText text;
      name += text.Set(*v) ? text.view() : std::string_view("<unknown-attribute-type>");
    }
    if (all) {
      batch.name[i] = batch.arena.Copy(name);
      batch.MarkModified();
    }
  }

  // name.to_attributes: each rule works on the name the previous rule left.
  if (options_.to_attributes && !batch.name[i].empty()) {
    std::optional<AttrListEditor> attrs;
    thread_local std::vector<re2::StringPiece> groups;
    thread_local std::string renamed;
    for (const Rule& rule : rules_) {
      std::string_view old = batch.name[i];
      groups.assign(rule.group_names.size() + 1, re2::StringPiece());
      if (!rule.re->Match(re2::StringPiece(old.data(), old.size()), 0, old.size(),
                          re2::RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) {
        continue;
      }
      if (!attrs) attrs.emplace(batch, batch.span_attributes[i]);
      renamed.clear();
      size_t pos = 0;
      for (size_t g = 0; g < rule.group_names.size(); ++g) {
        const std::string& group = rule.group_names[g];
        const re2::StringPiece& m = groups[g + 1];
        // Unnamed, unmatched and nested groups give no attribute (the Collector would write an
        // empty key, or fail on the bounds).
        if (group.empty() || m.data() == nullptr) continue;
        size_t start = static_cast<size_t>(m.data() - old.data());
        if (start < pos) continue;
        std::string_view& key = state.names[rule.first_name + g];
        if (key.data() == nullptr) key = batch.arena.Copy(group);
        attrs->Upsert(key, Value::String(std::string_view(m.data(), m.size())));
        renamed.append(old.substr(pos, start - pos));
        renamed += '{';
        renamed += group;
        renamed += '}';
        pos = start + m.size();
      }
      renamed.append(old.substr(pos));
      if (!options_.to_attributes->keep_original_name) {
        batch.name[i] = batch.arena.Copy(renamed);
        batch.MarkModified();
      }
      if (options_.to_attributes->break_after_match) break;
    }
    if (attrs) batch.span_attributes[i] = attrs->Commit();
  }

  if (set_status_) {
    batch.status_code[i] = status_code_;
    if (status_code_ == model::StatusCode::kError) {
      if (!state.description_copied) {
        state.description = batch.arena.Copy(options_.status->description);
        state.description_copied = true;
      }
      batch.status_message[i] = state.description;
    } else {
      batch.status_message[i] = {};
    }
    batch.MarkModified();
  }
}

}  // namespace vivace::processors
