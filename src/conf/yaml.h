#pragma once
// Strict YAML configuration parsing shared by vivace.yaml's sections: every mapping is walked
// with a Section that dispatches known keys and rejects unknown ones, and every error names the
// key path and line (`processors.batch.timeout (line 12): ...`). Include only from config
// parsers: yaml-cpp's headers are not light.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vivace::conf {

/// Walks one YAML mapping, dispatching known keys and rejecting unknown ones.
class Section {
 public:
  using Handler = std::function<Status(const YAML::Node&, const std::string&)>;

  Section(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {}

  Section& On(std::string key, Handler h) {
    handlers_.emplace(std::move(key), std::move(h));
    return *this;
  }
  /// Keys not handled are passed here instead of being errors (for maps of named items):
  /// (key node, value node, path of the key).
  using KeyHandler = std::function<Status(const YAML::Node& key, const YAML::Node& value, const std::string&)>;
  Section& Otherwise(KeyHandler h) {
    otherwise_ = std::move(h);
    return *this;
  }
  Status Run();

  /// "<path> (line N): <what>".
  static Status Error(const YAML::Node& n, const std::string& path, std::string_view what);

 private:
  YAML::Node node_;
  std::string path_;
  std::map<std::string, Handler> handlers_;
  KeyHandler otherwise_;
};

/// "a.b" + "c" -> "a.b.c".
std::string Join(const std::string& path, std::string_view key);

Result<std::string> Scalar(const YAML::Node& n, const std::string& path);
/// A mapping key as text; keys that are sequences or mappings (`? [a]: b`) are errors.
Result<std::string> Key(const YAML::Node& key, const std::string& path);

Section::Handler String(std::string* out);
Section::Handler Bool(bool* out);
Section::Handler Int64(int64_t* out, int64_t min, int64_t max);
Section::Handler Double(double* out, double min, double max);
Section::Handler Bytes(uint64_t* out, uint64_t min);
Section::Handler Duration(std::chrono::milliseconds* out);
/// A sequence of scalars (`[a, b]` or a block list).
Section::Handler StringList(std::vector<std::string>* out);

template <typename T>
Section::Handler Int(T* out, uint64_t min, uint64_t max) {
  return [out, min, max](const YAML::Node& n, const std::string& path) -> Status {
    VV_ASSIGN_OR_RETURN(std::string s, Scalar(n, path));
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || s[0] == '-' || v < min || v > max) {
      return Section::Error(n, path, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    *out = static_cast<T>(v);
    return Status::OK();
  };
}

/// Runs `each(item, path + "[i]")` for every element of a sequence.
Status ForEach(const YAML::Node& n, const std::string& path,
               const std::function<Status(const YAML::Node&, const std::string&)>& each);

/// "100ms", "5s", "2m", "1h", "1h30m", "1.5s" (Go duration syntax).
Result<std::chrono::milliseconds> ParseDuration(std::string_view s);
/// 1048576, "20MiB", "1GiB", "512KiB", "1GB", "10MB", "100kB", "64B".
Result<uint64_t> ParseBytes(std::string_view s);

/// Parses YAML text, with a clear error (line) when it is not YAML.
Result<YAML::Node> LoadYaml(std::string_view text);

}  // namespace vivace::conf
