#include "processors/attribute_limits.h"

namespace vivace::processors {

using model::Range;
using model::SpanBatch;
using model::Value;
using model::ValueKind;

std::string_view TruncateUtf8(std::string_view s, uint32_t max_chars) {
  if (s.size() <= max_chars) return s;  // never more characters than bytes
  uint32_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<uint8_t>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return s.substr(0, i);
      ++chars;
    }
  }
  return s;
}

AttributeLimitsTransform::AttributeLimitsTransform(const AttributeLimitsOptions& o)
    : value_length_(o.attribute_value_length_limit),
      attributes_(o.attribute_count_limit),
      events_(o.event_count_limit),
      links_(o.link_count_limit),
      event_attributes_(o.event_attribute_count_limit.value_or(o.attribute_count_limit)),
      link_attributes_(o.link_attribute_count_limit.value_or(o.attribute_count_limit)) {}

namespace {

class Limiter {
 public:
  Limiter(SpanBatch& b, uint32_t value_length) : b_(b), value_length_(value_length) {}

  bool changed() const { return changed_; }

  /// Caps the list at `limit` entries (0 = none), adding what it drops to `dropped`, and cuts
  /// the values.
  void Attributes(Range& r, uint32_t& dropped, uint32_t limit) {
    if (limit != 0 && r.count > limit) {
      dropped += r.count - limit;
      r.count = limit;
      changed_ = true;
    }
    if (value_length_ == 0) return;
    for (uint32_t k = 0; k < r.count; ++k) Cut(b_.attributes[r.first + k].value, 0);
  }

 private:
  // Nesting deeper than this is left alone (OTLP decoders bound depth well below it).
  static constexpr int kMaxDepth = 64;

  void Cut(Value& v, int depth) {
    switch (v.kind) {
      case ValueKind::kString: {
        std::string_view s = TruncateUtf8(v.string(), value_length_);
        if (s.size() != v.size) {
          v = Value::String(s);
          changed_ = true;
        }
        break;
      }
      case ValueKind::kBytes:
        if (v.size > value_length_) {
          v.size = value_length_;
          changed_ = true;
        }
        break;
      case ValueKind::kArray:
        if (depth < kMaxDepth) {
          for (uint32_t k = 0; k < v.size; ++k) Cut(b_.values[v.first + k], depth + 1);
        }
        break;
      case ValueKind::kKvList:
        if (depth < kMaxDepth) {
          for (uint32_t k = 0; k < v.size; ++k) Cut(b_.attributes[v.first + k].value, depth + 1);
        }
        break;
      default:
        break;
    }
  }

  SpanBatch& b_;
  uint32_t value_length_;
  bool changed_ = false;
};

}  // namespace

void AttributeLimitsTransform::Apply(SpanBatch& batch) {
  Limiter lim(batch, value_length_);
  // Resources and scopes are shared by the spans that index them: each is limited once.
  for (auto& res : batch.resources) {
    lim.Attributes(res.attributes, res.dropped_attributes_count, attributes_);
  }
  for (auto& scope : batch.scopes) {
    lim.Attributes(scope.attributes, scope.dropped_attributes_count, attributes_);
  }
  bool changed = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    lim.Attributes(batch.span_attributes[i], batch.dropped_attributes_count[i], attributes_);
    Range& ev = batch.span_events[i];
    if (events_ != 0 && ev.count > events_) {
      batch.dropped_events_count[i] += ev.count - events_;
      ev.count = events_;
      changed = true;
    }
    for (uint32_t e = 0; e < ev.count; ++e) {
      model::Event& event = batch.events[ev.first + e];
      lim.Attributes(event.attributes, event.dropped_attributes_count, event_attributes_);
    }
    Range& lk = batch.span_links[i];
    if (links_ != 0 && lk.count > links_) {
      batch.dropped_links_count[i] += lk.count - links_;
      lk.count = links_;
      changed = true;
    }
    for (uint32_t l = 0; l < lk.count; ++l) {
      model::Link& link = batch.links[lk.first + l];
      lim.Attributes(link.attributes, link.dropped_attributes_count, link_attributes_);
    }
  }
  if (changed || lim.changed()) batch.MarkModified();
}

}  // namespace vivace::processors
