#pragma once
// The allocator policy of the vivace process, shared with the benchmarks so that they measure
// what the server does.
//
// Requests and row groups are a few hundred KiB to a few MiB, decoded into buffers of similar
// size and freed right after. With glibc's defaults such blocks are mmap'ed and munmap'ed each
// time, so every request pays page faults and page zeroing for its buffers (a third of the
// server's kernel time in the ingest benchmark, a quarter of a search's). Keep blocks up to
// 32 MiB in the heap and trim it only when 64 MiB are free at its top.

#include <malloc.h>

namespace vivace {

inline void SetMemoryPolicy() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace vivace
