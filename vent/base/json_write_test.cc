#include "vent/base/json_write.h"

#include <cmath>
#include <limits>

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

TEST(JsonWriteTest, NumbersAsJavaScriptWritesThem) {
  EXPECT_EQ(Num(0), "0");
  EXPECT_EQ(Num(-0.0), "0");
  EXPECT_EQ(Num(1.5), "1.5");
  EXPECT_EQ(Num(2.50), "2.5");
  EXPECT_EQ(Num(-42), "-42");
  EXPECT_EQ(Num(1e21), "1e+21");
  EXPECT_EQ(Num(1e20), "100000000000000000000");
  EXPECT_EQ(Num(1e-7), "1e-7");
  EXPECT_EQ(Num(0.000001), "0.000001");
  EXPECT_EQ(Num(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Num(std::nan("")), "null");
}

TEST(JsonWriteTest, StringsEscapedLikeJsonStringify) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(Str("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Str(absl::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(Str("h\xc3\xa9llo \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Str("/"), "\"/\"");
}

}  // namespace
}  // namespace vent
