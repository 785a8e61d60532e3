#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "model/span_batch.h"
#include "otlp/json_decode.h"
#include "otlp/json_encode.h"

namespace vivace::otlp {
namespace {

using model::SpanBatch;
using model::ValueKind;

// Two resources; three scopes with spans plus an empty ScopeSpans and an empty ResourceSpans
// (both dropped); every AnyValue type; camelCase and snake_case keys; ints as strings and as
// numbers; enums as names and as integers; nulls; unknown fields at every level.
constexpr std::string_view kRequest = R"json({
  "unknownTop": {"x": [1, 2, {"y": null}]},
  "resourceSpans": [
    {
      "scopeSpans": [
        {
          "scope": {
            "name": "lib-a", "version": "1.2",
            "attributes": [{"key": "scope.attr", "value": {"boolValue": true}}],
            "droppedAttributesCount": 2, "unknownScopeField": "x"
          },
          "schemaUrl": "https://s0",
          "spans": [
            {
              "traceId": "5B8EFFF798038103D269B633813FC700",
              "spanId": "0102030405060708",
              "parentSpanId": "",
              "traceState": "k=v",
              "flags": 257,
              "name": "GET /users",
              "kind": "SPAN_KIND_SERVER",
              "startTimeUnixNano": "1700000000000000001",
              "endTimeUnixNano": 1700000000000000999,
              "attributes": [
                {"key": "s", "value": {"stringValue": "h\u00e9\"llo\n"}},
                {"key": "b", "value": {"boolValue": false}},
                {"key": "i", "value": {"intValue": -42}},
                {"key": "i2", "value": {"intValue": "9223372036854775807"}},
                {"key": "d", "value": {"doubleValue": 3.25}},
                {"key": "dn", "value": {"doubleValue": "NaN"}},
                {"key": "dinf", "value": {"doubleValue": "-Infinity"}},
                {"key": "by", "value": {"bytesValue": "AAEC/w=="}},
                {"key": "byurl", "value": {"bytesValue": "AAEC_w"}},
                {"key": "arr", "value": {"arrayValue": {"values": [
                  {"intValue": "1"},
                  {"stringValue": "two"},
                  {"kvlistValue": {"values": [
                    {"key": "k1", "value": {"doubleValue": 1.5}},
                    {"key": "k2", "value": {"arrayValue": {"values": [{"boolValue": true}]}}}
                  ]}},
                  {}
                ]}}},
                {"key": "kv", "value": {"kvlistValue": {"values": []}}},
                {"key": "empty", "value": {}},
                {"key": "nul", "value": null},
                {"key": "unknown", "value": {"fooValue": 1, "stringValue": null}}
              ],
              "droppedAttributesCount": 3,
              "events": [
                {
                  "timeUnixNano": "1700000000000000500", "name": "exception",
                  "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}],
                  "droppedAttributesCount": 1, "unknownEventField": {}
                },
                {"name": "e2"}
              ],
              "droppedEventsCount": "4",
              "links": [
                {
                  "traceId": "00000000000000000000000000000001", "spanId": "a1a2a3a4a5a6a7a8",
                  "traceState": "a=b",
                  "attributes": [{"key": "link.attr", "value": {"intValue": 7}}],
                  "droppedAttributesCount": 5, "flags": "1"
                }
              ],
              "droppedLinksCount": 6,
              "status": {"message": "bad", "code": "STATUS_CODE_ERROR", "unknownStatus": 1},
              "unknownSpanField": [1]
            },
            {
              "trace_id": "5b8efff798038103d269b633813fc700",
              "span_id": "1112131415161718",
              "parent_span_id": "0102030405060708",
              "name": null,
              "kind": 3,
              "start_time_unix_nano": 5,
              "end_time_unix_nano": 6.0,
              "dropped_attributes_count": "7",
              "status": {"code": 1}
            }
          ]
        },
        {
          "scope": {"name": "lib-b"},
          "spans": [{"traceId": "5b8efff798038103d269b633813fc700", "spanId": "2122232425262728",
                     "kind": 0, "status": null}]
        },
        {"scope": {"name": "no-spans"}, "spans": []}
      ],
      "resource": {
        "attributes": [
          {"key": "service.name", "value": {"stringValue": "api"}},
          {"key": "host.cpu", "value": {"int_value": "8"}}
        ],
        "droppedAttributesCount": "1"
      },
      "schemaUrl": "https://r0",
      "unknownResourceSpansField": true
    },
    {
      "resource": null,
      "scope_spans": [
        {
          "scope": null,
          "spans": [{"traceId": "", "kind": "SPAN_KIND_CONSUMER", "status": {}}]
        }
      ]
    },
    {"resource": {"attributes": [{"key": "lonely", "value": {"boolValue": true}}]},
     "scopeSpans": []}
  ]
})json";

std::string Hex(const model::Id<16>& id) { return id.Hex(); }
std::string Hex(const model::Id<8>& id) { return id.Hex(); }

SpanBatch MustDecode(std::string_view json, DecodeLimits limits = {}) {
  SpanBatch batch;
  Status s = DecodeJsonRequest(json, limits, &batch);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return batch;
}

const model::KeyValue& Attr(const SpanBatch& b, model::Range r, uint32_t i) {
  EXPECT_LT(i, r.count);
  return b.attributes[r.first + i];
}

TEST(OtlpJsonDecodeTest, DecodesEveryField) {
  SpanBatch b = MustDecode(kRequest);
  EXPECT_TRUE(b.otlp_proto.empty());
  ASSERT_EQ(b.size(), 4u);
  ASSERT_EQ(b.resources.size(), 2u);  // the span-less third resource is dropped
  ASSERT_EQ(b.scopes.size(), 3u);     // and so is the span-less "no-spans" scope

  // Resources.
  const model::Resource& r0 = b.resources[0];
  EXPECT_EQ(r0.schema_url, "https://r0");
  EXPECT_EQ(r0.dropped_attributes_count, 1u);
  ASSERT_EQ(r0.attributes.count, 2u);
  EXPECT_EQ(Attr(b, r0.attributes, 0).key, "service.name");
  EXPECT_EQ(Attr(b, r0.attributes, 0).value.kind, ValueKind::kString);
  EXPECT_EQ(Attr(b, r0.attributes, 0).value.string(), "api");
  EXPECT_EQ(Attr(b, r0.attributes, 1).key, "host.cpu");
  EXPECT_EQ(Attr(b, r0.attributes, 1).value.kind, ValueKind::kInt);
  EXPECT_EQ(Attr(b, r0.attributes, 1).value.i, 8);
  const model::Resource& r1 = b.resources[1];
  EXPECT_EQ(r1.attributes.count, 0u);
  EXPECT_EQ(r1.dropped_attributes_count, 0u);
  EXPECT_EQ(r1.schema_url, "");

  // Scopes.
  EXPECT_EQ(b.scopes[0].resource, 0u);
  EXPECT_EQ(b.scopes[0].name, "lib-a");
  EXPECT_EQ(b.scopes[0].version, "1.2");
  EXPECT_EQ(b.scopes[0].schema_url, "https://s0");
  EXPECT_EQ(b.scopes[0].dropped_attributes_count, 2u);
  ASSERT_EQ(b.scopes[0].attributes.count, 1u);
  EXPECT_EQ(Attr(b, b.scopes[0].attributes, 0).key, "scope.attr");
  EXPECT_EQ(Attr(b, b.scopes[0].attributes, 0).value.kind, ValueKind::kBool);
  EXPECT_TRUE(Attr(b, b.scopes[0].attributes, 0).value.b);
  EXPECT_EQ(b.scopes[1].resource, 0u);
  EXPECT_EQ(b.scopes[1].name, "lib-b");
  EXPECT_EQ(b.scopes[1].version, "");
  EXPECT_EQ(b.scopes[2].resource, 1u);
  EXPECT_EQ(b.scopes[2].name, "");

  // Span 0: everything set.
  EXPECT_EQ(b.span_scope[0], 0u);
  EXPECT_EQ(Hex(b.trace_id[0]), "5b8efff798038103d269b633813fc700");
  EXPECT_EQ(Hex(b.span_id[0]), "0102030405060708");
  EXPECT_TRUE(b.parent_span_id[0].IsZero());
  EXPECT_EQ(b.trace_state[0], "k=v");
  EXPECT_EQ(b.flags[0], 257u);
  EXPECT_EQ(b.name[0], "GET /users");
  EXPECT_EQ(b.kind[0], model::SpanKind::kServer);
  EXPECT_EQ(b.start_unix_nano[0], 1700000000000000001u);
  EXPECT_EQ(b.end_unix_nano[0], 1700000000000000999u);
  EXPECT_EQ(b.dropped_attributes_count[0], 3u);
  EXPECT_EQ(b.dropped_events_count[0], 4u);
  EXPECT_EQ(b.dropped_links_count[0], 6u);
  EXPECT_EQ(b.status_code[0], model::StatusCode::kError);
  EXPECT_EQ(b.status_message[0], "bad");

  model::Range a = b.span_attributes[0];
  ASSERT_EQ(a.count, 14u);
  const char* keys[] = {"s",  "b",     "i",   "i2", "d",     "dn",  "dinf",
                        "by", "byurl", "arr", "kv", "empty", "nul", "unknown"};
  for (uint32_t i = 0; i < a.count; ++i) {
    EXPECT_EQ(Attr(b, a, i).key, keys[i]);
  }
  EXPECT_EQ(Attr(b, a, 0).value.kind, ValueKind::kString);
  EXPECT_EQ(Attr(b, a, 0).value.string(), "h\xc3\xa9\"llo\n");
  EXPECT_EQ(Attr(b, a, 1).value.kind, ValueKind::kBool);
  EXPECT_FALSE(Attr(b, a, 1).value.b);
  EXPECT_EQ(Attr(b, a, 2).value.kind, ValueKind::kInt);
  EXPECT_EQ(Attr(b, a, 2).value.i, -42);
  EXPECT_EQ(Attr(b, a, 3).value.i, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Attr(b, a, 4).value.kind, ValueKind::kDouble);
  EXPECT_EQ(Attr(b, a, 4).value.d, 3.25);
  EXPECT_TRUE(std::isnan(Attr(b, a, 5).value.d));
  EXPECT_EQ(Attr(b, a, 6).value.d, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Attr(b, a, 7).value.kind, ValueKind::kBytes);
  EXPECT_EQ(Attr(b, a, 7).value.string(), std::string_view("\x00\x01\x02\xff", 4));
  EXPECT_EQ(Attr(b, a, 8).value.string(), std::string_view("\x00\x01\x02\xff", 4));

  const model::Value& arr = Attr(b, a, 9).value;
  ASSERT_EQ(arr.kind, ValueKind::kArray);
  ASSERT_EQ(arr.range().count, 4u);
  const model::Value* av = &b.values[arr.range().first];
  EXPECT_EQ(av[0].kind, ValueKind::kInt);
  EXPECT_EQ(av[0].i, 1);
  EXPECT_EQ(av[1].kind, ValueKind::kString);
  EXPECT_EQ(av[1].string(), "two");
  ASSERT_EQ(av[2].kind, ValueKind::kKvList);
  ASSERT_EQ(av[2].range().count, 2u);
  EXPECT_EQ(av[3].kind, ValueKind::kEmpty);
  model::Range kv = av[2].range();
  EXPECT_EQ(Attr(b, kv, 0).key, "k1");
  EXPECT_EQ(Attr(b, kv, 0).value.kind, ValueKind::kDouble);
  EXPECT_EQ(Attr(b, kv, 0).value.d, 1.5);
  EXPECT_EQ(Attr(b, kv, 1).key, "k2");
  const model::Value& inner = Attr(b, kv, 1).value;
  ASSERT_EQ(inner.kind, ValueKind::kArray);
  ASSERT_EQ(inner.range().count, 1u);
  EXPECT_EQ(b.values[inner.range().first].kind, ValueKind::kBool);
  EXPECT_TRUE(b.values[inner.range().first].b);

  EXPECT_EQ(Attr(b, a, 10).value.kind, ValueKind::kKvList);
  EXPECT_EQ(Attr(b, a, 10).value.range().count, 0u);
  EXPECT_EQ(Attr(b, a, 11).value.kind, ValueKind::kEmpty);
  EXPECT_EQ(Attr(b, a, 12).value.kind, ValueKind::kEmpty);
  EXPECT_EQ(Attr(b, a, 13).value.kind, ValueKind::kEmpty);

  ASSERT_EQ(b.span_events[0].count, 2u);
  const model::Event& e0 = b.events[b.span_events[0].first];
  EXPECT_EQ(e0.time_unix_nano, 1700000000000000500u);
  EXPECT_EQ(e0.name, "exception");
  EXPECT_EQ(e0.dropped_attributes_count, 1u);
  ASSERT_EQ(e0.attributes.count, 1u);
  EXPECT_EQ(Attr(b, e0.attributes, 0).key, "exception.message");
  EXPECT_EQ(Attr(b, e0.attributes, 0).value.string(), "boom");
  const model::Event& e1 = b.events[b.span_events[0].first + 1];
  EXPECT_EQ(e1.name, "e2");
  EXPECT_EQ(e1.time_unix_nano, 0u);
  EXPECT_EQ(e1.attributes.count, 0u);

  ASSERT_EQ(b.span_links[0].count, 1u);
  const model::Link& l0 = b.links[b.span_links[0].first];
  EXPECT_EQ(Hex(l0.trace_id), "00000000000000000000000000000001");
  EXPECT_EQ(Hex(l0.span_id), "a1a2a3a4a5a6a7a8");
  EXPECT_EQ(l0.trace_state, "a=b");
  EXPECT_EQ(l0.dropped_attributes_count, 5u);
  EXPECT_EQ(l0.flags, 1u);
  ASSERT_EQ(l0.attributes.count, 1u);
  EXPECT_EQ(Attr(b, l0.attributes, 0).key, "link.attr");
  EXPECT_EQ(Attr(b, l0.attributes, 0).value.i, 7);

  // Span 1: snake_case keys, numbers for 64-bit fields, enum integers, null name.
  EXPECT_EQ(b.span_scope[1], 0u);
  EXPECT_EQ(Hex(b.trace_id[1]), "5b8efff798038103d269b633813fc700");
  EXPECT_EQ(Hex(b.span_id[1]), "1112131415161718");
  EXPECT_EQ(Hex(b.parent_span_id[1]), "0102030405060708");
  EXPECT_EQ(b.name[1], "");
  EXPECT_EQ(b.kind[1], model::SpanKind::kClient);
  EXPECT_EQ(b.start_unix_nano[1], 5u);
  EXPECT_EQ(b.end_unix_nano[1], 6u);
  EXPECT_EQ(b.dropped_attributes_count[1], 7u);
  EXPECT_EQ(b.status_code[1], model::StatusCode::kOk);
  EXPECT_EQ(b.status_message[1], "");
  EXPECT_EQ(b.span_attributes[1].count, 0u);
  EXPECT_EQ(b.span_events[1].count, 0u);
  EXPECT_EQ(b.span_links[1].count, 0u);
  EXPECT_EQ(b.flags[1], 0u);

  // Span 2: second scope, null status.
  EXPECT_EQ(b.span_scope[2], 1u);
  EXPECT_EQ(Hex(b.span_id[2]), "2122232425262728");
  EXPECT_EQ(b.kind[2], model::SpanKind::kUnspecified);
  EXPECT_EQ(b.status_code[2], model::StatusCode::kUnset);

  // Span 3: second resource, empty and missing ids.
  EXPECT_EQ(b.span_scope[3], 2u);
  EXPECT_TRUE(b.trace_id[3].IsZero());
  EXPECT_TRUE(b.span_id[3].IsZero());
  EXPECT_EQ(b.kind[3], model::SpanKind::kConsumer);
}

TEST(OtlpJsonDecodeTest, AppendsToANonEmptyBatch) {
  SpanBatch b = MustDecode(kRequest);
  ASSERT_TRUE(DecodeJsonRequest(kRequest, {}, &b).ok());
  ASSERT_EQ(b.size(), 8u);
  ASSERT_EQ(b.scopes.size(), 6u);
  ASSERT_EQ(b.resources.size(), 4u);
  EXPECT_EQ(b.span_scope[4], 3u);
  EXPECT_EQ(b.span_scope[7], 5u);
  EXPECT_EQ(b.scopes[5].resource, 3u);
  EXPECT_EQ(b.name[4], "GET /users");
  EXPECT_EQ(b.attributes[b.resources[2].attributes.first].value.string(), "api");
}

TEST(OtlpJsonDecodeTest, EmptyRequests) {
  EXPECT_EQ(MustDecode("{}").size(), 0u);
  EXPECT_EQ(MustDecode(R"({"resourceSpans":[]})").size(), 0u);
  EXPECT_EQ(MustDecode(R"({"resourceSpans":null})").size(), 0u);
  SpanBatch b = MustDecode(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]})");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.resources.size(), 1u);
  EXPECT_EQ(b.scopes.size(), 1u);
}

// ---- Round trip ----------------------------------------------------------------------------

// Field-by-field equality of two batches' contents; pool indexes may differ, contents may not.
class BatchComparer {
 public:
  BatchComparer(const SpanBatch& a, const SpanBatch& b) : a_(a), b_(b) {}

  void ExpectEqual() {
    ASSERT_EQ(a_.size(), b_.size());
    ASSERT_EQ(a_.resources.size(), b_.resources.size());
    ASSERT_EQ(a_.scopes.size(), b_.scopes.size());
    for (size_t i = 0; i < a_.resources.size(); ++i) {
      SCOPED_TRACE("resource " + std::to_string(i));
      const model::Resource& x = a_.resources[i];
      const model::Resource& y = b_.resources[i];
      Attributes(x.attributes, y.attributes);
      EXPECT_EQ(x.dropped_attributes_count, y.dropped_attributes_count);
      EXPECT_EQ(x.schema_url, y.schema_url);
    }
    for (size_t i = 0; i < a_.scopes.size(); ++i) {
      SCOPED_TRACE("scope " + std::to_string(i));
      const model::Scope& x = a_.scopes[i];
      const model::Scope& y = b_.scopes[i];
      EXPECT_EQ(x.resource, y.resource);
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.version, y.version);
      Attributes(x.attributes, y.attributes);
      EXPECT_EQ(x.dropped_attributes_count, y.dropped_attributes_count);
      EXPECT_EQ(x.schema_url, y.schema_url);
    }
    for (size_t i = 0; i < a_.size(); ++i) {
      SCOPED_TRACE("span " + std::to_string(i));
      model::SpanRow x = a_.Row(i);
      model::SpanRow y = b_.Row(i);
      EXPECT_EQ(x.trace_id, y.trace_id);
      EXPECT_EQ(x.span_id, y.span_id);
      EXPECT_EQ(x.parent_span_id, y.parent_span_id);
      EXPECT_EQ(x.trace_state, y.trace_state);
      EXPECT_EQ(x.flags, y.flags);
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.kind, y.kind);
      EXPECT_EQ(x.start_unix_nano, y.start_unix_nano);
      EXPECT_EQ(x.end_unix_nano, y.end_unix_nano);
      Attributes(x.attributes, y.attributes);
      EXPECT_EQ(x.dropped_attributes_count, y.dropped_attributes_count);
      ASSERT_EQ(x.events.count, y.events.count);
      for (uint32_t e = 0; e < x.events.count; ++e) {
        const model::Event& ex = a_.events[x.events.first + e];
        const model::Event& ey = b_.events[y.events.first + e];
        EXPECT_EQ(ex.time_unix_nano, ey.time_unix_nano);
        EXPECT_EQ(ex.name, ey.name);
        Attributes(ex.attributes, ey.attributes);
        EXPECT_EQ(ex.dropped_attributes_count, ey.dropped_attributes_count);
      }
      EXPECT_EQ(x.dropped_events_count, y.dropped_events_count);
      ASSERT_EQ(x.links.count, y.links.count);
      for (uint32_t l = 0; l < x.links.count; ++l) {
        const model::Link& lx = a_.links[x.links.first + l];
        const model::Link& ly = b_.links[y.links.first + l];
        EXPECT_EQ(lx.trace_id, ly.trace_id);
        EXPECT_EQ(lx.span_id, ly.span_id);
        EXPECT_EQ(lx.trace_state, ly.trace_state);
        Attributes(lx.attributes, ly.attributes);
        EXPECT_EQ(lx.dropped_attributes_count, ly.dropped_attributes_count);
        EXPECT_EQ(lx.flags, ly.flags);
      }
      EXPECT_EQ(x.dropped_links_count, y.dropped_links_count);
      EXPECT_EQ(x.status_code, y.status_code);
      EXPECT_EQ(x.status_message, y.status_message);
      EXPECT_EQ(x.scope, y.scope);
    }
  }

 private:
  void Attributes(model::Range x, model::Range y) {
    ASSERT_EQ(x.count, y.count);
    for (uint32_t i = 0; i < x.count; ++i) {
      const model::KeyValue& kx = a_.attributes[x.first + i];
      const model::KeyValue& ky = b_.attributes[y.first + i];
      SCOPED_TRACE("key " + std::string(kx.key));
      EXPECT_EQ(kx.key, ky.key);
      Values(kx.value, ky.value);
    }
  }

  void Values(const model::Value& x, const model::Value& y) {
    ASSERT_EQ(x.kind, y.kind);
    switch (x.kind) {
      case ValueKind::kEmpty:
        break;
      case ValueKind::kString:
      case ValueKind::kBytes:
        EXPECT_EQ(x.string(), y.string());
        break;
      case ValueKind::kBool:
        EXPECT_EQ(x.b, y.b);
        break;
      case ValueKind::kInt:
        EXPECT_EQ(x.i, y.i);
        break;
      case ValueKind::kDouble:  // bitwise: NaN equals NaN, -0 differs from 0
        EXPECT_EQ(std::memcmp(&x.d, &y.d, sizeof(double)), 0) << x.d << " vs " << y.d;
        break;
      case ValueKind::kArray:
        ASSERT_EQ(x.size, y.size);
        for (uint32_t i = 0; i < x.size; ++i) {
          Values(a_.values[x.first + i], b_.values[y.first + i]);
        }
        break;
      case ValueKind::kKvList:
        Attributes(x.range(), y.range());
        break;
    }
  }

  const SpanBatch& a_;
  const SpanBatch& b_;
};

TEST(OtlpJsonRoundTripTest, EncodeThenDecodeGivesTheSameBatch) {
  SpanBatch first = MustDecode(kRequest);
  std::string json;
  EncodeJsonTrace(first, JsonFlavor::kOtlp, "resourceSpans", &json);
  SCOPED_TRACE(json);
  SpanBatch second = MustDecode(json);
  BatchComparer(first, second).ExpectEqual();

  // And the encoding is a fixed point.
  std::string again;
  EncodeJsonTrace(second, JsonFlavor::kOtlp, "resourceSpans", &again);
  EXPECT_EQ(json, again);
}

TEST(OtlpJsonRoundTripTest, DoublesKeepTheirExactValue) {
  const double values[] = {0.0,
                           -0.0,
                           1.0,
                           -3.0,
                           0.1,
                           1e21,
                           1e-7,
                           123456789012345680000.0,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::infinity()};
  SpanBatch b;
  b.resources.emplace_back();
  b.scopes.emplace_back();
  model::SpanRow row;
  row.attributes = b.AllocAttributes(std::size(values));
  for (size_t i = 0; i < std::size(values); ++i) {
    b.attributes[row.attributes.first + i] = {"d", model::Value::Double(values[i])};
  }
  b.Append(row);
  std::string json;
  EncodeJsonTrace(b, JsonFlavor::kOtlp, "resourceSpans", &json);
  SCOPED_TRACE(json);
  SpanBatch back = MustDecode(json);
  BatchComparer(b, back).ExpectEqual();
}

// ---- Encoding ------------------------------------------------------------------------------

constexpr std::string_view kSmallRequest = R"json({"resourceSpans":[{"scopeSpans":[{"spans":[{
  "traceId": "5b8efff798038103d269b633813fc700", "spanId": "0102030405060708", "name": "op",
  "kind": 2, "startTimeUnixNano": "1700000000000000001", "endTimeUnixNano": "1700000000000000002",
  "attributes": [{"key": "n", "value": {"intValue": 7}}, {"key": "d", "value": {"doubleValue": 2}},
                 {"key": "b", "value": {"bytesValue": "AP8="}}],
  "droppedAttributesCount": 3,
  "status": {"message": "m", "code": 2}}]}]}]})json";

TEST(OtlpJsonEncodeTest, OtlpFlavor) {
  SpanBatch b = MustDecode(kSmallRequest);
  std::string out = "prefix:";  // appends
  EncodeJsonTrace(b, JsonFlavor::kOtlp, "resourceSpans", &out);
  EXPECT_EQ(out, R"(prefix:{"resourceSpans":[{"scopeSpans":[{"spans":[{)"
                 R"("traceId":"5b8efff798038103d269b633813fc700","spanId":"0102030405060708",)"
                 R"("name":"op","kind":2,"startTimeUnixNano":"1700000000000000001",)"
                 R"("endTimeUnixNano":"1700000000000000002","attributes":[)"
                 R"({"key":"n","value":{"intValue":"7"}},{"key":"d","value":{"doubleValue":2.0}},)"
                 R"({"key":"b","value":{"bytesValue":"AP8="}}],"droppedAttributesCount":3,)"
                 R"("status":{"message":"m","code":2}}]}]}]})");
}

TEST(OtlpJsonEncodeTest, TempoFlavor) {
  SpanBatch b = MustDecode(kSmallRequest);
  std::string out;
  EncodeJsonTrace(b, JsonFlavor::kTempo, "batches", &out);
  EXPECT_EQ(out,
            R"({"batches":[{"scopeSpans":[{"spans":[{)"
            R"("traceId":"W47/95gDgQPSabYzgT/HAA==","spanId":"AQIDBAUGBwg=",)"
            R"("name":"op","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1700000000000000001",)"
            R"("endTimeUnixNano":"1700000000000000002","attributes":[)"
            R"({"key":"n","value":{"intValue":"7"}},{"key":"d","value":{"doubleValue":2.0}},)"
            R"({"key":"b","value":{"bytesValue":"AP8="}}],"droppedAttributesCount":3,)"
            R"("status":{"message":"m","code":"STATUS_CODE_ERROR"}}]}]}]})");
}

TEST(OtlpJsonEncodeTest, TempoFlavorOfTheFullRequest) {
  SpanBatch b = MustDecode(kRequest);
  std::string out;
  EncodeJsonTrace(b, JsonFlavor::kTempo, "batches", &out);
  EXPECT_NE(out.find(R"("traceId":"W47/95gDgQPSabYzgT/HAA==")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("kind":"SPAN_KIND_CLIENT")"), std::string::npos);
  EXPECT_NE(out.find(R"("kind":"SPAN_KIND_CONSUMER")"), std::string::npos);
  EXPECT_NE(out.find(R"("code":"STATUS_CODE_OK")"), std::string::npos);
  EXPECT_NE(out.find(R"("flags":257)"), std::string::npos);
  EXPECT_NE(out.find(R"("droppedEventsCount":4)"), std::string::npos);
  EXPECT_NE(out.find(R"("timeUnixNano":"1700000000000000500")"), std::string::npos);
  EXPECT_NE(out.find(R"("intValue":"9223372036854775807")"), std::string::npos);
  EXPECT_NE(out.find(R"("doubleValue":"NaN")"), std::string::npos);
  EXPECT_NE(out.find(R"("doubleValue":"-Infinity")"), std::string::npos);
  // UTF-8 stays as is; quotes and control characters are escaped.
  EXPECT_NE(out.find("\"stringValue\":\"h\xc3\xa9\\\"llo\\n\""), std::string::npos) << out;
  EXPECT_EQ(out.find("\"kind\":2"), std::string::npos);
}

TEST(OtlpJsonEncodeTest, DefaultsAreOmittedButStatusIsNot) {
  SpanBatch b;
  b.resources.emplace_back();
  b.scopes.emplace_back();
  model::SpanRow row;
  b.Append(row);
  std::string out;
  EncodeJsonTrace(b, JsonFlavor::kOtlp, "resourceSpans", &out);
  EXPECT_EQ(out, R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"status":{}}]}]}]})");

  std::string empty;
  EncodeJsonTrace(SpanBatch(), JsonFlavor::kTempo, "batches", &empty);
  EXPECT_EQ(empty, R"({"batches":[]})");
}

TEST(OtlpJsonEncodeTest, GroupsByResourceThenScopeInFirstAppearanceOrder) {
  SpanBatch b;
  b.resources.push_back({{}, 0, "r0"});
  b.resources.push_back({{}, 0, "r1"});
  b.scopes.push_back({0, "s0", "", {}, 0, ""});
  b.scopes.push_back({1, "s1", "", {}, 0, ""});
  b.scopes.push_back({0, "s2", "", {}, 0, ""});
  for (uint32_t scope : {1u, 2u, 1u, 0u, 2u}) {
    model::SpanRow row;
    row.scope = scope;
    row.name = b.arena.Copy("span" + std::to_string(b.size()));
    b.Append(row);
  }
  std::string out;
  EncodeJsonTrace(b, JsonFlavor::kOtlp, "resourceSpans", &out);
  auto span = [](int i) { return R"({"name":"span)" + std::to_string(i) + R"(","status":{}})"; };
  EXPECT_EQ(out, R"({"resourceSpans":[)"
                 R"({"scopeSpans":[{"scope":{"name":"s1"},"spans":[)" +
                     span(0) + "," + span(2) +
                     R"(]}],"schemaUrl":"r1"},)"
                     R"({"scopeSpans":[{"scope":{"name":"s2"},"spans":[)" +
                     span(1) + "," + span(4) + R"(]},{"scope":{"name":"s0"},"spans":[)" + span(3) +
                     R"(]}],"schemaUrl":"r0"}]})");
}

// ---- Errors --------------------------------------------------------------------------------

std::string SpanJson(std::string_view fields) {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc700",)" +
         std::string(fields) + "}]}]}]}";
}

std::string AttrJson(std::string_view value) {
  return SpanJson(R"("attributes":[{"key":"k","value":)" + std::string(value) + "}]");
}

void ExpectInvalid(std::string_view json, std::string_view message, DecodeLimits limits = {}) {
  SpanBatch b;
  Status s = DecodeJsonRequest(json, limits, &b);
  ASSERT_FALSE(s.ok()) << "accepted: " << json;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), message) << json;
}

constexpr std::string_view kSpan0 = "resourceSpans[0].scopeSpans[0].spans[0]";

TEST(OtlpJsonErrorTest, Ids) {
  std::string p(kSpan0);
  ExpectInvalid(SpanJson(R"("spanId":"010203040506070g")"), p + ".spanId: invalid hex");
  ExpectInvalid(SpanJson(R"("spanId":"0102")"),
                p + ".spanId: expected 16 hex digits, got 4 characters");
  ExpectInvalid(SpanJson(R"("parentSpanId":"5b8efff798038103d269b633813fc700")"),
                p + ".parentSpanId: expected 16 hex digits, got 32 characters");
  ExpectInvalid(SpanJson(R"("spanId":12)"), p + ".spanId: expected a hex string");
  ExpectInvalid(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/HAA=="}]}]}]})",
      p + ".traceId: expected 32 hex digits, got 24 characters");
  ExpectInvalid(SpanJson(R"("links":[{},{"traceId":"xx"}])"),
                p + ".links[1].traceId: expected 32 hex digits, got 2 characters");
}

TEST(OtlpJsonErrorTest, WrongTypes) {
  std::string p(kSpan0);
  ExpectInvalid(R"({"resourceSpans":{}})", "resourceSpans: expected an array");
  ExpectInvalid(R"({"resourceSpans":[1]})", "resourceSpans[0]: expected an object");
  ExpectInvalid(R"({"resourceSpans":[{"resource":[]}]})",
                "resourceSpans[0].resource: expected an object");
  ExpectInvalid(R"({"resourceSpans":[{"scopeSpans":[{"scope":{"name":1}}]}]})",
                "resourceSpans[0].scopeSpans[0].scope.name: expected a string");
  ExpectInvalid(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{},{},"x"]}]}]})",
                "resourceSpans[0].scopeSpans[0].spans[2]: expected an object");
  ExpectInvalid(SpanJson(R"("name":5)"), p + ".name: expected a string");
  ExpectInvalid(SpanJson(R"("kind":"SERVER")"),
                p + ".kind: expected a SpanKind (0-5 or a name such as \"SPAN_KIND_SERVER\")");
  ExpectInvalid(SpanJson(R"("kind":6)"),
                p + ".kind: expected a SpanKind (0-5 or a name such as \"SPAN_KIND_SERVER\")");
  ExpectInvalid(
      SpanJson(R"("status":{"code":true})"),
      p + ".status.code: expected a StatusCode (0-2 or a name such as \"STATUS_CODE_OK\")");
  ExpectInvalid(SpanJson(R"("startTimeUnixNano":"12a")"),
                p + ".startTimeUnixNano: expected a uint64 (decimal string or number)");
  ExpectInvalid(SpanJson(R"("endTimeUnixNano":-1)"),
                p + ".endTimeUnixNano: expected a uint64 (decimal string or number)");
  ExpectInvalid(SpanJson(R"("flags":4294967296)"),
                p + ".flags: expected a uint32 (number or decimal string)");
  ExpectInvalid(SpanJson(R"("droppedLinksCount":1.5)"),
                p + ".droppedLinksCount: expected a uint32 (number or decimal string)");
  ExpectInvalid(SpanJson(R"("events":{})"), p + ".events: expected an array");
  ExpectInvalid(SpanJson(R"("events":[{"timeUnixNano":true}])"),
                p + ".events[0].timeUnixNano: expected a uint64 (decimal string or number)");
  ExpectInvalid(SpanJson(R"("attributes":[{"key":"a"},{"key":["b"]}])"),
                p + ".attributes[1].key: expected a string");
  ExpectInvalid(AttrJson(R"({"boolValue":"true"})"),
                p + ".attributes[0].value.boolValue: expected true or false");
  ExpectInvalid(AttrJson(R"({"intValue":1.5})"),
                p + ".attributes[0].value.intValue: expected an int64 (decimal string or number)");
  ExpectInvalid(AttrJson(R"({"intValue":"9223372036854775808"})"),
                p + ".attributes[0].value.intValue: expected an int64 (decimal string or number)");
  ExpectInvalid(AttrJson(R"({"doubleValue":"inf"})"),
                p + ".attributes[0].value.doubleValue: expected a number, \"NaN\", \"Infinity\" or "
                    "\"-Infinity\"");
  ExpectInvalid(AttrJson(R"({"bytesValue":"A"})"),
                p + ".attributes[0].value.bytesValue: invalid base64");
  ExpectInvalid(AttrJson(R"({"stringValue":"a","intValue":1})"),
                p + ".attributes[0].value.intValue: AnyValue already has stringValue set");
  ExpectInvalid(AttrJson("[]"), p + ".attributes[0].value: expected an object");
  ExpectInvalid(
      AttrJson(
          R"({"arrayValue":{"values":[{"intValue":1},{"kvlistValue":{"values":[{"key":"x","value":{"intValue":"x"}}]}}]}})"),
      p + ".attributes[0].value.arrayValue.values[1].kvlistValue.values[0].value.intValue: "
          "expected an int64 (decimal string or number)");
}

std::string NestedArrays(int depth) {
  std::string v = R"({"intValue":1})";
  for (int i = 0; i < depth; ++i) {
    v = R"({"arrayValue":{"values":[)" + v + "]}}";
  }
  return v;
}

std::string NestedKvLists(int depth) {
  std::string v = R"({"intValue":1})";
  for (int i = 0; i < depth; ++i) {
    v = R"({"kvlistValue":{"values":[{"key":"k","value":)" + v + "}]}}";
  }
  return v;
}

TEST(OtlpJsonErrorTest, NestingDepth) {
  DecodeLimits limits;
  limits.max_value_depth = 3;
  SpanBatch ok;
  ASSERT_TRUE(DecodeJsonRequest(AttrJson(NestedArrays(3)), limits, &ok).ok());
  ASSERT_TRUE(DecodeJsonRequest(AttrJson(NestedKvLists(3)), limits, &ok).ok());
  std::string p(kSpan0);
  ExpectInvalid(AttrJson(NestedArrays(4)),
                p + ".attributes[0].value.arrayValue.values[0].arrayValue.values[0].arrayValue."
                    "values[0].arrayValue: values nested deeper than 3 levels",
                limits);
  ExpectInvalid(AttrJson(NestedKvLists(4)),
                p + ".attributes[0].value.kvlistValue.values[0].value.kvlistValue.values[0].value."
                    "kvlistValue.values[0].value.kvlistValue: values nested deeper than 3 levels",
                limits);
  // The default limit (32) applies too, and far deeper JSON fails in the parser.
  SpanBatch b;
  EXPECT_TRUE(DecodeJsonRequest(AttrJson(NestedArrays(32)), {}, &b).ok());
  Status s = DecodeJsonRequest(AttrJson(NestedArrays(33)), {}, &b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nested deeper than 32"), std::string_view::npos) << s.ToString();
  s = DecodeJsonRequest(AttrJson(NestedArrays(2000)), {}, &b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("invalid JSON"), std::string_view::npos) << s.ToString();
}

TEST(OtlpJsonErrorTest, NotJsonOrNotAnObject) {
  std::string full = SpanJson(R"("name":"x")");
  SpanBatch b;
  for (size_t cut : {size_t{0}, size_t{1}, full.size() / 2, full.size() - 1}) {
    Status s = DecodeJsonRequest(std::string_view(full).substr(0, cut), {}, &b);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << cut;
    EXPECT_EQ(s.message().substr(0, 33), "OTLP/JSON request: invalid JSON: ") << s.ToString();
  }
  ExpectInvalid("[]", "OTLP/JSON request: expected a JSON object");
  ExpectInvalid("42", "OTLP/JSON request: expected a JSON object");
  ExpectInvalid("\"resourceSpans\"", "OTLP/JSON request: expected a JSON object");
  Status s = DecodeJsonRequest("{\"a\":\"\xff\"}", {}, &b);  // invalid UTF-8
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vivace::otlp
