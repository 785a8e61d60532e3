#include "conf/yaml.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace vivace::conf {

Status Section::Run() {
  if (!node_ || node_.IsNull()) return Status::OK();
  if (!node_.IsMap()) return Error(node_, path_, "must be a mapping");
  for (const auto& kv : node_) {
    VV_ASSIGN_OR_RETURN(std::string key, Key(kv.first, path_));
    std::string path = Join(path_, key);
    auto it = handlers_.find(key);
    if (it != handlers_.end()) {
      VV_RETURN_IF_ERROR(it->second(kv.second, path));
    } else if (otherwise_) {
      VV_RETURN_IF_ERROR(otherwise_(kv.first, kv.second, path));
    } else {
      return Error(kv.first, path, "unknown key");
    }
  }
  return Status::OK();
}

Status Section::Error(const YAML::Node& n, const std::string& path, std::string_view what) {
  return InvalidArgument(path + " (line " + std::to_string(n.Mark().line + 1) + "): " + std::string(what));
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Result<std::string> Scalar(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return Section::Error(n, path, "must be a scalar value");
  return n.Scalar();
}

Result<std::string> Key(const YAML::Node& key, const std::string& path) {
  if (!key.IsScalar()) return Section::Error(key, path, "keys must be plain scalars");
  return key.Scalar();
}

Section::Handler String(std::string* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(*out, Scalar(n, path));
    return Status::OK();
  };
}

Section::Handler Bool(bool* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, Scalar(n, path));
    if (s == "true") {
      *out = true;
    } else if (s == "false") {
      *out = false;
    } else {
      return Section::Error(n, path, "must be true or false");
    }
    return Status::OK();
  };
}

Section::Handler Int64(int64_t* out, int64_t min, int64_t max) {
  return [out, min, max](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, Scalar(n, path));
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
      return Section::Error(n, path, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    *out = v;
    return Status::OK();
  };
}

Section::Handler Double(double* out, double min, double max) {
  return [out, min, max](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, Scalar(n, path));
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(v) || v < min || v > max) {
      return Section::Error(n, path, "must be a number from " + std::to_string(min) + " to " + std::to_string(max));
    }
    *out = v;
    return Status::OK();
  };
}

Section::Handler Bytes(uint64_t* out, uint64_t min) {
  return [out, min](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, Scalar(n, path));
    auto v = ParseBytes(s);
    if (!v.ok()) return Section::Error(n, path, v.status().message());
    if (*v < min) return Section::Error(n, path, "must be at least " + std::to_string(min) + " bytes");
    *out = *v;
    return Status::OK();
  };
}

Section::Handler Duration(std::chrono::milliseconds* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, Scalar(n, path));
    auto v = ParseDuration(s);
    if (!v.ok()) return Section::Error(n, path, v.status().message());
    *out = *v;
    return Status::OK();
  };
}

Section::Handler StringList(std::vector<std::string>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    out->clear();
    if (n.IsNull()) return Status::OK();
    if (!n.IsSequence()) return Section::Error(n, path, "must be a list");
    for (size_t i = 0; i < n.size(); ++i) {
      VV_ASSIGN_OR_RETURN(std::string s, Scalar(n[i], path + "[" + std::to_string(i) + "]"));
      out->push_back(std::move(s));
    }
    return Status::OK();
  };
}

Status ForEach(const YAML::Node& n, const std::string& path,
               const std::function<Status(const YAML::Node&, const std::string&)>& each) {
  if (!n || n.IsNull()) return Status::OK();
  if (!n.IsSequence()) return Section::Error(n, path, "must be a list");
  for (size_t i = 0; i < n.size(); ++i) VV_RETURN_IF_ERROR(each(n[i], path + "[" + std::to_string(i) + "]"));
  return Status::OK();
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view s) {
  if (s.empty()) return InvalidArgument("empty duration");
  if (s == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  size_t i = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (digit(s[j]) || s[j] == '.')) ++j;
    if (j == i) return InvalidArgument("invalid duration \"" + std::string(s) + "\"");
    std::string num_text(s.substr(i, j - i));
    char* end = nullptr;
    double num = std::strtod(num_text.c_str(), &end);
    if (*end != '\0') return InvalidArgument("invalid duration \"" + std::string(s) + "\"");
    size_t k = j;
    while (k < s.size() && !digit(s[k]) && s[k] != '.') ++k;
    std::string_view unit = s.substr(j, k - j);
    double ms;
    if (unit == "ns") {
      ms = 1e-6;
    } else if (unit == "us" || unit == "µs") {
      ms = 1e-3;
    } else if (unit == "ms") {
      ms = 1;
    } else if (unit == "s") {
      ms = 1000;
    } else if (unit == "m") {
      ms = 60000;
    } else if (unit == "h") {
      ms = 3600000;
    } else if (unit == "d") {
      ms = 86400000;
    } else {
      return InvalidArgument("invalid duration unit \"" + std::string(unit) + "\" in \"" + std::string(s) +
                             "\" (use ms, s, m, h, d)");
    }
    total_ms += num * ms;
    i = k;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

Result<uint64_t> ParseBytes(std::string_view s) {
  size_t j = 0;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
  if (j == 0 || j > 18) return InvalidArgument("invalid size \"" + std::string(s) + "\"");
  uint64_t num = std::stoull(std::string(s.substr(0, j)));
  std::string_view unit = s.substr(j);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static const std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
      {"kB", 1000}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}, {"TB", 1000000000000ull}};
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) return num * mult;
  }
  return InvalidArgument("invalid size unit \"" + std::string(unit) + "\" (use B, KiB, MiB, GiB, kB, MB, GB)");
}

Result<YAML::Node> LoadYaml(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config is not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

}  // namespace vivace::conf
