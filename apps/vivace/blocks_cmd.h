#pragma once
// `vivace blocks list|inspect|dump|verify`: offline tools over the blocks under a data
// directory (storage/block_tools.h). They only read, so they are safe next to a running server.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "base/status.h"
#include "io/object_store.h"

namespace vivace::cli {

/// The block store under `data_dir`/blocks, opened read-side: NotFound (naming the directory)
/// when there is none, rather than creating an empty one for a mistyped --data-dir.
Result<std::unique_ptr<io::ObjectStore>> OpenBlockStore(const std::string& data_dir);

/// The `blocks` subcommand tree: registered on the command line before parsing, run after it.
class BlocksCommand {
 public:
  /// Adds `blocks` and its subcommands to `app`. REQUIRES: `app` outlives this object, which
  /// must not move (CLI11 keeps pointers to its option variables).
  explicit BlocksCommand(CLI::App* app);
  BlocksCommand(const BlocksCommand&) = delete;
  BlocksCommand& operator=(const BlocksCommand&) = delete;

  /// Whether the command line chose `blocks`.
  bool parsed() const;
  /// Runs the chosen subcommand. Returns the exit code: 0 success; 1 an error or a corrupt block
  /// (the message on stderr names it); 2 a usage error (e.g. an invalid trace id).
  int Run() const;

 private:
  CLI::App* blocks_;
  CLI::App* list_;
  CLI::App* inspect_;
  CLI::App* dump_;
  CLI::App* verify_;
  std::string data_dir_ = "./data";
  std::string tenant_;
  std::string block_id_;
  std::string trace_id_;
};

}  // namespace vivace::cli
