#include "query/trace_by_id.h"

#include <fmt/format.h>

#include "base/protowire.h"
#include "otlp/json_encode.h"
#include "otlp/proto_encode.h"

namespace vivace::query {

TraceFormat FormatFromAccept(std::string_view accept) {
  return accept.find("application/protobuf") != std::string_view::npos ? TraceFormat::kProtobuf
                                                                        : TraceFormat::kJson;
}

RenderedTrace RenderTrace(const model::SpanBatch& trace, TraceApiVersion version, TraceFormat format,
                          uint64_t inspected_bytes) {
  RenderedTrace out;
  if (format == TraceFormat::kProtobuf) {
    out.content_type = "application/protobuf";
    if (version == TraceApiVersion::kV1) {
      otlp::EncodeProtoTrace(trace, &out.body);  // tempopb.Trace{repeated ResourceSpans = 1}
    } else {
      // tempopb.TraceByIDResponse{trace = 1, metrics = 2 {inspectedBytes = 1}}
      protowire::Writer w(&out.body);
      size_t t = w.BeginMessage(1);
      otlp::EncodeProtoTrace(trace, &out.body);
      w.EndMessage(t);
      size_t m = w.BeginMessage(2);
      w.VarintIfSet(1, inspected_bytes);
      w.EndMessage(m);
    }
    return out;
  }
  out.content_type = "application/json";
  if (version == TraceApiVersion::kV1) {
    otlp::EncodeJsonTrace(trace, otlp::JsonFlavor::kTempo, "batches", &out.body);
  } else {
    out.body = "{\"trace\":";
    otlp::EncodeJsonTrace(trace, otlp::JsonFlavor::kTempo, "resourceSpans", &out.body);
    fmt::format_to(std::back_inserter(out.body), ",\"metrics\":{{\"inspectedBytes\":\"{}\"}}}}", inspected_bytes);
  }
  return out;
}

}  // namespace vivace::query
