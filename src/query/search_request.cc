#include "query/search_request.h"

#include <fmt/format.h>

#include <cstring>
#include <set>

#include "base/protowire.h"
#include "base/strings.h"
#include "query/go_format.h"
#include "traceql/ast.h"
#include "traceql/parser.h"

namespace vivace::query {
namespace {

// url.Values.Get: the first occurrence; Tempo's extractQueryParam then treats "" as absent.
std::optional<std::string_view> Param(const QueryParams& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) {
      if (v.empty()) return std::nullopt;
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

Status Prefixed(std::string_view prefix, const Status& s) {
  return InvalidArgument(std::string(prefix) + std::string(s.message()));
}

// Go's time.Duration.Milliseconds() then uint32(...), as Tempo stores minDuration/maxDuration.
uint32_t ToMillis32(int64_t nanos) {
  return static_cast<uint32_t>(static_cast<uint64_t>(nanos / 1000000));
}

// Parsers for Tempo's start/end: ParseUint(s, 10, 32) in search, ParseInt(s, 10, 32) in tags.
Result<uint32_t> SearchSeconds(const QueryParams& params, std::string_view name) {
  auto v = Param(params, name);
  if (!v) return uint32_t{0};
  auto n = ParseGoUint(*v, 32);
  if (!n.ok()) return Prefixed(fmt::format("invalid {}: ", name), n.status());
  return static_cast<uint32_t>(*n);
}

Result<uint64_t> TagSeconds(const QueryParams& params, std::string_view name) {
  auto v = Param(params, name);
  if (!v) return uint64_t{0};
  auto n = ParseGoInt(*v, 32);
  if (!n.ok()) return Prefixed(fmt::format("invalid {}: ", name), n.status());
  return uint64_t{static_cast<uint32_t>(*n)};  // Tempo keeps uint32(start): negatives wrap
}

Status TimeRangeError(uint32_t start, uint32_t end) {
  return InvalidArgument(
      fmt::format("http parameter start must be before end. received start={} end={}", start, end));
}

// ---- logfmt (go-logfmt's decoder, which Tempo uses for `tags`) ----

Status LogfmtError(std::string_view msg, size_t pos) {
  return InvalidArgument(fmt::format("invalid tags: {} at pos {}", msg, pos + 1));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

int ReadU4(std::string_view s, size_t i) {  // "\uXXXX" at s[i]; -1 if not
  if (i + 6 > s.size() || s[i] != '\\' || s[i + 1] != 'u') return -1;
  int v = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    int h = HexValue(s[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// JSON-style unquoting of the inside of a quoted logfmt value that has escapes.
std::optional<std::string> UnquoteLogfmt(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '"' || static_cast<unsigned char>(c) < ' ') return std::nullopt;
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return std::nullopt;
    char e = s[i + 1];
    switch (e) {
      case '"':
      case '\\':
      case '/':
      case '\'':
        out.push_back(e);
        i += 2;
        break;
      case 'b':
        out.push_back('\b');
        i += 2;
        break;
      case 'f':
        out.push_back('\f');
        i += 2;
        break;
      case 'n':
        out.push_back('\n');
        i += 2;
        break;
      case 'r':
        out.push_back('\r');
        i += 2;
        break;
      case 't':
        out.push_back('\t');
        i += 2;
        break;
      case 'u': {
        int r = ReadU4(s, i);
        if (r < 0) return std::nullopt;
        i += 6;
        auto cp = static_cast<uint32_t>(r);
        if (cp >= 0xd800 && cp < 0xe000) {
          int r2 = ReadU4(s, i);
          if (cp < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (static_cast<uint32_t>(r2) - 0xdc00);
            i += 6;
          } else {
            cp = 0xfffd;  // a lone surrogate
          }
        }
        AppendUtf8(&out, cp);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

// One line of logfmt: key[=value] pairs separated by bytes <= ' '.
Status ScanLogfmtLine(std::string_view line, std::map<std::string, std::string>* tags) {
  size_t pos = 0;
  while (true) {
    while (pos < line.size() && static_cast<unsigned char>(line[pos]) <= ' ') ++pos;
    if (pos >= line.size()) return Status::OK();
    size_t start = pos;
    while (pos < line.size() && line[pos] != '=' && line[pos] != '"' &&
           static_cast<unsigned char>(line[pos]) > ' ') {
      ++pos;
    }
    if (pos < line.size() && line[pos] == '"') return LogfmtError("unexpected '\"'", pos);
    if (pos < line.size() && line[pos] == '=' && pos == start)
      return LogfmtError("unexpected '='", pos);
    std::string key(line.substr(start, pos - start));
    std::string value;
    if (pos < line.size() && line[pos] == '=') {
      ++pos;
      if (pos < line.size() && line[pos] == '"') {
        size_t open = pos;
        bool esc = false, has_esc = false, closed = false;
        for (size_t i = open + 1; i < line.size(); ++i) {
          char c = line[i];
          if (esc) {
            esc = false;
          } else if (c == '\\') {
            has_esc = esc = true;
          } else if (c == '"') {
            std::string_view inner = line.substr(open + 1, i - open - 1);
            pos = i + 1;
            if (has_esc) {
              auto u = UnquoteLogfmt(inner);
              if (!u) return LogfmtError("invalid quoted value", pos);
              value = std::move(*u);
            } else {
              value.assign(inner);
            }
            closed = true;
            break;
          }
        }
        if (!closed) return LogfmtError("unterminated quoted value", line.size());
      } else {
        size_t vstart = pos;
        while (pos < line.size() && static_cast<unsigned char>(line[pos]) > ' ') {
          if (line[pos] == '=' || line[pos] == '"') {
            return LogfmtError(line[pos] == '=' ? "unexpected '='" : "unexpected '\"'", pos);
          }
          ++pos;
        }
        value.assign(line.substr(vstart, pos - vstart));
      }
    }
    if (tags->count(key) != 0)
      return InvalidArgument("invalid tags: tag " + key + " has been set twice");
    tags->emplace(std::move(key), std::move(value));
  }
}

// ---- TraceQL text ----

// TraceQL text through the traceql stringer, so that quoting follows the lexer exactly.
std::string AttributeRef(scan::Scope scope, std::string_view name) {
  return traceql::ToString(scan::Attribute::Named(scope, std::string(name)));
}

std::string StringLiteral(std::string_view s) { return traceql::ToString(scan::Static::String(std::string(s))); }

// The anchored regex literal matching values that contain `sub` (Go regexp.QuoteMeta rules).
std::string ContainsRegex(std::string_view sub) {
  std::string re = ".*";
  for (char c : sub) {
    if (std::strchr("\\.+*?()|[]{}^$", c) != nullptr && c != '\0') re += '\\';
    re += c;
  }
  re += ".*";
  return StringLiteral(re);
}

bool IsWellKnownResourceLabel(std::string_view k) {
  static const std::set<std::string_view> kLabels = {
      "service.name",      "cluster",          "namespace",          "pod",
      "container",         "k8s.cluster.name", "k8s.namespace.name", "k8s.pod.name",
      "k8s.container.name"};
  return kLabels.count(k) != 0;
}

std::string TagCondition(const std::string& k, const std::string& v) {
  if (k == "root.service.name") return "trace:rootService =~ " + ContainsRegex(v);
  if (k == "root.name") return "trace:rootName =~ " + ContainsRegex(v);
  if (IsWellKnownResourceLabel(k)) return AttributeRef(scan::Scope::kResource, k) + " =~ " + ContainsRegex(v);
  if (k == "name") return "name =~ " + ContainsRegex(v);
  if (k == "http.method" || k == "http.url")
    return AttributeRef(scan::Scope::kSpan, k) + " =~ " + ContainsRegex(v);
  if (k == "http.status_code") {
    auto code = ParseGoInt(v, 64);
    if (code.ok()) return fmt::format("span.http.status_code = {}", *code);
  }
  if (k == "status.code") {
    std::string_view status = v == "ok" ? "ok" : v == "error" ? "error" : "unset";
    return "status = " + std::string(status);
  }
  return AttributeRef(scan::Scope::kNone, k) + " = " + StringLiteral(v);
}

bool ValidTagsScope(std::string_view s) {
  static const std::set<std::string_view> kScopes = {
      "", "none", "intrinsic", "trace", "span", "resource", "event", "link", "instrumentation"};
  return kScopes.count(s) != 0;
}

uint32_t LenientUint32(const QueryParams& params, std::string_view name) {
  auto v = Param(params, name);
  if (!v) return 0;
  auto n = ParseGoUint(*v, 32);
  return n.ok() ? static_cast<uint32_t>(*n) : 0;
}

Result<uint32_t> StrictUint32(const QueryParams& params, std::string_view name) {
  auto v = Param(params, name);
  if (!v) return uint32_t{0};
  auto n = ParseGoUint(*v, 32);
  if (!n.ok()) return Prefixed(fmt::format("invalid {}: ", name), n.status());
  return static_cast<uint32_t>(*n);
}


}  // namespace

Result<std::map<std::string, std::string>> ParseLogfmtTags(std::string_view text) {
  std::map<std::string, std::string> tags;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // bufio.ScanLines
    VV_RETURN_IF_ERROR(ScanLogfmtLine(line, &tags));
  }
  return tags;
}

Result<RawSearchRequest> ParseSearchParams(const QueryParams& params) {
  RawSearchRequest raw;
  VV_ASSIGN_OR_RETURN(raw.start_s, SearchSeconds(params, "start"));
  VV_ASSIGN_OR_RETURN(raw.end_s, SearchSeconds(params, "end"));
  auto q = Param(params, "q");
  if (q) raw.query = std::string(*q);
  auto tags = Param(params, "tags");
  if (tags) {
    if (q) return InvalidArgument("invalid request: can't specify tags and q in the same query");
    VV_ASSIGN_OR_RETURN(raw.tags, ParseLogfmtTags(*tags));
  }
  if (!q && !tags && raw.start_s == 0 && raw.end_s == 0) {
    // Grafana's first Tempo search sent each tag as its own parameter.
    static const std::set<std::string_view> kReserved = {
        "q", "tags", "minDuration", "maxDuration", "limit", "spss", "start", "end"};
    std::set<std::string_view> seen;
    for (const auto& [k, v] : params) {
      if (!seen.insert(k).second || kReserved.count(k) != 0 || v.empty()) continue;
      raw.tags[k] = v;
    }
  }
  if (auto s = Param(params, "minDuration")) {
    auto d = ParseGoDuration(*s);
    if (!d.ok()) return Prefixed("invalid minDuration: ", d.status());
    raw.min_duration_ms = ToMillis32(*d);
  }
  if (auto s = Param(params, "maxDuration")) {
    auto d = ParseGoDuration(*s);
    if (!d.ok()) return Prefixed("invalid maxDuration: ", d.status());
    raw.max_duration_ms = ToMillis32(*d);
    if (raw.min_duration_ms != 0 && raw.min_duration_ms > raw.max_duration_ms) {
      return InvalidArgument("invalid maxDuration: must be greater than minDuration");
    }
  }
  if (auto s = Param(params, "limit")) {
    auto n = ParseGoUint(*s, 32);
    if (!n.ok()) return Prefixed("invalid limit: ", n.status());
    if (*n == 0) return InvalidArgument("invalid limit: must be a positive number");
    raw.limit = static_cast<uint32_t>(*n);
  }
  if (auto s = Param(params, "spss")) {
    auto n = ParseGoUint(*s, 32);
    if (!n.ok()) return Prefixed("invalid spss: ", n.status());
    raw.spans_per_spanset = static_cast<uint32_t>(*n);
  }
  if ((raw.start_s != 0 || raw.end_s != 0) && raw.end_s <= raw.start_s) {
    return TimeRangeError(raw.start_s, raw.end_s);
  }
  return raw;
}

Result<RawSearchRequest> DecodeSearchRequestProto(std::string_view message) {
  // tempopb.SearchRequest: Tags = 1 (map<string,string>), MinDurationMs = 2, MaxDurationMs = 3,
  // Limit = 4, start = 5, end = 6, Query = 8, SpansPerSpanSet = 9.
  RawSearchRequest raw;
  raw.spans_per_spanset = 0;
  protowire::Reader r(message);
  protowire::Field f;
  while (r.Next(&f)) {
    bool varint = f.type == protowire::WireType::kVarint;
    bool len = f.type == protowire::WireType::kLen;
    auto u32 = static_cast<uint32_t>(f.varint);
    switch (f.number) {
      case 1:
        if (len) {
          std::string key, value;
          protowire::Reader e(f.bytes);
          protowire::Field ef;
          while (e.Next(&ef)) {
            if (ef.type != protowire::WireType::kLen) continue;
            if (ef.number == 1) key.assign(ef.bytes);
            if (ef.number == 2) value.assign(ef.bytes);
          }
          if (!e.ok()) return InvalidArgument("malformed tempopb.SearchRequest: bad Tags entry");
          raw.tags[std::move(key)] = std::move(value);
        }
        break;
      case 2:
        if (varint) raw.min_duration_ms = u32;
        break;
      case 3:
        if (varint) raw.max_duration_ms = u32;
        break;
      case 4:
        if (varint) raw.limit = u32;
        break;
      case 5:
        if (varint) raw.start_s = u32;
        break;
      case 6:
        if (varint) raw.end_s = u32;
        break;
      case 8:
        if (len) raw.query.assign(f.bytes);
        break;
      case 9:
        if (varint) raw.spans_per_spanset = u32;
        break;
      default:
        break;
    }
  }
  if (!r.ok()) return InvalidArgument("malformed tempopb.SearchRequest");
  return raw;
}

Result<SearchRequest> FinishSearchRequest(const RawSearchRequest& raw, const SearchLimits& limits) {
  if (raw.query.size() > limits.max_query_bytes) {
    return InvalidArgument(
        fmt::format("TraceQL expression exceeds the configured maximum size of {} bytes, reduce "
                    "the query expression "
                    "size or contact your system administrator",
                    limits.max_query_bytes));
  }
  if (!raw.query.empty() && !raw.tags.empty()) {
    return InvalidArgument("invalid request: can't specify tags and q in the same query");
  }
  if (raw.max_duration_ms != 0 && raw.min_duration_ms > raw.max_duration_ms) {
    return InvalidArgument("invalid maxDuration: must be greater than minDuration");
  }
  if ((raw.start_s != 0 || raw.end_s != 0) && raw.end_s <= raw.start_s) {
    return TimeRangeError(raw.start_s, raw.end_s);
  }
  SearchRequest req;
  req.limit = raw.limit == 0 ? limits.default_limit : raw.limit;
  if (limits.max_limit != 0 && req.limit > limits.max_limit) {
    return InvalidArgument(
        fmt::format("limit {} exceeds max limit {}", req.limit, limits.max_limit));
  }
  uint64_t range = uint64_t{raw.end_s} - raw.start_s;
  if (limits.max_duration_seconds != 0 && range > limits.max_duration_seconds) {
    return InvalidArgument(fmt::format(
        "range specified by start and end exceeds {}. received start={} end={}",
        FormatGoDuration(static_cast<int64_t>(limits.max_duration_seconds) * 1000000000),
        raw.start_s, raw.end_s));
  }
  req.spans_per_spanset = raw.spans_per_spanset.value_or(limits.default_spans_per_spanset);
  if (limits.max_spans_per_spanset != 0 && req.spans_per_spanset > limits.max_spans_per_spanset) {
    return InvalidArgument(fmt::format("spans per span set exceeds {}. received {}",
                                       limits.max_spans_per_spanset, req.spans_per_spanset));
  }
  req.start_s = raw.start_s;
  req.end_s = raw.end_s;
  req.query = raw.query.empty() ? TagsToTraceQL(raw.tags, raw.min_duration_ms, raw.max_duration_ms)
                                : raw.query;
  return req;
}

std::string TagsToTraceQL(const std::map<std::string, std::string>& tags, uint32_t min_duration_ms,
                          uint32_t max_duration_ms) {
  std::string out;
  auto add = [&out](const std::string& condition) {
    if (!out.empty()) out += " && ";
    out += "{ " + condition + " }";
  };
  for (const auto& [k, v] : tags) add(TagCondition(k, v));
  std::string duration;
  if (min_duration_ms != 0) duration = fmt::format("traceDuration >= {}ms", min_duration_ms);
  if (max_duration_ms != 0) {
    if (!duration.empty()) duration += " && ";
    duration += fmt::format("traceDuration <= {}ms", max_duration_ms);
  }
  if (!duration.empty()) add(duration);
  return out.empty() ? "{}" : out;
}

Result<TagsRequest> ParseTagsParams(const QueryParams& params) {
  TagsRequest req;
  req.scope = std::string(Param(params, "scope").value_or(""));
  req.query = std::string(Param(params, "q").value_or(""));
  if (!ValidTagsScope(req.scope)) return InvalidArgument("invalid scope: " + req.scope);
  if (req.scope == "none") req.scope.clear();
  VV_ASSIGN_OR_RETURN(req.start_s, TagSeconds(params, "start"));
  VV_ASSIGN_OR_RETURN(req.end_s, TagSeconds(params, "end"));
  req.limit = LenientUint32(params, "limit");
  req.max_stale_values = LenientUint32(params, "maxStaleValues");
  return req;
}

Result<TagValuesRequest> ParseTagValuesParams(std::string tag, bool v2, const QueryParams& params) {
  if (tag.empty()) return InvalidArgument("please provide a non-empty tagName");
  if (v2) {
    auto id = traceql::ParseIdentifier(tag);
    if (!id.ok())
      return InvalidArgument("please provide a valid tagName: " +
                             std::string(id.status().message()));
  }
  TagValuesRequest req;
  req.tag = std::move(tag);
  req.v2 = v2;
  req.query = std::string(Param(params, "q").value_or(""));
  VV_ASSIGN_OR_RETURN(req.start_s, TagSeconds(params, "start"));
  VV_ASSIGN_OR_RETURN(req.end_s, TagSeconds(params, "end"));
  VV_ASSIGN_OR_RETURN(req.limit, StrictUint32(params, "limit"));
  VV_ASSIGN_OR_RETURN(req.max_stale_values, StrictUint32(params, "maxStaleValues"));
  return req;
}

std::string DecodeTagName(std::string_view segment) {
  std::string name(segment);
  for (int round = 0; round < 4; ++round) {  // Grafana encodes twice; more is not expected
    auto decoded = PercentDecode(name);
    if (!decoded || *decoded == name) break;
    name = std::move(*decoded);
  }
  return name;
}

}  // namespace vivace::query
