#include "server/http_emit_codec.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vent::server {
namespace {

using ::testing::HasSubstr;

std::string Nest(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "[";
  for (int i = 0; i < depth; ++i) s += "]";
  return s;
}

TEST(HttpEmitCodec, DataIsKeptByteForByte) {
  auto ev = ParseEmitBody(
      " {\"channel\" : \"threads::t1\", \"data\":  {\"a\" : [1, 2.50],\n "
      "\"b\":\"}\\\"]\"} ,\"idempotency_key\":\"k-1\"}\n",
      64);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->channel, "threads::t1");
  EXPECT_EQ(ev->data, "{\"a\" : [1, 2.50],\n \"b\":\"}\\\"]\"}");
  EXPECT_EQ(ev->idempotency_key, "k-1");
  for (const char* data : {"\"text\"", "12.5e3", "-0", "true", "false", "null",
                           "[]", "{}", "[{\"x\":[[]]}]"}) {
    const std::string body =
        absl::StrCat("{\"data\":", data, ",\"channel\":\"c\"}");
    auto e = ParseEmitBody(body, 64);  // e->data points into body
    ASSERT_TRUE(e.ok()) << data << " " << e.status();
    EXPECT_EQ(e->data, data);
  }
}

TEST(HttpEmitCodec, StringsAreDecoded) {
  auto ev = ParseEmitBody(
      "{\"channel\":\"th\\u00e9\\/\\ud83d\\ude00\\n\",\"data\":1}", 64);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->channel, "th\xc3\xa9/\xf0\x9f\x98\x80\n");
}

TEST(HttpEmitCodec, BadBodiesNameTheField) {
  auto err = [](absl::string_view body) {
    auto ev = ParseEmitBody(body, 64);
    EXPECT_FALSE(ev.ok()) << body;
    EXPECT_EQ(ev.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(ev.status().message());
  };
  EXPECT_EQ(err("{\"data\":1}"), "channel: missing");
  EXPECT_EQ(err("{\"channel\":\"c\"}"), "data: missing");
  EXPECT_EQ(err("{\"channel\":1,\"data\":1}"),
            "channel: must be a JSON string");
  EXPECT_EQ(err("{\"channel\":\"c\",\"channel\":\"d\",\"data\":1}"),
            "channel: given twice");
  EXPECT_EQ(err("{\"channel\":\"c\",\"data\":1,\"data\":2}"),
            "data: given twice");
  EXPECT_EQ(err("{\"channel\":\"c\",\"data\":1,\"idempotency_key\":5}"),
            "idempotency_key: must be a JSON string");
  EXPECT_EQ(err("{\"chanel\":\"c\",\"data\":1}"),
            "body: unknown field \"chanel\" (the fields are channel, data, "
            "idempotency_key)");
  EXPECT_THAT(err("[1]"), HasSubstr("body: must be a JSON object"));
  EXPECT_THAT(err("{\"channel\":\"c\",\"data\":1,}"),
              HasSubstr("body: not valid JSON at offset"));
  EXPECT_THAT(err(""), HasSubstr("body: must not be empty"));
  EXPECT_EQ(err(std::string("{\"channel\":\"\xff\",\"data\":1}")),
            "body: not valid UTF-8 at byte 12");
  // Far past the limit: refused here; one level past it parses and is left
  // to the event validation (which names data and the offset).
  EXPECT_EQ(err(absl::StrCat("{\"channel\":\"c\",\"data\":", Nest(200), "}")),
            "data: nesting deeper than 64 levels");
  EXPECT_TRUE(
      ParseEmitBody(absl::StrCat("{\"channel\":\"c\",\"data\":", Nest(65), "}"),
                    64)
          .ok());
}

TEST(HttpEmitCodec, Batches) {
  auto evs = ParseEmitBatchBody(
      "{\"events\":[{\"channel\":\"a\",\"data\":1},{\"channel\":\"b\",\"data\":"
      "\"x\",\"idempotency_key\":\"k\"}, {\"data\" : [ ] , \"channel\":\"c\"} "
      "]}",
      64, 10);
  ASSERT_TRUE(evs.ok()) << evs.status();
  ASSERT_EQ(evs->size(), 3u);
  EXPECT_EQ((*evs)[1].data, "\"x\"");
  EXPECT_EQ((*evs)[1].idempotency_key, "k");
  EXPECT_EQ((*evs)[2].data, "[ ]");
  EXPECT_EQ((*evs)[2].channel, "c");

  auto err = [](absl::string_view body, size_t max = 10) {
    auto e = ParseEmitBatchBody(body, 64, max);
    EXPECT_FALSE(e.ok()) << body;
    return std::string(e.status().message());
  };
  EXPECT_EQ(err("{\"events\":[]}"), "events: empty batch");
  EXPECT_EQ(err("{\"events\":{}}"), "events: must be a JSON array");
  EXPECT_EQ(err("{\"events\":[1]}"), "events[0]: must be a JSON object");
  EXPECT_EQ(err("{\"events\":[{\"channel\":\"a\",\"data\":1},{\"data\":1}]}"),
            "events[1].channel: missing");
  EXPECT_EQ(err("{\"events\":[{\"channel\":\"a\",\"data\":1,\"x\":2}]}"),
            "events[0]: unknown field \"x\" (the fields are channel, data, "
            "idempotency_key)");
  EXPECT_EQ(err("{\"evnts\":[]}"),
            "body: unknown field \"evnts\" (the only field is events)");
  EXPECT_EQ(err(absl::StrCat(
                "{\"events\":[{\"channel\":\"c\",\"data\":", Nest(200), "}]}")),
            "events[].data: nesting deeper than 64 levels");
  EXPECT_EQ(err("{\"events\":[{\"channel\":\"a\",\"data\":1},{\"channel\":"
                "\"a\",\"data\":1},{\"channel\":\"a\",\"data\":1}]}",
                2),
            "events: 3 events is over the 2-event limit (--max-batch)");
}

TEST(HttpEmitCodec, RepliesAndErrors) {
  EXPECT_EQ(EncodeEmitReply({"01ABC", 3, false}),
            "{\"id\":\"01ABC\",\"receivers\":3,\"duplicate\":false}");
  EXPECT_EQ(EncodeEmitBatchReply({{"a", 1, false}, {"b", 0, true}}),
            "{\"results\":[{\"id\":\"a\",\"receivers\":1,\"duplicate\":false},"
            "{\"id\":\"b\",\"receivers\":0,\"duplicate\":true}]}");
  EXPECT_EQ(EncodeError(absl::StatusCode::kInvalidArgument, "say \"hi\"\n"),
            "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"say "
            "\\\"hi\\\"\\n\"}}");
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpFieldNames("event.channel: must not be empty"),
            "channel: must not be empty");
  EXPECT_EQ(HttpFieldNames("event.json: not valid JSON at offset 3: x"),
            "data: not valid JSON at offset 3: x");
  EXPECT_EQ(HttpFieldNames("events[12].json: 70000 bytes is over"),
            "events[12].data: 70000 bytes is over");
  EXPECT_EQ(HttpFieldNames("events[2].channel: must not be empty"),
            "events[2].channel: must not be empty");
}

}  // namespace
}  // namespace vent::server
