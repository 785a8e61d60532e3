// Microbenchmarks of the OTLP codec on load-generator requests (~1000 spans each).
// Run: build/bench/otlp_decode_bench  (or `make bench-codec`)
#include <benchmark/benchmark.h>

#include "generator.h"
#include "otlp/json_decode.h"
#include "otlp/json_encode.h"
#include "otlp/proto_decode.h"
#include "otlp/proto_encode.h"

namespace {

std::string Request(size_t* spans) {
  vivace::loadgen::Generator gen({.seed = 3, .start_unix_nano = 1700000000000000000ull});
  return gen.Request(1000, spans);
}

void BM_DecodeProto(benchmark::State& state) {
  size_t spans;
  std::string req = Request(&spans);
  for (auto _ : state) {
    vivace::model::SpanBatch b;
    auto s = vivace::otlp::DecodeProtoRequest(req, {}, &b);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * spans));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * req.size()));
}
BENCHMARK(BM_DecodeProto);

void BM_EncodeProto(benchmark::State& state) {
  size_t spans;
  std::string req = Request(&spans);
  vivace::model::SpanBatch b;
  (void)vivace::otlp::DecodeProtoRequest(req, {}, &b);
  std::string out;
  for (auto _ : state) {
    out.clear();
    vivace::otlp::EncodeProtoTrace(b, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * spans));
}
BENCHMARK(BM_EncodeProto);

void BM_DecodeJson(benchmark::State& state) {
  size_t spans;
  std::string req = Request(&spans);
  vivace::model::SpanBatch b;
  (void)vivace::otlp::DecodeProtoRequest(req, {}, &b);
  std::string json;
  vivace::otlp::EncodeJsonTrace(b, vivace::otlp::JsonFlavor::kOtlp, "resourceSpans", &json);
  for (auto _ : state) {
    vivace::model::SpanBatch d;
    auto s = vivace::otlp::DecodeJsonRequest(json, {}, &d);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * spans));
}
BENCHMARK(BM_DecodeJson);

}  // namespace
