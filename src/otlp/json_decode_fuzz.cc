// Fuzzes DecodeJsonRequest; whatever decodes must survive an OTLP/JSON round trip unchanged in
// span count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "model/span_batch.h"
#include "otlp/json_decode.h"
#include "otlp/json_encode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vivace::otlp::DecodeLimits;
  using vivace::otlp::JsonFlavor;
  DecodeLimits limits;
  limits.max_value_depth = 8;  // small, so the fuzzer reaches the limit
  vivace::model::SpanBatch batch;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  if (!vivace::otlp::DecodeJsonRequest(json, limits, &batch).ok()) {
    return 0;
  }
  std::string otlp;
  vivace::otlp::EncodeJsonTrace(batch, JsonFlavor::kOtlp, "resourceSpans", &otlp);
  std::string tempo;
  vivace::otlp::EncodeJsonTrace(batch, JsonFlavor::kTempo, "batches", &tempo);

  vivace::model::SpanBatch again;
  VV_CHECK(vivace::otlp::DecodeJsonRequest(otlp, limits, &again).ok());
  VV_CHECK(again.size() == batch.size());
  return 0;
}
