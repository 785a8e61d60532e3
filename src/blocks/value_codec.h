#pragma once
// A compact, self-describing encoding of one AnyValue (with nested arrays and kvlists) and of
// attribute lists, for the block columns that hold composite values and for content keys.
// Layout: docs/formats/block_v1.md ("Composite values").

#include <string>
#include <string_view>

#include "base/status.h"
#include "model/span_batch.h"

namespace vivace::blocks {

/// Appends `v` (whose nested ranges index `batch`'s pools).
void EncodeValue(const model::SpanBatch& batch, const model::Value& v, std::string* out);
/// Appends a varint count and each key/value of `attrs`.
void EncodeAttributes(const model::SpanBatch& batch, model::Range attrs, std::string* out);

/// Decodes one value from the front of `*in` (advancing it) into `batch`: strings are views into
/// `*in`'s buffer, so that buffer must live as long as the batch (adopt it into the arena).
/// Nesting deeper than `max_depth` is an error (DataLoss), as is any malformed input.
Result<model::Value> DecodeValue(std::string_view* in, model::SpanBatch* batch, int max_depth = 32);
/// Decodes what EncodeAttributes wrote.
Result<model::Range> DecodeAttributes(std::string_view* in, model::SpanBatch* batch, int max_depth = 32);

}  // namespace vivace::blocks
