#include "blocks/block.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <random>
#include <set>

#include "base/clock.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/protowire.h"
#include "base/strings.h"

namespace vivace::blocks {
namespace {

constexpr char kDataMagic[8] = {'V', 'V', 'B', 'L', 'K', 'D', '0', '1'};
constexpr char kIndexMagic[8] = {'V', 'V', 'B', 'L', 'K', 'I', '0', '1'};
constexpr size_t kDataTrailer = 4 + 4 + sizeof(kDataMagic);  // footer length, footer CRC, magic

std::string_view ValueKindName(model::ValueKind k) {
  switch (k) {
    case model::ValueKind::kString: return "string";
    case model::ValueKind::kInt: return "int";
    case model::ValueKind::kDouble: return "double";
    case model::ValueKind::kBool: return "bool";
    default: return "?";
  }
}

std::optional<model::ValueKind> ValueKindFromName(std::string_view s) {
  if (s == "string") return model::ValueKind::kString;
  if (s == "int") return model::ValueKind::kInt;
  if (s == "double") return model::ValueKind::kDouble;
  if (s == "bool") return model::ValueKind::kBool;
  return std::nullopt;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  AppendJsonEscaped(&out, s);
  out += "\"";
  return out;
}

// The data object's footer: format version, column names, and per row group what the index
// holds plus its statistics. Layout: docs/formats/block_v1.md ("data").
std::string EncodeFooter(const BlockMeta& meta, std::span<const RowGroupEntry> entries,
                         std::span<const RowGroupStats> stats) {
  std::string out;
  protowire::Writer w(&out);
  w.Varint(1, meta.format_version);
  for (const std::string& name : ColumnNames(meta.dedicated)) w.Bytes(2, name);
  for (size_t i = 0; i < entries.size(); ++i) {
    const RowGroupEntry& e = entries[i];
    const RowGroupStats& st = stats[i];
    size_t m = w.BeginMessage(3);
    w.Varint(1, e.offset);
    w.Varint(2, e.length);
    w.Varint(3, e.traces);
    w.Varint(4, e.spans);
    w.Bytes(5, e.min_id.view());
    w.Bytes(6, e.max_id.view());
    w.Varint(7, e.start_unix_nano);
    w.Varint(8, e.end_unix_nano);
    size_t sm = w.BeginMessage(9);
    w.Varint(1, st.min_duration_nano);
    w.Varint(2, st.max_duration_nano);
    w.Varint(3, st.status_codes);
    w.Varint(4, st.kinds);
    w.Varint(5, st.error_spans);
    for (const RowGroupStats::Dedicated& d : st.dedicated) {
      size_t dm = w.BeginMessage(6);
      w.Varint(1, d.present);
      w.Varint(2, ZigZag(d.min_int));
      w.Varint(3, ZigZag(d.max_int));
      w.EndMessage(dm);
    }
    w.EndMessage(sm);
    w.EndMessage(m);
  }
  return out;
}

}  // namespace

RowGroupStats ComputeRowGroupStats(const RowGroup& g, std::span<const DedicatedColumn> dedicated) {
  const model::SpanBatch& b = g.spans;
  RowGroupStats st;
  st.min_duration_nano = b.size() > 0 ? UINT64_MAX : 0;
  for (size_t i = 0; i < b.size(); ++i) {
    uint64_t d = b.end_unix_nano[i] > b.start_unix_nano[i] ? b.end_unix_nano[i] - b.start_unix_nano[i] : 0;
    st.min_duration_nano = std::min(st.min_duration_nano, d);
    st.max_duration_nano = std::max(st.max_duration_nano, d);
    auto code = static_cast<uint32_t>(b.status_code[i]);
    auto kind = static_cast<uint32_t>(b.kind[i]);
    if (code < 32) st.status_codes |= 1u << code;
    if (kind < 32) st.kinds |= 1u << kind;
    st.error_spans += b.status_code[i] == model::StatusCode::kError;
  }
  st.dedicated.resize(dedicated.size());
  auto count = [&](RowGroupStats::Dedicated& d, const DedicatedColumn& col, model::Range attrs) {
    for (uint32_t k = attrs.first; k < attrs.end(); ++k) {
      const model::KeyValue& kv = b.attributes[k];
      if (kv.key != col.key || kv.value.kind != col.kind) continue;
      if (col.kind == model::ValueKind::kInt) {
        d.min_int = d.present == 0 ? kv.value.i : std::min(d.min_int, kv.value.i);
        d.max_int = d.present == 0 ? kv.value.i : std::max(d.max_int, kv.value.i);
      }
      ++d.present;
      return;  // a key counts once per owner, as the column stores it
    }
  };
  for (size_t c = 0; c < dedicated.size(); ++c) {
    if (dedicated[c].owner == DedicatedColumn::Owner::kSpan) {
      for (size_t i = 0; i < b.size(); ++i) count(st.dedicated[c], dedicated[c], b.span_attributes[i]);
    } else {
      for (size_t i = 0; i < b.size(); ++i) {
        count(st.dedicated[c], dedicated[c], b.resources[b.scopes[b.span_scope[i]].resource].attributes);
      }
    }
  }
  return st;
}

Result<Footer> ParseFooter(std::string_view bytes) {
  using protowire::WireType;
  auto bad = [](std::string_view what) { return DataLoss("footer: malformed " + std::string(what)); };
  Footer f;
  protowire::Reader r(bytes);
  protowire::Field field;
  while (r.Next(&field)) {
    if (field.number == 1 && field.type == WireType::kVarint) {
      f.format_version = static_cast<uint32_t>(field.varint);
    } else if (field.number == 2 && field.type == WireType::kLen) {
      f.columns.emplace_back(field.bytes);
    } else if (field.number == 3 && field.type == WireType::kLen) {
      RowGroupEntry e;
      RowGroupStats st;
      protowire::Reader g(field.bytes);
      protowire::Field x;
      while (g.Next(&x)) {
        if (x.type == WireType::kVarint) {
          switch (x.number) {
            case 1: e.offset = x.varint; break;
            case 2: e.length = x.varint; break;
            case 3: e.traces = static_cast<uint32_t>(x.varint); break;
            case 4: e.spans = static_cast<uint32_t>(x.varint); break;
            case 7: e.start_unix_nano = x.varint; break;
            case 8: e.end_unix_nano = x.varint; break;
            default: break;
          }
        } else if (x.type == WireType::kLen && (x.number == 5 || x.number == 6)) {
          auto id = model::TraceId::FromBytes(x.bytes);
          if (!id) return bad("trace id");
          (x.number == 5 ? e.min_id : e.max_id) = *id;
        } else if (x.type == WireType::kLen && x.number == 9) {
          protowire::Reader sr(x.bytes);
          protowire::Field y;
          while (sr.Next(&y)) {
            if (y.type == WireType::kVarint) {
              switch (y.number) {
                case 1: st.min_duration_nano = y.varint; break;
                case 2: st.max_duration_nano = y.varint; break;
                case 3: st.status_codes = static_cast<uint32_t>(y.varint); break;
                case 4: st.kinds = static_cast<uint32_t>(y.varint); break;
                case 5: st.error_spans = static_cast<uint32_t>(y.varint); break;
                default: break;
              }
            } else if (y.type == WireType::kLen && y.number == 6) {
              RowGroupStats::Dedicated d;
              protowire::Reader dr(y.bytes);
              protowire::Field z;
              while (dr.Next(&z)) {
                if (z.type != WireType::kVarint) continue;
                if (z.number == 1) d.present = static_cast<uint32_t>(z.varint);
                if (z.number == 2) d.min_int = UnZigZag(z.varint);
                if (z.number == 3) d.max_int = UnZigZag(z.varint);
              }
              if (!dr.ok()) return bad("dedicated column statistics");
              st.dedicated.push_back(d);
            }
          }
          if (!sr.ok()) return bad("statistics");
        }
      }
      if (!g.ok()) return bad("row group");
      f.row_groups.push_back(e);
      f.stats.push_back(std::move(st));
    }
  }
  if (!r.ok()) return bad("message");
  return f;
}

std::string BloomShardName(uint32_t shard) { return fmt::format("bloom-{:04d}", shard); }

std::string NewBlockId() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^
                                          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xf000ull) | 0x4000ull;                   // version 4
  lo = (lo & ~(3ull << 62)) | (2ull << 62);             // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                     lo & 0xffffffffffffull);
}

std::string EncodeMetaJson(const BlockMeta& m) {
  std::string dedicated = "[";
  for (size_t i = 0; i < m.dedicated.size(); ++i) {
    const DedicatedColumn& d = m.dedicated[i];
    dedicated += fmt::format("{}{{\"scope\":\"{}\",\"name\":{},\"type\":\"{}\"}}", i ? "," : "",
                             d.owner == DedicatedColumn::Owner::kSpan ? "span" : "resource", Quoted(d.key),
                             ValueKindName(d.kind));
  }
  dedicated += "]";
  std::string columns = "[";
  auto names = ColumnNames(m.dedicated);
  for (size_t i = 0; i < names.size(); ++i) columns += (i ? "," : "") + Quoted(names[i]);
  columns += "]";
  // Only compaction outputs and compacted markers have these, so level-0 metas stay as they were.
  std::string compaction;
  if (!m.compacted_from.empty()) {
    compaction += ",\"compactedFrom\":[";
    for (size_t i = 0; i < m.compacted_from.size(); ++i) compaction += (i ? "," : "") + Quoted(m.compacted_from[i]);
    compaction += "]";
  }
  if (m.compacted_unix_seconds != 0) compaction += fmt::format(",\"compactedAt\":{}", m.compacted_unix_seconds);
  return fmt::format(
      "{{\"format\":\"{}\",\"formatVersion\":{},\"blockID\":{},\"tenantID\":{},"
      "\"startTime\":\"{}\",\"endTime\":\"{}\",\"startUnixNano\":\"{}\",\"endUnixNano\":\"{}\","
      "\"totalObjects\":{},\"totalSpans\":{},\"size\":{},\"indexBytes\":{},\"bloomBytes\":{},"
      "\"rowGroups\":{},\"bloomShards\":{},\"bloomFalsePositiveRate\":{},\"footerOffset\":{},\"footerSize\":{},"
      "\"compactionLevel\":{},\"compression\":\"{}\",\"createdAt\":{}{},\"dedicatedColumns\":{},\"columns\":{}}}\n",
      kFormatName, m.format_version, Quoted(m.block_id), Quoted(m.tenant), Rfc3339Seconds(m.start_unix_nano),
      Rfc3339Seconds(m.end_unix_nano), m.start_unix_nano, m.end_unix_nano, m.total_traces, m.total_spans, m.data_bytes,
      m.index_bytes, m.bloom_bytes, m.row_groups, m.bloom_shards, m.bloom_false_positive_rate, m.footer_offset,
      m.footer_bytes, m.compaction_level, CompressionName(m.compression), m.created_unix_seconds, compaction, dedicated, columns);
}

Result<BlockMeta> ParseMetaJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return DataLoss("meta.json is not a JSON object");
  }
  BlockMeta m;
  auto str = [&](const char* key, std::string* out) -> Status {
    std::string_view v;
    if (root[key].get_string().get(v) != simdjson::SUCCESS) return DataLoss(fmt::format("meta.json: missing string \"{}\"", key));
    *out = std::string(v);
    return Status::OK();
  };
  auto num = [&](const char* key, auto* out) -> Status {
    uint64_t v;
    std::string_view s;
    if (root[key].get_uint64().get(v) == simdjson::SUCCESS) {
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
    } else if (root[key].get_string().get(s) == simdjson::SUCCESS && !s.empty() &&
               std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) && s.size() <= 20) {
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(std::stoull(std::string(s)));
    } else {
      return DataLoss(fmt::format("meta.json: missing number \"{}\"", key));
    }
    return Status::OK();
  };
  std::string format, compression;
  VV_RETURN_IF_ERROR(str("format", &format));
  if (format != kFormatName) return Unimplemented("block format \"" + format + "\" is not supported");
  VV_RETURN_IF_ERROR(num("formatVersion", &m.format_version));
  if (m.format_version != kFormatVersion) {
    return Unimplemented(fmt::format("block format version {} is not supported", m.format_version));
  }
  VV_RETURN_IF_ERROR(str("blockID", &m.block_id));
  VV_RETURN_IF_ERROR(str("tenantID", &m.tenant));
  VV_RETURN_IF_ERROR(num("startUnixNano", &m.start_unix_nano));
  VV_RETURN_IF_ERROR(num("endUnixNano", &m.end_unix_nano));
  VV_RETURN_IF_ERROR(num("totalObjects", &m.total_traces));
  VV_RETURN_IF_ERROR(num("totalSpans", &m.total_spans));
  VV_RETURN_IF_ERROR(num("size", &m.data_bytes));
  VV_RETURN_IF_ERROR(num("indexBytes", &m.index_bytes));
  VV_RETURN_IF_ERROR(num("bloomBytes", &m.bloom_bytes));
  VV_RETURN_IF_ERROR(num("rowGroups", &m.row_groups));
  VV_RETURN_IF_ERROR(num("bloomShards", &m.bloom_shards));
  VV_RETURN_IF_ERROR(num("footerOffset", &m.footer_offset));
  VV_RETURN_IF_ERROR(num("footerSize", &m.footer_bytes));
  VV_RETURN_IF_ERROR(num("compactionLevel", &m.compaction_level));
  VV_RETURN_IF_ERROR(num("createdAt", &m.created_unix_seconds));
  double fp = 0;
  if (root["bloomFalsePositiveRate"].get_double().get(fp) == simdjson::SUCCESS) m.bloom_false_positive_rate = fp;
  VV_RETURN_IF_ERROR(str("compression", &compression));
  VV_ASSIGN_OR_RETURN(m.compression, CompressionFromName(compression));
  simdjson::dom::array dedicated;
  if (root["dedicatedColumns"].get_array().get(dedicated) != simdjson::SUCCESS) {
    return DataLoss("meta.json: missing array \"dedicatedColumns\"");
  }
  for (simdjson::dom::element d : dedicated) {
    std::string_view scope, name, type;
    if (d["scope"].get_string().get(scope) != simdjson::SUCCESS || d["name"].get_string().get(name) != simdjson::SUCCESS ||
        d["type"].get_string().get(type) != simdjson::SUCCESS) {
      return DataLoss("meta.json: malformed dedicated column");
    }
    DedicatedColumn col;
    if (scope == "span") {
      col.owner = DedicatedColumn::Owner::kSpan;
    } else if (scope == "resource") {
      col.owner = DedicatedColumn::Owner::kResource;
    } else {
      return DataLoss("meta.json: unknown dedicated column scope \"" + std::string(scope) + "\"");
    }
    auto kind = ValueKindFromName(type);
    if (!kind) return DataLoss("meta.json: unknown dedicated column type \"" + std::string(type) + "\"");
    col.key = std::string(name);
    col.kind = *kind;
    m.dedicated.push_back(std::move(col));
  }
  simdjson::dom::array from;
  if (root["compactedFrom"].get_array().get(from) == simdjson::SUCCESS) {
    for (simdjson::dom::element id : from) {
      std::string_view v;
      if (id.get_string().get(v) != simdjson::SUCCESS) return DataLoss("meta.json: \"compactedFrom\" holds a non-string");
      m.compacted_from.emplace_back(v);
    }
  }
  if (root["compactedAt"].error() == simdjson::SUCCESS) VV_RETURN_IF_ERROR(num("compactedAt", &m.compacted_unix_seconds));
  return m;
}

std::string EncodeIndex(std::span<const RowGroupEntry> entries) {
  std::string out(kIndexMagic, sizeof(kIndexMagic));
  PutVarint(&out, entries.size());
  for (const RowGroupEntry& e : entries) {
    out.append(e.min_id.view());
    out.append(e.max_id.view());
    for (uint64_t v : {e.offset, e.length, uint64_t{e.traces}, uint64_t{e.spans}, e.start_unix_nano, e.end_unix_nano}) {
      PutVarint(&out, v);
    }
  }
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

Result<std::vector<RowGroupEntry>> ParseIndex(std::string_view bytes) {
  if (bytes.size() < sizeof(kIndexMagic) + 4 || bytes.substr(0, 8) != std::string_view(kIndexMagic, 8)) {
    return DataLoss("index: bad magic");
  }
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (crc32c::Value(body) != crc32c::Unmask(DecodeFixed32(bytes.data() + body.size()))) {
    return DataLoss("index: checksum mismatch");
  }
  const char* p = body.data() + 8;
  const char* end = body.data() + body.size();
  uint64_t n;
  if ((p = DecodeVarint(p, end, &n)) == nullptr || n > body.size() / 32) return DataLoss("index: bad entry count");
  std::vector<RowGroupEntry> out(n);
  for (RowGroupEntry& e : out) {
    if (end - p < 32) return DataLoss("index: truncated");
    e.min_id = *model::TraceId::FromBytes(std::string_view(p, 16));
    e.max_id = *model::TraceId::FromBytes(std::string_view(p + 16, 16));
    p += 32;
    uint64_t v[6];
    for (uint64_t& x : v) {
      if ((p = DecodeVarint(p, end, &x)) == nullptr) return DataLoss("index: truncated");
    }
    if (v[2] > UINT32_MAX || v[3] > UINT32_MAX) return DataLoss("index: counts out of range");
    e.offset = v[0];
    e.length = v[1];
    e.traces = static_cast<uint32_t>(v[2]);
    e.spans = static_cast<uint32_t>(v[3]);
    e.start_unix_nano = v[4];
    e.end_unix_nano = v[5];
  }
  if (p != end) return DataLoss("index: trailing bytes");
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].max_id < out[i].min_id || (i > 0 && !(out[i - 1].max_id < out[i].min_id))) {
      return DataLoss("index: row groups not sorted by trace id");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

BlockWriter::BlockWriter(io::ObjectStore* store, std::string tenant, BlockWriterOptions opts, std::string block_id)
    : store_(store), opts_(std::move(opts)) {
  meta_.block_id = std::move(block_id);
  meta_.tenant = std::move(tenant);
  meta_.compaction_level = opts_.compaction_level;
  meta_.compression = opts_.page.compression;
  meta_.bloom_false_positive_rate = opts_.bloom.false_positive_rate;
  meta_.compacted_from = opts_.compacted_from;
  meta_.start_unix_nano = UINT64_MAX;
  if (opts_.expected_traces > 0) bloom_ = std::make_unique<ShardedBloomBuilder>(opts_.expected_traces, opts_.bloom);
}

BlockWriter::~BlockWriter() = default;

Status BlockWriter::Write(std::string_view bytes) {
  if (!data_) {
    auto w = store_->NewWriter(meta_.key(kDataName));
    if (!w.ok()) return error_ = w.status();
    data_ = std::move(*w);
    if (Status s = data_->Append(std::string_view(kDataMagic, sizeof(kDataMagic))); !s.ok()) return error_ = s;
    data_bytes_ = sizeof(kDataMagic);
  }
  if (Status s = data_->Append(bytes); !s.ok()) return error_ = s;
  data_bytes_ += bytes.size();
  return Status::OK();
}

Status BlockWriter::AddTrace(const model::SpanBatch& src, std::span<const uint32_t> idx) {
  VV_RETURN_IF_ERROR(error_);
  if (idx.empty()) return Status::OK();
  const model::TraceId& id = src.trace_id[idx[0]];
  if (traces_ > 0 && !(last_id_ < id)) {
    return InvalidArgument("block writer: trace " + id.Hex() + " does not follow " + last_id_.Hex());
  }
  last_id_ = id;
  ++traces_;
  if (bloom_) {
    bloom_->Add(id);
  } else {
    ids_.push_back(id);
  }
  spans_ += builder_.AddTrace(src, idx);
  if (builder_.spans() >= opts_.row_group_spans) return FlushRowGroup();
  return Status::OK();
}

Status BlockWriter::FlushRowGroup() {
  if (builder_.traces() == 0) return Status::OK();
  RowGroup g = builder_.Take();
  if (!dedicated_chosen_) {
    // The first row group is the sample that decides the block's dedicated columns.
    meta_.dedicated = ChooseDedicatedColumns(g.spans, opts_.dedicated);
    dedicated_chosen_ = true;
  }
  RowGroupEntry e;
  e.min_id = g.traces.front().id;
  e.max_id = g.traces.back().id;
  e.offset = data_bytes_ == 0 ? sizeof(kDataMagic) : data_bytes_;
  e.traces = static_cast<uint32_t>(g.traces.size());
  e.spans = static_cast<uint32_t>(g.spans.size());
  e.start_unix_nano = UINT64_MAX;
  for (const TraceEntry& t : g.traces) {
    e.start_unix_nano = std::min(e.start_unix_nano, t.start_unix_nano);
    e.end_unix_nano = std::max(e.end_unix_nano, t.end_unix_nano);
  }
  stats_.push_back(ComputeRowGroupStats(g, meta_.dedicated));
  std::string bytes = EncodeRowGroup(g, meta_.dedicated, opts_.page);
  e.length = bytes.size();
  VV_RETURN_IF_ERROR(Write(bytes));
  meta_.start_unix_nano = std::min(meta_.start_unix_nano, e.start_unix_nano);
  meta_.end_unix_nano = std::max(meta_.end_unix_nano, e.end_unix_nano);
  entries_.push_back(e);
  return Status::OK();
}

Result<BlockMeta> BlockWriter::Finish() {
  VV_RETURN_IF_ERROR(error_);
  VV_RETURN_IF_ERROR(FlushRowGroup());
  if (entries_.empty()) return FailedPrecondition("block writer: no traces");
  BlockMeta& m = meta_;
  m.total_traces = traces_;
  m.total_spans = spans_;
  m.row_groups = static_cast<uint32_t>(entries_.size());
  m.created_unix_seconds = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());

  std::string footer = EncodeFooter(m, entries_, stats_);
  m.footer_offset = data_bytes_;
  m.footer_bytes = footer.size();
  PutFixed32(&footer, static_cast<uint32_t>(m.footer_bytes));
  PutFixed32(&footer, crc32c::Mask(crc32c::Value(std::string_view(footer).substr(0, m.footer_bytes))));
  footer.append(kDataMagic, sizeof(kDataMagic));
  VV_RETURN_IF_ERROR(Write(footer));
  m.data_bytes = data_bytes_;
  Status committed = data_->Commit();
  data_.reset();
  if (!committed.ok()) return error_ = committed;

  std::string index = EncodeIndex(entries_);
  m.index_bytes = index.size();
  if (!bloom_) {
    bloom_ = std::make_unique<ShardedBloomBuilder>(ids_.size(), opts_.bloom);
    for (const model::TraceId& id : ids_) bloom_->Add(id);
    std::vector<model::TraceId>().swap(ids_);
  }
  m.bloom_shards = bloom_->shards();

  VV_RETURN_IF_ERROR(store_->Put(m.key(kIndexName), index));
  for (uint32_t s = 0; s < bloom_->shards(); ++s) {
    std::string shard = bloom_->SerializeShard(s);
    m.bloom_bytes += shard.size();
    VV_RETURN_IF_ERROR(store_->Put(m.key(BloomShardName(s)), shard));
  }
  VV_RETURN_IF_ERROR(store_->Put(m.key(kMetaName), EncodeMetaJson(m)));
  return m;
}

// ---------------------------------------------------------------------------------------------

BlockReader::BlockReader(io::ObjectStore* store, BlockMeta meta, ReadLimits limits, RowGroupCache* cache)
    : store_(store),
      meta_(std::move(meta)),
      limits_(limits),
      columns_(ColumnNames(meta_.dedicated).size()),
      cache_(cache) {
  bloom_.resize(meta_.bloom_shards);
}

Status BlockReader::Error(const Status& s) const {
  return s.WithContext("block " + meta_.tenant + "/" + meta_.block_id);
}

Result<std::vector<RowGroupEntry>> BlockReader::Index() {
  VV_ASSIGN_OR_RETURN(auto shared, SharedIndex());
  return *shared;
}

Result<std::shared_ptr<const std::vector<RowGroupEntry>>> BlockReader::SharedIndex() {
  {
    MutexLock l(mu_);
    if (index_) return index_;
  }
  auto bytes = store_->Get(meta_.key(kIndexName));
  if (!bytes.ok()) return Error(bytes.status());
  auto parsed = ParseIndex(*bytes);
  if (!parsed.ok()) return Error(parsed.status());
  if (parsed->size() != meta_.row_groups) return Error(DataLoss("index and meta disagree on the row group count"));
  auto shared = std::make_shared<const std::vector<RowGroupEntry>>(std::move(*parsed));
  MutexLock l(mu_);
  if (!index_) index_ = shared;
  return index_;
}

Result<bool> BlockReader::BloomMayContain(const model::TraceId& id) {
  if (meta_.bloom_shards == 0) return true;
  uint32_t s = ShardedBloomBuilder::ShardOf(id, meta_.bloom_shards);
  std::shared_ptr<const BloomShard> shard;
  {
    MutexLock l(mu_);
    shard = bloom_[s];
  }
  if (!shard) {
    auto bytes = store_->Get(meta_.key(BloomShardName(s)));
    if (!bytes.ok()) return Error(bytes.status());
    auto parsed = BloomShard::Parse(*bytes);
    if (!parsed.ok()) return Error(parsed.status().WithContext(BloomShardName(s)));
    if (parsed->shard_index() != s || parsed->shard_count() != meta_.bloom_shards) {
      return Error(DataLoss(BloomShardName(s) + " belongs to another shard layout"));
    }
    shard = std::make_shared<const BloomShard>(std::move(*parsed));
    MutexLock l(mu_);
    bloom_[s] = shard;
  }
  return shard->MayContain(id);
}

Result<Footer> BlockReader::ReadFooter() {
  auto bytes = store_->GetRange(meta_.key(kDataName), meta_.footer_offset, meta_.footer_bytes + kDataTrailer);
  if (!bytes.ok()) return Error(bytes.status());
  std::string_view footer = std::string_view(*bytes).substr(0, meta_.footer_bytes);
  if (crc32c::Value(footer) != crc32c::Unmask(DecodeFixed32(bytes->data() + meta_.footer_bytes + 4))) {
    return Error(DataLoss("data object: footer checksum mismatch"));
  }
  auto f = ParseFooter(footer);
  if (!f.ok()) return Error(f.status());
  if (f->row_groups.size() != meta_.row_groups) return Error(DataLoss("footer and meta disagree on the row group count"));
  return f;
}

Result<RowGroup> BlockReader::ReadRowGroup(size_t i) {
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  if (i >= index.size()) return InvalidArgument("row group out of range");
  const RowGroupEntry& e = index[i];
  auto bytes = store_->GetRange(meta_.key(kDataName), e.offset, e.length);
  if (!bytes.ok()) return Error(bytes.status());
  return DecodeGroup(i, e, *bytes);
}

Result<std::string> BlockReader::ReadRowGroupBytes(size_t i) {
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  if (i >= index.size()) return InvalidArgument("row group out of range");
  auto bytes = store_->GetRange(meta_.key(kDataName), index[i].offset, index[i].length);
  if (!bytes.ok()) return Error(bytes.status());
  return bytes;
}

Result<RowGroup> BlockReader::DecodeRowGroupBytes(size_t i, std::string_view bytes, const DecodeSelection* sel) {
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  if (i >= index.size()) return InvalidArgument("row group out of range");
  return DecodeGroup(i, index[i], bytes, sel);
}

Result<io::ObjectReader*> BlockReader::DataReader() {
  MutexLock l(mu_);
  if (data_ == nullptr) {
    auto r = store_->OpenReader(meta_.key(kDataName));
    if (!r.ok()) return Error(r.status());
    data_ = std::move(*r);
  }
  return data_.get();
}

Result<RowGroupChunks> BlockReader::OpenRowGroup(size_t i) {
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  if (i >= index.size()) return InvalidArgument("row group out of range");
  VV_ASSIGN_OR_RETURN(io::ObjectReader * reader, DataReader());
  auto chunks = RowGroupChunks::Open(reader, index[i].offset, index[i].length, columns_);
  if (!chunks.ok()) return Error(chunks.status().WithContext(fmt::format("row group {}", i)));
  return chunks;
}

Result<RowGroup> BlockReader::DecodeRowGroupChunks(size_t i, RowGroupChunks& chunks, const DecodeSelection* sel) {
  static const std::vector<uint8_t> kAll;
  Status s = chunks.Load(sel != nullptr ? std::span<const uint8_t>(sel->columns) : std::span<const uint8_t>(kAll));
  if (!s.ok()) return Error(s.WithContext(fmt::format("row group {}", i)));
  auto g = DecodeRowGroup(chunks.Layout(), meta_.dedicated, limits_, sel);
  if (!g.ok()) return Error(g.status().WithContext(fmt::format("row group {}", i)));
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const RowGroupEntry& e = (*shared_index)[i];
  bool partial = sel != nullptr && !sel->traces.empty();
  if (!partial && (g->traces.size() != e.traces || g->spans.size() != e.spans)) {
    return Error(DataLoss(fmt::format("row group {} does not hold the counts its index entry says", i)));
  }
  return g;
}

Result<std::shared_ptr<const Footer>> BlockReader::CachedFooter() {
  {
    MutexLock l(mu_);
    if (footer_ != nullptr) return footer_;
  }
  VV_ASSIGN_OR_RETURN(Footer f, ReadFooter());
  auto shared = std::make_shared<const Footer>(std::move(f));
  MutexLock l(mu_);
  if (footer_ == nullptr) footer_ = shared;
  return footer_;
}

Result<RowGroup> BlockReader::DecodeGroup(size_t i, const RowGroupEntry& e, std::string_view bytes,
                                          const DecodeSelection* sel) {
  auto g = DecodeRowGroup(bytes, meta_.dedicated, limits_, sel);
  if (!g.ok()) return Error(g.status().WithContext(fmt::format("row group {}", i)));
  bool partial = sel != nullptr && !sel->traces.empty();
  if (!partial && (g->traces.size() != e.traces || g->spans.size() != e.spans)) {
    return Error(DataLoss(fmt::format("row group {} does not hold the counts its index entry says", i)));
  }
  return g;
}

Status BlockReader::FindTrace(const model::TraceId& id, model::SpanBatch* out) {
  VV_ASSIGN_OR_RETURN(bool maybe, BloomMayContain(id));
  if (!maybe) return Status::OK();
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  auto it = std::lower_bound(index.begin(), index.end(), id,
                             [](const RowGroupEntry& e, const model::TraceId& x) { return e.max_id < x; });
  if (it == index.end() || id < it->min_id) return Status::OK();
  const auto group = static_cast<uint32_t>(it - index.begin());
  std::shared_ptr<const RowGroup> g = cache_ ? cache_->Get(meta_.block_id, group) : nullptr;
  if (!g) {
    const RowGroupEntry& e = index[group];
    auto bytes = store_->GetRange(meta_.key(kDataName), e.offset, e.length);
    if (!bytes.ok()) return Error(bytes.status());
    // Most lookups that get here for an absent trace are bloom false positives (one per
    // hundred blocks at the default rate): the trace-id column alone answers them.
    auto has = RowGroupHasTrace(*bytes, columns_, id, limits_);
    if (!has.ok()) return Error(has.status().WithContext(fmt::format("row group {}", group)));
    if (!*has) return Status::OK();
    VV_ASSIGN_OR_RETURN(RowGroup read, DecodeGroup(group, e, *bytes));
    g = std::make_shared<const RowGroup>(std::move(read));
    if (cache_) cache_->Put(meta_.block_id, group, g);
  }
  auto t = std::lower_bound(g->traces.begin(), g->traces.end(), id,
                            [](const TraceEntry& e, const model::TraceId& x) { return e.id < x; });
  if (t == g->traces.end() || t->id != id) return Status::OK();
  CopyTrace(*g, static_cast<size_t>(t - g->traces.begin()), out);
  return Status::OK();
}

Status BlockReader::Verify() {
  VV_ASSIGN_OR_RETURN(auto shared_index, SharedIndex());
  const std::vector<RowGroupEntry>& index = *shared_index;
  auto size = store_->Size(meta_.key(kDataName));
  if (!size.ok()) return Error(size.status());
  if (*size != meta_.data_bytes) return Error(DataLoss(fmt::format("data is {} bytes, meta says {}", *size, meta_.data_bytes)));
  if (meta_.data_bytes < sizeof(kDataMagic) + kDataTrailer) return Error(DataLoss("data object too short"));
  auto trailer = store_->GetRange(meta_.key(kDataName), meta_.data_bytes - kDataTrailer, kDataTrailer);
  if (!trailer.ok()) return Error(trailer.status());
  if (trailer->substr(8) != std::string_view(kDataMagic, 8)) return Error(DataLoss("data object: bad trailing magic"));
  auto head = store_->GetRange(meta_.key(kDataName), 0, sizeof(kDataMagic));
  if (!head.ok()) return Error(head.status());
  if (*head != std::string_view(kDataMagic, 8)) return Error(DataLoss("data object: bad leading magic"));
  uint32_t footer_len = DecodeFixed32(trailer->data());
  if (footer_len != meta_.footer_bytes || meta_.footer_offset + footer_len + kDataTrailer != meta_.data_bytes) {
    return Error(DataLoss("data object: footer location does not match meta"));
  }
  auto footer = store_->GetRange(meta_.key(kDataName), meta_.footer_offset, meta_.footer_bytes);
  if (!footer.ok()) return Error(footer.status());
  if (crc32c::Value(*footer) != crc32c::Unmask(DecodeFixed32(trailer->data() + 4))) {
    return Error(DataLoss("data object: footer checksum mismatch"));
  }
  for (uint32_t s = 0; s < meta_.bloom_shards; ++s) {
    auto bytes = store_->Get(meta_.key(BloomShardName(s)));
    if (!bytes.ok()) return Error(bytes.status());
    auto parsed = BloomShard::Parse(*bytes);
    if (!parsed.ok()) return Error(parsed.status().WithContext(BloomShardName(s)));
  }
  uint64_t traces = 0, spans = 0;
  model::TraceId prev;
  for (size_t i = 0; i < index.size(); ++i) {
    VV_ASSIGN_OR_RETURN(RowGroup g, ReadRowGroup(i));
    for (const TraceEntry& t : g.traces) {
      if ((traces > 0 && !(prev < t.id)) || t.id < index[i].min_id || index[i].max_id < t.id) {
        return Error(DataLoss(fmt::format("row group {}: traces not sorted by id or outside its index range", i)));
      }
      VV_ASSIGN_OR_RETURN(bool in_bloom, BloomMayContain(t.id));
      if (!in_bloom) return Error(DataLoss("bloom filter lacks trace " + t.id.Hex()));
      prev = t.id;
      ++traces;
    }
    spans += g.spans.size();
  }
  if (traces != meta_.total_traces || spans != meta_.total_spans) {
    return Error(DataLoss(fmt::format("block holds {} traces and {} spans, meta says {} and {}", traces, spans,
                                      meta_.total_traces, meta_.total_spans)));
  }
  return Status::OK();
}

Result<TenantListing> ListTenant(io::ObjectStore* store, std::string_view tenant) {
  const std::string prefix = std::string(tenant) + "/";
  VV_ASSIGN_OR_RETURN(auto objects, store->List(prefix));
  // block id → which metas it has.
  struct Found {
    bool meta = false;
    bool compacted = false;
  };
  std::map<std::string, Found, std::less<>> blocks;
  for (const io::ObjectInfo& o : objects) {
    std::string_view rest = std::string_view(o.key).substr(prefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) continue;  // tenant-level objects
    Found& f = blocks[std::string(rest.substr(0, slash))];
    std::string_view name = rest.substr(slash + 1);
    if (name == kMetaName) f.meta = true;
    if (name == kCompactedMetaName) f.compacted = true;
  }
  TenantListing out;
  std::vector<BlockMeta> with_meta;
  for (const auto& [id, f] : blocks) {
    if (!f.meta && !f.compacted) {
      out.orphans.push_back(id);
      continue;
    }
    // A block with both metas was being marked compacted: it is compacted.
    std::string key = prefix + id + "/" + std::string(f.compacted ? kCompactedMetaName : kMetaName);
    auto bytes = store->Get(key);
    if (!bytes.ok()) {
      if (bytes.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
      return bytes.status();
    }
    auto meta = ParseMetaJson(*bytes);
    if (!meta.ok()) {
      out.corrupt.emplace_back(key, meta.status());
      continue;
    }
    if (meta->tenant != tenant || meta->block_id != id) {
      out.corrupt.emplace_back(key, DataLoss("meta.json names another block: " + meta->tenant + "/" + meta->block_id));
      continue;
    }
    (f.compacted ? out.compacted : with_meta).push_back(std::move(*meta));
  }
  std::set<std::string, std::less<>> replaced;
  for (const BlockMeta& m : with_meta) replaced.insert(m.compacted_from.begin(), m.compacted_from.end());
  for (BlockMeta& m : with_meta) (replaced.count(m.block_id) ? out.superseded : out.live).push_back(std::move(m));
  std::sort(out.live.begin(), out.live.end(), [](const BlockMeta& a, const BlockMeta& b) {
    return a.start_unix_nano != b.start_unix_nano ? a.start_unix_nano < b.start_unix_nano : a.block_id < b.block_id;
  });
  return out;
}

Result<std::vector<BlockMeta>> ListBlocks(io::ObjectStore* store, std::string_view tenant) {
  VV_ASSIGN_OR_RETURN(TenantListing listing, ListTenant(store, tenant));
  if (!listing.corrupt.empty()) return listing.corrupt[0].second.WithContext(listing.corrupt[0].first);
  return std::move(listing.live);
}

}  // namespace vivace::blocks
