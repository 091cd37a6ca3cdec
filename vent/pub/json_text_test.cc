#include "vent/pub/json_text.h"

#include <limits>
#include <string>

#include "boost/json/parse.hpp"
#include "gtest/gtest.h"

namespace vent::pub {
namespace {

TEST(ScanJson, AcceptsValidDocuments) {
  for (const char* s :
       {"{}", "[]", "1", "\"x\"", "true", "{\"a\":[1,2,{\"b\":null}]}",
        " \t\r\n{\"a\":1} \n", "1e400", "-1.5e-3", "\"\\u00e9\xc3\xa9\""}) {
    JsonScan scan = ScanJson(s);
    EXPECT_TRUE(scan.valid) << s;
    EXPECT_FALSE(scan.falsy) << s;
  }
}

TEST(ScanJson, RefusesInvalidDocuments) {
  for (const char* s : {"",         " ",      "{",          "}",
                        "{\"a\":1", "[1,]",   "{\"a\":1,}", "{a:1}",
                        "'x'",      "1 2",    "{} {}",      "{}x",
                        "nul",      "NaN",    "Infinity",   "01",
                        "1.",       ".5",     "+1",         "\"\xff\"",
                        "\"\xc3\"", "/*c*/1", "\"a\nb\"",   "\xef\xbb\xbf{}"}) {
    EXPECT_FALSE(ScanJson(s).valid) << s;
  }
}

TEST(ScanJson, EmbeddedNulIsInvalid) {
  EXPECT_FALSE(ScanJson(std::string("{}\0", 3)).valid);
  EXPECT_FALSE(ScanJson(std::string("\"a\0b\"", 5)).valid);
}

TEST(ScanJson, DepthLimit) {
  std::string ok(kMaxJsonDepth, '[');
  ok.append(kMaxJsonDepth, ']');
  EXPECT_TRUE(ScanJson(ok).valid);
  std::string deep(kMaxJsonDepth + 1, '[');
  deep.append(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ScanJson(deep).valid);
}

TEST(ScanJson, FalsyValues) {
  for (const char* s :
       {"null", "false", "\"\"", "0", "-0", "0.0", "-0.0", "0e5", "0E-5",
        "-0.000e+10", "1e-400", " \n null \t", "\r\n0\r\n", " \"\" "}) {
    JsonScan scan = ScanJson(s);
    EXPECT_TRUE(scan.valid) << s;
    EXPECT_TRUE(scan.falsy) << s;
  }
}

TEST(ScanJson, TruthyValues) {
  for (const char* s : {"true", "1", "-1", "0.1", "1e-300", "\" \"", "\"0\"",
                        "\"false\"", "[]", "{}", "[0]", "[null]",
                        "{\"a\":null}", "[\"\"]", "18446744073709551615"}) {
    JsonScan scan = ScanJson(s);
    EXPECT_TRUE(scan.valid) << s;
    EXPECT_FALSE(scan.falsy) << s;
  }
}

std::string Js(double d) {
  std::string out;
  AppendJsNumber(d, &out);
  return out;
}

TEST(AppendJsNumber, MatchesJavaScriptToString) {
  EXPECT_EQ(Js(0), "0");
  EXPECT_EQ(Js(-0.0), "0");
  EXPECT_EQ(Js(1), "1");
  EXPECT_EQ(Js(-1), "-1");
  EXPECT_EQ(Js(1.5), "1.5");
  EXPECT_EQ(Js(0.1), "0.1");
  EXPECT_EQ(Js(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Js(123456789), "123456789");
  EXPECT_EQ(Js(1e20), "100000000000000000000");
  EXPECT_EQ(Js(1e21), "1e+21");
  EXPECT_EQ(Js(1.5e21), "1.5e+21");
  EXPECT_EQ(Js(0.000001), "0.000001");
  EXPECT_EQ(Js(1e-7), "1e-7");
  EXPECT_EQ(Js(-1.25e-7), "-1.25e-7");
  EXPECT_EQ(Js(123.456), "123.456");
  EXPECT_EQ(Js(5e-324), "5e-324");
  EXPECT_EQ(Js(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(Js(9007199254740993.0), "9007199254740992");
}

std::string Str(const std::string& s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(AppendJsonString, EscapesLikeJsonStringify) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Str(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(Str(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(Str("\xc3\xa9/\x7f"), "\"\xc3\xa9/\x7f\"");  // no other escapes
}

TEST(AppendJsonValue, CompactAndOrderPreserving) {
  boost::json::value v = boost::json::parse(
      R"( { "b" : [1, 2.5, -0, 1E2, true, null, "x"], "a" : {"z":{}, "y":[]},
           "big": 18446744073709551615, "inf": 1e400 } )");
  std::string out;
  AppendJsonValue(v, &out);
  EXPECT_EQ(out, R"({"b":[1,2.5,0,100,true,null,"x"],"a":{"z":{},"y":[]},)"
                 R"("big":18446744073709551615,"inf":null})");
}

}  // namespace
}  // namespace vent::pub
