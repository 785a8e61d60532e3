#include "base/metrics.h"

#include <fmt/format.h>

#include <map>

namespace vivace {
namespace {

void AppendLabels(std::string* out, const Labels& labels) {
  if (labels.empty()) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    out->append(k);
    out->append("=\"");
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out->push_back('\\');
        out->push_back(c);
      } else if (c == '\n') {
        out->append("\\n");
      } else {
        out->push_back(c);
      }
    }
    out->push_back('"');
  }
  out->push_back('}');
}

bool LabelsInclude(const Labels& have, const Labels& want) {
  for (const auto& w : want) {
    bool found = false;
    for (const auto& h : have) found |= (h == w);
    if (!found) return false;
  }
  return true;
}

}  // namespace

Counter* MetricsRegistry::GetCounter(std::string_view name, std::string_view help, Labels labels) {
  MutexLock lock(mu_);
  for (auto& s : series_) {
    if (s->counter && s->name == name && s->labels == labels) return s->counter.get();
  }
  auto s = std::make_unique<Series>();
  s->name = std::string(name);
  s->help = std::string(help);
  s->type = "counter";
  s->labels = std::move(labels);
  s->counter = std::make_unique<Counter>();
  Counter* c = s->counter.get();
  series_.push_back(std::move(s));
  return c;
}

void MetricsRegistry::AddGauge(std::string_view name, std::string_view help, Labels labels,
                               std::function<double()> read) {
  MutexLock lock(mu_);
  series_.push_back(std::make_unique<Series>(
      Series{std::string(name), std::string(help), "gauge", std::move(labels), nullptr, std::move(read)}));
}

void MetricsRegistry::AddCounterFunc(std::string_view name, std::string_view help, Labels labels,
                                     std::function<double()> read) {
  MutexLock lock(mu_);
  series_.push_back(std::make_unique<Series>(
      Series{std::string(name), std::string(help), "counter", std::move(labels), nullptr, std::move(read)}));
}

std::string MetricsRegistry::Expose() const {
  MutexLock lock(mu_);
  // Group series by name, keeping first-registration order.
  std::vector<std::string_view> order;
  std::map<std::string_view, std::vector<const Series*>> by_name;
  for (const auto& s : series_) {
    auto& v = by_name[s->name];
    if (v.empty()) order.push_back(s->name);
    v.push_back(s.get());
  }
  std::string out;
  for (std::string_view name : order) {
    const auto& group = by_name[name];
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, group[0]->help, name,
                   group[0]->type);
    for (const Series* s : group) {
      out.append(s->name);
      AppendLabels(&out, s->labels);
      if (s->counter) {
        fmt::format_to(std::back_inserter(out), " {}\n", s->counter->value());
      } else {
        fmt::format_to(std::back_inserter(out), " {}\n", s->read());
      }
    }
  }
  return out;
}

uint64_t MetricsRegistry::CounterValue(std::string_view name, const Labels& match) const {
  MutexLock lock(mu_);
  uint64_t sum = 0;
  for (const auto& s : series_) {
    if (s->counter && s->name == name && LabelsInclude(s->labels, match)) sum += s->counter->value();
  }
  return sum;
}

}  // namespace vivace
