#pragma once
// Protocol Buffers wire format, read and written directly (no generated message classes).
// Spec: https://protobuf.dev/programming-guides/encoding/ — tags are (field << 3 | wire type).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"

namespace vivace::protowire {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

/// One field as it appears on the wire. For kLen, `bytes` views into the reader's input.
struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;    // kVarint, kFixed64, kFixed32 values
  std::string_view bytes;  // kLen payload
};

/// Iterates the fields of one message. Does not own the bytes.
/// Usage: `Reader r(bytes); Field f; while (r.Next(&f)) {...} if (!r.ok()) error;`
class Reader {
 public:
  explicit Reader(std::string_view data) : p_(data.data()), limit_(data.data() + data.size()) {}

  /// Reads the next field; false at the end or on malformed input (then ok() is false).
  bool Next(Field* f) {
    if (p_ >= limit_) return false;
    // Fast path: a one-byte tag (fields 1..15) and, for length-delimited fields, a one-byte
    // length — nearly every field of an OTLP span.
    auto tag = static_cast<uint8_t>(*p_);
    if (tag >= 8 && tag < 0x80 && limit_ - p_ >= 2) {
      auto type = static_cast<WireType>(tag & 7);
      auto b1 = static_cast<uint8_t>(p_[1]);
      if (type == WireType::kLen && b1 < 0x80) {
        if (b1 > limit_ - p_ - 2) return Fail();
        f->number = tag >> 3;
        f->type = type;
        f->bytes = std::string_view(p_ + 2, b1);
        p_ += 2 + b1;
        return true;
      }
      if (type == WireType::kVarint && b1 < 0x80) {
        f->number = tag >> 3;
        f->type = type;
        f->varint = b1;
        p_ += 2;
        return true;
      }
    }
    return NextSlow(f);
  }

  bool ok() const { return ok_; }
  /// Offset of the failure, for error messages.
  const char* position() const { return p_; }

 private:
  bool NextSlow(Field* f) {
    uint64_t tag;
    const char* q = DecodeVarint(p_, limit_, &tag);
    if (q == nullptr || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return Fail();
    f->number = static_cast<uint32_t>(tag >> 3);
    f->type = static_cast<WireType>(tag & 7);
    switch (f->type) {
      case WireType::kVarint:
        q = DecodeVarint(q, limit_, &f->varint);
        if (q == nullptr) return Fail();
        break;
      case WireType::kFixed64:
        if (limit_ - q < 8) return Fail();
        f->varint = DecodeFixed64(q);
        q += 8;
        break;
      case WireType::kFixed32:
        if (limit_ - q < 4) return Fail();
        f->varint = DecodeFixed32(q);
        q += 4;
        break;
      case WireType::kLen: {
        uint64_t len;
        q = DecodeVarint(q, limit_, &len);
        if (q == nullptr || len > static_cast<uint64_t>(limit_ - q)) return Fail();
        f->bytes = std::string_view(q, len);
        q += len;
        break;
      }
      default:  // groups are deprecated and never used by the protocols we speak
        return Fail();
    }
    p_ = q;
    return true;
  }

  bool Fail() {
    ok_ = false;
    p_ = limit_;
    return false;
  }
  const char* p_;
  const char* limit_;
  bool ok_ = true;
};

/// Counts occurrences of `field_number` among the top-level fields of a message.
/// Returns -1 if the message is malformed.
inline int64_t CountField(std::string_view message, uint32_t field_number) {
  Reader r(message);
  Field f;
  int64_t n = 0;
  while (r.Next(&f)) n += (f.number == field_number);
  return r.ok() ? n : -1;
}

inline double AsDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

/// Appends protobuf fields to a string. Nested messages are written in place: BeginMessage
/// reserves one length byte, EndMessage patches it (shifting the body if the length needs more).
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void Tag(uint32_t field, WireType type) { PutVarint(out_, (uint64_t{field} << 3) | static_cast<uint32_t>(type)); }
  void Varint(uint32_t field, uint64_t v) {
    Tag(field, WireType::kVarint);
    PutVarint(out_, v);
  }
  /// Omits the field when v is 0 (proto3 default).
  void VarintIfSet(uint32_t field, uint64_t v) {
    if (v != 0) Varint(field, v);
  }
  void Fixed64(uint32_t field, uint64_t v) {
    Tag(field, WireType::kFixed64);
    PutFixed64(out_, v);
  }
  void Fixed64IfSet(uint32_t field, uint64_t v) {
    if (v != 0) Fixed64(field, v);
  }
  void Fixed32(uint32_t field, uint32_t v) {
    Tag(field, WireType::kFixed32);
    PutFixed32(out_, v);
  }
  void Fixed32IfSet(uint32_t field, uint32_t v) {
    if (v != 0) Fixed32(field, v);
  }
  void Double(uint32_t field, double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    Fixed64(field, bits);
  }
  void Bytes(uint32_t field, std::string_view b) {
    Tag(field, WireType::kLen);
    PutVarint(out_, b.size());
    out_->append(b);
  }
  void BytesIfSet(uint32_t field, std::string_view b) {
    if (!b.empty()) Bytes(field, b);
  }

  /// Starts a length-delimited submessage; returns a token for EndMessage.
  size_t BeginMessage(uint32_t field) {
    Tag(field, WireType::kLen);
    out_->push_back(0);
    return out_->size();
  }
  void EndMessage(size_t token) {
    size_t len = out_->size() - token;
    if (len < 0x80) {
      (*out_)[token - 1] = static_cast<char>(len);
      return;
    }
    int n = VarintLength(len);
    out_->insert(token, static_cast<size_t>(n - 1), '\0');
    EncodeVarint(out_->data() + token - 1, len);
  }

  std::string* out() { return out_; }

 private:
  std::string* out_;
};

}  // namespace vivace::protowire
