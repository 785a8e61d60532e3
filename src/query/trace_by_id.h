#pragma once
// Trace by ID as Tempo's API answers it: v1 (`/api/traces/<id>`, a bare Trace) and v2
// (`/api/v2/traces/<id>`, a TraceByIDResponse), each as jsonpb JSON or protobuf.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "model/ids.h"
#include "model/span_batch.h"

namespace vivace::query {

enum class TraceFormat { kJson, kProtobuf };
enum class TraceApiVersion { kV1, kV2 };

struct RenderedTrace {
  std::string content_type;
  std::string body;
};

/// Renders a found trace. v1 JSON: `{"batches":[...]}`; v2 JSON: `{"trace":{"resourceSpans":
/// [...]},"metrics":{...}}`; protobuf: tempopb.Trace / tempopb.TraceByIDResponse.
RenderedTrace RenderTrace(const model::SpanBatch& trace, TraceApiVersion version, TraceFormat format,
                          uint64_t inspected_bytes);

/// The format Tempo picks from an Accept header (substring match; default JSON).
TraceFormat FormatFromAccept(std::string_view accept);

}  // namespace vivace::query
