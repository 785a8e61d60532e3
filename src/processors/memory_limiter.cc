#include "processors/memory_limiter.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/clock.h"
#include "base/logging.h"

namespace vivace::processors {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

/// The first line of a small file, or "" when it cannot be read.
std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

/// A cgroup memory limit file's value; 0 for none ("max", absent, or the v1 "unlimited" value).
uint64_t ReadLimit(const std::string& path) {
  std::string s = ReadLine(path);
  if (s.empty() || s == "max") return 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str() || v >= (1ull << 62)) return 0;  // v1 reports ~2^63 when unlimited
  return v;
}

uint64_t CgroupLimitBytes() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // hierarchy-ID:controller-list:cgroup-path
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (path == "/") path.clear();
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      // cgroup v2 (the unified hierarchy)
      for (const std::string& file :
           {"/sys/fs/cgroup" + path + "/memory.max", std::string("/sys/fs/cgroup/memory.max")}) {
        if (uint64_t v = ReadLimit(file)) return v;
      }
    }
    std::stringstream list(controllers);
    std::string c;
    while (std::getline(list, c, ',')) {
      if (c != "memory") continue;
      // cgroup v1
      for (const std::string& file : {"/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes",
                                      std::string("/sys/fs/cgroup/memory/memory.limit_in_bytes")}) {
        if (uint64_t v = ReadLimit(file)) return v;
      }
    }
  }
  return 0;
}

uint64_t MemTotalBytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 9, "MemTotal:") == 0) {
      return std::strtoull(line.c_str() + 9, nullptr, 10) * 1024;
    }
  }
  return 0;
}

}  // namespace

uint64_t TotalMemoryBytes() {
  uint64_t physical = MemTotalBytes();
  uint64_t cgroup = CgroupLimitBytes();
  if (cgroup != 0 && (physical == 0 || cgroup < physical)) return cgroup;
  return physical;
}

Status ValidateMemoryLimiterOptions(const MemoryLimiterOptions& o) {
  // The Collector's checks and messages (internal/memorylimiter/config.go), in its order.
  if (o.check_interval.count() <= 0) {
    return InvalidArgument("'check_interval' must be greater than zero");
  }
  if (o.min_gc_interval_when_soft_limited < o.min_gc_interval_when_hard_limited) {
    return InvalidArgument(
        "'min_gc_interval_when_soft_limited' should be larger than "
        "'min_gc_interval_when_hard_limited'");
  }
  if (o.limit_mib == 0 && o.limit_percentage == 0) {
    return InvalidArgument("'limit_mib' or 'limit_percentage' must be greater than zero");
  }
  if (o.limit_percentage > 100 || o.spike_limit_percentage > 100) {
    return InvalidArgument(
        "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than "
        "or equal to hundred");
  }
  if (o.limit_mib > 0 && o.limit_mib <= o.spike_limit_mib) {
    return InvalidArgument("'spike_limit_mib' must be smaller than 'limit_mib'");
  }
  if (o.limit_percentage > 0 && o.limit_percentage <= o.spike_limit_percentage) {
    return InvalidArgument("'spike_limit_percentage' must be smaller than 'limit_percentage'");
  }
  return Status::OK();
}

Result<std::unique_ptr<MemoryLimiterProcessor>> MemoryLimiterProcessor::Create(
    MemoryLimiterOptions o, const model::ComponentContext& ctx, model::SpanSink* next) {
  VV_RETURN_IF_ERROR(ValidateMemoryLimiterOptions(o));
  uint64_t hard, spike;
  if (o.limit_mib != 0) {
    hard = uint64_t{o.limit_mib} * kMiB;
    spike = uint64_t{o.spike_limit_mib} * kMiB;
  } else {
    uint64_t total = o.total_memory ? o.total_memory() : TotalMemoryBytes();
    if (total == 0) {
      return FailedPrecondition(
          "failed to get total memory, use fixed memory settings (limit_mib)");
    }
    hard = o.limit_percentage * total / 100;
    spike = o.spike_limit_percentage * total / 100;
  }
  if (spike == 0) spike = hard / 5;  // 20% of the limit
  log::Info(
      "processor {}: memory limiter configured: limit_mib={} spike_limit_mib={} "
      "check_interval={}ms",
      ctx.id, hard / kMiB, spike / kMiB, o.check_interval.count());
  return std::unique_ptr<MemoryLimiterProcessor>(
      new MemoryLimiterProcessor(std::move(o), hard, spike, ctx, next));
}

MemoryLimiterProcessor::MemoryLimiterProcessor(MemoryLimiterOptions options, uint64_t hard,
                                               uint64_t spike, const model::ComponentContext& ctx,
                                               model::SpanSink* next)
    : options_(std::move(options)),
      hard_limit_(hard),
      spike_limit_(spike),
      id_(ctx.id),
      next_(next) {
  if (ctx.metrics != nullptr) {
    Labels labels = {{"processor", ctx.id}};
    accepted_ = ctx.metrics->GetCounter(
        "otelcol_processor_memory_limiter_accepted_spans_total",
        "Number of spans successfully pushed into the next component.", labels);
    refused_ = ctx.metrics->GetCounter("otelcol_processor_memory_limiter_refused_spans_total",
                                       "Number of spans that were rejected by the next component.",
                                       labels);
  } else {
    accepted_ = &unregistered_[0];
    refused_ = &unregistered_[1];
  }
  // Clients are asked to come back after one check, when the answer may have changed.
  auto ms = static_cast<uint64_t>(options_.check_interval.count());
  retry_after_seconds_ = static_cast<uint32_t>(std::max<uint64_t>(1, (ms + 999) / 1000));
  CheckMemory();
  thread_ = std::thread([this] { Loop(); });
}

MemoryLimiterProcessor::~MemoryLimiterProcessor() { Shutdown(); }

void MemoryLimiterProcessor::Shutdown() {
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    cv_.NotifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void MemoryLimiterProcessor::Loop() {
  while (true) {
    {
      MutexLock lock(mu_);
      cv_.WaitFor(mu_, options_.check_interval, [this] { return stopped_; });
      if (stopped_) return;
    }
    CheckMemory();
  }
}

void MemoryLimiterProcessor::Consume(std::unique_ptr<model::SpanBatch> batch,
                                     model::ConsumeCallback done) {
  if (refusing()) {
    refused_->Add(batch->size());
    model::ConsumeResult r;
    r.status = Unavailable("data refused due to high memory usage");
    r.retry_after_seconds = retry_after_seconds_;
    done(std::move(r));
    return;
  }
  accepted_->Add(batch->size());
  next_->Consume(std::move(batch), std::move(done));
}

uint64_t MemoryLimiterProcessor::ReleaseAndRead() {
  if (options_.release_memory) {
    options_.release_memory();
  } else {
    malloc_trim(0);
  }
  last_release_ns_ = MonotonicNanos();
  return options_.read_memory ? options_.read_memory() : ProcessRssBytes();
}

void MemoryLimiterProcessor::CheckMemory() {
  MutexLock lock(check_mu_);
  uint64_t used = options_.read_memory ? options_.read_memory() : ProcessRssBytes();
  uint64_t soft = soft_limit_bytes();
  auto since_release = [this] {
    return std::chrono::nanoseconds(MonotonicNanos() - last_release_ns_);
  };
  bool hard = used >= hard_limit_;
  if (hard && since_release() >= options_.min_gc_interval_when_hard_limited) {
    // Warn when the hard limit is first crossed; while it lasts, every check would repeat it.
    uint64_t before = used;
    used = ReleaseAndRead();
    if (!hard_limited_) {
      log::Warn(
          "processor {}: memory usage {} MiB is above the hard limit; released free memory: {} MiB",
          id_, before / kMiB, used / kMiB);
    } else {
      log::Debug("processor {}: memory usage {} MiB above the hard limit; after release {} MiB",
                 id_, before / kMiB, used / kMiB);
    }
  }
  hard_limited_ = hard;
  bool was = refusing();
  bool refuse = used >= soft;
  if (was && !refuse) {
    log::Info("processor {}: memory usage {} MiB back within limits; resuming normal operation",
              id_, used / kMiB);
  }
  if (!was && refuse) {
    if (last_release_ns_ == 0 || since_release() > options_.min_gc_interval_when_soft_limited) {
      used = ReleaseAndRead();
      refuse = used >= soft;
    }
    if (refuse) {
      log::Warn("processor {}: memory usage {} MiB is above the soft limit; refusing data", id_,
                used / kMiB);
    }
  }
  refusing_.store(refuse, std::memory_order_relaxed);
}

}  // namespace vivace::processors
