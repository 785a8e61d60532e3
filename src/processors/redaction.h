#pragma once
// The `redaction` processor (contrib processor/redactionprocessor): removes attributes whose
// keys are not allowed and masks values that match blocked patterns, on resource, scope, span
// and span event attributes (links are left alone, as in the Collector).
//
// Per attribute, in this order:
//   1. key in `ignored_keys` or matching `ignored_key_patterns`: left untouched;
//   2. `allow_all_keys` false and key not in `allowed_keys` (nor a `redaction.*` summary key):
//      removed (an empty `allowed_keys` removes everything: the list fails closed);
//   3. value matching any `allowed_values` regex: kept as is;
//   4. key matching a `blocked_key_patterns` regex: the whole value is masked;
//   5. every match of each `blocked_values` regex (in order) in the value is masked.
// Masking writes "****", or the hex digest of the matched text with `hash_function`. Only
// string values are examined unless `redact_all_types` (then ints, doubles, bools and bytes are
// examined as their string form; arrays and maps are left alone).
// `summary: debug` adds redaction.{redacted,masked,allowed}.keys (sorted, comma-separated) and
// the matching .count attributes plus redaction.ignored.count; `info` adds the counts only;
// `silent` (the default) adds nothing. Existing summary values are merged, as when two
// redaction processors run in a row.

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "processors/processor.h"

namespace YAML {
class Node;
}

namespace vivace::processors {

enum class RedactionHash { kNone, kMd5, kSha1, kSha3 };  // sha3 = SHA3-256, as the Collector
enum class RedactionSummary { kSilent, kInfo, kDebug };

struct RedactionOptions {
  bool allow_all_keys = false;
  std::vector<std::string> allowed_keys;
  std::vector<std::string> ignored_keys;
  std::vector<std::string> ignored_key_patterns;  // RE2 syntax (Go's regexp syntax is a subset)
  std::vector<std::string> blocked_key_patterns;
  std::vector<std::string> blocked_values;
  std::vector<std::string> allowed_values;
  bool redact_all_types = false;
  RedactionHash hash_function = RedactionHash::kNone;
  RedactionSummary summary = RedactionSummary::kSilent;
};

/// Parses a `redaction` section (keys as the Collector's; url_sanitizer and db_sanitizer are
/// rejected as unsupported). Regexes are compiled here so that errors name their line.
Result<RedactionOptions> ParseRedactionOptions(const YAML::Node& node, const std::string& path);

/// Thread-safe: Apply may run concurrently on different batches.
class RedactionTransform : public BatchTransform {
 public:
  /// Fails when a regex does not compile.
  static Result<std::unique_ptr<RedactionTransform>> Create(const RedactionOptions& options);
  ~RedactionTransform() override;

  void Apply(model::SpanBatch& batch) override;

  struct Rules;  // compiled options (redaction.cc)

 private:
  explicit RedactionTransform(std::unique_ptr<const Rules> rules);
  std::unique_ptr<const Rules> rules_;
};

}  // namespace vivace::processors
