#pragma once
// Hex and base64 coding, and small string helpers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vivace {

/// Lowercase hex of the bytes.
std::string HexEncode(std::string_view bytes);
void AppendHex(std::string* out, std::string_view bytes);
/// Decodes hex (either case) into `out` (exactly out_len bytes). False if invalid or wrong length.
bool HexDecode(std::string_view hex, uint8_t* out, size_t out_len);

/// Standard base64 with padding (RFC 4648 §4), as protobuf's JSON mapping uses for bytes.
void AppendBase64(std::string* out, std::string_view bytes);
/// Accepts standard and URL-safe alphabets, padded or not.
std::optional<std::string> Base64Decode(std::string_view in);

/// Appends s as the contents of a JSON string (without quotes), escaping as RFC 8259 requires.
/// Invalid UTF-8 bytes are replaced with U+FFFD so the output is always valid JSON.
void AppendJsonEscaped(std::string* out, std::string_view s);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);

/// Decodes %XX escapes (not '+'); nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s);

}  // namespace vivace
