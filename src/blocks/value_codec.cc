#include "blocks/value_codec.h"

#include <cstring>

#include "base/coding.h"

namespace vivace::blocks {
namespace {

using model::KeyValue;
using model::Range;
using model::Value;
using model::ValueKind;

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

Status Malformed(std::string_view why) { return DataLoss("malformed composite value: " + std::string(why)); }

Result<std::string_view> GetString(std::string_view* in) {
  uint64_t len;
  const char* p = DecodeVarint(in->data(), in->data() + in->size(), &len);
  if (p == nullptr || len > static_cast<uint64_t>(in->data() + in->size() - p)) return Malformed("truncated string");
  std::string_view s(p, len);
  in->remove_prefix(p + len - in->data());
  return s;
}

Result<uint64_t> GetVarint(std::string_view* in) {
  uint64_t v;
  const char* p = DecodeVarint(in->data(), in->data() + in->size(), &v);
  if (p == nullptr) return Malformed("truncated varint");
  in->remove_prefix(p - in->data());
  return v;
}

}  // namespace

void EncodeValue(const model::SpanBatch& b, const Value& v, std::string* out) {
  out->push_back(static_cast<char>(v.kind));
  switch (v.kind) {
    case ValueKind::kEmpty: break;
    case ValueKind::kString:
    case ValueKind::kBytes: PutString(out, v.string()); break;
    case ValueKind::kBool: out->push_back(v.b ? 1 : 0); break;
    case ValueKind::kInt: PutVarint(out, ZigZag(v.i)); break;
    case ValueKind::kDouble: {
      uint64_t bits;
      std::memcpy(&bits, &v.d, 8);
      PutFixed64(out, bits);
      break;
    }
    case ValueKind::kArray:
      PutVarint(out, v.size);
      for (uint32_t k = v.first; k < v.first + v.size; ++k) EncodeValue(b, b.values[k], out);
      break;
    case ValueKind::kKvList: EncodeAttributes(b, v.range(), out); break;
  }
}

void EncodeAttributes(const model::SpanBatch& b, Range attrs, std::string* out) {
  PutVarint(out, attrs.count);
  for (uint32_t k = attrs.first; k < attrs.end(); ++k) {
    PutString(out, b.attributes[k].key);
    EncodeValue(b, b.attributes[k].value, out);
  }
}

Result<Value> DecodeValue(std::string_view* in, model::SpanBatch* b, int max_depth) {
  if (in->empty()) return Malformed("missing value");
  auto kind = static_cast<ValueKind>(static_cast<uint8_t>((*in)[0]));
  in->remove_prefix(1);
  switch (kind) {
    case ValueKind::kEmpty: return Value();
    case ValueKind::kString: {
      VV_ASSIGN_OR_RETURN(std::string_view s, GetString(in));
      return Value::String(s);
    }
    case ValueKind::kBytes: {
      VV_ASSIGN_OR_RETURN(std::string_view s, GetString(in));
      return Value::Bytes(s);
    }
    case ValueKind::kBool:
      if (in->empty() || static_cast<uint8_t>((*in)[0]) > 1) return Malformed("bad bool");
      in->remove_prefix(1);
      return Value::Bool((*in).data()[-1] == 1);
    case ValueKind::kInt: {
      VV_ASSIGN_OR_RETURN(uint64_t z, GetVarint(in));
      return Value::Int(UnZigZag(z));
    }
    case ValueKind::kDouble: {
      if (in->size() < 8) return Malformed("truncated double");
      uint64_t bits = DecodeFixed64(in->data());
      in->remove_prefix(8);
      double d;
      std::memcpy(&d, &bits, 8);
      return Value::Double(d);
    }
    case ValueKind::kArray: {
      if (max_depth <= 0) return Malformed("nested too deeply");
      VV_ASSIGN_OR_RETURN(uint64_t n, GetVarint(in));
      if (n > in->size()) return Malformed("array longer than its bytes");  // a value takes >= 1 byte
      Range r = b->AllocValues(static_cast<uint32_t>(n));
      for (uint32_t k = 0; k < n; ++k) {
        VV_ASSIGN_OR_RETURN(Value v, DecodeValue(in, b, max_depth - 1));
        b->values[r.first + k] = v;
      }
      return Value::Array(r);
    }
    case ValueKind::kKvList: {
      if (max_depth <= 0) return Malformed("nested too deeply");
      VV_ASSIGN_OR_RETURN(Range r, DecodeAttributes(in, b, max_depth - 1));
      return Value::KvList(r);
    }
  }
  return Malformed("unknown value kind " + std::to_string(static_cast<int>(kind)));
}

Result<Range> DecodeAttributes(std::string_view* in, model::SpanBatch* b, int max_depth) {
  VV_ASSIGN_OR_RETURN(uint64_t n, GetVarint(in));
  if (n > in->size() / 2) return Malformed("attribute list longer than its bytes");  // key + kind >= 2 bytes
  Range r = b->AllocAttributes(static_cast<uint32_t>(n));
  for (uint32_t k = 0; k < n; ++k) {
    VV_ASSIGN_OR_RETURN(std::string_view key, GetString(in));
    VV_ASSIGN_OR_RETURN(Value v, DecodeValue(in, b, max_depth));
    b->attributes[r.first + k] = KeyValue{key, v};
  }
  return r;
}

}  // namespace vivace::blocks
