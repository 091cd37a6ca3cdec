#include "vent/event/validate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vent::event {
namespace {

using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

TEST(ValidateChannel, AcceptsOrdinaryAndUnicodeNames) {
  Limits l;
  EXPECT_TRUE(ValidateChannel("threads::t1::new_message", l, "event").ok());
  EXPECT_TRUE(ValidateChannel("caf\xC3\xA9 \xF0\x9F\x98\x80", l, "event").ok());
  EXPECT_TRUE(ValidateChannel(std::string(1024, 'a'), l, "event").ok());
}

TEST(ValidateChannel, Empty) {
  auto s = ValidateChannel("", Limits{}, "event");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(s), "event.channel: must not be empty");
}

TEST(ValidateChannel, TooLong) {
  auto s = ValidateChannel(std::string(1025, 'a'), Limits{}, "events[2]");
  EXPECT_EQ(Msg(s),
            "events[2].channel: 1025 bytes is over the 1024-byte limit "
            "(--max-channel)");
  Limits small;
  small.max_channel = 4;
  EXPECT_TRUE(ValidateChannel("abcd", small, "e").ok());
  EXPECT_FALSE(ValidateChannel("abcde", small, "e").ok());
}

TEST(ValidateChannel, ControlCharacters) {
  EXPECT_EQ(Msg(ValidateChannel(std::string("a\0b", 3), Limits{}, "event")),
            "event.channel: control character U+0000 at byte 1 is not allowed");
  EXPECT_EQ(Msg(ValidateChannel("ab\n", Limits{}, "event")),
            "event.channel: control character U+000A at byte 2 is not allowed");
  EXPECT_EQ(Msg(ValidateChannel("\x1F", Limits{}, "event")),
            "event.channel: control character U+001F at byte 0 is not allowed");
  EXPECT_EQ(Msg(ValidateChannel("x\x7F", Limits{}, "event")),
            "event.channel: control character U+007F at byte 1 is not allowed");
}

TEST(ValidateChannel, InvalidUtf8) {
  EXPECT_EQ(Msg(ValidateChannel("ab\xFF", Limits{}, "event")),
            "event.channel: not valid UTF-8 at byte 2");
  // Overlong '/', surrogate, truncated sequence, above U+10FFFF.
  EXPECT_FALSE(ValidateChannel("\xC0\xAF", Limits{}, "e").ok());
  EXPECT_FALSE(ValidateChannel("\xED\xA0\x80", Limits{}, "e").ok());
  EXPECT_FALSE(ValidateChannel("a\xE2\x82", Limits{}, "e").ok());
  EXPECT_FALSE(ValidateChannel("\xF4\x90\x80\x80", Limits{}, "e").ok());
}

TEST(ValidateJson, AcceptsAnyJsonValue) {
  Limits l;
  for (const char* ok : {"{}", "[]", "1", "-2.5e3", "\"s\"", "true", "null",
                         "{\"a\":[1,{\"b\":null}]}", " {\"x\" : 1} \n"}) {
    EXPECT_TRUE(ValidateJson(ok, l, "event.json").ok()) << ok;
  }
}

TEST(ValidateJson, InvalidJsonNamesOffset) {
  auto s = ValidateJson("{\"a\":1,}", Limits{}, "events[3].json");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s),
              HasSubstr("events[3].json: not valid JSON at offset 7: "));
  EXPECT_THAT(Msg(ValidateJson("{\"a\":1} x", Limits{}, "event.json")),
              HasSubstr("not valid JSON at offset 8"));
  EXPECT_THAT(Msg(ValidateJson("{\"a\":", Limits{}, "event.json")),
              HasSubstr("not valid JSON at offset 5"));
  EXPECT_FALSE(ValidateJson("// c\n1", Limits{}, "e").ok());
  EXPECT_FALSE(ValidateJson("\"\xFF\"", Limits{}, "e").ok());
  EXPECT_FALSE(ValidateJson("NaN", Limits{}, "e").ok());
}

TEST(ValidateJson, Empty) {
  EXPECT_EQ(Msg(ValidateJson("", Limits{}, "event.json")),
            "event.json: must not be empty");
}

TEST(ValidateJson, TooBig) {
  // (StrCat, not operator+: GCC 12 warns -Wrestrict on "x" + std::string&&.)
  std::string big = absl::StrCat("\"", std::string(70000 - 2, 'x'), "\"");
  EXPECT_EQ(
      Msg(ValidateJson(big, Limits{}, "event.json")),
      "event.json: 70000 bytes is over the 65536-byte limit (--max-payload)");
  std::string at_limit = absl::StrCat("\"", std::string(65536 - 2, 'x'), "\"");
  EXPECT_TRUE(ValidateJson(at_limit, Limits{}, "event.json").ok());
}

TEST(ValidateJson, Depth) {
  std::string d64 = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(ValidateJson(d64, Limits{}, "event.json").ok());
  std::string d65 = std::string(65, '[') + std::string(65, ']');
  EXPECT_THAT(Msg(ValidateJson(d65, Limits{}, "event.json")),
              HasSubstr("event.json: nesting deeper than 64 levels"));
  // The depth error is told apart by type, not by its message.
  EXPECT_TRUE(IsTooDeep(ValidateJson(d65, Limits{}, "event.json")));
  EXPECT_FALSE(IsTooDeep(ValidateJson(d64, Limits{}, "event.json")));
  EXPECT_FALSE(IsTooDeep(ValidateJson("[[", Limits{}, "event.json")));
  EXPECT_FALSE(IsTooDeep(ValidateJson("", Limits{}, "nesting deeper")));
  EXPECT_FALSE(IsTooDeep(absl::InvalidArgumentError("nesting deeper than 1")));
}

TEST(ValidateIdempotencyKey, Limit) {
  EXPECT_TRUE(ValidateIdempotencyKey("", Limits{}, "event").ok());
  EXPECT_TRUE(
      ValidateIdempotencyKey(std::string(128, 'k'), Limits{}, "event").ok());
  EXPECT_EQ(
      Msg(ValidateIdempotencyKey(std::string(129, 'k'), Limits{}, "event")),
      "event.idempotency_key: 129 bytes is over the 128-byte limit");
}

}  // namespace
}  // namespace vent::event
