#include "io/object_store.h"

#include <algorithm>
#include <string>

#include "io/internal/common.h"

namespace vivace::io {

namespace internal {

bool IsTemporaryName(std::string_view name) {
  constexpr size_t kSuffix = kTempMarker.size() + kTempRandomDigits;
  if (name.size() <= kSuffix) return false;
  std::string_view suffix = name.substr(name.size() - kSuffix);
  if (!suffix.starts_with(kTempMarker)) return false;
  for (char c : suffix.substr(kTempMarker.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string QuoteKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : key) {
    auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Status ObjectNotFound(std::string_view key, std::string_view where) {
  std::string msg = "no object " + QuoteKey(key);
  if (!where.empty()) {
    msg += " (";
    msg += where;
    msg += ")";
  }
  return NotFound(std::move(msg));
}

Status CheckRange(std::string_view key, uint64_t offset, uint64_t length, uint64_t size) {
  // Written to avoid overflowing offset + length.
  if (offset <= size && length <= size - offset) return Status::OK();
  return InvalidArgument("range of " + std::to_string(length) + " bytes at offset " +
                         std::to_string(offset) + " is past the end of object " + QuoteKey(key) +
                         " (" + std::to_string(size) + " bytes)");
}

}  // namespace internal

namespace {

class RangeReader final : public ObjectReader {
 public:
  RangeReader(ObjectStore* store, std::string key, uint64_t size) : store_(store), key_(std::move(key)), size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<char> out) override {
    VV_RETURN_IF_ERROR(internal::CheckRange(key_, offset, out.size(), size_));
    VV_ASSIGN_OR_RETURN(std::string bytes, store_->GetRange(key_, offset, out.size()));
    if (bytes.size() != out.size()) return DataLoss("short read of " + internal::QuoteKey(key_));
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return Status::OK();
  }

 private:
  ObjectStore* store_;
  const std::string key_;
  const uint64_t size_;
};

class BufferedWriter final : public ObjectWriter {
 public:
  BufferedWriter(ObjectStore* store, std::string key) : store_(store), key_(std::move(key)) {}
  Status Append(std::string_view data) override {
    if (done_) return FailedPrecondition("object writer for " + internal::QuoteKey(key_) + " is finished");
    buf_.append(data);
    size_ += data.size();
    return Status::OK();
  }
  Status Commit() override {
    if (done_) return FailedPrecondition("object writer for " + internal::QuoteKey(key_) + " is finished");
    done_ = true;
    Status s = store_->Put(key_, buf_);
    std::string().swap(buf_);
    return s;
  }
  uint64_t size() const override { return size_; }

 private:
  ObjectStore* store_;
  std::string key_;
  std::string buf_;
  uint64_t size_ = 0;
  bool done_ = false;
};

Status BadKey(std::string_view key, std::string_view why) {
  std::string msg = "invalid object key ";
  msg += internal::QuoteKey(key);
  msg += ": ";
  msg += why;
  return InvalidArgument(std::move(msg));
}

}  // namespace

Status ValidateKey(std::string_view key) {
  if (key.empty()) return BadKey(key, "empty");
  if (key.size() > kMaxKeyBytes) {
    // Do not put a huge key into the message.
    return BadKey(key.substr(0, 64), "longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  if (key.find('\0') != std::string_view::npos) return BadKey(key, "contains a NUL byte");
  if (key.find('\\') != std::string_view::npos) return BadKey(key, "contains a backslash");
  if (key.front() == '/') return BadKey(key, "starts with '/'");
  std::string_view rest = key;
  for (;;) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return BadKey(key, "has an empty path segment");
    if (segment == "." || segment == "..") return BadKey(key, "has a '.' or '..' path segment");
    if (segment.size() > kMaxKeySegmentBytes) {
      return BadKey(key, "has a path segment longer than " + std::to_string(kMaxKeySegmentBytes) +
                             " bytes");
    }
    if (slash == std::string_view::npos) {
      if (internal::IsTemporaryName(segment)) {
        return BadKey(key, "ends like a temporary file (\".tmp.\" and 16 hex digits)");
      }
      return Status::OK();
    }
    rest.remove_prefix(slash + 1);
  }
}

Result<std::unique_ptr<ObjectWriter>> ObjectStore::NewWriter(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  return std::unique_ptr<ObjectWriter>(new BufferedWriter(this, std::string(key)));
}

Result<std::unique_ptr<ObjectReader>> ObjectStore::OpenReader(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  VV_ASSIGN_OR_RETURN(uint64_t size, Size(key));
  return std::unique_ptr<ObjectReader>(new RangeReader(this, std::string(key), size));
}

}  // namespace vivace::io
