#include "vent/base/json_write.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "boost/json/parse.hpp"
#include "gtest/gtest.h"

namespace vent {
namespace {

std::string Num(double d) {
  std::string s;
  AppendJsNumber(&s, d);
  return s;
}
std::string Str(absl::string_view v) {
  std::string s;
  AppendJsonString(&s, v);
  return s;
}
std::string Reserialize(const char* json) {
  return JsonText(boost::json::parse(json));
}
// What JSON.parse makes of a number's text: the nearest double (ECMA-262
// uses round-to-nearest, as strtod does).
double JsParse(const std::string& text) {
  return std::strtod(text.c_str(), nullptr);
}

TEST(JsonWriteTest, NumbersAsJavaScriptWritesThem) {
  // Expected strings are node's JSON.stringify / String(x).
  EXPECT_EQ(Num(0), "0");
  EXPECT_EQ(Num(-0.0), "0");
  EXPECT_EQ(Num(1), "1");
  EXPECT_EQ(Num(-1), "-1");
  EXPECT_EQ(Num(1.5), "1.5");
  EXPECT_EQ(Num(2.50), "2.5");
  EXPECT_EQ(Num(-42), "-42");
  EXPECT_EQ(Num(0.1), "0.1");
  EXPECT_EQ(Num(123456789), "123456789");
  EXPECT_EQ(Num(-123.456), "-123.456");
  EXPECT_EQ(Num(1e21), "1e+21");
  EXPECT_EQ(Num(1.5e21), "1.5e+21");
  EXPECT_EQ(Num(1e20), "100000000000000000000");
  EXPECT_EQ(Num(1e-7), "1e-7");
  EXPECT_EQ(Num(-1.25e-7), "-1.25e-7");
  EXPECT_EQ(Num(0.000001), "0.000001");
  EXPECT_EQ(Num(123e-20), "1.23e-18");
  EXPECT_EQ(Num(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Num(123456789012345678901234.0), "1.2345678901234569e+23");
  EXPECT_EQ(Num(5e-324), "5e-324");
  EXPECT_EQ(Num(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(Num(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Num(-std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Num(std::nan("")), "null");
}

TEST(JsonWriteTest, StringsEscapedLikeJsonStringify) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(Str("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Str(absl::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(Str(absl::string_view("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(Str("h\xc3\xa9llo \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Str("/\x7f"), "\"/\x7f\"");  // no other escapes
}

TEST(JsonWriteTest, ValuesCompactAndOrderPreserving) {
  EXPECT_EQ(Reserialize(
                R"( { "z" : 1 , "a" : [ true , false , null ] , "m" : { } } )"),
            R"({"z":1,"a":[true,false,null],"m":{}})");
  EXPECT_EQ(Reserialize(R"( { "b" : [1, 2.5, -0, 1E2, -0.0, "x"],
                              "a" : {"z":{}, "y":[]}, "inf": 1e400 } )"),
            R"({"b":[1,2.5,0,100,0,"x"],"a":{"z":{},"y":[]},"inf":null})");
}

// The integer rule (json_write.h): integers keep their exact digits, also
// beyond 2^53; JSON.parse sees the same Number as for JSON.stringify's
// rounded digits.
TEST(JsonWriteTest, IntegersKeepTheirDigits) {
  EXPECT_EQ(Reserialize("[12345678901234567890,-9007199254740993,"
                        "9007199254740992,18446744073709551615,"
                        "-9223372036854775808]"),
            "[12345678901234567890,-9007199254740993,9007199254740992,"
            "18446744073709551615,-9223372036854775808]");
  std::string s;
  AppendJsonInteger(&s, int64_t{-7});
  s.push_back(',');
  AppendJsonInteger(&s, uint64_t{18446744073709551615u});
  EXPECT_EQ(s, "-7,18446744073709551615");
  // Above 2^64 the parser keeps a double: Number#toString applies.
  EXPECT_EQ(Reserialize("[18446744073709551616,1.0,5e0]"),
            "[18446744073709552000,1,5]");
}

TEST(JsonWriteTest, ABrowserParsesExactAndRoundedIntegersAlike) {
  for (const char* text : {"9007199254740993", "12345678901234567890",
                           "-9007199254740993", "18446744073709551615",
                           "-9223372036854775807", "4611686018427387903"}) {
    const std::string exact = Reserialize(text);
    EXPECT_EQ(exact, text);
    // What JSON.stringify(JSON.parse(text)) would have written.
    const std::string rounded = Num(JsParse(text));
    EXPECT_NE(rounded, exact) << text;  // not representable as a double
    EXPECT_EQ(JsParse(exact), JsParse(rounded)) << text;
  }
  // Within 2^53 both rules give the same bytes.
  for (const char* text :
       {"9007199254740992", "-9007199254740992", "0", "42"}) {
    EXPECT_EQ(Reserialize(text), Num(JsParse(text))) << text;
  }
}

}  // namespace
}  // namespace vent
