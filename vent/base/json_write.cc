#include "vent/base/json_write.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "boost/json/array.hpp"
#include "boost/json/object.hpp"
#include "boost/json/string.hpp"

namespace vent {
namespace {

template <typename Int>
void AppendDigits(std::string* out, Int v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, res.ptr);
}

}  // namespace

void AppendJsonInteger(std::string* out, int64_t i) { AppendDigits(out, i); }

void AppendJsonInteger(std::string* out, uint64_t u) { AppendDigits(out, u); }

void AppendJsNumber(std::string* out, double d) {
  if (!std::isfinite(d)) {
    out->append("null");  // JSON.stringify(Infinity) === "null"
    return;
  }
  if (d == 0.0) {  // also -0: String(-0) === "0"
    out->push_back('0');
    return;
  }
  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)xx.
  char buf[40];
  auto res =
      std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  absl::string_view sci(buf, res.ptr - buf);
  if (sci.front() == '-') {
    out->push_back('-');
    sci.remove_prefix(1);
  }
  std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  // ECMA-262 Number::toString: value = 0.digits * 10^n.
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out->append(digits);
    out->append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, n);
    out->push_back('.');
    out->append(digits, n, std::string::npos);
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(-n, '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    out->push_back('e');
    out->push_back(n - 1 < 0 ? '-' : '+');
    out->append(std::to_string(std::abs(n - 1)));
  }
}

void AppendJsonString(std::string* out, absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes copied as-is
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    out->push_back('\\');
    switch (c) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '\b':
        out->push_back('b');
        break;
      case '\f':
        out->push_back('f');
        break;
      case '\n':
        out->push_back('n');
        break;
      case '\r':
        out->push_back('r');
        break;
      case '\t':
        out->push_back('t');
        break;
      default:
        out->append("u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendJsonValue(std::string* out, const boost::json::value& v) {
  namespace json = boost::json;
  switch (v.kind()) {
    case json::kind::null:
      out->append("null");
      return;
    case json::kind::bool_:
      out->append(v.get_bool() ? "true" : "false");
      return;
    case json::kind::int64:
      AppendJsonInteger(out, v.get_int64());
      return;
    case json::kind::uint64:
      AppendJsonInteger(out, v.get_uint64());
      return;
    case json::kind::double_:
      AppendJsNumber(out, v.get_double());
      return;
    case json::kind::string: {
      const json::string& s = v.get_string();
      AppendJsonString(out, absl::string_view(s.data(), s.size()));
      return;
    }
    case json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const json::value& e : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonValue(out, e);
      }
      out->push_back(']');
      return;
    }
    case json::kind::object: {
      out->push_back('{');
      bool first = true;
      for (const json::key_value_pair& kv : v.get_object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out,
                         absl::string_view(kv.key().data(), kv.key().size()));
        out->push_back(':');
        AppendJsonValue(out, kv.value());
      }
      out->push_back('}');
      return;
    }
  }
}

std::string JsonText(const boost::json::value& v) {
  std::string out;
  AppendJsonValue(&out, v);
  return out;
}

}  // namespace vent
