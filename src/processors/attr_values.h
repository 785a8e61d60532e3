#pragma once
// Attribute value helpers shared by the attributes, resource, span and filter processors:
// configured literal values typed as the Collector types them, attribute lookup, Go-compatible
// stringification, an attribute-list editor, and Go regexps compiled with RE2.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/span_batch.h"

namespace YAML {
class Node;
}
namespace re2 {
class RE2;
}

namespace vivace::processors {

/// A literal value from the configuration (`value:`, `default_value:`, matcher values), typed
/// the way the Collector's YAML decoding types it: unquoted 123 is an int, 1.5 a double, true a
/// bool, anything quoted a string.
struct ConfigValue {
  enum class Kind : uint8_t { kString, kInt, kDouble, kBool };
  Kind kind = Kind::kString;
  std::string s;
  int64_t i = 0;
  double d = 0;
  bool b = false;

  static ConfigValue String(std::string v);
  static ConfigValue Int(int64_t v);
  static ConfigValue Double(double v);
  static ConfigValue Bool(bool v);
  /// The value as an attribute value. A string views `string_storage`, which must hold `s`
  /// (a copy in the batch arena).
  model::Value ToValue(std::string_view string_storage) const;
  /// pcommon.Value.Equal against an attribute value: same type and same value.
  bool Equals(const model::Value& v) const;
};

/// Parses a scalar with YAML 1.2 core-schema inference (Go yaml.v3 as the Collector uses it).
/// A null node yields nullopt (the Collector treats `value:` with nothing as unset).
Result<std::optional<ConfigValue>> ParseConfigValue(const YAML::Node& node,
                                                    const std::string& path);

/// The first attribute of `attrs` named `key`, or nullptr. The pointer is valid until the
/// attribute pool of `batch` grows.
const model::Value* FindAttribute(const model::SpanBatch& batch, model::Range attrs,
                                  std::string_view key);

/// Text of a scalar value as Go's strconv formats it (FormatFloat(v, 'f', -1, 64), FormatInt,
/// FormatBool); strings are returned as they are. Does not allocate. Used where the Collector
/// stringifies scalars: span renaming, regexp attribute matching, OTTL IsMatch.
class ScalarText {
 public:
  /// False (and an empty view) for bytes, arrays, kvlists and empty values.
  bool Set(const model::Value& v);
  std::string_view view() const { return view_; }

 private:
  char buf_[384];  // the longest shortest-form fixed double is 327 characters
  std::string_view view_;
};

/// pcommon.Value.AsString(): scalars, bytes as base64, arrays and kvlists as JSON (keys sorted,
/// as Go's encoding/json writes maps).
void AppendAsString(const model::SpanBatch& batch, const model::Value& v, std::string& out);

/// Scratch copy of one attribute list, edited and then written back: over its own range when
/// the list got no longer, else into a fresh range at the end of the pool. Uses a thread-local
/// buffer: at most one editor per thread at a time. Keys and string values put in must view
/// memory the batch owns. REQUIRES: the range belongs to one owner (span, resource, scope) and
/// nothing else views it, as every decoder and SpanCopier build them.
class AttrListEditor {
 public:
  AttrListEditor(model::SpanBatch& batch, model::Range attrs);
  AttrListEditor(const AttrListEditor&) = delete;
  AttrListEditor& operator=(const AttrListEditor&) = delete;

  /// Index of the first attribute named `key`, or -1.
  int Find(std::string_view key) const;
  model::KeyValue& at(size_t i) { return list_[i]; }
  size_t size() const { return list_.size(); }
  void Set(size_t i, model::Value v) {
    list_[i].value = v;
    changed_ = true;
  }
  /// pcommon Map.PutStr/Put: replaces the first `key`, else appends.
  void Upsert(std::string_view key, model::Value v);
  void Append(std::string_view key, model::Value v) {
    list_.push_back(model::KeyValue{key, v});
    changed_ = true;
  }
  /// Removes every attribute for which drop(kv) is true.
  template <typename Pred>
  void RemoveIf(Pred drop) {
    size_t out = 0;
    for (size_t i = 0; i < list_.size(); ++i) {
      if (!drop(list_[i])) list_[out++] = list_[i];
    }
    if (out != list_.size()) {
      list_.resize(out);
      changed_ = true;
    }
  }
  bool changed() const { return changed_; }
  /// The original range when unchanged, else the range holding the edited list (the batch is
  /// marked modified).
  model::Range Commit();

 private:
  model::SpanBatch& batch_;
  model::Range original_;
  std::vector<model::KeyValue>& list_;
  bool changed_ = false;
};

/// A Go regexp over attribute keys (delete/hash `pattern`), remembering results per thread:
/// keys repeat from span to span, and a probe costs one hash where a search costs tens of
/// nanoseconds per key. Immutable and thread-safe.
class KeyRegexp {
 public:
  static Result<KeyRegexp> Compile(std::string_view pattern);
  KeyRegexp(KeyRegexp&&) noexcept;
  KeyRegexp& operator=(KeyRegexp&&) noexcept;
  ~KeyRegexp();
  /// Unanchored search, as Go's MatchString.
  bool Find(std::string_view key) const;

 private:
  KeyRegexp() = default;
  std::unique_ptr<re2::RE2> re_;
  uint64_t id_ = 0;  // tells regexps apart in the per-thread memo (never reused)
};

/// Compiles a Go regexp (RE2 syntax; `(?<name>` is accepted as `(?P<name>`). The error message
/// carries RE2's reason.
Result<std::unique_ptr<re2::RE2>> CompileGoRegexp(std::string_view pattern);

/// RE2 unanchored search (Go's MatchString).
bool RegexpFind(const re2::RE2& re, std::string_view text);

}  // namespace vivace::processors
