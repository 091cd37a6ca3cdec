#include "vent/pub/json_text.h"

#include <string>

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

}  // namespace
}  // namespace vent::pub
