#pragma once
// Helpers shared by the ObjectStore implementations. Internal to io/.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vivace::io::internal {

/// What separates a key from the random part of its local temporary file's name.
inline constexpr std::string_view kTempMarker = ".tmp.";
/// Hex digits of the random part.
inline constexpr size_t kTempRandomDigits = 16;

/// True if the file name `name` (one path segment) has the shape of a temporary file:
/// "<at least one byte>.tmp.<16 lowercase hex digits>".
bool IsTemporaryName(std::string_view name);

/// `key` in double quotes, with '"', '\\' and bytes outside printable ASCII escaped, for
/// error messages.
std::string QuoteKey(std::string_view key);

/// NotFound for `key`, with `where` (a path, or empty) appended.
Status ObjectNotFound(std::string_view key, std::string_view where = {});

/// OK if [offset, offset + length) lies within an object of `size` bytes, else InvalidArgument.
Status CheckRange(std::string_view key, uint64_t offset, uint64_t length, uint64_t size);

}  // namespace vivace::io::internal
