// Fuzzes the OTTL condition parser in every context: any input parses or fails with
// InvalidArgument (never crashes), and whatever parses evaluates on a small batch.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "processors/ottl_condition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vivace;
  static model::SpanBatch* batch = [] {
    auto* b = new model::SpanBatch();
    b->resources.push_back(model::Resource{b->AllocAttributes(1), 0, ""});
    b->attributes[0] = model::KeyValue{"service.name", model::Value::String("api")};
    b->scopes.push_back(model::Scope{0, "lib", "1.0", {}, 0, ""});
    model::SpanRow row;
    row.trace_id.bytes[0] = 1;
    row.span_id.bytes[0] = 2;
    row.name = "GET /x";
    row.kind = model::SpanKind::kServer;
    row.status_code = model::StatusCode::kError;
    row.attributes = b->AllocAttributes(3);
    b->attributes[row.attributes.first] = model::KeyValue{"http.status_code", model::Value::Int(500)};
    b->attributes[row.attributes.first + 1] = model::KeyValue{"ok", model::Value::Bool(false)};
    b->attributes[row.attributes.first + 2] = model::KeyValue{"ratio", model::Value::Double(0.5)};
    b->Append(row);
    return b;
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto ctx : {processors::OttlContext::kInferred, processors::OttlContext::kResource,
                   processors::OttlContext::kScope, processors::OttlContext::kSpan}) {
    auto cond = processors::OttlCondition::Parse(text, ctx);
    if (!cond.ok()) {
      if (cond.status().code() != StatusCode::kInvalidArgument) {
        std::fprintf(stderr, "ottl_condition_fuzz: unexpected error %s\n", cond.status().ToString().c_str());
        std::abort();
      }
      continue;
    }
    (void)cond->Eval(*batch, 0);
  }
  return 0;
}
