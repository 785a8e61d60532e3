#include "blocks_cmd.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "io/object_store.h"
#include "model/ids.h"
#include "storage/block_tools.h"

namespace vivace::cli {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int Fail(int code, std::string_view message) {
  std::cout.flush();  // what was printed before the error comes first
  std::fprintf(stderr, "vivace: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

}  // namespace

BlocksCommand::BlocksCommand(CLI::App* app) {
  blocks_ =
      app->add_subcommand("blocks", "Block tools: list, inspect, dump a trace, verify checksums");
  blocks_->require_subcommand(1);
  auto common = [this](CLI::App* cmd) {
    cmd->add_option("--data-dir", data_dir_, "Data directory (blocks are under DIR/blocks)")
        ->capture_default_str();
    cmd->add_option("--tenant", tenant_, "Only this tenant (default: every tenant)");
  };
  list_ = blocks_->add_subcommand(
      "list", "One line per block: time range, traces, spans, row groups, sizes");
  common(list_);
  inspect_ = blocks_->add_subcommand(
      "inspect", "A block's meta, columns (encodings, compressed/raw bytes) and row groups");
  inspect_->add_option("block_id", block_id_, "Block id")->required();
  common(inspect_);
  dump_ =
      blocks_->add_subcommand("dump", "Print a trace as OTLP/JSON, merged from every live block");
  dump_->add_option("trace_id", trace_id_, "Trace id (1 to 32 hex digits)")->required();
  common(dump_);
  dump_->add_option("--block", block_id_, "Read only this block");
  verify_ = blocks_->add_subcommand(
      "verify", "Check every checksum and structure; exit 1 naming the corrupt blocks");
  common(verify_);
  verify_->add_option("--block", block_id_, "Only this block");
}

bool BlocksCommand::parsed() const { return blocks_->parsed(); }

Result<std::unique_ptr<io::ObjectStore>> OpenBlockStore(const std::string& data_dir) {
  // Opening a local store creates its directory: check first, so that a mistyped --data-dir
  // is an error rather than an empty listing (and a new directory).
  std::filesystem::path root = std::filesystem::path(data_dir) / "blocks";
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    return NotFound("no block directory " + root.string() + " (check --data-dir)");
  }
  return io::NewLocalStore(root.string());
}

int BlocksCommand::Run() const {
  auto store = OpenBlockStore(data_dir_);
  if (!store.ok()) return Fail(kExitError, store.status().message());
  io::ObjectStore* s = store->get();

  Status status;
  if (list_->parsed()) {
    status = storage::ListBlocksReport(s, tenant_, std::cout);
  } else if (inspect_->parsed()) {
    status = storage::InspectBlock(s, tenant_, block_id_, std::cout);
  } else if (dump_->parsed()) {
    auto id = model::ParseTraceIdHex(trace_id_);
    if (!id || id->IsZero()) {
      return Fail(kExitUsage,
                  "invalid trace id \"" + trace_id_ + "\": want 1 to 32 hex digits, not all zero");
    }
    status = storage::DumpTrace(s, tenant_, *id, block_id_, std::cout);
  } else if (verify_->parsed()) {
    status = storage::VerifyBlocks(s, {tenant_, block_id_}, std::cout);
  }
  if (!status.ok()) return Fail(kExitError, status.message());
  std::cout.flush();
  return std::cout ? 0 : Fail(kExitError, "cannot write the output");
}

}  // namespace vivace::cli
