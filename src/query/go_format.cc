#include "query/go_format.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace vivace::query {
namespace {

constexpr uint64_t kMaxDuration = uint64_t{1} << 63;  // |math.MinInt64|, Go's overflow bound

// time's own quoting (not strconv.Quote): `"` and `\` escaped, bytes outside printable ASCII
// as \xHH.
std::string TimeQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x80 || c < ' ') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
  }
  out += '"';
  return out;
}

Status InvalidDuration(std::string_view orig) {
  return InvalidArgument("time: invalid duration " + TimeQuote(orig));
}

uint64_t UnitNanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") return 1000;  // U+00B5 and U+03BC
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return 60 * uint64_t{1000000000};
  if (u == "h") return 3600 * uint64_t{1000000000};
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Writes the fraction of v / 10^prec, without trailing zeros (and without the point when the
// fraction is zero), in front of `*w` in buf; returns v / 10^prec. Go's fmtFrac.
uint64_t PutFrac(char* buf, int* w, uint64_t v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) buf[--*w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) buf[--*w] = '.';
  return v;
}

void PutInt(char* buf, int* w, uint64_t v) {
  if (v == 0) {
    buf[--*w] = '0';
    return;
  }
  while (v > 0) {
    buf[--*w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

Result<int64_t> ParseGoDuration(std::string_view s) {
  const std::string_view orig = s;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return InvalidDuration(orig);
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) return InvalidDuration(orig);
    // Integer part.
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (v > kMaxDuration / 10) return InvalidDuration(orig);
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMaxDuration) return InvalidDuration(orig);
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction: digits past what fits are ignored.
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      size_t j = 0;
      for (; j < s.size() && IsDigit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (kMaxDuration - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kMaxDuration) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return InvalidDuration(orig);
    // Unit: everything up to the next digit or '.'.
    size_t u = 0;
    while (u < s.size() && !(s[u] == '.' || IsDigit(s[u]))) ++u;
    if (u == 0) return InvalidArgument("time: missing unit in duration " + TimeQuote(orig));
    std::string_view unit_text = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = UnitNanos(unit_text);
    if (unit == 0) {
      return InvalidArgument("time: unknown unit " + TimeQuote(unit_text) + " in duration " +
                             TimeQuote(orig));
    }
    if (v > kMaxDuration / unit) return InvalidDuration(orig);
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMaxDuration) return InvalidDuration(orig);
    }
    total += v;
    if (total > kMaxDuration) return InvalidDuration(orig);
  }
  if (neg) return static_cast<int64_t>(0 - total);  // -2^63 is representable
  if (total > kMaxDuration - 1) return InvalidDuration(orig);
  return static_cast<int64_t>(total);
}

std::string FormatGoDuration(int64_t nanos) {
  char buf[32];
  int w = sizeof(buf);
  bool neg = nanos < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  if (u < 1000000000) {
    // Below a second: one unit (ns, µs, ms) with a fraction.
    if (u == 0) return "0s";
    int prec;
    buf[--w] = 's';
    if (u < 1000) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < 1000000) {
      prec = 3;
      buf[--w] = '\xb5';  // U+00B5 MICRO SIGN, as Go writes it
      buf[--w] = '\xc2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    u = PutFrac(buf, &w, u, prec);
    PutInt(buf, &w, u);
  } else {
    buf[--w] = 's';
    u = PutFrac(buf, &w, u, 9);
    PutInt(buf, &w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      PutInt(buf, &w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        PutInt(buf, &w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

std::string FormatGoFloatG(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string_view sci(buf, end - buf);
  size_t e = sci.find('e');
  int exp = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp);
  if (exp < -4 || exp >= 6) return std::string(sci);
  auto [fend, fec] = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::fixed);
  return std::string(buf, fend - buf);
}

void AppendJsonDouble(std::string* out, double f) {
  if (std::isnan(f)) {
    *out += "\"NaN\"";
    return;
  }
  if (std::isinf(f)) {
    *out += f > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  char buf[64];
  double a = std::fabs(f);
  bool sci = a != 0 && (a < 1e-6 || a >= 1e21);
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), f,
                                 sci ? std::chars_format::scientific : std::chars_format::fixed);
  size_t n = end - buf;
  // "1e-07" -> "1e-7", as encoding/json does (positive exponents keep two digits).
  if (sci && n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];
    --n;
  }
  out->append(buf, n);
}

std::string GoQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < ' ' || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

Result<uint64_t> ParseGoUint(std::string_view s, int bits) {
  auto fail = [&](std::string_view why) {
    return InvalidArgument("strconv.ParseUint: parsing " + GoQuote(s) + ": " + std::string(why));
  };
  if (s.empty()) return fail("invalid syntax");
  uint64_t max = bits >= 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return fail("invalid syntax");
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return fail("value out of range");  // Go stops at the overflow too
    v = v * 10 + d;
  }
  return v;
}

Result<int64_t> ParseGoInt(std::string_view s, int bits) {
  auto fail = [&](std::string_view why) {
    return InvalidArgument("strconv.ParseInt: parsing " + GoQuote(s) + ": " + std::string(why));
  };
  std::string_view digits = s;
  bool neg = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  auto u = ParseGoUint(digits, 64);
  if (!u.ok()) {
    bool range = u.status().message().find("out of range") != std::string_view::npos;
    return fail(range ? "value out of range" : "invalid syntax");
  }
  uint64_t cutoff = uint64_t{1} << (bits - 1);
  if (!neg && *u >= cutoff) return fail("value out of range");
  if (neg && *u > cutoff) return fail("value out of range");
  return neg ? static_cast<int64_t>(0 - *u) : static_cast<int64_t>(*u);
}

}  // namespace vivace::query
