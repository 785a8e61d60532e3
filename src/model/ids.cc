#include "model/ids.h"

#include "base/strings.h"

namespace vivace::model {

template <size_t N>
std::string Id<N>::Hex() const {
  return HexEncode(view());
}
template struct Id<16>;
template struct Id<8>;

std::optional<TraceId> ParseTraceIdHex(std::string_view hex) {
  if (hex.empty() || hex.size() > 32) return std::nullopt;
  char padded[32];
  size_t pad = 32 - hex.size();
  std::memset(padded, '0', pad);
  std::memcpy(padded + pad, hex.data(), hex.size());
  TraceId id;
  if (!HexDecode(std::string_view(padded, 32), id.bytes.data(), 16)) return std::nullopt;
  return id;
}

}  // namespace vivace::model
