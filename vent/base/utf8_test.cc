#include "vent/base/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace vent {
namespace {

TEST(Utf8Test, Valid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(
      IsValidUtf8("plain ascii text that is longer than sixteen bytes"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(
      IsValidUtf8("Hello-\xC2\xB5@"
                  "\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8Test, Overlong) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));
}

TEST(Utf8Test, SurrogatesAndAboveMax) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));          // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
}

TEST(Utf8Test, TruncatedAndStrayContinuation) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("abc\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98\x28"));
}

TEST(Utf8Test, BadByteAfterLongAsciiRun) {
  // Exercises the word-at-a-time fast path at every offset.
  for (size_t i = 0; i < 40; ++i) {
    std::string s(40, 'a');
    s[i] = '\x80';
    EXPECT_FALSE(IsValidUtf8(s)) << i;
    s[i] = 'b';
    EXPECT_TRUE(IsValidUtf8(s)) << i;
  }
}

TEST(Utf8Test, PrefixLength) {
  const std::string s =
      "ab\xE2\x82\xAC"
      "cd";  // "ab€cd"
  EXPECT_EQ(Utf8PrefixLength(s, 100), s.size());
  EXPECT_EQ(Utf8PrefixLength(s, 2), 2u);
  EXPECT_EQ(Utf8PrefixLength(s, 3), 2u);
  EXPECT_EQ(Utf8PrefixLength(s, 4), 2u);
  EXPECT_EQ(Utf8PrefixLength(s, 5), 5u);
}

}  // namespace
}  // namespace vent

namespace vent {
namespace {
TEST(Utf8OffsetTest, ReportsTheFirstBadSequence) {
  size_t off = 99;
  EXPECT_TRUE(IsValidUtf8("abc", &off));
  EXPECT_FALSE(IsValidUtf8("abcdefghij\xff", &off));
  EXPECT_EQ(off, 10u);
  EXPECT_FALSE(IsValidUtf8("h\xc3\xa9\xed\xa0\x80x",
                           &off));  // surrogate after a 2-byte char
  EXPECT_EQ(off, 3u);
  EXPECT_FALSE(IsValidUtf8("ok\xe2\x82", &off));  // truncated
  EXPECT_EQ(off, 2u);
}
}  // namespace
}  // namespace vent
