#include "storage/block_tools.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <ostream>
#include <set>

#include "base/clock.h"
#include "otlp/json_encode.h"
#include "storage/blocklist.h"

namespace vivace::storage {
namespace {

// The data object starts with the 8-byte magic "VVBLKD01", which the first row group follows
// (docs/formats/block_v1.md, "data").
constexpr uint64_t kDataMagicBytes = 8;

// "812 B", "12.3 KiB", "4.0 MiB".
std::string HumanBytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t unit = 0;
  for (v /= 1024; v >= 1024 && unit + 1 < std::size(kUnits); v /= 1024) ++unit;
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string Percent(uint64_t part, uint64_t whole) {
  return fmt::format(
      "{:.1f}%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string PerSpan(uint64_t bytes, uint64_t spans) {
  return spans == 0
             ? "-"
             : fmt::format("{:.1f}", static_cast<double>(bytes) / static_cast<double>(spans));
}

template <typename T>
void AddDistinct(std::vector<T>* v, T x) {
  if (std::find(v->begin(), v->end(), x) == v->end()) v->push_back(x);
}

const std::string& Identity(const std::string& s) { return s; }

template <typename T, typename Name>
std::string Join(const std::vector<T>& items, std::string_view sep, Name name) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += name(items[i]);
  }
  return out;
}

// A text table: cells padded to their column's width, two spaces apart, no trailing spaces.
class Table {
 public:
  // `align` has one letter per column: 'l' (text) or 'r' (numbers).
  Table(std::vector<std::string> header, std::string align) : align_(std::move(align)) {
    rows_.push_back(std::move(header));
  }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  void Render(std::ostream& out) const {
    std::vector<size_t> width(align_.size(), 0);
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
        width[c] = std::max(width[c], row[c].size());
      }
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
        if (c > 0) line += "  ";
        std::string pad(width[c] - row[c].size(), ' ');
        line += align_[c] == 'r' ? pad + row[c] : row[c] + pad;
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << '\n';
    }
  }

 private:
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

// The one block `block_id` of `tenant` (of any tenant if empty), with a usable meta.
Result<FoundBlock> FindOneBlock(io::ObjectStore* store, std::string_view tenant,
                                std::string_view block_id) {
  VV_ASSIGN_OR_RETURN(StoreListing found,
                      FindBlocks(store, {std::string(tenant), std::string(block_id)}));
  std::vector<FoundBlock>& blocks = found.blocks;
  if (blocks.empty()) {
    return NotFound(tenant.empty() ? fmt::format("no block {}", block_id)
                                   : fmt::format("no block {} in tenant {}", block_id, tenant));
  }
  if (blocks.size() > 1) {
    return InvalidArgument(
        fmt::format("block {} exists in tenants {}: name one", block_id,
                    Join(blocks, ", ", [](const FoundBlock& f) { return f.tenant; })));
  }
  if (!blocks[0].meta.ok()) return blocks[0].meta.status().WithContext("block " + blocks[0].name());
  return std::move(blocks[0]);
}

// Drops the "block <tenant>/<id>: " context BlockReader puts on its errors, for lines that
// already start with the block's name.
std::string_view WithoutBlockContext(std::string_view message, const std::string& name) {
  std::string prefix = "block " + name + ": ";
  if (message.substr(0, prefix.size()) == prefix) message.remove_prefix(prefix.size());
  return message;
}

// Checks BlockReader::Verify leaves out: the row groups tile the data object from the magic to
// the footer (no gap, no overlap), and the index and bloom objects have the sizes the meta says.
Status VerifyLayout(io::ObjectStore* store, blocks::BlockReader* reader) {
  const blocks::BlockMeta& meta = reader->meta();
  VV_ASSIGN_OR_RETURN(auto index, reader->Index());
  uint64_t next = kDataMagicBytes;
  for (size_t i = 0; i < index.size(); ++i) {
    if (index[i].offset != next) {
      return DataLoss(fmt::format("row group {} starts at byte {}, the previous one ends at {}", i,
                                  index[i].offset, next));
    }
    next += index[i].length;
  }
  if (next != meta.footer_offset) {
    return DataLoss(fmt::format("row groups end at byte {}, the footer starts at {}", next,
                                meta.footer_offset));
  }
  VV_ASSIGN_OR_RETURN(auto objects, store->List(meta.prefix()));
  std::set<std::string, std::less<>> shards;
  for (uint32_t s = 0; s < meta.bloom_shards; ++s) shards.insert(blocks::BloomShardName(s));
  uint64_t index_bytes = 0, bloom_bytes = 0;
  for (const io::ObjectInfo& o : objects) {
    std::string_view name = std::string_view(o.key).substr(meta.prefix().size());
    if (name == blocks::kIndexName) index_bytes = o.size;
    if (shards.count(name)) bloom_bytes += o.size;
  }
  if (index_bytes != meta.index_bytes) {
    return DataLoss(fmt::format("index is {} bytes, meta says {}", index_bytes, meta.index_bytes));
  }
  if (bloom_bytes != meta.bloom_bytes) {
    return DataLoss(
        fmt::format("bloom shards are {} bytes, meta says {}", bloom_bytes, meta.bloom_bytes));
  }
  return Status::OK();
}

bool IsCorruption(StatusCode code) {
  // NotFound: an object of the block is missing; InvalidArgument: a range past an object's end
  // (a truncated object).
  return code == StatusCode::kDataLoss || code == StatusCode::kNotFound ||
         code == StatusCode::kInvalidArgument;
}

std::string DedicatedName(const blocks::DedicatedColumn& d) {
  static constexpr const char* kKinds[] = {"empty",  "string", "bool",  "int",
                                           "double", "bytes",  "array", "kvlist"};
  auto k = static_cast<size_t>(d.kind);
  return fmt::format("{}.{} ({})",
                     d.owner == blocks::DedicatedColumn::Owner::kSpan ? "span" : "resource", d.key,
                     k < std::size(kKinds) ? kKinds[k] : "?");
}

void WriteMetaSummary(const blocks::BlockMeta& m, BlockState state, std::ostream& out) {
  Table t({"block", m.tenant + "/" + m.block_id}, "ll");
  std::string state_text(BlockStateName(state));
  if (!m.compacted_from.empty()) {
    state_text += ", compacted from " + Join(m.compacted_from, ", ", Identity);
  }
  if (m.compacted_unix_seconds != 0) {
    state_text += ", marked compacted " + Rfc3339Seconds(m.compacted_unix_seconds * 1000000000);
  }
  t.Add({"state", state_text});
  t.Add({"format",
         fmt::format("{} version {}, compression {}, compaction level {}, created {}",
                     blocks::kFormatName, m.format_version, blocks::CompressionName(m.compression),
                     m.compaction_level, Rfc3339Seconds(m.created_unix_seconds * 1000000000))});
  t.Add({"time", Rfc3339Seconds(m.start_unix_nano) + " .. " + Rfc3339Seconds(m.end_unix_nano)});
  t.Add({"traces", std::to_string(m.total_traces)});
  t.Add({"spans", fmt::format("{} ({} B/span in data + index + bloom)", m.total_spans,
                              PerSpan(m.total_bytes(), m.total_spans))});
  t.Add({"row groups", std::to_string(m.row_groups)});
  t.Add({"data", fmt::format("{} bytes (footer {} bytes at {})", m.data_bytes, m.footer_bytes,
                             m.footer_offset)});
  t.Add({"index", fmt::format("{} bytes", m.index_bytes)});
  t.Add({"bloom", fmt::format("{} bytes in {} shard(s), false-positive rate {}", m.bloom_bytes,
                              m.bloom_shards, m.bloom_false_positive_rate)});
  // One dedicated column per line: a block has up to 32.
  for (size_t i = 0; i < std::max<size_t>(m.dedicated.size(), 1); ++i) {
    t.Add(
        {i == 0 ? "dedicated" : "", m.dedicated.empty() ? "none" : DedicatedName(m.dedicated[i])});
  }
  t.Render(out);
}

void WriteColumns(const BlockLayout& layout, std::ostream& out) {
  const uint64_t data = layout.meta.data_bytes;
  std::vector<const ColumnStats*> sorted;
  for (const ColumnStats& c : layout.columns) sorted.push_back(&c);
  std::stable_sort(sorted.begin(), sorted.end(), [](const ColumnStats* a, const ColumnStats* b) {
    return a->stored_bytes > b->stored_bytes;
  });
  Table t({"COLUMN", "ENCODINGS", "COMPRESSION", "VALUES", "STORED", "RAW", "SHARE"}, "lllrrrr");
  uint64_t stored = 0, raw = 0;
  for (const ColumnStats* c : sorted) {
    t.Add({c->name, Join(c->encodings, "+", blocks::EncodingName),
           Join(c->compressions, "+", blocks::CompressionName), std::to_string(c->values),
           std::to_string(c->stored_bytes), std::to_string(c->raw_bytes),
           Percent(c->stored_bytes, data)});
    stored += c->stored_bytes;
    raw += c->raw_bytes;
  }
  uint64_t row_groups = stored + layout.row_group_header_bytes;
  uint64_t rest = data >= row_groups ? data - row_groups : 0;
  t.Add({"(row group headers)", "", "", "", std::to_string(layout.row_group_header_bytes), "",
         Percent(layout.row_group_header_bytes, data)});
  t.Add({"(magic, footer, trailer)", "", "", "", std::to_string(rest), "", Percent(rest, data)});
  t.Add({"total", "", "", "", std::to_string(data), std::to_string(raw),
         Percent(row_groups + rest, data)});
  t.Render(out);
}

void WriteRowGroups(const BlockLayout& layout, std::ostream& out) {
  Table t({"ROW GROUP", "MIN TRACE ID", "MAX TRACE ID", "TRACES", "SPANS", "BYTES", "START", "END"},
          "rllrrrll");
  for (size_t i = 0; i < layout.row_groups.size(); ++i) {
    const blocks::RowGroupEntry& e = layout.row_groups[i];
    t.Add({std::to_string(i), e.min_id.Hex(), e.max_id.Hex(), std::to_string(e.traces),
           std::to_string(e.spans), std::to_string(e.length), Rfc3339Seconds(e.start_unix_nano),
           Rfc3339Seconds(e.end_unix_nano)});
  }
  t.Render(out);
}

}  // namespace

std::string_view BlockStateName(BlockState state) {
  switch (state) {
    case BlockState::kLive:
      return "live";
    case BlockState::kSuperseded:
      return "superseded";
    case BlockState::kCompacted:
      return "compacted";
  }
  return "?";
}

Result<StoreListing> FindBlocks(io::ObjectStore* store, const BlockSelector& selector) {
  std::set<std::string> tenants;
  if (!selector.tenant.empty()) {
    tenants.insert(selector.tenant);
  } else {
    VV_ASSIGN_OR_RETURN(auto objects, store->List(""));
    for (const io::ObjectInfo& o : objects) {
      size_t slash = o.key.find('/');
      if (slash != std::string::npos) tenants.insert(o.key.substr(0, slash));
    }
  }
  auto wanted = [&](std::string_view id) {
    return selector.block_id.empty() || id == selector.block_id;
  };
  StoreListing out;
  for (const std::string& tenant : tenants) {
    VV_ASSIGN_OR_RETURN(blocks::TenantListing listing, blocks::ListTenant(store, tenant));
    auto add = [&](std::vector<blocks::BlockMeta>& metas, BlockState state) {
      for (blocks::BlockMeta& m : metas) {
        if (!wanted(m.block_id)) continue;
        std::string id = m.block_id;
        out.blocks.push_back(FoundBlock{tenant, std::move(id), state, std::move(m)});
      }
    };
    add(listing.live, BlockState::kLive);
    add(listing.superseded, BlockState::kSuperseded);
    add(listing.compacted, BlockState::kCompacted);
    for (auto& [key, status] : listing.corrupt) {
      // "<tenant>/<block id>/<meta name>"
      std::string_view rest = std::string_view(key).substr(tenant.size() + 1);
      size_t slash = rest.find('/');
      std::string id(rest.substr(0, slash));
      if (!wanted(id)) continue;
      BlockState state =
          slash != std::string_view::npos && rest.substr(slash + 1) == blocks::kCompactedMetaName
              ? BlockState::kCompacted
              : BlockState::kLive;
      out.blocks.push_back(FoundBlock{tenant, std::move(id), state, std::move(status)});
    }
    for (const std::string& id : listing.orphans) {
      if (wanted(id)) out.orphans.push_back(tenant + "/" + id);
    }
  }
  auto start = [](const FoundBlock& f) { return f.meta.ok() ? f.meta->start_unix_nano : 0; };
  std::sort(out.blocks.begin(), out.blocks.end(), [&](const FoundBlock& x, const FoundBlock& y) {
    if (x.tenant != y.tenant) return x.tenant < y.tenant;
    if (start(x) != start(y)) return start(x) < start(y);
    return x.block_id < y.block_id;
  });
  return out;
}

Result<BlockLayout> ReadBlockLayout(io::ObjectStore* store, const blocks::BlockMeta& meta) {
  BlockLayout layout;
  layout.meta = meta;
  blocks::BlockReader reader(store, meta);
  VV_ASSIGN_OR_RETURN(layout.row_groups, reader.Index());
  std::vector<std::string> names = blocks::ColumnNames(meta.dedicated);
  for (std::string& name : names) layout.columns.push_back(ColumnStats{.name = std::move(name)});
  const std::string context = "block " + meta.tenant + "/" + meta.block_id;
  for (size_t i = 0; i < layout.row_groups.size(); ++i) {
    const blocks::RowGroupEntry& e = layout.row_groups[i];
    const std::string where = fmt::format("{}: row group {}", context, i);
    auto bytes = store->GetRange(meta.key(blocks::kDataName), e.offset, e.length);
    if (!bytes.ok()) return bytes.status().WithContext(where);
    auto parsed = blocks::ParseRowGroupLayout(*bytes, layout.columns.size());
    if (!parsed.ok()) return parsed.status().WithContext(where);
    uint64_t chunk_bytes = 0;
    for (size_t c = 0; c < layout.columns.size(); ++c) {
      auto info = blocks::InspectChunk(parsed->chunks[c]);
      if (!info.ok()) {
        return info.status().WithContext(where + ", column " + layout.columns[c].name);
      }
      ColumnStats& col = layout.columns[c];
      for (blocks::Encoding enc : info->encodings) AddDistinct(&col.encodings, enc);
      AddDistinct(&col.compressions, info->compression);
      col.values += info->values;
      col.stored_bytes += info->stored_bytes;
      col.raw_bytes += info->uncompressed_bytes;
      chunk_bytes += parsed->chunks[c].size();
    }
    layout.row_group_header_bytes += e.length - chunk_bytes;
  }
  return layout;
}

Status ListBlocksReport(io::ObjectStore* store, std::string_view tenant, std::ostream& out) {
  VV_ASSIGN_OR_RETURN(StoreListing found, FindBlocks(store, {std::string(tenant), ""}));
  Table t({"TENANT", "BLOCK", "STATE", "LEVEL", "START", "END", "TRACES", "SPANS", "ROW GROUPS",
           "DATA", "INDEX", "BLOOM", "B/SPAN"},
          "lllrllrrrrrrr");
  blocks::BlockMeta total;  // of the live blocks
  total.start_unix_nano = UINT64_MAX;
  size_t rows = 0, live = 0;
  std::vector<const FoundBlock*> unusable;
  for (const FoundBlock& f : found.blocks) {
    if (!f.meta.ok()) {
      unusable.push_back(&f);
      continue;
    }
    const blocks::BlockMeta& m = *f.meta;
    t.Add({m.tenant, m.block_id, std::string(BlockStateName(f.state)),
           std::to_string(m.compaction_level), Rfc3339Seconds(m.start_unix_nano), Rfc3339Seconds(m.end_unix_nano),
           std::to_string(m.total_traces), std::to_string(m.total_spans),
           std::to_string(m.row_groups), HumanBytes(m.data_bytes), HumanBytes(m.index_bytes),
           HumanBytes(m.bloom_bytes), PerSpan(m.total_bytes(), m.total_spans)});
    ++rows;
    if (f.state != BlockState::kLive) continue;
    ++live;
    total.start_unix_nano = std::min(total.start_unix_nano, m.start_unix_nano);
    total.end_unix_nano = std::max(total.end_unix_nano, m.end_unix_nano);
    total.total_traces += m.total_traces;
    total.total_spans += m.total_spans;
    total.row_groups += m.row_groups;
    total.data_bytes += m.data_bytes;
    total.index_bytes += m.index_bytes;
    total.bloom_bytes += m.bloom_bytes;
  }
  if (rows == 0) {
    out << (tenant.empty() ? std::string("no blocks")
                           : fmt::format("no blocks in tenant {}", tenant))
        << '\n';
  } else {
    bool any = live > 0;
    t.Add({"total", fmt::format("{} live block{}", live, live == 1 ? "" : "s"), "", "",
           any ? Rfc3339Seconds(total.start_unix_nano) : "", any ? Rfc3339Seconds(total.end_unix_nano) : "",
           std::to_string(total.total_traces), std::to_string(total.total_spans),
           std::to_string(total.row_groups), HumanBytes(total.data_bytes),
           HumanBytes(total.index_bytes), HumanBytes(total.bloom_bytes),
           PerSpan(total.total_bytes(), total.total_spans)});
    t.Render(out);
  }
  if (!found.orphans.empty()) {
    out << fmt::format(
        "orphans (objects without a meta: a block being written, or abandoned): {}\n",
        Join(found.orphans, ", ", Identity));
  }
  if (unusable.empty()) return Status::OK();
  for (const FoundBlock* f : unusable) {
    out << (IsCorruption(f->meta.status().code()) ? "CORRUPT " : "ERROR ") << f->name() << ": "
        << f->meta.status().message() << '\n';
  }
  return DataLoss(fmt::format("unusable meta in {}",
                              Join(unusable, ", ", [](const FoundBlock* f) { return f->name(); })));
}

Status InspectBlock(io::ObjectStore* store, std::string_view tenant, std::string_view block_id,
                    std::ostream& out) {
  VV_ASSIGN_OR_RETURN(FoundBlock block, FindOneBlock(store, tenant, block_id));
  VV_ASSIGN_OR_RETURN(BlockLayout layout, ReadBlockLayout(store, *block.meta));
  WriteMetaSummary(layout.meta, block.state, out);
  out << '\n';
  WriteColumns(layout, out);
  out << '\n';
  WriteRowGroups(layout, out);
  return Status::OK();
}

Status DumpTrace(io::ObjectStore* store, std::string_view tenant, const model::TraceId& id,
                 std::string_view block_id, std::ostream& out) {
  Blocklist blocklist(store);
  std::set<std::string> tenants;
  size_t searched = 0;
  if (!block_id.empty()) {
    VV_ASSIGN_OR_RETURN(FoundBlock block, FindOneBlock(store, tenant, block_id));
    blocklist.Add(*block.meta);
    tenants.insert(block.tenant);
    searched = 1;
  } else {
    VV_ASSIGN_OR_RETURN(StoreListing found, FindBlocks(store, {std::string(tenant), ""}));
    for (const FoundBlock& f : found.blocks) {
      if (f.state != BlockState::kLive) continue;  // their spans are in live blocks
      if (!f.meta.ok()) {
        return f.meta.status().WithContext(
            fmt::format("block {} (the trace could be incomplete without it; name a block or "
                        "another tenant to leave it out)",
                        f.name()));
      }
      blocklist.Add(*f.meta);
      tenants.insert(f.tenant);
      ++searched;
    }
  }
  std::unique_ptr<model::SpanBatch> trace;
  std::string trace_tenant;
  for (const std::string& t : tenants) {
    VV_ASSIGN_OR_RETURN(auto spans, blocklist.FindTrace(t, id, 0, 0));
    if (spans->empty()) continue;
    if (trace) {
      return InvalidArgument(
          fmt::format("trace {} is in tenants {} and {}: name one", id.Hex(), trace_tenant, t));
    }
    trace = std::move(spans);
    trace_tenant = t;
  }
  if (!trace) {
    return NotFound(fmt::format("trace {} not found ({} block{} searched)", id.Hex(), searched,
                                searched == 1 ? "" : "s"));
  }
  std::string json;
  otlp::EncodeJsonTrace(*trace, otlp::JsonFlavor::kOtlp, "resourceSpans", &json);
  out << json << '\n';
  return Status::OK();
}

Status VerifyBlocks(io::ObjectStore* store, const BlockSelector& selector, std::ostream& out) {
  VV_ASSIGN_OR_RETURN(StoreListing found, FindBlocks(store, selector));
  if (!selector.block_id.empty() && found.blocks.empty()) {
    return NotFound(selector.tenant.empty() ? fmt::format("no block {}", selector.block_id)
                                            : fmt::format("no block {} in tenant {}",
                                                          selector.block_id, selector.tenant));
  }
  size_t checked = 0;
  std::vector<std::string> failed;
  for (const FoundBlock& f : found.blocks) {
    // A compacted block may be deleted while it is read; check it only when asked to.
    if (f.state == BlockState::kCompacted && f.meta.ok() && selector.block_id.empty()) continue;
    ++checked;
    Status s = f.meta.status();  // ParseMetaJson's messages name meta.json
    if (f.meta.ok()) {
      blocks::BlockReader reader(store, *f.meta);
      s = reader.Verify();
      if (s.ok()) s = VerifyLayout(store, &reader);
    }
    const std::string name = f.name();
    if (s.ok()) {
      out << "OK " << name << std::endl;  // flushed: a line per block as it is checked
      continue;
    }
    out << (IsCorruption(s.code()) ? "CORRUPT " : "ERROR ") << name << ": "
        << WithoutBlockContext(s.message(), name) << std::endl;
    failed.push_back(name);
  }
  out << fmt::format("{} block{} checked, {} failed\n", checked, checked == 1 ? "" : "s",
                     failed.size());
  if (failed.empty()) return Status::OK();
  return DataLoss(fmt::format("{} of {} block{} failed verification: {}", failed.size(), checked,
                              checked == 1 ? "" : "s", Join(failed, ", ", Identity)));
}

}  // namespace vivace::storage
