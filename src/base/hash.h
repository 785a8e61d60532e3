#pragma once
// Fast non-cryptographic hashing (XXH3), stable across versions: safe to persist.

#include <cstdint>
#include <string_view>

namespace vivace {

uint64_t Hash64(std::string_view data, uint64_t seed = 0);

}  // namespace vivace
