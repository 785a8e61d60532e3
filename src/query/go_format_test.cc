#include "query/go_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vivace::query {
namespace {

TEST(GoFormatTest, DurationString) {
  struct Case {
    int64_t nanos;
    std::string_view text;
  };
  const Case cases[] = {
      {0, "0s"},
      {1, "1ns"},
      {1100, "1.1\xc2\xb5s"},
      {2200000, "2.2ms"},
      {100000000, "100ms"},
      {1500000000, "1.5s"},
      {3300000000, "3.3s"},
      {60000000000, "1m0s"},
      {245000000000, "4m5s"},
      {245001000000, "4m5.001s"},
      {3600000000000, "1h0m0s"},
      {18367001000000, "5h6m7.001s"},
      {480000000001, "8m0.000000001s"},
      {-10000000, "-10ms"},
      {std::numeric_limits<int64_t>::max(), "2562047h47m16.854775807s"},
      {std::numeric_limits<int64_t>::min(), "-2562047h47m16.854775808s"},
  };
  for (const auto& c : cases) EXPECT_EQ(FormatGoDuration(c.nanos), c.text) << c.nanos;
}

TEST(GoFormatTest, ParseDuration) {
  struct Case {
    std::string_view text;
    int64_t nanos;
  };
  const Case ok[] = {
      {"0", 0},
      {"5s", 5000000000},
      {"-5s", -5000000000},
      {"+5s", 5000000000},
      {"100ms", 100000000},
      {"1.5s", 1500000000},
      {".5s", 500000000},
      {"1.s", 1000000000},
      {"1m", 60000000000},
      {"1.5h", 5400000000000},
      {"1h2m3s4ms5us6ns", 3723004005006},
      {"1\xc2\xb5s", 1000},
      {"1\xce\xbcs", 1000},
      {"9223372036854775807ns", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808ns", std::numeric_limits<int64_t>::min()},
  };
  for (const auto& c : ok) {
    auto d = ParseGoDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, c.nanos) << c.text;
  }
  struct Bad {
    std::string_view text;
    std::string_view message;
  };
  const Bad bad[] = {
      {"abc", "time: invalid duration \"abc\""},
      {"", "time: invalid duration \"\""},
      {"-", "time: invalid duration \"-\""},
      {".s", "time: invalid duration \".s\""},
      {"1", "time: missing unit in duration \"1\""},
      {"1d", "time: unknown unit \"d\" in duration \"1d\""},
      {"1s2", "time: missing unit in duration \"1s2\""},
      {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
  };
  for (const auto& c : bad) {
    auto d = ParseGoDuration(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    EXPECT_EQ(d.status().message(), c.message);
  }
}

TEST(GoFormatTest, Floats) {
  EXPECT_EQ(FormatGoFloatG(1.5), "1.5");
  EXPECT_EQ(FormatGoFloatG(3), "3");
  EXPECT_EQ(FormatGoFloatG(123456), "123456");
  EXPECT_EQ(FormatGoFloatG(1e6), "1e+06");
  EXPECT_EQ(FormatGoFloatG(1234567), "1.234567e+06");
  EXPECT_EQ(FormatGoFloatG(0.0001), "0.0001");
  EXPECT_EQ(FormatGoFloatG(0.00001), "1e-05");
  EXPECT_EQ(FormatGoFloatG(std::nan("")), "NaN");
  EXPECT_EQ(FormatGoFloatG(-std::numeric_limits<double>::infinity()), "-Inf");

  auto json = [](double d) {
    std::string s;
    AppendJsonDouble(&s, d);
    return s;
  };
  EXPECT_EQ(json(3), "3");
  EXPECT_EQ(json(1.5), "1.5");
  EXPECT_EQ(json(-0.0), "-0");
  EXPECT_EQ(json(1e20), "100000000000000000000");
  EXPECT_EQ(json(1e21), "1e+21");
  EXPECT_EQ(json(0.000001), "0.000001");
  EXPECT_EQ(json(1e-7), "1e-7");
  EXPECT_EQ(json(1.25e-10), "1.25e-10");
  EXPECT_EQ(json(std::nan("")), "\"NaN\"");
  EXPECT_EQ(json(std::numeric_limits<double>::infinity()), "\"Infinity\"");
}

TEST(GoFormatTest, Integers) {
  EXPECT_EQ(*ParseGoUint("12", 32), 12u);
  EXPECT_EQ(*ParseGoUint("4294967295", 32), 4294967295u);
  EXPECT_EQ(ParseGoUint("4294967296", 32).status().message(),
            "strconv.ParseUint: parsing \"4294967296\": value out of range");
  EXPECT_EQ(ParseGoUint("-1", 32).status().message(),
            "strconv.ParseUint: parsing \"-1\": invalid syntax");
  EXPECT_EQ(ParseGoUint("+1", 32).status().message(),
            "strconv.ParseUint: parsing \"+1\": invalid syntax");
  EXPECT_EQ(*ParseGoInt("-5", 32), -5);
  EXPECT_EQ(*ParseGoInt("+7", 32), 7);
  EXPECT_EQ(*ParseGoInt("-2147483648", 32), -2147483648LL);
  EXPECT_EQ(ParseGoInt("2147483648", 32).status().message(),
            "strconv.ParseInt: parsing \"2147483648\": value out of range");
  EXPECT_EQ(ParseGoInt("x", 32).status().message(),
            "strconv.ParseInt: parsing \"x\": invalid syntax");
  EXPECT_EQ(GoQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

}  // namespace
}  // namespace vivace::query
