#include "vent/ddp/codec.h"

#include <string>

#include "boost/json/parse.hpp"
#include "gtest/gtest.h"

namespace vent::ddp {
namespace {

ParseResult Parse(absl::string_view text, CodecOptions options = {}) {
  return ParseClientMessage(text, options);
}

std::string Reply(absl::string_view text, CodecOptions options = {}) {
  ParseResult r = Parse(text, options);
  const ErrorReply* reply = std::get_if<ErrorReply>(&r);
  return reply == nullptr ? "<message>" : reply->frame;
}

template <typename T>
T Body(absl::string_view text) {
  ParseResult r = Parse(text);
  EXPECT_TRUE(std::holds_alternative<ClientMessage>(r)) << text;
  if (!std::holds_alternative<ClientMessage>(r)) return T{};
  const auto& body = std::get<ClientMessage>(r).body;
  EXPECT_TRUE(std::holds_alternative<T>(body)) << text;
  if (!std::holds_alternative<T>(body)) return T{};
  return std::get<T>(body);
}

constexpr char kBad[] = R"({"msg":"error","reason":"Bad request"})";

TEST(CodecTest, InvalidJsonIsBadRequestWithoutEcho) {
  EXPECT_EQ(Reply("{oops"), kBad);
  EXPECT_EQ(Reply(""), kBad);
  EXPECT_EQ(Reply(R"({"msg":"ping"} x)"), kBad);
}

TEST(CodecTest, NonObjectJsonIsBadRequestWithoutEcho) {
  EXPECT_EQ(Reply("5"), kBad);
  EXPECT_EQ(Reply(R"("x")"), kBad);
  EXPECT_EQ(Reply("null"), kBad);
  EXPECT_EQ(Reply("true"), kBad);
}

TEST(CodecTest, MissingOrFalsyMsgEchoesMessage) {
  EXPECT_EQ(Reply("{}"),
            R"({"msg":"error","reason":"Bad request","offendingMessage":{}})");
  EXPECT_EQ(Reply("[1]"),
            R"({"msg":"error","reason":"Bad request","offendingMessage":[1]})");
  EXPECT_EQ(
      Reply(R"({"foo":1})"),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"foo":1}})");
  EXPECT_EQ(
      Reply(R"({"msg":""})"),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":""}})");
  EXPECT_EQ(
      Reply(R"({"msg":0})"),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":0}})");
  EXPECT_EQ(
      Reply(R"({"msg":null})"),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":null}})");
  EXPECT_EQ(
      Reply(R"({"msg":false})"),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":false}})");
}

TEST(CodecTest, DepthLimit) {
  const std::string ok = std::string(63, '[') + std::string(63, ']');
  const std::string deep64 = R"({"msg":)" + ok + "}";    // 64 levels
  const std::string deep65 = R"({"msg":[)" + ok + "]}";  // 65 levels
  EXPECT_TRUE(std::holds_alternative<ClientMessage>(Parse(deep64)));
  EXPECT_EQ(Reply(deep65), kBad);
  EXPECT_EQ(Reply(deep64, CodecOptions{.max_json_depth = 10}), kBad);
}

TEST(CodecTest, OffendingEchoCap) {
  EXPECT_EQ(Reply(R"({"foo":1})", CodecOptions{.max_offending_echo = 8}), kBad);
  EXPECT_EQ(
      Reply(R"({"foo":1})", CodecOptions{.max_offending_echo = 9}),
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"foo":1}})");
}

TEST(CodecTest, Connect) {
  auto c = Body<ConnectMessage>(
      R"({"msg":"connect","session":"old","version":"1","support":["1","pre2","pre1"]})");
  EXPECT_TRUE(c.well_formed);
  EXPECT_EQ(c.version, "1");
  EXPECT_EQ(c.support, (std::vector<std::string>{"1", "pre2", "pre1"}));
}

TEST(CodecTest, ConnectNotWellFormed) {
  EXPECT_FALSE(Body<ConnectMessage>(R"({"msg":"connect"})").well_formed);
  EXPECT_FALSE(
      Body<ConnectMessage>(R"({"msg":"connect","version":1,"support":["1"]})")
          .well_formed);
  EXPECT_FALSE(
      Body<ConnectMessage>(R"({"msg":"connect","version":"1","support":"1"})")
          .well_formed);
  EXPECT_FALSE(Body<ConnectMessage>(
                   R"({"msg":"connect","version":"1","support":["1",2]})")
                   .well_formed);
  EXPECT_FALSE(Body<ConnectMessage>(
                   R"({"msg":"connect","version":"1","support":["pre1"]})")
                   .well_formed);
}

VersionDecision Negotiate(absl::string_view text) {
  return NegotiateVersion(Body<ConnectMessage>(text));
}

TEST(CodecTest, NegotiateVersion) {
  auto d = Negotiate(R"({"msg":"connect","version":"1","support":["1"]})");
  EXPECT_TRUE(d.accepted);
  EXPECT_EQ(d.version, "1");
  d = Negotiate(R"({"msg":"connect","version":"pre2","support":["pre2"]})");
  EXPECT_TRUE(d.accepted);
  EXPECT_EQ(d.version, "pre2");
  d = Negotiate(R"({"msg":"connect","version":"pre1","support":["1","pre1"]})");
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(d.version, "1");
  d = Negotiate(R"({"msg":"connect","version":"2","support":["2"]})");
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(d.version, "1");
  d = Negotiate(R"({"msg":"connect","version":"3","support":["3","pre2"]})");
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(d.version, "pre2");
  d = Negotiate(R"({"msg":"connect"})");
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(d.version, "1");
}

TEST(CodecTest, PingPong) {
  EXPECT_EQ(Body<PingMessage>(R"({"msg":"ping","id":"abc"})").id, "abc");
  EXPECT_FALSE(Body<PingMessage>(R"({"msg":"ping"})").id.has_value());
  EXPECT_FALSE(Body<PingMessage>(R"({"msg":"ping","id":5})").id.has_value());
  Body<PongMessage>(R"({"msg":"pong","id":"x"})");
}

TEST(CodecTest, Sub) {
  auto s = Body<SubMessage>(
      R"({"msg":"sub","id":"a7","name":"threadMessage","params":["kJ",{"threadId":"t1"}]})");
  EXPECT_EQ(s.id, "a7");
  EXPECT_EQ(s.name, "threadMessage");
  EXPECT_EQ(s.params,
            boost::json::parse(R"(["kJ",{"threadId":"t1"}])").as_array());
  EXPECT_TRUE(
      Body<SubMessage>(R"({"msg":"sub","id":"a","name":"n"})").params.empty());
}

TEST(CodecTest, MalformedSub) {
  for (const char* text :
       {R"({"msg":"sub","id":1,"name":"n"})", R"({"msg":"sub","name":"n"})",
        R"({"msg":"sub","id":"a","name":5})",
        R"({"msg":"sub","id":"a","name":"n","params":{}})",
        R"({"msg":"sub","id":"a","name":"n","params":null})"}) {
    EXPECT_EQ(Body<MalformedMessage>(text).reason, "Malformed subscription")
        << text;
  }
}

TEST(CodecTest, Unsub) {
  EXPECT_EQ(Body<UnsubMessage>(R"({"msg":"unsub","id":"x"})").id, "x");
  EXPECT_FALSE(Body<UnsubMessage>(R"({"msg":"unsub"})").id.has_value());
  EXPECT_EQ(Body<MalformedMessage>(R"({"msg":"unsub","id":5})").reason,
            "Malformed unsubscription");
  EXPECT_EQ(Body<MalformedMessage>(R"({"msg":"unsub","id":null})").reason,
            "Malformed unsubscription");
}

TEST(CodecTest, Method) {
  auto m = Body<MethodMessage>(
      R"({"msg":"method","id":"1","method":"login","params":[{"resume":"t"}],"randomSeed":"s"})");
  EXPECT_EQ(m.id, "1");
  EXPECT_EQ(m.method, "login");
  EXPECT_EQ(m.params, boost::json::parse(R"([{"resume":"t"}])").as_array());
  EXPECT_EQ(m.random_seed, "s");
  EXPECT_TRUE(Body<MethodMessage>(R"({"msg":"method","id":"1","method":"m"})")
                  .params.empty());
}

TEST(CodecTest, MalformedMethod) {
  for (const char* text :
       {R"({"msg":"method","id":1,"method":"m"})",
        R"({"msg":"method","id":"1"})",
        R"({"msg":"method","id":"1","method":"m","params":"x"})",
        R"({"msg":"method","id":"1","method":"m","randomSeed":3})"}) {
    EXPECT_EQ(Body<MalformedMessage>(text).reason,
              "Malformed method invocation")
        << text;
  }
}

TEST(CodecTest, UnknownMessages) {  // Body<> expects the kind
  Body<UnknownMessage>(R"({"msg":"foo"})");
  Body<UnknownMessage>(R"({"msg":1})");
  Body<UnknownMessage>(R"({"msg":["connect"]})");
  Body<UnknownMessage>(R"({"msg":"connected","session":"x"})");
}

TEST(CodecTest, RawKeepsTheParsedMessage) {
  ParseResult r = Parse(R"({"msg":"foo","a":[1,2]})");
  ASSERT_TRUE(std::holds_alternative<ClientMessage>(r));
  EXPECT_EQ(std::get<ClientMessage>(r).raw,
            boost::json::parse(R"({"msg":"foo","a":[1,2]})"));
}

TEST(CodecTest, Truthiness) {
  EXPECT_FALSE(IsTruthy(boost::json::parse("0.0")));
  EXPECT_TRUE(IsTruthy(boost::json::parse("0.5")));
  EXPECT_TRUE(IsTruthy(boost::json::parse("[]")));
  EXPECT_TRUE(IsTruthy(boost::json::parse("{}")));
  EXPECT_TRUE(IsTruthy(boost::json::parse(R"("0")")));
}

}  // namespace
}  // namespace vent::ddp
