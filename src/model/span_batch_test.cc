#include "model/span_batch.h"

#include <gtest/gtest.h>

namespace vivace::model {
namespace {

TEST(SpanBatchTest, CopierDeepCopiesNestedValues) {
  auto src = std::make_unique<SpanBatch>();
  src->resources.push_back(Resource{src->AllocAttributes(1), 2, "schema"});
  src->attributes[0] = KeyValue{"service.name", Value::String("api")};
  src->scopes.push_back(Scope{0, "lib", "1.0", {}, 0, ""});
  // attribute: list = [1, {"k": true}]
  Range attrs = src->AllocAttributes(1);
  Range arr = src->AllocValues(2);
  Range kv = src->AllocAttributes(1);
  src->attributes[kv.first] = KeyValue{"k", Value::Bool(true)};
  src->values[arr.first] = Value::Int(1);
  src->values[arr.first + 1] = Value::KvList(kv);
  src->attributes[attrs.first] = KeyValue{"list", Value::Array(arr)};
  SpanRow row;
  row.trace_id.bytes[0] = 1;
  row.span_id.bytes[0] = 2;
  row.name = "op";
  row.attributes = attrs;
  row.events = src->AllocEvents(1);
  src->events[row.events.first] = Event{5, "exception", {}, 1};
  src->Append(row);

  SpanBatch dst;
  SpanCopier copier(&dst);
  copier.SetSource(src.get());
  copier.CopySpan(0);
  copier.CopySpan(0);
  src.reset();  // the copy must not depend on the source

  ASSERT_EQ(dst.size(), 2u);
  ASSERT_EQ(dst.resources.size(), 1u);  // shared resource copied once
  ASSERT_EQ(dst.scopes.size(), 1u);
  EXPECT_EQ(dst.resources[0].dropped_attributes_count, 2u);
  EXPECT_EQ(dst.attributes[dst.resources[0].attributes.first].value.string(), "api");
  EXPECT_EQ(dst.name[1], "op");
  const KeyValue& list = dst.attributes[dst.span_attributes[1].first];
  EXPECT_EQ(list.key, "list");
  ASSERT_EQ(list.value.kind, ValueKind::kArray);
  const Value& second = dst.values[list.value.first + 1];
  ASSERT_EQ(second.kind, ValueKind::kKvList);
  EXPECT_EQ(dst.attributes[second.first].key, "k");
  EXPECT_TRUE(dst.attributes[second.first].value.b);
  EXPECT_EQ(dst.events[dst.span_events[1].first].name, "exception");
}

TEST(SpanBatchTest, RetainSpansKeepsOrderAndDropsTheCachedEncoding) {
  SpanBatch b;
  for (uint8_t i = 0; i < 5; ++i) {
    SpanRow row;
    row.span_id.bytes[0] = i;
    row.start_unix_nano = i;
    row.attributes = b.AllocAttributes(1);
    b.attributes[row.attributes.first] = KeyValue{"i", Value::Int(i)};
    b.Append(row);
  }
  b.otlp_proto = "cached";
  b.decoded_from_otlp_proto = true;
  b.RetainSpans({1, 1, 1, 1, 1});
  EXPECT_EQ(b.otlp_proto, "cached");  // nothing dropped, nothing changed
  b.RetainSpans({0, 1, 0, 1, 1});
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.span_id[0].bytes[0], 1);
  EXPECT_EQ(b.start_unix_nano[2], 4u);
  EXPECT_EQ(b.attributes[b.span_attributes[1].first].value.i, 3);
  EXPECT_TRUE(b.otlp_proto.empty());
  EXPECT_FALSE(b.decoded_from_otlp_proto);
}

}  // namespace
}  // namespace vivace::model
