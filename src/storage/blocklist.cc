#include "storage/blocklist.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "base/logging.h"

namespace vivace::storage {

Status Blocklist::Poll() {
  VV_ASSIGN_OR_RETURN(auto objects, store_->List(""));
  std::set<std::string> tenants;
  for (const io::ObjectInfo& o : objects) {
    size_t slash = o.key.find('/');
    if (slash != std::string::npos) tenants.insert(o.key.substr(0, slash));
  }
  std::map<std::string, std::vector<blocks::BlockMeta>> found;
  for (const std::string& tenant : tenants) {
    VV_ASSIGN_OR_RETURN(blocks::TenantListing listing, blocks::ListTenant(store_, tenant));
    // One unreadable meta must not hide every other block: leave that block out, loudly.
    for (const auto& [key, status] : listing.corrupt) log::Error("blocklist: skipping {}: {}", key, status.ToString());
    found[tenant] = std::move(listing.live);
  }
  MutexLock l(mu_);
  for (auto& [tenant, readers] : tenants_) {
    auto f = found.find(tenant);
    std::set<std::string> present;
    if (f != found.end()) {
      for (const auto& m : f->second) present.insert(m.block_id);
    }
    std::erase_if(readers, [&](const auto& kv) { return !present.count(kv.first); });
  }
  for (auto& [tenant, metas] : found) {
    auto& readers = tenants_[tenant];
    for (auto& m : metas) {
      if (!readers.count(m.block_id)) {
        std::string id = m.block_id;
        readers.emplace(std::move(id), std::make_shared<blocks::BlockReader>(store_, std::move(m), blocks::ReadLimits{}, cache_));
      }
    }
  }
  return Status::OK();
}

void Blocklist::Add(const blocks::BlockMeta& meta) {
  MutexLock l(mu_);
  tenants_[meta.tenant].try_emplace(meta.block_id, std::make_shared<blocks::BlockReader>(store_, meta, blocks::ReadLimits{}, cache_));
}

void Blocklist::Remove(std::string_view tenant, std::string_view block_id) {
  MutexLock l(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;
  auto b = it->second.find(block_id);
  if (b != it->second.end()) it->second.erase(b);
}

std::vector<blocks::BlockMeta> Blocklist::Blocks(std::string_view tenant) const {
  std::vector<blocks::BlockMeta> out;
  MutexLock l(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return out;
  for (const auto& [id, r] : it->second) out.push_back(r->meta());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start_unix_nano < b.start_unix_nano; });
  return out;
}

std::vector<std::string> Blocklist::Tenants() const {
  std::vector<std::string> out;
  MutexLock l(mu_);
  for (const auto& [t, r] : tenants_) out.push_back(t);
  return out;
}

Result<std::unique_ptr<model::SpanBatch>> Blocklist::FindTrace(std::string_view tenant, const model::TraceId& id,
                                                               uint64_t start_s, uint64_t end_s) {
  std::vector<std::shared_ptr<blocks::BlockReader>> readers;
  {
    MutexLock l(mu_);
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) {
      for (const auto& [bid, r] : it->second) {
        const blocks::BlockMeta& m = r->meta();
        if (start_s != 0 && m.end_unix_nano < start_s * 1000000000ull) continue;
        if (end_s != 0 && m.start_unix_nano > end_s * 1000000000ull + 999999999ull) continue;
        readers.push_back(r);
      }
    }
  }
  // Older blocks first, so that the first copy of a duplicated span is the earliest written.
  std::sort(readers.begin(), readers.end(), [](const auto& a, const auto& b) {
    return a->meta().created_unix_seconds != b->meta().created_unix_seconds
               ? a->meta().created_unix_seconds < b->meta().created_unix_seconds
               : a->meta().block_id < b->meta().block_id;
  });
  auto out = std::make_unique<model::SpanBatch>();
  out->tenant = std::string(tenant);
  model::SpanCopier copier(out.get());
  std::unordered_set<model::SpanId, model::IdHash> seen;
  for (const auto& r : readers) {
    model::SpanBatch found;
    Status s = r->FindTrace(id, &found);
    // A block removed since the last poll (compacted or expired by another process) holds
    // nothing we lack: its replacement is in the list, or will be at the next poll.
    if (s.code() == StatusCode::kNotFound) continue;
    VV_RETURN_IF_ERROR(s);
    if (found.empty()) continue;
    copier.SetSource(&found);
    for (size_t i = 0; i < found.size(); ++i) {
      if (seen.insert(found.span_id[i]).second) copier.CopySpan(i);
    }
  }
  return out;
}

}  // namespace vivace::storage

namespace vivace::storage {

std::vector<std::shared_ptr<blocks::BlockReader>> Blocklist::Readers(std::string_view tenant) const {
  std::vector<std::shared_ptr<blocks::BlockReader>> out;
  MutexLock l(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return out;
  for (const auto& [id, r] : it->second) out.push_back(r);
  return out;
}

}  // namespace vivace::storage
