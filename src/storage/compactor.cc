#include "storage/compactor.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <tuple>

#include "base/clock.h"
#include "base/logging.h"

namespace vivace::storage {
namespace {

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

uint64_t EndSeconds(const blocks::BlockMeta& m) { return m.end_unix_nano / kNanosPerSecond; }

/// One input of a merge: its row groups are read one at a time, its traces visited in order.
struct MergeInput {
  std::unique_ptr<blocks::BlockReader> reader;
  std::vector<blocks::RowGroupEntry> index;
  size_t next_group = 0;
  blocks::RowGroup group;
  size_t trace = 0;  // into group.traces

  bool done() const { return trace >= group.traces.size(); }
  const model::TraceId& id() const { return group.traces[trace].id; }

  /// Moves to the next trace, reading the next row group when this one is used up.
  Status Advance() {
    ++trace;
    return Fill();
  }
  Status Fill() {
    while (trace >= group.traces.size() && next_group < index.size()) {
      group = blocks::RowGroup();  // release the old group before decoding the next
      VV_ASSIGN_OR_RETURN(group, reader->ReadRowGroup(next_group++));
      trace = 0;
    }
    return Status::OK();
  }
};

}  // namespace

CompactionStats& CompactionStats::operator+=(const CompactionStats& o) {
  jobs += o.jobs;
  blocks_in += o.blocks_in;
  blocks_out += o.blocks_out;
  spans_in += o.spans_in;
  spans_out += o.spans_out;
  traces_out += o.traces_out;
  traces_combined += o.traces_combined;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  marked_compacted += o.marked_compacted;
  expired += o.expired;
  deleted += o.deleted;
  orphans_deleted += o.orphans_deleted;
  return *this;
}

Compactor::Compactor(io::ObjectStore* store, CompactorOptions opts, Blocklist* blocklist, MetricsRegistry* metrics)
    : store_(store), opts_(std::move(opts)), blocklist_(blocklist), metrics_(metrics) {
  // Tempo's metric names, so that its compactor dashboards and alerts keep working.
  errors_ = metrics->GetCounter("tempodb_compaction_errors_total", "Compaction runs that failed.");
  retention_marked_ = metrics->GetCounter("tempodb_retention_marked_for_deletion_total",
                                          "Blocks marked for deletion because they outlived block_retention.");
  retention_deleted_ = metrics->GetCounter("tempodb_retention_deleted_total",
                                           "Compacted or expired blocks whose objects were deleted.");
}

uint64_t Compactor::RetentionFor(std::string_view tenant) const {
  auto it = opts_.tenant_block_retention_seconds.find(tenant);
  return it != opts_.tenant_block_retention_seconds.end() ? it->second : opts_.block_retention_seconds;
}

std::vector<std::vector<blocks::BlockMeta>> Compactor::Plan(std::vector<blocks::BlockMeta> live,
                                                            const CompactorOptions& opts, uint64_t now) {
  // (outside the active window, level or 0, window) → blocks. Active groups come first, lower
  // levels first, older windows first.
  using Key = std::tuple<bool, uint32_t, uint64_t>;
  std::map<Key, std::vector<blocks::BlockMeta>> groups;
  const uint64_t window = std::max<uint64_t>(1, opts.compaction_window_seconds);
  for (blocks::BlockMeta& m : live) {
    uint64_t end = EndSeconds(m);
    bool active = end + opts.active_window_seconds >= now;
    groups[Key{!active, active ? m.compaction_level : 0, end / window}].push_back(std::move(m));
  }
  std::vector<std::vector<blocks::BlockMeta>> jobs;
  const size_t min_inputs = std::max<uint32_t>(2, opts.min_input_blocks);
  const size_t max_inputs = std::max<size_t>(min_inputs, opts.max_input_blocks);
  for (auto& [key, blocks] : groups) {
    std::sort(blocks.begin(), blocks.end(), [](const blocks::BlockMeta& a, const blocks::BlockMeta& b) {
      return a.total_bytes() != b.total_bytes() ? a.total_bytes() < b.total_bytes() : a.block_id < b.block_id;
    });
    std::vector<blocks::BlockMeta> job;
    uint64_t bytes = 0, traces = 0;
    for (blocks::BlockMeta& m : blocks) {
      bool fits = job.size() < max_inputs && bytes + m.total_bytes() <= opts.max_block_bytes &&
                  traces + m.total_traces <= opts.max_compaction_objects;
      if (!fits) {
        // Blocks are sorted by size: if this one does not fit next to a too-small job, no
        // later one does either.
        if (job.size() < min_inputs) break;
        jobs.push_back(std::move(job));
        job.clear();
        bytes = traces = 0;
        if (m.total_bytes() > opts.max_block_bytes || m.total_traces > opts.max_compaction_objects) break;
      }
      bytes += m.total_bytes();
      traces += m.total_traces;
      job.push_back(std::move(m));
    }
    if (job.size() >= min_inputs) jobs.push_back(std::move(job));
  }
  return jobs;
}

Result<blocks::BlockMeta> Compactor::Merge(std::span<const blocks::BlockMeta> metas, CompactionStats* stats) {
  if (metas.empty()) return InvalidArgument("compaction without inputs");
  const std::string& tenant = metas[0].tenant;
  blocks::BlockWriterOptions wopts = opts_.block;
  wopts.compaction_level = 0;
  wopts.expected_traces = 0;
  wopts.compacted_from.clear();
  std::vector<MergeInput> inputs(metas.size());
  // Older blocks first: where a span id repeats, the first copy written is kept (as in reads).
  std::vector<size_t> order(metas.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(metas[a].created_unix_seconds, metas[a].block_id) <
           std::tie(metas[b].created_unix_seconds, metas[b].block_id);
  });
  CompactionStats s;
  for (size_t k = 0; k < order.size(); ++k) {
    const blocks::BlockMeta& m = metas[order[k]];
    if (m.tenant != tenant) return InvalidArgument("compaction inputs of different tenants");
    wopts.compaction_level = std::max(wopts.compaction_level, m.compaction_level + 1);
    wopts.expected_traces += m.total_traces;
    wopts.compacted_from.push_back(m.block_id);
    s.spans_in += m.total_spans;
    s.bytes_in += m.total_bytes();
    MergeInput& in = inputs[k];
    in.reader = std::make_unique<blocks::BlockReader>(store_, m, opts_.read_limits);
    VV_ASSIGN_OR_RETURN(in.index, in.reader->Index());
    VV_RETURN_IF_ERROR(in.Fill());
  }
  const uint64_t start = MonotonicNanos();
  blocks::BlockWriter writer(store_, tenant, wopts);
  std::vector<uint32_t> idx;
  std::vector<MergeInput*> parts;
  for (;;) {
    parts.clear();
    for (MergeInput& in : inputs) {
      if (in.done()) continue;
      if (!parts.empty() && parts[0]->id() < in.id()) continue;
      if (!parts.empty() && in.id() < parts[0]->id()) parts.clear();
      parts.push_back(&in);
    }
    if (parts.empty()) break;
    if (parts.size() == 1) {
      const blocks::TraceEntry& t = parts[0]->group.traces[parts[0]->trace];
      idx.resize(t.span_count);
      std::iota(idx.begin(), idx.end(), t.first_span);
      VV_RETURN_IF_ERROR(writer.AddTrace(parts[0]->group.spans, idx));
    } else {
      // A trace split across blocks: only its parts are copied, never whole blocks.
      model::SpanBatch merged;
      for (MergeInput* p : parts) blocks::CopyTrace(p->group, p->trace, &merged);
      idx.resize(merged.size());
      std::iota(idx.begin(), idx.end(), 0);
      VV_RETURN_IF_ERROR(writer.AddTrace(merged, idx));  // drops repeated span ids, first wins
      ++s.traces_combined;
    }
    for (MergeInput* p : parts) VV_RETURN_IF_ERROR(p->Advance());
  }
  VV_ASSIGN_OR_RETURN(blocks::BlockMeta out, writer.Finish());
  s.jobs = 1;
  s.blocks_in = metas.size();
  s.blocks_out = 1;
  s.spans_out = out.total_spans;
  s.traces_out = out.total_traces;
  s.bytes_out = out.total_bytes();
  log::Info("compacted {} blocks of {} into {} (level {}): {} → {} spans, {} traces ({} combined), {} → {} bytes in {} ms",
            metas.size(), tenant, out.block_id, out.compaction_level, s.spans_in, s.spans_out, s.traces_out,
            s.traces_combined, s.bytes_in, s.bytes_out, (MonotonicNanos() - start) / 1000000);
  const Labels level = {{"level", std::to_string(out.compaction_level)}};
  metrics_->GetCounter("tempodb_compaction_blocks_total", "Blocks compacted (inputs).", level)->Add(s.blocks_in);
  metrics_->GetCounter("tempodb_compaction_objects_written_total", "Traces written by compaction.", level)
      ->Add(s.traces_out);
  metrics_->GetCounter("tempodb_compaction_bytes_written_total", "Bytes written by compaction.", level)
      ->Add(s.bytes_out);
  metrics_->GetCounter("tempodb_compaction_objects_combined_total",
                       "Traces assembled from parts in several input blocks.", level)
      ->Add(s.traces_combined);
  metrics_->GetCounter("vivace_compaction_duplicate_spans_dropped_total",
                       "Spans dropped by compaction because an input already held their span id.")
      ->Add(s.spans_in - s.spans_out);
  if (stats) *stats += s;
  return out;
}

Status Compactor::MarkCompacted(const blocks::BlockMeta& meta, uint64_t now) {
  blocks::BlockMeta marked = meta;
  marked.compacted_unix_seconds = now;
  VV_RETURN_IF_ERROR(store_->Put(meta.key(blocks::kCompactedMetaName), blocks::EncodeMetaJson(marked)));
  VV_RETURN_IF_ERROR(store_->Delete(meta.key(blocks::kMetaName)));
  if (blocklist_) blocklist_->Remove(meta.tenant, meta.block_id);
  return Status::OK();
}

Status Compactor::DeleteBlock(std::string_view tenant, std::string_view block_id, bool has_compacted_meta) {
  const std::string prefix = std::string(tenant) + "/" + std::string(block_id) + "/";
  VV_ASSIGN_OR_RETURN(auto objects, store_->List(prefix));
  // The compacted meta goes last, so that an interrupted deletion is found and finished.
  for (const io::ObjectInfo& o : objects) {
    if (o.key.size() - prefix.size() == blocks::kCompactedMetaName.size() && o.key.ends_with(blocks::kCompactedMetaName)) {
      continue;
    }
    VV_RETURN_IF_ERROR(store_->Delete(o.key));
  }
  if (has_compacted_meta) VV_RETURN_IF_ERROR(store_->Delete(prefix + std::string(blocks::kCompactedMetaName)));
  return Status::OK();
}

Status Compactor::RunTenant(const std::string& tenant, uint64_t now, CompactionStats* stats) {
  VV_ASSIGN_OR_RETURN(blocks::TenantListing listing, blocks::ListTenant(store_, tenant));
  for (const auto& [key, status] : listing.corrupt) {
    log::Error("compactor: leaving {} alone: {}", key, status.ToString());
  }
  // 1. Inputs of a compaction interrupted after its output was committed.
  for (const blocks::BlockMeta& m : listing.superseded) {
    VV_RETURN_IF_ERROR(MarkCompacted(m, now));
    ++stats->marked_compacted;
  }
  // 2. Retention.
  const uint64_t retention = RetentionFor(tenant);
  std::vector<blocks::BlockMeta> live;
  for (blocks::BlockMeta& m : listing.live) {
    if (retention > 0 && EndSeconds(m) + retention < now) {
      VV_RETURN_IF_ERROR(MarkCompacted(m, now));
      retention_marked_->Add();
      ++stats->expired;
      continue;
    }
    live.push_back(std::move(m));
  }
  // 3. Compacted blocks past their grace period; orphans seen long enough.
  for (const blocks::BlockMeta& m : listing.compacted) {
    if (m.compacted_unix_seconds + opts_.compacted_block_retention_seconds > now) continue;
    VV_RETURN_IF_ERROR(DeleteBlock(tenant, m.block_id, true));
    retention_deleted_->Add();
    ++stats->deleted;
  }
  {
    const std::string tenant_prefix = tenant + "/";
    std::set<std::string> current;
    for (const std::string& id : listing.orphans) current.insert(tenant_prefix + id);
    std::erase_if(orphans_seen_, [&](const auto& kv) {
      return kv.first.starts_with(tenant_prefix) && !current.count(kv.first);
    });
    for (const std::string& id : listing.orphans) {
      uint64_t first = orphans_seen_.try_emplace(tenant_prefix + id, now).first->second;
      if (first + opts_.compacted_block_retention_seconds > now) continue;
      log::Warn("compactor: deleting orphan objects of {}/{} (no meta for {} s)", tenant, id, now - first);
      VV_RETURN_IF_ERROR(DeleteBlock(tenant, id, false));
      orphans_seen_.erase(tenant_prefix + id);
      ++stats->orphans_deleted;
    }
  }
  // 4. Compaction.
  for (const auto& job : Plan(std::move(live), opts_, now)) {
    VV_ASSIGN_OR_RETURN(blocks::BlockMeta out, Merge(job, stats));
    if (blocklist_) blocklist_->Add(out);
    for (const blocks::BlockMeta& in : job) {
      VV_RETURN_IF_ERROR(MarkCompacted(in, now));
      ++stats->marked_compacted;
    }
  }
  return Status::OK();
}

Result<CompactionStats> Compactor::RunOnce(uint64_t now) {
  MutexLock l(mu_);
  VV_ASSIGN_OR_RETURN(auto objects, store_->List(""));
  std::set<std::string> tenants;
  for (const io::ObjectInfo& o : objects) {
    size_t slash = o.key.find('/');
    if (slash != std::string::npos) tenants.insert(o.key.substr(0, slash));
  }
  CompactionStats stats;
  Status first;
  for (const std::string& tenant : tenants) {
    Status s = RunTenant(tenant, now, &stats);
    if (!s.ok()) {
      errors_->Add();
      log::Error("compactor: tenant {}: {}", tenant, s.ToString());
      if (first.ok()) first = s.WithContext("tenant " + tenant);
    }
  }
  if (!first.ok()) return first;
  return stats;
}

}  // namespace vivace::storage
