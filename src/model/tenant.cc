#include "model/tenant.h"

#include <string>

namespace vivace::model {

Status ValidateTenant(std::string_view tenant) {
  if (tenant.empty()) return InvalidArgument("tenant id is empty");
  if (tenant.size() > kMaxTenantLength) {
    return InvalidArgument("tenant id is longer than " + std::to_string(kMaxTenantLength) + " characters");
  }
  if (tenant == "." || tenant == "..") return InvalidArgument("tenant id must not be \".\" or \"..\"");
  for (char c : tenant) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' ||
              c == '-' || c == '_' || c == '.' || c == '*' || c == '\'' || c == '(' || c == ')';
    if (!ok) return InvalidArgument("tenant id contains an unsupported character '" + std::string(1, c) + "'");
  }
  return Status::OK();
}

}  // namespace vivace::model
