#include "blocks/block_fetcher.h"

namespace vivace::blocks {

Result<scan::FetchStats> BlockFetcher::Fetch(const scan::FetchRequest& req, const scan::TraceVisitor& visit) {
  scan::FetchStats stats;
  const BlockMeta& meta = reader_->meta();
  if ((req.start_unix_nano != 0 && meta.end_unix_nano < req.start_unix_nano) ||
      (req.end_unix_nano != 0 && meta.start_unix_nano > req.end_unix_nano)) {
    return stats;
  }
  VV_ASSIGN_OR_RETURN(std::vector<RowGroupEntry> index, reader_->Index());
  stats.row_groups = index.size();
  for (size_t i = 0; i < index.size(); ++i) {
    const RowGroupEntry& e = index[i];
    if ((req.start_unix_nano != 0 && e.end_unix_nano < req.start_unix_nano) ||
        (req.end_unix_nano != 0 && e.start_unix_nano > req.end_unix_nano)) {
      ++stats.row_groups_pruned;
      continue;
    }
    VV_ASSIGN_OR_RETURN(RowGroup g, reader_->ReadRowGroup(i));
    stats.inspected_bytes += e.length;
    stats.inspected_spans += g.spans.size();
    for (const TraceEntry& t : g.traces) {
      ++stats.inspected_traces;
      scan::TraceView v;
      v.id = t.id;
      v.batch = &g.spans;
      v.first_span = t.first_span;
      v.span_count = t.span_count;
      v.nested = g.nested.data();
      v.start_unix_nano = t.start_unix_nano;
      v.end_unix_nano = t.end_unix_nano;
      v.root_service = t.root_service;
      v.root_name = t.root_name;
      v.services = std::span<const scan::ServiceStat>(g.services.data() + t.first_service, t.service_count);
      if (!visit(v)) return stats;
    }
  }
  return stats;
}

}  // namespace vivace::blocks
