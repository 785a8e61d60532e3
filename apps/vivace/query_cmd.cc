#include "query_cmd.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "blocks_cmd.h"
#include "http_get.h"
#include "io/object_store.h"
#include "model/tenant.h"
#include "query/search_render.h"
#include "query/searcher.h"
#include "server/config.h"
#include "storage/blocklist.h"

namespace vivace::cli {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
// A server search ends by its own timeout (30 s by default); this only guards a stuck server.
constexpr std::chrono::seconds kServerTimeout{60};

int Fail(int code, std::string_view msg) {
  std::fprintf(stderr, "vivace query: %.*s\n", static_cast<int>(msg.size()), msg.data());
  return code;
}

// RFC 3986 unreserved characters pass; everything else is %XX (a query string value).
std::string QueryEscape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormatTime(uint64_t unix_nano) {
  time_t secs = static_cast<time_t>(unix_nano / 1000000000ull);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &t);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03u", buf, static_cast<unsigned>(unix_nano / 1000000ull % 1000));
  return out;
}

std::string FormatNanos(uint64_t ns) {
  char buf[32];
  if (ns >= 1000000000ull) {
    std::snprintf(buf, sizeof(buf), "%.2fs", static_cast<double>(ns) / 1e9);
  } else if (ns >= 1000000ull) {
    std::snprintf(buf, sizeof(buf), "%.2fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fus", static_cast<double>(ns) / 1e3);
  }
  return buf;
}

uint64_t JsonU64(simdjson::dom::element e) {
  if (e.is_string()) return std::strtoull(std::string(std::string_view(e.get_string().value())).c_str(), nullptr, 10);
  if (e.is_uint64()) return e.get_uint64().value();
  if (e.is_int64()) return static_cast<uint64_t>(e.get_int64().value());
  return 0;
}

std::string Field(simdjson::dom::object o, std::string_view key) {
  auto v = o[key];
  if (v.error() || !v.is_string()) return "";
  return std::string(std::string_view(v.get_string().value()));
}

// An OTLP AnyValue in Tempo's JSON as text.
std::string AnyValueText(simdjson::dom::element v) {
  simdjson::dom::object o;
  if (v.get(o)) return "?";
  for (auto [k, x] : o) {
    if (k == "stringValue") return std::string(std::string_view(x.get_string().value()));
    if (k == "intValue") return std::to_string(static_cast<int64_t>(JsonU64(x)));
    if (k == "boolValue") return x.get_bool().value() ? "true" : "false";
    return simdjson::to_string(x);  // doubles, arrays
  }
  return "";
}

// Tempo's search JSON as a table: one line per trace, then its spansets' spans indented.
Status PrintTable(const std::string& json, std::ostream& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(json).get(doc)) {
    return DataLoss(std::string("the answer is not JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::array traces;
  size_t n = 0;
  char line[512];
  std::snprintf(line, sizeof(line), "%-32s  %-23s  %10s  %-20s  %-28s  %s\n", "TRACE ID", "START (UTC)", "DURATION",
                "ROOT SERVICE", "ROOT NAME", "MATCHED");
  out << line;
  if (!doc["traces"].get(traces)) {
    for (simdjson::dom::element t : traces) {
      simdjson::dom::object o = t.get_object().value();
      uint32_t matched = 0;
      simdjson::dom::array sets;
      if (!o["spanSets"].get(sets)) {
        for (simdjson::dom::element ss : sets) {
          auto m = ss["matched"];
          if (!m.error()) matched += static_cast<uint32_t>(JsonU64(m.value()));
        }
      }
      auto dur = o["durationMs"];
      std::snprintf(line, sizeof(line), "%-32s  %-23s  %10s  %-20s  %-28s  %u\n", Field(o, "traceID").c_str(),
                    FormatTime(JsonU64(o["startTimeUnixNano"].value())).c_str(),
                    FormatNanos((dur.error() ? 0 : JsonU64(dur.value())) * 1000000ull).c_str(),
                    Field(o, "rootServiceName").c_str(), Field(o, "rootTraceName").c_str(), matched);
      out << line;
      if (!o["spanSets"].get(sets)) {
        for (simdjson::dom::element ss : sets) {
          simdjson::dom::array spans;
          if (ss["spans"].get(spans)) continue;
          for (simdjson::dom::element sp : spans) {
            simdjson::dom::object so = sp.get_object().value();
            std::string attrs;
            simdjson::dom::array list;
            if (!so["attributes"].get(list)) {
              for (simdjson::dom::element a : list) {
                attrs += " " + Field(a.get_object().value(), "key") + "=" + AnyValueText(a["value"].value());
              }
            }
            auto d = so["durationNanos"];
            out << "    span " << Field(so, "spanID") << "  " << Field(so, "name") << "  "
                << FormatNanos(d.error() ? 0 : JsonU64(d.value())) << attrs << "\n";
          }
        }
      }
      ++n;
    }
  }
  out << n << (n == 1 ? " trace" : " traces");
  simdjson::dom::object metrics;
  if (!doc["metrics"].get(metrics)) {
    auto it = metrics["inspectedTraces"];
    auto ib = metrics["inspectedBytes"];
    out << " (inspected " << (it.error() ? 0 : JsonU64(it.value())) << " traces, "
        << (ib.error() ? 0 : JsonU64(ib.value())) << " bytes)";
  }
  out << "\n";
  return Status::OK();
}

}  // namespace

QueryCommand::QueryCommand(CLI::App* app) {
  cmd_ = app->add_subcommand("query", "Run a TraceQL search against a data directory or a running server");
  cmd_->add_option("traceql", query_, "TraceQL query, e.g. '{ status = error }'")->required();
  cmd_->add_option("--data-dir", data_dir_,
                   "Search the blocks under DIR/blocks (offline; spans still in the WAL are not searched)");
  cmd_->add_option("--server", server_, "Search a running server instead, e.g. http://localhost:3200");
  cmd_->add_option("--tenant", tenant_, "Tenant (X-Scope-OrgID); default: the single tenant");
  cmd_->add_option("--limit", limit_, "Most traces to print (default 20)")->check(CLI::Range(1u, 262144u));
  cmd_->add_option("--spss", spss_, "Spans listed per spanset (default 3; 0 = all)");
  cmd_->add_option("--since", since_, "Only traces of the last DURATION (e.g. 15m, 2h); default: all");
  cmd_->add_option("-o,--output", output_, "table or json (Tempo's /api/search answer)")
      ->check(CLI::IsMember({"table", "json"}));
}

bool QueryCommand::parsed() const { return cmd_->parsed(); }

int QueryCommand::Run() const {
  uint64_t start_s = 0, end_s = 0;
  if (!since_.empty()) {
    auto d = server::ParseDuration(since_);
    if (!d.ok() || d->count() <= 0) return Fail(kExitUsage, "invalid --since \"" + since_ + "\": want e.g. 15m or 2h");
    end_s = static_cast<uint64_t>(std::time(nullptr)) + 1;
    uint64_t back = static_cast<uint64_t>(std::max<int64_t>(1, d->count() / 1000));
    start_s = end_s > back ? end_s - back : 1;
  }
  std::string json;
  if (!server_.empty()) {
    std::string url = server_;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/api/search?q=" + QueryEscape(query_) + "&limit=" + std::to_string(limit_) +
           "&spss=" + std::to_string(spss_);
    if (start_s != 0) url += "&start=" + std::to_string(start_s) + "&end=" + std::to_string(end_s);
    std::vector<std::pair<std::string, std::string>> headers = {{"Accept", "application/json"}};
    if (!tenant_.empty()) headers.emplace_back("X-Scope-OrgID", tenant_);
    auto r = HttpGet(url, headers, kServerTimeout);
    if (!r.ok()) return Fail(kExitError, r.status().message());
    if (r->status != 200) {
      std::string body = r->body;
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      return Fail(r->status == 400 ? kExitUsage : kExitError, "HTTP " + std::to_string(r->status) + ": " + body);
    }
    json = std::move(r->body);
  } else {
    auto store = OpenBlockStore(data_dir_);
    if (!store.ok()) return Fail(kExitError, store.status().message());
    storage::Blocklist blocklist(store->get());
    if (Status s = blocklist.Poll(); !s.ok()) return Fail(kExitError, s.message());
    query::Searcher searcher(&blocklist, nullptr);
    query::SearchRequest req;
    req.query = query_;
    req.limit = limit_;
    req.spans_per_spanset = spss_;
    req.start_s = start_s;
    req.end_s = end_s;
    auto result = searcher.Search(tenant_.empty() ? model::kDefaultTenant : tenant_, req, nullptr);
    if (!result.ok()) {
      bool usage = result.status().code() == StatusCode::kInvalidArgument ||
                   result.status().code() == StatusCode::kUnimplemented;
      return Fail(usage ? kExitUsage : kExitError, result.status().message());
    }
    json = query::RenderSearch(*result, query::TraceFormat::kJson).body;
  }
  if (output_ == "json") {
    std::cout << json << "\n";
  } else if (Status s = PrintTable(json, std::cout); !s.ok()) {
    return Fail(kExitError, s.message());
  }
  std::cout.flush();
  return std::cout ? 0 : Fail(kExitError, "cannot write the output");
}

}  // namespace vivace::cli
