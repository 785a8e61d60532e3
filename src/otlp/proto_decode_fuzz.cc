// Fuzz target: arbitrary bytes as an OTLP protobuf request. Decoding must never crash; what
// decodes must re-encode and decode to the same number of spans.
#include <cstdint>
#include <string>

#include "base/check.h"
#include "otlp/proto_decode.h"
#include "otlp/proto_encode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  vivace::model::SpanBatch batch;
  if (!vivace::otlp::DecodeProtoRequest(input, {}, &batch).ok()) return 0;
  std::string encoded;
  vivace::otlp::EncodeProtoTrace(batch, &encoded);
  vivace::model::SpanBatch again;
  VV_CHECK(vivace::otlp::DecodeProtoRequest(encoded, {}, &again).ok());
  VV_CHECK(again.size() == batch.size());
  return 0;
}
