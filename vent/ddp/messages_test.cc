#include "vent/ddp/messages.h"

#include <string>

#include "boost/json/parse.hpp"
#include "gtest/gtest.h"

namespace vent::ddp {
namespace {

TEST(MessagesTest, ServerMessagesUseMeteorKeyOrder) {
  EXPECT_EQ(WriteConnected("Wq3mK8ZbT2xYpLr5d"),
            R"({"msg":"connected","session":"Wq3mK8ZbT2xYpLr5d"})");
  EXPECT_EQ(WriteFailed("1"), R"({"msg":"failed","version":"1"})");
  EXPECT_EQ(WritePing(std::nullopt), R"({"msg":"ping"})");
  EXPECT_EQ(WritePing("x"), R"({"msg":"ping","id":"x"})");
  EXPECT_EQ(WritePong(std::nullopt), R"({"msg":"pong"})");
  EXPECT_EQ(WritePong("abc"), R"({"msg":"pong","id":"abc"})");
  EXPECT_EQ(WriteReady({"a", "b"}), R"({"msg":"ready","subs":["a","b"]})");
  EXPECT_EQ(WriteUpdated({"1"}), R"({"msg":"updated","methods":["1"]})");
  EXPECT_EQ(WriteNosub(std::nullopt), R"({"msg":"nosub"})");
  EXPECT_EQ(WriteNosub("x"), R"({"msg":"nosub","id":"x"})");
}

TEST(MessagesTest, NosubWithMeteorError) {
  const Error e = MakeError(404, "Subscription 'nope' not found");
  EXPECT_EQ(
      WriteNosub("x", &e),
      R"({"msg":"nosub","id":"x","error":{"isClientSafe":true,"error":404,)"
      R"("reason":"Subscription 'nope' not found","message":"Subscription 'nope' not found [404]",)"
      R"("errorType":"Meteor.Error"}})");
}

TEST(MessagesTest, MeteorErrorStringCodeAndDetails) {
  Error e = MakeError("too-many-requests", "Slow down");
  e.details = boost::json::parse(R"({"timeToReset":1500})");
  std::string out;
  AppendMeteorError(&out, e);
  EXPECT_EQ(
      out,
      R"({"isClientSafe":true,"error":"too-many-requests","reason":"Slow down",)"
      R"("details":{"timeToReset":1500},"message":"Slow down [too-many-requests]",)"
      R"("errorType":"Meteor.Error"})");
}

TEST(MessagesTest, MeteorErrorWithoutReason) {
  std::string out;
  AppendMeteorError(&out, MakeError(500, ""));
  EXPECT_EQ(out,
            R"({"isClientSafe":true,"error":500,"reason":"","message":"[500]",)"
            R"("errorType":"Meteor.Error"})");
}

TEST(MessagesTest, ResultVariants) {
  EXPECT_EQ(WriteResult("1", nullptr, nullptr), R"({"msg":"result","id":"1"})");
  const boost::json::value r = boost::json::parse(R"({"$date":1700000000000})");
  EXPECT_EQ(WriteResult("2", &r, nullptr),
            R"({"msg":"result","id":"2","result":{"$date":1700000000000}})");
  const boost::json::value null_result;
  EXPECT_EQ(WriteResult("3", &null_result, nullptr),
            R"({"msg":"result","id":"3","result":null})");
  const Error e = MakeError(404, "Method 'x' not found");
  EXPECT_EQ(
      WriteResult("3", nullptr, &e),
      R"({"msg":"result","id":"3","error":{"isClientSafe":true,"error":404,)"
      R"("reason":"Method 'x' not found","message":"Method 'x' not found [404]",)"
      R"("errorType":"Meteor.Error"}})");
}

TEST(MessagesTest, ErrorWithAndWithoutOffendingMessage) {
  EXPECT_EQ(WriteError("Bad request", nullptr, 1024),
            R"({"msg":"error","reason":"Bad request"})");
  const boost::json::value m = boost::json::parse(R"({"msg":"foo"})");
  EXPECT_EQ(
      WriteError("Bad request", &m, 1024),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"foo"}})");
}

TEST(MessagesTest, OffendingMessageSizeCap) {
  const boost::json::value m =
      boost::json::parse(R"({"msg":"foo"})");  // 13 bytes
  EXPECT_EQ(
      WriteError("Bad request", &m, 13),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"foo"}})");
  EXPECT_EQ(WriteError("Bad request", &m, 12),
            R"({"msg":"error","reason":"Bad request"})");
}

// The echo is written by vent/base/json_write.h: JSON.stringify escaping,
// integers with their exact digits.
TEST(MessagesTest, OffendingMessageEchoUsesTheOneWriter) {
  const boost::json::value m = boost::json::parse(
      R"({"msg":"foo","n":12345678901234567890,"d":1.50,)"
      R"("s":"a\"b\\c/\u0001\u001f\b\f\n\r\t\u007f\u00e9\u2028"})");
  EXPECT_EQ(
      WriteError("Bad request", &m, 1024),
      "{\"msg\":\"error\",\"reason\":\"Bad request\",\"offendingMessage\":"
      "{\"msg\":\"foo\",\"n\":12345678901234567890,\"d\":1.5,"
      "\"s\":\"a\\\"b\\\\c/\\u0001\\u001f\\b\\f\\n\\r\\t\x7f"
      "\xc3\xa9\xe2\x80\xa8\"}}");
}

TEST(MessagesTest, VentFramePrefixIsByteExact) {
  const std::string prefix =
      VentFramePrefix("kJ2mK3yWq9bZ8cXfT", "threadMessage");
  EXPECT_EQ(
      prefix,
      R"({"msg":"changed","__vent":"1","id":"kJ2mK3yWq9bZ8cXfT.threadMessage","e":)");
  EXPECT_EQ(prefix.substr(0, 28), R"({"msg":"changed","__vent":"1)");
  EXPECT_EQ(
      prefix + R"({"text":"Hello!"})" + "}",
      R"({"msg":"changed","__vent":"1","id":"kJ2mK3yWq9bZ8cXfT.threadMessage","e":{"text":"Hello!"}})");
}

TEST(MessagesTest, VentFramePrefixEscapesId) {
  EXPECT_EQ(VentFramePrefix("a\"b", "p"),
            R"({"msg":"changed","__vent":"1","id":"a\"b.p","e":)");
}

}  // namespace
}  // namespace vent::ddp
