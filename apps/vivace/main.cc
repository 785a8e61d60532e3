// vivace: the whole backend in one binary. Subcommands: serve, version, config check, blocks, query.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "base/logging.h"
#include "base/memory_policy.h"
#include "blocks_cmd.h"
#include "query_cmd.h"
#include "server/app.h"
#include "server/config.h"

namespace {

using vivace::server::Config;

int Serve(const std::string& config_file, const Config& overrides_base, const std::function<void(Config&)>& apply) {
  Config config = overrides_base;
  if (!config_file.empty()) {
    auto loaded = vivace::server::LoadConfigFile(config_file);
    if (!loaded.ok()) {
      std::fprintf(stderr, "vivace: %s\n", loaded.status().ToString().c_str());
      return 2;
    }
    config = *loaded;
  }
  apply(config);
  static const std::pair<const char*, vivace::log::Level> kLevels[] = {
      {"debug", vivace::log::Level::kDebug}, {"info", vivace::log::Level::kInfo},
      {"warn", vivace::log::Level::kWarn}, {"error", vivace::log::Level::kError}};
  for (const auto& [name, level] : kLevels) {
    if (config.server.log_level == name) vivace::log::SetLevel(level);
  }

  // Block the shutdown signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Each searched block keeps its data object open (blocks::BlockReader): raise the soft limit
  // on open files to the hard one, as the Go runtime does for Tempo.
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  vivace::log::Info("starting vivace {} with data under {}", vivace::server::VivaceVersion(), config.storage.path);
  auto app = vivace::server::App::Start(config);
  if (!app.ok()) {
    vivace::log::Error("cannot start: {}", app.status().ToString());
    return 1;
  }
  std::printf("vivace is ready: Tempo API http://%s (port %u), gRPC port %u, OTLP gRPC port %u, OTLP HTTP port %u\n",
              config.server.http_listen.c_str(), (*app)->http_port(), (*app)->grpc_port(), (*app)->otlp_grpc_port(),
              (*app)->otlp_http_port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  vivace::log::Info("received signal {}, draining", sig);
  (*app)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  vivace::SetMemoryPolicy();
  CLI::App cli{"Vivace: a distributed-tracing backend (OTLP in; Tempo, Jaeger and Zipkin APIs out)", "vivace"};
  cli.require_subcommand(1);

  std::string config_file, data_dir, http_listen, grpc_listen, otlp_grpc_listen, otlp_http_listen;
  auto* serve = cli.add_subcommand("serve", "Run the server (all roles in one process)");
  serve->add_option("--config", config_file, "YAML config file (docs/configuration.md)");
  serve->add_option("--data-dir", data_dir, "Data directory (default ./data)");
  serve->add_option("--http-listen", http_listen, "Tempo HTTP API address (default 0.0.0.0:3200)");
  serve->add_option("--grpc-listen", grpc_listen, "gRPC API address (default 0.0.0.0:9095)");
  serve->add_option("--otlp-grpc-listen", otlp_grpc_listen, "OTLP/gRPC receiver address (default 0.0.0.0:4317)");
  serve->add_option("--otlp-http-listen", otlp_http_listen, "OTLP/HTTP receiver address (default 0.0.0.0:4318)");

  cli.add_subcommand("version", "Print the version");

  auto* config_cmd = cli.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  std::string check_file;
  auto* check = config_cmd->add_subcommand("check", "Validate a config file; names the offending key and line");
  check->add_option("file", check_file, "Config file")->required();

  vivace::cli::BlocksCommand blocks(&cli);
  vivace::cli::QueryCommand query(&cli);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; any other parse error is a usage error.
    return cli.exit(e) == 0 ? 0 : 2;
  }

  if (cli.got_subcommand("version")) {
    std::printf("vivace %s (Tempo API %s)\n", std::string(vivace::server::VivaceVersion()).c_str(),
                std::string(vivace::server::kTempoCompatibleVersion).c_str());
    return 0;
  }
  if (check->parsed()) {
    auto c = vivace::server::LoadConfigFile(check_file);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    std::printf("%s: OK\n", check_file.c_str());
    const auto& col = c->collector;
    if (!col.configured) {
      std::printf("pipeline: OTLP receivers -> local storage (no service section)\n");
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
      return out.empty() ? std::string("-") : out;
    };
    for (const auto& p : col.pipelines) {
      std::printf("pipeline %s: [%s] -> [%s] -> [%s]\n", p.id.c_str(), join(p.receivers).c_str(),
                  join(p.processors).c_str(), join(p.exporters).c_str());
    }
    return 0;
  }
  if (blocks.parsed()) return blocks.Run();
  if (query.parsed()) return query.Run();
  if (serve->parsed()) {
    return Serve(config_file, Config{}, [&](Config& c) {
      if (!data_dir.empty()) c.storage.path = data_dir;
      if (!http_listen.empty()) c.server.http_listen = http_listen;
      if (!grpc_listen.empty()) c.server.grpc_listen = grpc_listen;
      if (!otlp_grpc_listen.empty()) c.otlp.grpc_endpoint = otlp_grpc_listen;
      if (!otlp_http_listen.empty()) c.otlp.http_endpoint = otlp_http_listen;
    });
  }
  return 0;
}
