#include "vent/ws/sockjs.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vent::ws {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Frame(std::vector<absl::string_view> msgs) {
  std::string out;
  AppendArrayFrame(out, msgs);
  return out;
}

// Expected strings below were produced by node 20 with sockjs-node 0.3.24's
// quote():
// JSON.stringify(s).replace(/[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f
// \u2060-\u206f\ufff0-\uffff]/g, c => '\\u' + hex4(c)).
TEST(SockJsTest, InfoJson) {
  EXPECT_EQ(
      InfoJson(3735928559u),
      R"({"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":3735928559})");
  EXPECT_EQ(
      InfoJson(0),
      R"({"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":0})");
}

TEST(SockJsTest, ArrayFrameOfDdpMessages) {
  EXPECT_EQ(Frame({}), "a[]");
  EXPECT_EQ(
      Frame({R"({"msg":"connected","session":"N7ghTzKq4pAoYwE3x"})"}),
      R"(a["{\"msg\":\"connected\",\"session\":\"N7ghTzKq4pAoYwE3x\"}"])");
  EXPECT_EQ(
      Frame({R"({"msg":"ping"})", R"({"msg":"ready","subs":["1"]})"}),
      R"(a["{\"msg\":\"ping\"}","{\"msg\":\"ready\",\"subs\":[\"1\"]}"])");
  std::string out = "keep";
  std::vector<absl::string_view> one = {"x"};
  AppendArrayFrame(out, one);
  EXPECT_EQ(out, R"(keepa["x"])");
}

TEST(SockJsTest, EscapesControlCharsLikeJsonStringify) {
  const std::string in("a\0b\x01\x1f\b\f\n\r\t\"\\/\x7f", 14);
  EXPECT_EQ(Frame({in}), R"(a["a\u0000b\u0001\u001f\b\f\n\r\t\"\\/)"
                         "\x7f"
                         R"("])");
}

TEST(SockJsTest, EscapesSockJsRanges) {
  // U+200B stays raw; U+200C..200F, U+2028..202F, U+2060..206F escaped; U+2030,
  // U+205F, U+2070 raw.
  const std::string in =
      "x\xE2\x80\x8By\xE2\x80\x8Cz\xE2\x80\x8F\xE2\x80\xA8\xE2\x80\xA9\xE2\x80"
      "\xAF\xE2\x80\xB0"
      "\xE2\x81\x9F\xE2\x81\xA0\xE2\x81\xAF\xE2\x81\xB0";
  EXPECT_EQ(Frame({in}),
            "a[\"x\xE2\x80\x8By\\u200cz\\u200f\\u2028\\u2029\\u202f\xE2\x80\xB0"
            "\xE2\x81\x9F\\u2060\\u206f\xE2\x81\xB0\"]");
  // é, 中, U+FEFF, U+FFEF raw; U+FFF0, U+FFFD, U+FFFF escaped.
  const std::string in2 =
      "\xC3\xA9\xE4\xB8\xAD\xEF\xBB\xBF\xEF\xBF\xAF\xEF\xBF\xB0\xEF\xBF\xBD\xEF"
      "\xBF\xBF";
  EXPECT_EQ(
      Frame({in2}),
      "a["
      "\"\xC3\xA9\xE4\xB8\xAD\xEF\xBB\xBF\xEF\xBF\xAF\\ufff0\\ufffd\\uffff\"]");
}

TEST(SockJsTest, SpecialByteAtEveryOffsetOfWordScan) {
  struct Case {
    std::string in, escaped;
  };
  const std::vector<Case> cases = {{"\"", "\\\""},
                                   {"\\", "\\\\"},
                                   {"\x1f", "\\u001f"},
                                   {"\n", "\\n"},
                                   {"\xC3\xA9", "\xC3\xA9"},
                                   {"\xE2\x80\xA8", "\\u2028"},
                                   {" ", " "},
                                   {"!", "!"},
                                   {"#", "#"},
                                   {"]", "]"},
                                   {"\x7f", "\x7f"},
                                   {"[", "["}};
  for (const Case& c : cases) {
    for (size_t i = 0; i < 20; ++i) {
      const std::string in =
          std::string(i, 'a') + c.in + std::string(20 - i, 'b');
      EXPECT_EQ(Frame({in}), "a[\"" + std::string(i, 'a') + c.escaped +
                                 std::string(20 - i, 'b') + "\"]")
          << i << " " << c.escaped;
    }
  }
}

TEST(SockJsTest, EscapesAstralCharsAsSurrogatePairs) {
  EXPECT_EQ(Frame({"\xF0\x9F\x98\x80"}), R"(a["\ud83d\ude00"])");  // U+1F600
  EXPECT_EQ(Frame({"\xF4\x8F\xBF\xBF"}), R"(a["\udbff\udfff"])");  // U+10FFFF
  EXPECT_EQ(Frame({"\xF0\x90\x80\x80"}), R"(a["\ud800\udc00"])");  // U+10000
}

TEST(SockJsTest, InvalidUtf8BecomesReplacementEscape) {
  EXPECT_EQ(Frame({"a\xFF"
                   "b\xED\xA0\x80"}),
            R"(a["a\ufffdb\ufffd\ufffd\ufffd"])");
  EXPECT_EQ(Frame({"\xE2\x82"}), R"(a["\ufffd\ufffd"])");
}

TEST(SockJsTest, CloseFrame) {
  EXPECT_EQ(CloseFrame(3000, "Go away!"), R"(c[3000,"Go away!"])");
  EXPECT_EQ(CloseFrame(1000, "Normal closure"), R"(c[1000,"Normal closure"])");
  EXPECT_EQ(CloseFrame(3000, "Broken framing."),
            R"(c[3000,"Broken framing."])");
  // JSON.stringify only: U+2028 and é stay raw.
  EXPECT_EQ(CloseFrame(1000, "\xE2\x80\xA8\xC3\xA9\n\""),
            "c[1000,\"\xE2\x80\xA8\xC3\xA9\\n\\\"\"]");
}

TEST(SockJsTest, ParseClientFrame) {
  EXPECT_THAT(*ParseClientFrame(""), IsEmpty());
  EXPECT_THAT(*ParseClientFrame("[]"), IsEmpty());
  EXPECT_THAT(*ParseClientFrame(R"(["{\"msg\":\"connect\"}"])"),
              ElementsAre(R"({"msg":"connect"})"));
  EXPECT_THAT(*ParseClientFrame(R"( [ "a" , "b\u00e9\n" ] )"),
              ElementsAre("a", "b\xC3\xA9\n"));
  EXPECT_THAT(*ParseClientFrame(R"("bare")"), ElementsAre("bare"));
  EXPECT_THAT(*ParseClientFrame(R"(["\ud83d\ude00"])"),
              ElementsAre("\xF0\x9F\x98\x80"));
  for (const char* bad :
       {"[", "x", "[1]", R"(["a",1])", R"(["a",null])", "{}", "42", "null",
        "true", R"(["a"] x)", " ", R"([["a"]])", "[\"\xFF\"]"}) {
    absl::StatusOr<std::vector<std::string>> r = ParseClientFrame(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
    EXPECT_EQ(r.status().message(), "Broken framing.");
  }
}

TEST(SockJsTest, ParseClientFrameRoundTripsArrayFrame) {
  const std::vector<absl::string_view> msgs = {
      R"({"msg":"sub","id":"1","name":"x","params":["\u2028"]})",
      "\xF0\x9F\x98\x80\xE2\x80\xA8", absl::string_view("nul\0x", 5)};
  std::string frame;
  AppendArrayFrame(frame, msgs);
  absl::StatusOr<std::vector<std::string>> r =
      ParseClientFrame(absl::string_view(frame).substr(1));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], msgs[0]);
  EXPECT_EQ((*r)[1], msgs[1]);
  EXPECT_EQ((*r)[2], msgs[2]);
}

TEST(SockJsTest, WebSocketPath) {
  EXPECT_TRUE(IsSockJsWebSocketPath("/sockjs/123/abcdefgh/websocket"));
  EXPECT_TRUE(IsSockJsWebSocketPath("/sockjs/1/a/websocket/"));
  EXPECT_TRUE(IsSockJsWebSocketPath("/sockjs/123/abc_-XY/websocket?x=1"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/123/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs//abc/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/123//websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/1.2/abc/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/123/a.b/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/1/2/3/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/123/abc/xhr"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/123/abc/websocket//"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/other/123/abc/websocket"));
  EXPECT_FALSE(IsSockJsWebSocketPath("/sockjs/info"));
}

}  // namespace
}  // namespace vent::ws
