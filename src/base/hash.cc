#include "base/hash.h"

#include <xxhash.h>

namespace vivace {

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

}  // namespace vivace
