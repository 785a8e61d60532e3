#pragma once
// Tenants: Tempo's X-Scope-OrgID model. Without multitenancy everything is "single-tenant".

#include <string_view>

#include "base/status.h"

namespace vivace::model {

inline constexpr std::string_view kDefaultTenant = "single-tenant";
inline constexpr size_t kMaxTenantLength = 150;  // as Cortex/Tempo's tenant validation

/// Validates a tenant id as Tempo does: 1..150 characters from [A-Za-z0-9!-_.*'()], not "." or
/// "..". An empty header means the default tenant.
Status ValidateTenant(std::string_view tenant);

}  // namespace vivace::model
