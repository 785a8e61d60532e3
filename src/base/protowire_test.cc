#include "base/protowire.h"

#include <gtest/gtest.h>

namespace vivace::protowire {
namespace {

TEST(ProtowireTest, WritesAndReadsEveryWireType) {
  std::string buf;
  Writer w(&buf);
  w.Varint(1, 150);
  w.Fixed64(2, 0x0102030405060708ull);
  w.Fixed32(3, 7);
  w.Bytes(4, "abc");
  size_t tok = w.BeginMessage(5);
  w.Bytes(1, std::string(300, 'x'));  // forces a two-byte length on the enclosing message
  w.EndMessage(tok);
  w.Double(6, 2.5);

  Reader r(buf);
  Field f;
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f.number, 1u);
  EXPECT_EQ(f.varint, 150u);
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f.varint, 0x0102030405060708ull);
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f.varint, 7u);
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f.bytes, "abc");
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f.number, 5u);
  Reader inner(f.bytes);
  Field g;
  ASSERT_TRUE(inner.Next(&g));
  EXPECT_EQ(g.bytes.size(), 300u);
  EXPECT_FALSE(inner.Next(&g));
  EXPECT_TRUE(inner.ok());
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(AsDouble(f.varint), 2.5);
  EXPECT_FALSE(r.Next(&f));
  EXPECT_TRUE(r.ok());
}

TEST(ProtowireTest, KnownEncoding) {
  // The protobuf documentation's example: field 1 = 150 encodes as 08 96 01.
  std::string buf;
  Writer(&buf).Varint(1, 150);
  EXPECT_EQ(buf, std::string("\x08\x96\x01", 3));
}

TEST(ProtowireTest, RejectsTruncatedAndBadInput) {
  for (std::string bad : {std::string("\x0a\x05" "ab", 4), std::string("\x08", 1), std::string("\x09\x01", 2),
                          std::string("\x00\x01", 2), std::string("\x0b", 1),
                          std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12)}) {
    Reader r(bad);
    Field f;
    while (r.Next(&f)) {
    }
    EXPECT_FALSE(r.ok()) << "input of " << bad.size() << " bytes";
  }
  EXPECT_EQ(CountField(std::string("\x0a\x00\x0a\x00\x10\x01", 6), 1), 2);
}

}  // namespace
}  // namespace vivace::protowire
