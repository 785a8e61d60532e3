#include "pipeline/tracez.h"

#include <fmt/format.h>

#include "base/clock.h"

namespace vivace::pipeline {
namespace {

constexpr uint64_t kBoundsNs[Tracez::kBuckets - 1] = {
    10'000, 100'000, 1'000'000, 10'000'000, 100'000'000, 1'000'000'000, 10'000'000'000, 60'000'000'000};
constexpr std::string_view kLabels[Tracez::kBuckets] = {">0s",   ">10µs", ">100µs", ">1ms", ">10ms",
                                                        ">100ms", ">1s",   ">10s",   ">1m0s"};

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void Push(std::deque<Tracez::Sample>& q, Tracez::Sample s) {
  if (q.size() == Tracez::kSamplesPerBucket) q.pop_front();
  q.push_back(std::move(s));
}

}  // namespace

int Tracez::Bucket(uint64_t duration_ns) {
  int b = 0;
  while (b < kBuckets - 1 && duration_ns >= kBoundsNs[b]) ++b;
  return b;
}

std::string_view Tracez::BucketLabel(int bucket) { return kLabels[bucket]; }

uint64_t Tracez::Begin(std::string_view name) {
  MutexLock l(mu_);
  auto it = spans_.find(name);
  if (it == spans_.end()) it = spans_.emplace(std::string(name), Summary{}).first;
  ++it->second.running;
  return NowUnixNanos();
}

void Tracez::End(std::string_view name, uint64_t start_unix_nano, uint64_t items, const Status& status) {
  uint64_t now = NowUnixNanos();
  Sample s{start_unix_nano, now > start_unix_nano ? now - start_unix_nano : 0, items,
           status.ok() ? std::string() : status.ToString()};
  MutexLock l(mu_);
  auto it = spans_.find(name);
  if (it == spans_.end()) return;  // End without Begin
  Summary& sum = it->second;
  if (sum.running > 0) --sum.running;
  if (!status.ok()) {
    ++sum.errors;
    Push(sum.error_samples, std::move(s));
    return;
  }
  int b = Bucket(s.duration_ns);
  ++sum.latency[b];
  Push(sum.samples[b], std::move(s));
}

std::map<std::string, Tracez::Summary, std::less<>> Tracez::Snapshot() const {
  MutexLock l(mu_);
  return spans_;
}

std::string Tracez::Html(std::string_view span_name, int type, int bucket) const {
  auto spans = Snapshot();
  std::string out =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Trace Spans</title>"
      "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}"
      "td:first-child{text-align:left}</style></head><body><h1>Trace Spans</h1>"
      "<table><tr><th>Span Name</th><th>Running</th>";
  for (int b = 0; b < kBuckets; ++b) out += fmt::format("<th>{}</th>", Escape(kLabels[b]));
  out += "<th>Errors</th></tr>";
  for (const auto& [name, sum] : spans) {
    std::string n = Escape(name);
    out += fmt::format("<tr><td>{}</td><td><a href=\"?zspanname={}&amp;ztype=0\">{}</a></td>", n, n, sum.running);
    for (int b = 0; b < kBuckets; ++b) {
      out += fmt::format("<td><a href=\"?zspanname={}&amp;ztype=1&amp;zlatencybucket={}\">{}</a></td>", n, b,
                         sum.latency[b]);
    }
    out += fmt::format("<td><a href=\"?zspanname={}&amp;ztype=2\">{}</a></td></tr>", n, sum.errors);
  }
  out += "</table>";
  auto it = spans.find(span_name);
  if (it != spans.end() && (type == 1 || type == 2)) {
    const std::deque<Sample>* samples = nullptr;
    if (type == 2) {
      samples = &it->second.error_samples;
      out += fmt::format("<h2>{}: latest errors</h2>", Escape(span_name));
    } else if (bucket >= 0 && bucket < kBuckets) {
      samples = &it->second.samples[bucket];
      out += fmt::format("<h2>{}: latency {}</h2>", Escape(span_name), Escape(kLabels[bucket]));
    }
    if (samples != nullptr) {
      out += "<table><tr><th>Start (unix ns)</th><th>Duration (µs)</th><th>Spans</th><th>Error</th></tr>";
      for (const Sample& s : *samples) {
        out += fmt::format("<tr><td>{}</td><td>{:.1f}</td><td>{}</td><td>{}</td></tr>", s.start_unix_nano,
                           static_cast<double>(s.duration_ns) / 1e3, s.items, Escape(s.error));
      }
      out += "</table>";
    }
  }
  out += "</body></html>";
  return out;
}

}  // namespace vivace::pipeline
