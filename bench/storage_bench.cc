// Storage benchmark (make bench-storage). Three steps, each its own process so that each peak
// RSS is its own:
//   storage_bench write   --dir D [--spans N] [--block-spans M]  load generator → WAL → blocks
//   storage_bench lookup  --dir D [--lookups K] [--cold K]        trace by ID, existing and absent
//   storage_bench compact --dir D                                 compaction until nothing is left
// CPU time is the process's user+system time around the measured work only.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "blocks/block.h"
#include "generator.h"
#include "ingest/ingester.h"
#include "model/tenant.h"
#include "io/local_store.h"
#include "otlp/proto_decode.h"
#include "storage/blocklist.h"
#include "storage/compactor.h"

namespace {

using namespace vivace;
namespace fs = std::filesystem;

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double PeakRssMb() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "storage_bench: %s\n", what.c_str());
  std::exit(1);
}
template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}
void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

std::string Arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return argv[i + 1];
  }
  return def;
}

struct BlockTotals {
  uint64_t blocks = 0, spans = 0, traces = 0, data = 0, index = 0, bloom = 0, meta = 0, max_level = 0;
};
BlockTotals Totals(io::ObjectStore* store) {
  BlockTotals t;
  for (const auto& m : Check(blocks::ListBlocks(store, model::kDefaultTenant), "list")) {
    ++t.blocks;
    t.spans += m.total_spans;
    t.traces += m.total_traces;
    t.data += m.data_bytes;
    t.index += m.index_bytes;
    t.bloom += m.bloom_bytes;
    t.meta += Check(store->Size(m.key(blocks::kMetaName)), "meta size");
    t.max_level = std::max<uint64_t>(t.max_level, m.compaction_level);
  }
  return t;
}

int Write(const std::string& dir, uint64_t spans, uint64_t block_spans, uint32_t row_group_spans) {
  fs::remove_all(dir);
  auto store = Check(io::NewLocalStore(dir + "/blocks"), "store");
  MetricsRegistry metrics;
  ingest::IngesterOptions o;
  o.wal.dir = dir + "/wal";
  o.wal.sync = wal::SyncPolicy::kNone;  // the WAL is not what this measures
  o.store = store.get();
  if (row_group_spans > 0) o.block.row_group_spans = row_group_spans;
  o.flush_check_period = std::chrono::milliseconds(0);
  auto ing = Check(ingest::Ingester::Open(o, &metrics), "ingester");

  loadgen::Generator gen(loadgen::GeneratorOptions{});
  std::ofstream ids(dir + "/trace_ids.bin", std::ios::binary);
  uint64_t sent = 0, otlp_bytes = 0;
  double flush_cpu = 0, flush_wall = 0;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t pending = 0;
  while (sent < spans) {
    uint64_t chunk_end = std::min(spans, sent + block_spans);
    while (sent < chunk_end) {
      size_t n = 0;
      std::string req = gen.Request(1000, &n);
      otlp_bytes += req.size();
      auto batch = std::make_unique<model::SpanBatch>();
      batch->tenant = std::string(model::kDefaultTenant);
      std::string_view wire = batch->arena.Adopt(std::move(req));
      Check(otlp::DecodeProtoRequest(wire, {}, batch.get()), "decode");
      batch->otlp_proto = wire;
      batch->decoded_from_otlp_proto = true;
      model::TraceId last;
      for (size_t i = 0; i < batch->size(); ++i) {
        if (batch->trace_id[i] != last) ids.write(batch->trace_id[i].view().data(), 16);
        last = batch->trace_id[i];
      }
      sent += batch->size();
      {
        std::lock_guard l(mu);
        ++pending;
      }
      ing->Consume(std::move(batch), [&](model::ConsumeResult r) {
        if (!r.status.ok()) Die("consume: " + r.status.ToString());
        std::lock_guard l(mu);
        --pending;
        cv.notify_all();
      });
    }
    {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return pending == 0; });
    }
    double c0 = CpuSeconds();
    uint64_t w0 = MonotonicNanos();
    Check(ing->Flush(true), "flush");
    flush_cpu += CpuSeconds() - c0;
    flush_wall += static_cast<double>(MonotonicNanos() - w0) / 1e9;
  }
  ing->Close();
  BlockTotals t = Totals(store.get());
  uint64_t total = t.data + t.index + t.bloom + t.meta;
  std::printf("write: %llu spans (%llu traces) in %llu blocks; OTLP protobuf %.1f B/span\n", (unsigned long long)t.spans,
              (unsigned long long)t.traces, (unsigned long long)t.blocks, double(otlp_bytes) / double(sent));
  std::printf("write: on disk %.1f B/span (data %.1f, index %.2f, bloom %.2f, meta %.2f); %llu bytes\n",
              double(total) / double(t.spans), double(t.data) / double(t.spans), double(t.index) / double(t.spans),
              double(t.bloom) / double(t.spans), double(t.meta) / double(t.spans), (unsigned long long)total);
  std::printf("write: cut+flush %.2f CPU-s (%.2f s wall): %.2f M spans per CPU-second; peak RSS %.0f MB\n", flush_cpu,
              flush_wall, double(t.spans) / flush_cpu / 1e6, PeakRssMb());
  return 0;
}

std::vector<model::TraceId> ReadIds(const std::string& dir) {
  std::ifstream in(dir + "/trace_ids.bin", std::ios::binary);
  std::vector<model::TraceId> out;
  char buf[16];
  while (in.read(buf, 16)) out.push_back(*model::TraceId::FromBytes(std::string_view(buf, 16)));
  if (out.empty()) Die("no trace ids: run write first");
  return out;
}

// Evicts every file under `dir` from the page cache (clean pages; no root needed).
void DropPageCache(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

std::string Percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * double(ms.size())))]; };
  char buf[128];
  std::snprintf(buf, sizeof(buf), "p50 %.3f ms, p99 %.3f ms, max %.3f ms (n=%zu)", at(0.5), at(0.99), ms.back(),
                ms.size());
  return buf;
}

int Lookup(const std::string& dir, size_t lookups, size_t cold) {
  auto store = Check(io::NewLocalStore(dir + "/blocks"), "store");
  std::vector<model::TraceId> ids = ReadIds(dir);
  std::mt19937_64 rng(7);
  std::vector<model::TraceId> existing, absent;
  for (size_t i = 0; i < lookups; ++i) {
    existing.push_back(ids[rng() % ids.size()]);
    std::string b(16, '\0');
    for (char& c : b) c = static_cast<char>(rng());
    absent.push_back(*model::TraceId::FromBytes(b));
  }
  BlockTotals t = Totals(store.get());
  std::printf("lookup: %llu blocks (max level %llu), %llu spans\n", (unsigned long long)t.blocks,
              (unsigned long long)t.max_level, (unsigned long long)t.spans);
  auto run = [&](storage::Blocklist& bl, const model::TraceId& id, bool want) {
    uint64_t t0 = MonotonicNanos();
    auto got = Check(bl.FindTrace(model::kDefaultTenant, id, 0, 0), "find");
    double ms = static_cast<double>(MonotonicNanos() - t0) / 1e6;
    if (got->empty() == want) Die("trace " + id.Hex() + (want ? " not found" : " found but absent"));
    return ms;
  };
  // Warm: one reader whose index and bloom caches, and the page cache, hold everything.
  {
    storage::Blocklist bl(store.get());
    Check(bl.Poll(), "poll");
    for (const auto& id : existing) run(bl, id, true);
    for (const auto& id : absent) run(bl, id, false);
    std::vector<double> e, a;
    double c0 = CpuSeconds();
    for (const auto& id : existing) e.push_back(run(bl, id, true));
    double ce = CpuSeconds() - c0;
    c0 = CpuSeconds();
    for (const auto& id : absent) a.push_back(run(bl, id, false));
    double ca = CpuSeconds() - c0;
    std::printf("lookup warm, existing: %s; %.3f CPU-ms each\n", Percentiles(e).c_str(), ce * 1e3 / double(e.size()));
    std::printf("lookup warm, absent:   %s; %.3f CPU-ms each\n", Percentiles(a).c_str(), ca * 1e3 / double(a.size()));
  }
  // Cold: a new reader (no index or bloom cached) and no block file in the page cache.
  std::vector<double> e, a;
  for (size_t i = 0; i < cold && i < lookups; ++i) {
    for (bool want : {true, false}) {
      storage::Blocklist bl(store.get());
      Check(bl.Poll(), "poll");
      DropPageCache(dir + "/blocks");
      (want ? e : a).push_back(run(bl, want ? existing[i] : absent[i], want));
    }
  }
  std::printf("lookup cold, existing: %s\n", Percentiles(e).c_str());
  std::printf("lookup cold, absent:   %s\n", Percentiles(a).c_str());
  return 0;
}

int Compact(const std::string& dir) {
  auto store = Check(io::NewLocalStore(dir + "/blocks"), "store");
  MetricsRegistry metrics;
  storage::CompactorOptions o;
  o.block_retention_seconds = 0;  // the corpus may be older than any retention
  storage::Compactor compactor(store.get(), o, nullptr, &metrics);
  BlockTotals before = Totals(store.get());
  const uint64_t now = NowUnixNanos() / 1000000000;
  for (int round = 1;; ++round) {
    double c0 = CpuSeconds();
    uint64_t w0 = MonotonicNanos();
    auto s = Check(compactor.RunOnce(now), "compact");
    if (s.jobs == 0) break;
    double cpu = CpuSeconds() - c0;
    std::printf("compact round %d: %llu jobs, %llu blocks → %llu, %llu → %llu spans (%llu traces combined), "
                "%.2f CPU-s (%.2f s wall): %.2f M spans per CPU-second; peak RSS so far %.0f MB\n",
                round, (unsigned long long)s.jobs, (unsigned long long)s.blocks_in, (unsigned long long)s.blocks_out,
                (unsigned long long)s.spans_in, (unsigned long long)s.spans_out, (unsigned long long)s.traces_combined,
                cpu, static_cast<double>(MonotonicNanos() - w0) / 1e9, double(s.spans_in) / cpu / 1e6, PeakRssMb());
  }
  BlockTotals after = Totals(store.get());
  std::printf("compact: %llu blocks → %llu (max level %llu); %.1f → %.1f B/span\n", (unsigned long long)before.blocks,
              (unsigned long long)after.blocks, (unsigned long long)after.max_level,
              double(before.data + before.index + before.bloom + before.meta) / double(before.spans),
              double(after.data + after.index + after.bloom + after.meta) / double(after.spans));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: storage_bench write|lookup|compact --dir DIR [options]");
  std::string cmd = argv[1];
  std::string dir = Arg(argc, argv, "--dir", "/tmp/vivace-storage-bench");
  if (cmd == "write") {
    return Write(dir, std::stoull(Arg(argc, argv, "--spans", "10000000")),
                 std::stoull(Arg(argc, argv, "--block-spans", "1000000")),
                 static_cast<uint32_t>(std::stoul(Arg(argc, argv, "--row-group-spans", "0"))));
  }
  if (cmd == "lookup") {
    return Lookup(dir, std::stoull(Arg(argc, argv, "--lookups", "2000")), std::stoull(Arg(argc, argv, "--cold", "200")));
  }
  if (cmd == "compact") return Compact(dir);
  Die("unknown command " + cmd);
}
