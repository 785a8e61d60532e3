#pragma once
// `vivace query`: runs a TraceQL search against a data directory (its blocks, offline) or a
// running server (its /api/search), and prints the traces as a table or as Tempo's JSON.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace vivace::cli {

class QueryCommand {
 public:
  /// Adds `query` to `app`. REQUIRES: `app` outlives this object, which must not move.
  explicit QueryCommand(CLI::App* app);
  QueryCommand(const QueryCommand&) = delete;
  QueryCommand& operator=(const QueryCommand&) = delete;

  bool parsed() const;
  /// Exit code: 0 success (also when nothing matches); 1 an error reading data or reaching the
  /// server; 2 a usage error (an invalid query, option or time range).
  int Run() const;

 private:
  CLI::App* cmd_;
  std::string query_;
  std::string data_dir_ = "./data";
  std::string server_;
  std::string tenant_;
  std::string output_ = "table";
  std::string since_;
  uint32_t limit_ = 20;
  uint32_t spss_ = 3;
};

}  // namespace vivace::cli
