#pragma once
// Offline tools over the blocks of an object store, behind `vivace blocks list|inspect|dump|
// verify`. They read the store directly (a running server may share it), never write to it,
// and write human-readable text to `out` as they go. A block is "<tenant>/<block id>/meta.json"
// plus its objects (docs/formats/block_v1.md); a meta.json that cannot be read or parsed is
// reported, never silently skipped.
//
// Thread-compatible: each call is independent; `store` must be thread-safe (every ObjectStore is).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blocks/block.h"
#include "io/object_store.h"
#include "model/ids.h"

namespace vivace::storage {

/// Which blocks a tool looks at; an empty field matches every tenant or block.
struct BlockSelector {
  std::string tenant;
  std::string block_id;
};

/// What a block is to readers (blocks::TenantListing).
enum class BlockState {
  kLive,        // has a meta.json: readers use it
  kSuperseded,  // has a meta.json, but a live block's compactedFrom names it: readers skip it
  kCompacted,   // has a meta.compacted.json: readers skip it; deleted after the retention
};
/// "live", "superseded", "compacted".
std::string_view BlockStateName(BlockState state);

/// A block found in the store: its meta, or why that cannot be used (unreadable, not parseable,
/// or naming another tenant or block than its key).
struct FoundBlock {
  std::string tenant;
  std::string block_id;
  /// For an unusable meta: what the meta's name says (meta.json: live; meta.compacted.json:
  /// compacted).
  BlockState state = BlockState::kLive;
  Result<blocks::BlockMeta> meta;

  /// "<tenant>/<block id>".
  std::string name() const { return tenant + "/" + block_id; }
};

struct StoreListing {
  /// By tenant, then start time (unusable metas first), then block id.
  std::vector<FoundBlock> blocks;
  /// "<tenant>/<block id>" of objects without either meta: a block being written, or one whose
  /// writer died. Not blocks.
  std::vector<std::string> orphans;
};

/// Every block (and orphan) that `selector` matches, as blocks::ListTenant sees each tenant.
/// Errors: only a failing List.
Result<StoreListing> FindBlocks(io::ObjectStore* store, const BlockSelector& selector);

/// One column of a block, summed over its row groups.
struct ColumnStats {
  std::string name;
  std::vector<blocks::Encoding> encodings;        // distinct, in order of first use
  std::vector<blocks::Compression> compressions;  // distinct per chunk, in order of first use
  uint64_t values = 0;
  uint64_t stored_bytes = 0;  // the chunks' bytes, page headers included
  uint64_t raw_bytes = 0;     // the pages' payloads uncompressed
};

/// Where the bytes of a block's data object go.
struct BlockLayout {
  blocks::BlockMeta meta;
  std::vector<blocks::RowGroupEntry> row_groups;  // as the index lists them
  std::vector<ColumnStats> columns;               // in storage order (blocks::ColumnNames)
  /// Row-group headers (length, header, CRC): with every column's stored bytes, exactly the
  /// sum of the row groups' lengths.
  uint64_t row_group_header_bytes = 0;
};

/// Reads the index and every row group of the block (one at a time) and inspects each column
/// chunk's pages without decoding their values. Errors name the block, row group and column.
Result<BlockLayout> ReadBlockLayout(io::ObjectStore* store, const blocks::BlockMeta& meta);

/// One row per block of `tenant` (every tenant if empty), compacted ones included: tenant,
/// block id, state, compaction level, start and end time (RFC 3339 UTC), traces, spans, row
/// groups, data/index/bloom sizes and (data + index + bloom) bytes per span; a header line and
/// a totals line over the live blocks (what readers see). Then orphans, if any, and blocks whose
/// meta is unusable, which make the result DataLoss naming them.
Status ListBlocksReport(io::ObjectStore* store, std::string_view tenant, std::ostream& out);

/// The block's meta, then its columns (encodings, compression, values, stored and raw bytes,
/// share of the data object) by stored bytes, largest first, then its row groups (trace-id
/// range, traces, spans, bytes, time range). Any state. An empty `tenant` looks for the block in
/// every tenant. NotFound for no such block; InvalidArgument if the id is in several tenants.
Status InspectBlock(io::ObjectStore* store, std::string_view tenant, std::string_view block_id,
                    std::ostream& out);

/// Writes trace `id` as one line of OTLP/JSON (`{"resourceSpans":[...]}`, what
/// otlp::DecodeJsonRequest reads). Its spans are merged from the live blocks of `tenant` (of
/// every tenant if empty; the trace must then be in only one), each span id once, as the server
/// reads them; or read from block `block_id` only (any state) if that is not empty. NotFound if
/// no block holds the trace. An unusable meta.json among the blocks searched is an error, since
/// the trace could be incomplete without it.
Status DumpTrace(io::ObjectStore* store, std::string_view tenant, const model::TraceId& id,
                 std::string_view block_id, std::ostream& out);

/// Checks the live and superseded blocks `selector` matches (a compacted one only when
/// `selector` names it: its objects may be deleted at any time): its meta, then
/// blocks::BlockReader::Verify (every checksum, every row group decoded, counts against the
/// meta), then that the row groups tile the data object up to the footer and the index and
/// bloom objects have the sizes the meta records. An unusable meta (of any state) fails too.
/// Writes "OK <tenant>/<block>" or "CORRUPT <tenant>/<block>: <error>" per block as it is
/// checked ("ERROR" instead of "CORRUPT" when the block could not be read for another reason,
/// e.g. permissions or an unsupported format version), then a summary line. Returns DataLoss
/// naming every block that failed; NotFound if `selector` names a block that does not exist.
Status VerifyBlocks(io::ObjectStore* store, const BlockSelector& selector, std::ostream& out);

}  // namespace vivace::storage
