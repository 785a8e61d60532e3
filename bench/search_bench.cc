// make bench-search: TraceQL search over the blocks `bench/storage_bench.cc write` leaves in a
// directory (the load generator's default corpus). For each query class it prints the median
// latency over a few runs and the CPU time, and two rates: spans in the searched blocks per
// CPU-second (what a user waits on) and spans actually decoded per CPU-second (pruning aside).
// Usage: search_bench --dir DIR [--runs N] [--threads N] [--query Q]  (--query: only Q, for profiling)

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/memory_policy.h"
#include "blocks/block.h"
#include "blocks/block_fetcher.h"
#include "io/object_store.h"
#include "model/tenant.h"
#include "traceql/search.h"

namespace {

using namespace vivace;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  SetMemoryPolicy();
  std::string dir;
  int runs = 3;
  uint32_t threads = 0;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    if (a == "--runs") runs = std::atoi(argv[i + 1]);
    if (a == "--threads") threads = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (a == "--query") only = argv[i + 1];
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: search_bench --dir DIR [--runs N] [--threads N] [--query Q]\n");
    return 2;
  }
  auto store = io::NewLocalStore(dir + "/blocks");
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  auto metas = blocks::ListBlocks(store->get(), model::kDefaultTenant);
  if (!metas.ok() || metas->empty()) {
    std::fprintf(stderr, "no blocks under %s/blocks\n", dir.c_str());
    return 1;
  }
  std::vector<std::shared_ptr<blocks::BlockReader>> readers;
  std::vector<std::unique_ptr<blocks::BlockFetcher>> fetchers;
  std::vector<traceql::FetchSource> sources;
  uint64_t spans = 0;
  for (const blocks::BlockMeta& m : *metas) {
    readers.push_back(std::make_shared<blocks::BlockReader>(store->get(), m));
    bool first = true;
    for (auto& job : blocks::BlockJobs(readers.back())) {
      fetchers.push_back(std::move(job));
      sources.push_back({fetchers.back().get(), m.start_unix_nano, m.end_unix_nano, first ? m.total_bytes() : 0,
                         first ? 1u : 0u});
      first = false;
    }
    spans += m.total_spans;
  }
  std::printf("%zu blocks, %llu spans\n", metas->size(), static_cast<unsigned long long>(spans));
  struct Class {
    const char* name;
    const char* query;
  };
  const Class classes[] = {
      {"frequent attribute", "{ span.http.request.method = \"GET\" }"},
      // On 8 % of the spans (database calls), the value on a third of those.
      {"rare attribute", "{ span.db.system = \"redis\" }"},
      // Two conditions on one span that both exist everywhere but never together: every row
      // group's columns are evaluated, nothing is found.
      {"2 conditions, none", "{ span.db.system = \"redis\" && span.http.response.status_code = 500 }"},
      {"value nowhere", "{ span.http.request.method = \"NO-SUCH-METHOD\" }"},
      {"status = error", "{ status = error }"},
      {"regex", "{ resource.service.name =~ \"check.*\" }"},
      {"duration range", "{ duration > 100ms && duration < 120ms }"},
      {"descendant", "{ resource.service.name = \"frontend\" } >> { status = error }"},
      {"sibling", "{ kind = client } ~ { kind = client }"},
      {"count() > 5", "{ status = error } | count() > 5"},
      {"by + avg", "{ } | by(resource.service.name) | avg(duration) > 100ms"},
  };
  std::printf("%-20s %10s %10s %9s %16s %16s %8s\n", "class", "p50 ms", "cpu ms", "traces", "spans/cpu-s",
              "decoded/cpu-s", "limit");
  std::vector<Class> run(std::begin(classes), std::end(classes));
  if (!only.empty()) run = {{"query", only.c_str()}};
  for (const Class& c : run) {
    std::vector<double> wall;
    double cpu_total = 0;
    size_t found = 0;
    uint64_t decoded = 0;
    for (int r = 0; r < runs; ++r) {
      traceql::SearchOptions o;
      o.limit = 20;
      o.threads = threads;
      double c0 = CpuSeconds();
      auto t0 = std::chrono::steady_clock::now();
      auto res = traceql::Search(c.query, sources, o);
      auto t1 = std::chrono::steady_clock::now();
      cpu_total += CpuSeconds() - c0;
      if (!res.ok()) {
        std::fprintf(stderr, "%s: %s\n", c.query, res.status().ToString().c_str());
        return 1;
      }
      wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      found = res->traces.size();
      decoded = res->metrics.inspected_spans;
    }
    std::sort(wall.begin(), wall.end());
    double cpu = cpu_total / runs;
    std::printf("%-20s %10.1f %10.1f %9zu %16.3g %16.3g %8d\n", c.name, wall[wall.size() / 2], cpu * 1000, found,
                cpu > 0 ? static_cast<double>(spans) / cpu : 0, cpu > 0 ? static_cast<double>(decoded) / cpu : 0, 20);
  }
  return 0;
}
