#pragma once
// SpanBatch → OTLP protobuf, written directly with protowire.

#include <string>

#include "model/span_batch.h"

namespace vivace::otlp {

/// Appends `repeated ResourceSpans = 1` for all spans of `batch`: the body of an
/// ExportTraceServiceRequest, a TracesData or a tempopb.Trace. Spans sharing a scope index share
/// one ScopeSpans and scopes sharing a resource index one ResourceSpans, in index order.
void EncodeProtoTrace(const model::SpanBatch& batch, std::string* out);

/// The OTLP span-ordering used by both encoders: span indices grouped by resource, then scope,
/// preserving span order within a scope. `scope_order` receives the scopes in emission order.
void GroupSpans(const model::SpanBatch& batch, std::vector<uint32_t>* span_order,
                std::vector<uint32_t>* scope_order);

}  // namespace vivace::otlp
