// TraceQL golden tests: every *.test file under tests/golden/traceql (format: README.md there)
// is parsed into traces, written as real blocks into an in-memory object store, and each of its
// cases becomes one gtest that runs traceql::Search over one BlockFetcher per block.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "blocks/block.h"
#include "blocks/block_fetcher.h"
#include "io/object_store.h"
#include "model/span_batch.h"
#include "traceql/search.h"

namespace vivace {
namespace {

namespace fs = std::filesystem;
using model::SpanId;
using model::TraceId;
using scan::Static;
using scan::StaticType;
using Attrs = std::vector<std::pair<std::string, Static>>;

constexpr uint64_t kBaseNanos = 1700000000000000000ull;  // 2023-11-14T22:13:20Z
constexpr char kTenant[] = "golden";
const char* const kKinds[] = {"unspecified", "internal", "server",
                              "client",      "producer", "consumer"};
const char* const kStatuses[] = {"unset", "ok", "error"};

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void Check(bool ok, const std::string& msg) {
  if (!ok) throw ParseError(msg);
}

template <size_t N>
int IndexOf(const char* const (&names)[N], std::string_view s) {
  auto it = std::find(std::begin(names), std::end(names), s);
  return it == std::end(names) ? -1 : static_cast<int>(it - std::begin(names));
}

template <size_t N>
std::string Name(const char* const (&names)[N], int64_t i) {
  return i >= 0 && i < static_cast<int64_t>(N) ? names[i] : "?";
}

// ---- Tokens and values ------------------------------------------------------------------------

// Splits at `seps` outside "quotes", [brackets] and (parentheses).
std::vector<std::string> Tokenize(std::string_view s, std::string_view seps = " \t") {
  std::vector<std::string> out(1);
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!quoted && depth == 0 && seps.find(c) != std::string_view::npos) {
      if (!out.back().empty()) out.emplace_back();
      continue;
    }
    out.back() += c;
    if (quoted && c == '\\' && i + 1 < s.size()) {
      out.back() += s[++i];
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted) {
      depth += (c == '[' || c == '(') - (c == ']' || c == ')');
    }
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

// "key=value", split at the first '=' outside quotes and brackets.
std::pair<std::string, std::string> KV(const std::string& tok) {
  std::vector<std::string> parts = Tokenize(tok, "=");
  Check(parts.size() >= 2 && tok[0] != '=', "expected key=value, got " + tok);
  return {parts[0], tok.substr(parts[0].size() + 1)};
}

int64_t Dur(std::string_view s) {
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"ns", 1},         {"us", 1000},       {"ms", 1000000},
      {"s", 1000000000}, {"m", 60000000000}, {"h", 3600000000000}};
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  for (const auto& [unit, mult] : kUnits) {
    if (ec == std::errc() && p != s.data() && std::string_view(p, s.end() - p) == unit) {
      return n * mult;
    }
  }
  throw ParseError("bad duration " + std::string(s));
}

// A literal: "str", true/false, int, float, [a,b]. In data any other word is a string; in an
// expectation it may be nil, a duration, status:<s> or kind:<k>.
Static Lit(const std::string& s, bool expectation) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      bool escaped = s[i] == '\\' && i + 2 < s.size();
      char c = escaped ? s[++i] : s[i];
      out += escaped && c == 'n' ? '\n' : escaped && c == 't' ? '\t' : c;
    }
    return Static::String(out);
  }
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    Static arr;
    arr.type = StaticType::kStringArray;
    for (const std::string& e : Tokenize(s.substr(1, s.size() - 2), ", \t")) {
      Static x = Lit(e, false);
      StaticType t = x.type == StaticType::kInt     ? StaticType::kIntArray
                     : x.type == StaticType::kFloat ? StaticType::kFloatArray
                     : x.type == StaticType::kBool  ? StaticType::kBoolArray
                                                    : StaticType::kStringArray;
      Check(x.array.empty() && (arr.array.empty() || t == arr.type), "array of mixed types: " + s);
      arr.type = t;
      arr.array.push_back(std::move(x));
    }
    return arr;
  }
  if (s == "true" || s == "false") return Static::Bool(s == "true");
  char* end = nullptr;
  long long i = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0') return Static::Int(i);
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && *end == '\0' && s.find_first_not_of("0123456789.eE+-") == std::string::npos) {
    return Static::Float(d);
  }
  if (!expectation) return Static::String(s);
  if (s == "nil") return Static::Nil();
  if (s.starts_with("status:") && IndexOf(kStatuses, s.substr(7)) >= 0) {
    return Static::Status(IndexOf(kStatuses, s.substr(7)));
  }
  if (s.starts_with("kind:") && IndexOf(kKinds, s.substr(5)) >= 0) {
    return Static::Kind(IndexOf(kKinds, s.substr(5)));
  }
  Check(!s.empty() && std::isdigit(static_cast<unsigned char>(s[0])),
        "bad value " + s + " (quote strings)");
  return Static::Duration(Dur(s));
}

// A string field: "quoted" or a bare word.
std::string Str(const std::string& s) {
  return Lit(s, false).type == StaticType::kString ? Lit(s, false).s : s;
}

// A short name: its bytes left-padded with zero bytes; or 0x<hex>, left-padded with zeros.
template <size_t N>
model::Id<N> Id(std::string_view name) {
  model::Id<N> id;
  if (name.starts_with("0x")) {
    std::string hex(name.substr(2));
    Check(!hex.empty() && hex.size() <= 2 * N &&
              hex.find_first_not_of("0123456789abcdef") == std::string::npos,
          "bad hex id " + std::string(name));
    hex.insert(0, 2 * N - hex.size(), '0');
    for (size_t i = 0; i < N; ++i) {
      id.bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    return id;
  }
  Check(!name.empty() && name.size() <= N && name.find_first_of(":|=\"") == std::string_view::npos,
        "bad id name " + std::string(name));
  std::memcpy(id.bytes.data() + (N - name.size()), name.data(), name.size());
  return id;
}

// The canonical text of a value; expected and actual values compare by it.
std::string Render(const Static& v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v.f);
  std::string s = "[";
  for (const Static& e : v.array) s += (s.size() > 1 ? "," : "") + Render(e);
  if (v.type == StaticType::kNil) return "nil";
  if (v.type == StaticType::kInt) return std::to_string(v.i);
  if (v.type == StaticType::kFloat) return buf + std::string(std::strpbrk(buf, ".eni") ? "" : ".0");
  if (v.type == StaticType::kString) return "\"" + v.s + "\"";
  if (v.type == StaticType::kBool) return v.b ? "true" : "false";
  if (v.type == StaticType::kDuration) return std::to_string(v.i) + "ns";
  if (v.type == StaticType::kStatus) return "status:" + Name(kStatuses, v.i);
  if (v.type == StaticType::kKind) return "kind:" + Name(kKinds, v.i);
  return s + "]";
}

// ---- Files ------------------------------------------------------------------------------------

struct Block {
  model::SpanBatch batch;
  std::map<std::string, uint32_t> resources, scopes;  // by content
};

struct GoldenFile {
  std::string rel, path;
  std::vector<std::unique_ptr<Block>> blocks;
  std::map<TraceId, std::string> trace_names;
  std::map<SpanId, std::string> span_names;
  std::map<TraceId, std::set<SpanId>> spans;  // of each trace, over all blocks
  std::string Name(const TraceId& id) const {
    return trace_names.contains(id) ? trace_names.at(id) : id.Hex();
  }
  std::string Name(const SpanId& id) const {
    return span_names.contains(id) ? span_names.at(id) : id.Hex();
  }
};

struct ExpSpanset {  // a `<trace>:` line
  std::set<SpanId> spans;
  std::optional<uint32_t> matched;
  Attrs attrs;
  std::string text;
};
struct SpanCheck {  // an `attrs` line
  TraceId trace;
  SpanId span;
  Attrs attrs;
  std::string text;
};
struct Case {
  std::shared_ptr<const GoldenFile> file;
  std::string where, name, query, error;  // error: a problem with the file itself
  uint32_t limit = 20, spss = 3;
  bool none = false;
  std::string expect_error;  // "", "any", "invalid" or "unsupported"
  std::vector<std::pair<TraceId, std::vector<ExpSpanset>>> traces;
  std::vector<SpanCheck> checks;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.where; }

model::Value ToValue(model::SpanBatch* b, const Static& v) {
  if (v.type == StaticType::kString) return model::Value::String(b->arena.Copy(v.s));
  if (v.type == StaticType::kInt) return model::Value::Int(v.i);
  if (v.type == StaticType::kFloat) return model::Value::Double(v.f);
  if (v.type == StaticType::kBool) return model::Value::Bool(v.b);
  model::Range r = b->AllocValues(static_cast<uint32_t>(v.array.size()));  // an array
  for (size_t i = 0; i < v.array.size(); ++i) b->values[r.first + i] = ToValue(b, v.array[i]);
  return model::Value::Array(r);
}

std::pair<model::Range, std::string> AddAttrs(model::SpanBatch* b, const Attrs& attrs) {
  model::Range r = b->AllocAttributes(static_cast<uint32_t>(attrs.size()));
  std::string key;  // the content, to share equal resources and scopes
  for (size_t i = 0; i < attrs.size(); ++i) {
    b->attributes[r.first + i] =
        model::KeyValue{b->arena.Copy(attrs[i].first), ToValue(b, attrs[i].second)};
    key += attrs[i].first + "=" + Render(attrs[i].second) + "\x1f";
  }
  return {r, key};
}

// Parses one `span` line into a row of the block's batch.
void AddSpan(GoldenFile* f, Block* block, const TraceId& trace, uint64_t at, SpanId id,
             SpanId parent, const std::vector<std::string>& t) {
  std::map<std::string, std::string> field = {
      {"name", t[1]},      {"svc", "svc"},     {"msg", ""},
      {"start", "0ms"},    {"dur", "0ms"},     {"kind", "unspecified"},
      {"status", "unset"}, {"scope_name", ""}, {"scope_version", ""}};
  static const char* const kScopes[] = {"span.", "resource.", "instrumentation."};
  Attrs attrs[3] = {{}, {{"service.name", Static()}}, {}};  // in those scopes
  for (size_t i = 2; i < t.size(); ++i) {
    auto [k, v] = KV(t[i]);
    int scope = -1;
    for (int i = 0; i < 3; ++i) scope = k.starts_with(kScopes[i]) ? i : scope;
    if (scope >= 0) {
      attrs[scope].emplace_back(Str(k.substr(k.find('.') + 1)), Lit(v, false));
    } else if (k != "parent") {
      Check(field.contains(k), "unknown span field " + k);
      field[k] = Str(v);
    }
  }
  Check(IndexOf(kKinds, field["kind"]) >= 0 && IndexOf(kStatuses, field["status"]) >= 0,
        "bad kind or status");
  attrs[1][0].second = Static::String(field["svc"]);
  model::SpanBatch& b = block->batch;
  auto [res_range, res_key] = AddAttrs(&b, attrs[1]);
  auto [res, new_res] =
      block->resources.emplace(res_key, static_cast<uint32_t>(b.resources.size()));
  if (new_res) b.resources.push_back(model::Resource{res_range, 0, {}});
  auto [scope_range, scope_key] = AddAttrs(&b, attrs[2]);
  scope_key = std::to_string(res->second) + "|" + field["scope_name"] + "|" +
              field["scope_version"] + "|" + scope_key;
  auto [scope, new_scope] =
      block->scopes.emplace(scope_key, static_cast<uint32_t>(b.scopes.size()));
  if (new_scope) {
    std::string_view name = b.arena.Copy(field["scope_name"]);
    b.scopes.push_back(
        {res->second, name, b.arena.Copy(field["scope_version"]), scope_range, 0, {}});
  }
  model::SpanRow row;
  row.trace_id = trace;
  row.span_id = id;
  row.parent_span_id = parent;
  row.name = b.arena.Copy(field["name"]);
  row.kind = static_cast<model::SpanKind>(IndexOf(kKinds, field["kind"]));
  row.status_code = static_cast<model::StatusCode>(IndexOf(kStatuses, field["status"]));
  row.status_message = b.arena.Copy(field["msg"]);
  row.start_unix_nano = kBaseNanos + at + Dur(field["start"]);
  row.end_unix_nano = row.start_unix_nano + Dur(field["dur"]);
  row.attributes = AddAttrs(&b, attrs[0]).first;
  row.scope = scope->second;
  b.Append(row);
  Check(f->spans[trace].insert(id).second, "span " + t[1] + " twice in a trace");
  f->span_names[id] = t[1];
}

// Parses one `event` or `link` line: appended to the last span of the block's batch.
void AddEventOrLink(Block* block, const std::vector<std::string>& t) {
  const std::string& kw = t[0];
  size_t first = kw == "event" ? 2 : 3;
  Check(t.size() >= first, kw + ": missing name or ids");
  model::SpanBatch& b = block->batch;
  Attrs attrs;
  int64_t at = 0;
  for (size_t i = first; i < t.size(); ++i) {
    auto [k, v] = KV(t[i]);
    if (kw == "event" && k == "at") {
      at = Dur(v);
      continue;
    }
    Check(k.starts_with(kw + "."), kw + " attributes are written " + kw + ".<key>=<value>");
    attrs.emplace_back(Str(k.substr(kw.size() + 1)), Lit(v, false));
  }
  model::Range range = AddAttrs(&b, attrs).first;
  model::Range& own = kw == "event" ? b.span_events.back() : b.span_links.back();
  model::Range slot = kw == "event" ? b.AllocEvents(1) : b.AllocLinks(1);
  if (own.count++ == 0) own.first = slot.first;
  if (kw == "event") {
    b.events[slot.first] = {b.start_unix_nano.back() + at, b.arena.Copy(Str(t[1])), range, 0};
  } else {
    b.links[slot.first] = {Id<16>(t[1]), Id<8>(t[2]), {}, range, 0, 0};
  }
}

// Parses an expectation line into `c`.
void AddExpectation(const GoldenFile& f, Case* c, const std::vector<std::string>& t,
                    const std::string& line) {
  const std::string& kw = t[0];
  auto attrs = [&](size_t from, Attrs* out, std::optional<uint32_t>* matched) {
    for (size_t i = from; i < t.size(); ++i) {
      auto [k, v] = KV(t[i]);
      if (k == "matched" && matched) {
        *matched = static_cast<uint32_t>(std::stoul(v));
      } else {
        out->emplace_back(k, Lit(v, true));
      }
    }
  };
  if (kw == "options") {
    for (size_t i = 1; i < t.size(); ++i) {
      auto [k, v] = KV(t[i]);
      Check(k == "limit" || k == "spss", "unknown option " + k);
      (k == "limit" ? c->limit : c->spss) = static_cast<uint32_t>(std::stoul(v));
    }
  } else if (kw == "error") {
    c->expect_error = t.size() == 1 ? "any" : t[1];
    Check(t.size() <= 2 && (c->expect_error == "any" || t[1] == "invalid" || t[1] == "unsupported"),
          "expected: error [invalid|unsupported]");
  } else if (kw == "none" && t.size() == 1) {
    c->none = true;
  } else if (kw == "attrs" && t.size() >= 4) {
    SpanCheck check{Id<16>(t[1]), Id<8>(t[2]), {}, line};
    attrs(3, &check.attrs, nullptr);
    c->checks.push_back(std::move(check));
  } else {
    Check(kw.size() > 1 && kw.back() == ':', "unknown line: " + line);
    TraceId id = Id<16>(kw.substr(0, kw.size() - 1));
    Check(f.spans.contains(id), "unknown trace " + kw);
    if (c->traces.empty() || c->traces.back().first != id) c->traces.push_back({id, {}});
    ExpSpanset ss;
    ss.text = line;
    size_t i = 1;
    for (; i < t.size() && t[i] != "|"; ++i) {
      Check(f.spans.at(id).contains(Id<8>(t[i])), "trace " + kw + " has no span " + t[i]);
      ss.spans.insert(Id<8>(t[i]));
    }
    attrs(i + 1, &ss.attrs, &ss.matched);
    c->traces.back().second.push_back(std::move(ss));
  }
}

std::vector<Case> ParseFile(const fs::path& path, const std::string& rel) {
  auto f = std::make_shared<GoldenFile>();
  f->rel = rel;
  f->path = path.string();
  f->blocks.push_back(std::make_unique<Block>());
  std::vector<Case> cases;
  std::string stem = rel.substr(0, rel.size() - 5), raw, file_error;
  for (char& ch : stem) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  std::ifstream in(path);
  TraceId trace;
  uint64_t trace_at = 0;
  bool in_trace = false;
  std::vector<std::pair<size_t, SpanId>> stack;  // indent and id of the open spans of the trace
  for (int n = 1; std::getline(in, raw); ++n) {
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    size_t indent = raw.find_first_not_of(' ');
    if (indent == std::string::npos || raw[indent] == '#') continue;
    std::string line = raw.substr(indent), where = rel + ":" + std::to_string(n);
    std::vector<std::string> t = Tokenize(line);
    try {
      if (t[0] == "query") {
        Check(t.size() > 1, "empty query");
        cases.push_back(Case{f, where, stem + "_L" + std::to_string(n), line.substr(6)});
      } else if (!cases.empty()) {
        AddExpectation(*f, &cases.back(), t, line);
      } else if (!file_error.empty()) {
        continue;
      } else if (t[0] == "block") {
        if (!f->blocks.back()->batch.empty()) f->blocks.push_back(std::make_unique<Block>());
        in_trace = false;
        stack.clear();
      } else if (t[0] == "trace" && t.size() >= 2) {
        trace = Id<16>(t[1]);
        trace_at = t.size() > 2 && KV(t[2]).first == "at" ? Dur(KV(t[2]).second) : 0;
        Check(t.size() <= 3 && (t.size() == 2 || KV(t[2]).first == "at"),
              "expected: trace <id> [at=<dur>]");
        f->trace_names[trace] = t[1];
        stack.clear();
        in_trace = true;
      } else if (t[0] == "span" && t.size() >= 2 && in_trace) {
        while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
        SpanId id = Id<8>(t[1]), parent = stack.empty() ? SpanId() : stack.back().second;
        for (size_t i = 2; i < t.size(); ++i) {
          auto [k, v] = KV(t[i]);
          if (k == "parent") parent = v == "-" ? SpanId() : Id<8>(v);
        }
        AddSpan(f.get(), f->blocks.back().get(), trace, trace_at, id, parent, t);
        stack.emplace_back(indent, id);
      } else {
        Check((t[0] == "event" || t[0] == "link") && !stack.empty() && indent > stack.back().first,
              "unknown line, or an event/link not indented under a span");
        AddEventOrLink(f->blocks.back().get(), t);
      }
    } catch (const std::exception& e) {  // ParseError, or std::stoul's
      std::string& error = cases.empty() ? file_error : cases.back().error;
      if (error.empty()) error = where + ": " + e.what();
    }
  }
  for (Case& c : cases) {
    if (!file_error.empty()) c.error = file_error;
    if (c.none + !c.expect_error.empty() + !c.traces.empty() != 1 && c.error.empty()) {
      c.error = c.where + ": a case needs exactly one of: none, error, <trace>: lines";
    }
  }
  if (cases.empty()) {
    cases.push_back(Case{f, rel, stem, "", file_error.empty() ? rel + ": no cases" : file_error});
  }
  return cases;
}

const std::vector<Case>& AllCases() {
  static const std::vector<Case> cases = [] {
    const fs::path dir = fs::path(VV_SOURCE_DIR) / "tests/golden/traceql";
    std::vector<fs::path> files;
    std::error_code ec;  // no directory: no cases, and BlocksRoundTrip fails
    for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".test") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<Case> out;
    for (const fs::path& p : files) {
      std::vector<Case> cases = ParseFile(p, fs::relative(p, dir).generic_string());
      out.insert(out.end(), cases.begin(), cases.end());
    }
    return out;
  }();
  return cases;
}

// ---- Blocks -----------------------------------------------------------------------------------

struct Fixture {
  std::unique_ptr<io::ObjectStore> store = io::NewMemoryStore();
  std::vector<std::shared_ptr<blocks::BlockReader>> readers;  // one per non-empty block
  std::string error;
};

std::map<TraceId, std::vector<uint32_t>> RowsByTrace(const model::SpanBatch& b) {
  std::map<TraceId, std::vector<uint32_t>> rows;
  for (uint32_t i = 0; i < b.size(); ++i) rows[b.trace_id[i]].push_back(i);
  return rows;
}

// The blocks of a file, written once; row groups of ~2 spans, so that pruning has work to do.
const Fixture& GetFixture(const GoldenFile& f) {
  static std::map<std::string, std::unique_ptr<Fixture>> cache;
  std::unique_ptr<Fixture>& fx = cache[f.path];
  if (fx) return *fx;
  fx = std::make_unique<Fixture>();
  for (const auto& block : f.blocks) {
    if (block->batch.empty()) continue;
    blocks::BlockWriterOptions opts;
    opts.row_group_spans = 2;
    blocks::BlockWriter w(fx->store.get(), kTenant, opts);
    for (const auto& [id, rows] : RowsByTrace(block->batch)) {
      if (Status s = w.AddTrace(block->batch, rows); !s.ok()) fx->error = s.ToString();
    }
    Result<blocks::BlockMeta> meta = w.Finish();
    if (!meta.ok()) fx->error = meta.status().ToString();
    if (!fx->error.empty()) break;
    fx->readers.push_back(std::make_shared<blocks::BlockReader>(fx->store.get(), *meta));
  }
  return *fx;
}

// ---- Comparison -------------------------------------------------------------------------------

// The result in the expectation syntax; with `span_attrs`, each span's attributes in [].
std::string RenderResult(const GoldenFile& f, const traceql::SearchResult& r, bool span_attrs) {
  std::string out;
  for (const auto& t : r.traces) {
    for (const auto& ss : t.spansets) {
      out += "  " + f.Name(t.id) + ":";
      for (const auto& sp : ss.spans) {
        out += " " + f.Name(sp.id);
        for (size_t i = 0; span_attrs && i < sp.attributes.size(); ++i) {
          out += (i ? " " : "[") + sp.attributes[i].key + "=" + Render(sp.attributes[i].value);
          out += i + 1 == sp.attributes.size() ? "]" : "";
        }
      }
      out += " | matched=" + std::to_string(ss.matched);
      for (const auto& a : ss.attributes) out += " " + a.key + "=" + Render(a.value);
      out += "\n";
    }
  }
  return out.empty() ? "  none\n" : out;
}

// Every wanted attribute is among `actual`; with `any_scope`, `span.k` also matches a key `k`.
bool HasAttrs(const std::vector<traceql::ResultAttribute>& actual, const Attrs& want,
              bool any_scope) {
  return std::all_of(want.begin(), want.end(), [&](const auto& w) {
    std::string bare = w.first.substr(w.first.find('.') + 1);
    return std::any_of(actual.begin(), actual.end(), [&](const traceql::ResultAttribute& a) {
      return (a.key == w.first || (any_scope && a.key == bare)) &&
             Render(a.value) == Render(w.second);
    });
  });
}

bool SpansetMatches(const ExpSpanset& e, const traceql::SpansetResult& a) {
  std::set<SpanId> ids;
  for (const auto& sp : a.spans) ids.insert(sp.id);
  return ids == e.spans && (!e.matched || *e.matched == a.matched) &&
         HasAttrs(a.attributes, e.attrs, false);
}

// What is wrong with `r` against the case's expectations ("" when nothing is).
std::string Compare(const Case& c, const traceql::SearchResult& r) {
  const GoldenFile& f = *c.file;
  std::string problems;
  std::vector<TraceId> want, got;
  for (const auto& t : c.traces) want.push_back(t.first);
  for (const auto& t : r.traces) got.push_back(t.id);
  if (want != got) problems += "- other traces, or another order\n";
  for (const auto& t : r.traces) {
    for (const auto& ss : t.spansets) {
      if (ss.spans.size() > c.spss || ss.matched < ss.spans.size()) {
        problems += "- " + f.Name(t.id) + ": more spans than spss or than matched\n";
      }
      for (size_t i = 1; i < ss.spans.size(); ++i) {
        const auto &p = ss.spans[i - 1], &q = ss.spans[i];
        if (std::tie(p.start_unix_nano, p.id) >= std::tie(q.start_unix_nano, q.id)) {
          problems += "- " + f.Name(t.id) +
                      ": spans not earliest start first (ties by id): " + f.Name(q.id) + "\n";
        }
      }
    }
    auto exp = std::find_if(c.traces.begin(), c.traces.end(),
                            [&](const auto& e) { return e.first == t.id; });
    if (exp == c.traces.end()) continue;
    // A multiset match; the most constrained expectations choose first.
    std::vector<const ExpSpanset*> order;
    for (const auto& e : exp->second) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](const ExpSpanset* a, const ExpSpanset* b) {
      return a->attrs.size() + a->matched.has_value() > b->attrs.size() + b->matched.has_value();
    });
    std::vector<bool> used(t.spansets.size());
    for (const ExpSpanset* e : order) {
      size_t i = 0;
      while (i < used.size() && (used[i] || !SpansetMatches(*e, t.spansets[i]))) ++i;
      if (i < used.size()) used[i] = true;
      if (i == used.size()) problems += "- nothing matches: " + e->text + "\n";
    }
    if (std::find(used.begin(), used.end(), false) != used.end()) {
      problems += "- " + f.Name(t.id) + ": unexpected spansets\n";
    }
  }
  for (const SpanCheck& check : c.checks) {
    bool found = false;
    for (const auto& t : r.traces) {
      for (const auto& ss : t.spansets) {
        for (const auto& sp : ss.spans) {
          found |= t.id == check.trace && sp.id == check.span &&
                   HasAttrs(sp.attributes, check.attrs, true);
        }
      }
    }
    if (!found) problems += "- no returned span satisfies: " + check.text + "\n";
  }
  return problems;
}

class TraceqlGolden : public ::testing::TestWithParam<Case> {};

TEST_P(TraceqlGolden, Case) {
  const Case& c = GetParam();
  ASSERT_TRUE(c.error.empty()) << c.error;
  const Fixture& fx = GetFixture(*c.file);
  ASSERT_TRUE(fx.error.empty()) << c.where << ": writing the blocks failed: " << fx.error;
  std::vector<std::unique_ptr<blocks::BlockFetcher>> fetchers;
  std::vector<traceql::FetchSource> sources;
  for (const auto& reader : fx.readers) {
    fetchers.push_back(std::make_unique<blocks::BlockFetcher>(reader));
    const blocks::BlockMeta& m = reader->meta();
    sources.push_back({fetchers.back().get(), m.start_unix_nano, m.end_unix_nano, m.total_bytes()});
  }
  traceql::SearchOptions opts;
  opts.limit = c.limit;
  opts.spans_per_spanset = c.spss;
  opts.threads = 2;
  Result<traceql::SearchResult> r = traceql::Search(c.query, sources, opts);
  std::string head = c.where + "\n  query: " + c.query + "\n";
  if (!c.expect_error.empty()) {
    ASSERT_FALSE(r.ok()) << head << "expected an error, got:\n"
                         << RenderResult(*c.file, *r, !c.checks.empty());
    StatusCode want =
        c.expect_error == "invalid" ? StatusCode::kInvalidArgument : StatusCode::kUnimplemented;
    EXPECT_TRUE(c.expect_error == "any" || r.status().code() == want)
        << head << "wrong error: " << r.status().ToString();
    return;
  }
  ASSERT_TRUE(r.ok()) << head << "unexpected error: " << r.status().ToString();
  std::string expected;
  for (const auto& t : c.traces) {
    for (const auto& ss : t.second) expected += "  " + ss.text + "\n";
  }
  std::string problems = Compare(c, *r);
  EXPECT_TRUE(problems.empty()) << head << problems << "expected:\n"
                                << (expected.empty() ? "  none\n" : expected) << "actual:\n"
                                << RenderResult(*c.file, *r, !c.checks.empty());
}

INSTANTIATE_TEST_SUITE_P(Golden, TraceqlGolden, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// The fixture builder itself: every file parses, and every trace reads back from its blocks.
TEST(TraceqlGoldenFixtures, BlocksRoundTrip) {
  std::set<std::string> files;
  for (const Case& c : AllCases()) {
    ASSERT_TRUE(c.error.empty()) << c.error;
    if (!files.insert(c.file->path).second) continue;
    const Fixture& fx = GetFixture(*c.file);
    ASSERT_TRUE(fx.error.empty()) << c.where << ": " << fx.error;
    size_t reader = 0;
    for (const auto& block : c.file->blocks) {
      if (block->batch.empty()) continue;
      ASSERT_LT(reader, fx.readers.size());
      for (const auto& [id, rows] : RowsByTrace(block->batch)) {
        model::SpanBatch out;
        ASSERT_TRUE(fx.readers[reader]->FindTrace(id, &out).ok());
        std::multiset<SpanId> want, got(out.span_id.begin(), out.span_id.end());
        for (uint32_t row : rows) want.insert(block->batch.span_id[row]);
        EXPECT_EQ(want, got) << c.file->rel << ": trace " << c.file->Name(id) << " in block "
                             << reader;
      }
      ++reader;
    }
  }
  EXPECT_GE(files.size(), 1u) << "no golden files under tests/golden/traceql";
}

}  // namespace
}  // namespace vivace
