#include "blocks/value_codec.h"

#include <gtest/gtest.h>

#include "blocks/test_util.h"

namespace vivace::blocks {
namespace {

// Nested arrays `depth` deep around one int.
model::Value Nested(model::SpanBatch* b, int depth) {
  if (depth == 0) return model::Value::Int(-42);
  model::Range r = b->AllocValues(1);
  model::Value inner = Nested(b, depth - 1);
  b->values[r.first] = inner;
  return model::Value::Array(r);
}

TEST(ValueCodecTest, AttributesRoundTripWithEveryKind) {
  model::SpanBatch b = testing::RandomTraces(41).Make(5, 10);
  for (size_t i = 0; i < b.size(); ++i) {
    std::string bytes;
    EncodeAttributes(b, b.span_attributes[i], &bytes);
    model::SpanBatch out;
    std::string_view in = bytes;
    auto r = DecodeAttributes(&in, &out);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(in.empty());
    std::string again;
    EncodeAttributes(out, *r, &again);
    EXPECT_EQ(again, bytes);
  }
}

TEST(ValueCodecTest, NestingIsLimited) {
  model::SpanBatch b;
  std::string bytes;
  EncodeValue(b, Nested(&b, 40), &bytes);
  model::SpanBatch out;
  std::string_view in = bytes;
  EXPECT_EQ(DecodeValue(&in, &out).status().code(), StatusCode::kDataLoss);
  in = bytes;
  EXPECT_TRUE(DecodeValue(&in, &out, 64).ok());
}

TEST(ValueCodecTest, MalformedInputIsAnError) {
  model::SpanBatch b;
  std::string bytes;
  model::Range r = b.AllocAttributes(2);
  b.attributes[r.first] = {"k", model::Value::String("value")};
  b.attributes[r.first + 1] = {"d", model::Value::Double(1.5)};
  EncodeAttributes(b, r, &bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    model::SpanBatch out;
    std::string_view in = std::string_view(bytes).substr(0, cut);
    EXPECT_FALSE(DecodeAttributes(&in, &out).ok()) << cut;
  }
  model::SpanBatch out;
  std::string_view unknown = "\x09";
  EXPECT_FALSE(DecodeValue(&unknown, &out).ok());
  std::string_view bad_bool("\x02\x07", 2);
  EXPECT_FALSE(DecodeValue(&bad_bool, &out).ok());
}

}  // namespace
}  // namespace vivace::blocks
