#include "vent/pub/publication.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "gtest/gtest.h"

namespace vent::pub {
namespace {

namespace json = boost::json;

std::unique_ptr<Publication> Make(
    std::vector<ParamDecl> params, std::vector<std::string> channels,
    Auth auth = Auth::kPublic,
    std::optional<std::vector<std::string>> fields = std::nullopt) {
  auto p = Publication::Create("pub", auth, std::move(params), channels,
                               std::move(fields));
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

std::unique_ptr<Publication> ThreadMessage() {
  return Make({{"threadId", ParamType::kString, "^[A-Za-z0-9_-]{1,64}$"}},
              {"threads::{threadId}::new_message"}, Auth::kUser);
}

absl::StatusOr<json::object> Validate(const Publication& p, const char* args) {
  return p.ValidateParams(json::parse(args).as_array());
}

TEST(Publication, CreateRefusals) {
  auto bad = [](std::string name, std::vector<ParamDecl> params,
                std::vector<std::string> channels,
                std::optional<std::vector<std::string>> fields = {}) {
    return !Publication::Create(name, Auth::kPublic, std::move(params),
                                channels, std::move(fields))
                .ok();
  };
  EXPECT_TRUE(bad("", {}, {"c"}));
  EXPECT_TRUE(bad("a b", {}, {"c"}));
  EXPECT_TRUE(bad("a\"b", {}, {"c"}));
  EXPECT_TRUE(bad("a\\b", {}, {"c"}));
  EXPECT_TRUE(bad("ok", {}, {}));          // no channel
  EXPECT_TRUE(bad("ok", {}, {"c", "c"}));  // duplicate
  EXPECT_TRUE(bad("ok", {}, std::vector<std::string>(kMaxChannels + 1, "c")));
  EXPECT_TRUE(bad("ok", {{"a"}, {"a"}}, {"c::{a}"}));             // param twice
  EXPECT_TRUE(bad("ok", {{"a"}}, {"c::{b}"}));                    // undeclared
  EXPECT_TRUE(bad("ok", {}, {"c"}, std::vector<std::string>{}));  // fields []
  EXPECT_TRUE(bad("ok", {}, {"c"}, std::vector<std::string>{"a..b"}));
  std::vector<ParamDecl> many;
  std::vector<std::string> chans;
  for (std::size_t i = 0; i <= kMaxParams; ++i) {
    many.push_back({absl::StrCat("p", i)});
  }
  EXPECT_TRUE(bad("ok", many, {"c"}));
  many.pop_back();
  EXPECT_FALSE(bad("threads.messages/v1:x", many, {"c"}));
}

TEST(Publication, NeedsUser) {
  EXPECT_TRUE(ThreadMessage()->needs_user());
  EXPECT_FALSE(Make({}, {"news"}, Auth::kPublic)->needs_user());
  EXPECT_TRUE(
      Make({}, {"users::{userId}::events"}, Auth::kPublic)->needs_user());
  EXPECT_FALSE(Make({}, {"news"}, Auth::kAuthorizer)->needs_user());
}

TEST(ValidateParams, Good) {
  auto p = ThreadMessage();
  auto r = Validate(*p, R"([{"threadId":"t-1_A"}])");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(json::serialize(*r), R"({"threadId":"t-1_A"})");
}

TEST(ValidateParams, Refusals) {
  auto p = Make({{"threadId"}}, {"threads::{threadId}"});  // default pattern
  for (const char* args : {
           R"([{"threadId":"a::b"}])",  // ':' not allowed: injection
           R"([{"threadId":"*"}])", R"([{"threadId":""}])",
           R"([{"threadId":"a b"}])",
           R"([{"threadId":1}])",  // wrong type
           R"([{"threadId":["a"]}])", R"([{"threadId":null}])",
           R"([{"threadId":"a","x":"b"}])",  // extra
           R"([{}])",                        // missing
           R"([{"threadid":"a"}])",          // case matters
           R"([])",                          // no params object
           R"(["a"])",                       // not an object
           R"([null])", R"([["a"]])",
           R"([{"threadId":"a"},{}])",  // two objects
       }) {
    auto r = Validate(*p, args);
    ASSERT_FALSE(r.ok()) << args;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << args;
  }
  json::array big{json::object{{"threadId", std::string(10 * 1024, 'a')}}};
  EXPECT_FALSE(p->ValidateParams(big).ok());
}

TEST(ValidateParams, UnknownKeyIsNamedSafely) {
  auto p = Make({}, {"news"});
  json::array args{
      json::object{{std::string("evil\n") + std::string(500, 'k'), 1}}};
  auto r = p->ValidateParams(args);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  EXPECT_LT(r.status().message().size(), 200u);
}

TEST(ValidateParams, NoParamPublication) {
  auto p = Make({}, {"news"});
  EXPECT_TRUE(Validate(*p, "[]").ok());    // [rand]
  EXPECT_TRUE(Validate(*p, "[{}]").ok());  // [rand, {}]
  EXPECT_FALSE(Validate(*p, R"([{"a":1}])").ok());
  EXPECT_FALSE(Validate(*p, "[null]").ok());
  EXPECT_FALSE(Validate(*p, "[{},{}]").ok());
  EXPECT_FALSE(Validate(*p, "[1]").ok());
}

TEST(Channels, RendersEveryType) {
  auto p = Make({{"s"},
                 {"i", ParamType::kInteger},
                 {"n", ParamType::kNumber},
                 {"b", ParamType::kBoolean}},
                {"a::{s}::{i}::{n}::{b}", "u::{userId}::{s}"});
  auto params = Validate(*p, R"([{"b":false,"n":0.5,"i":7.0,"s":"x.y"}])");
  ASSERT_TRUE(params.ok()) << params.status();
  auto ch = p->Channels(*params, "user-9");
  ASSERT_TRUE(ch.ok()) << ch.status();
  EXPECT_EQ(*ch, (std::vector<std::string>{"a::x.y::7::0.5::false",
                                           "u::user-9::x.y"}));
}

TEST(Channels, UserIdRequired) {
  auto p = Make({}, {"users::{userId}::events"}, Auth::kPublic);
  auto ch = p->Channels({}, "");
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(*p->Channels({}, "u1"),
            std::vector<std::string>{"users::u1::events"});
  // auth: user needs a login even without {userId} in a template.
  auto t = ThreadMessage();
  auto params = Validate(*t, R"([{"threadId":"t1"}])");
  EXPECT_EQ(t->Channels(*params, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(*t->Channels(*params, "u1"),
            std::vector<std::string>{"threads::t1::new_message"});
}

TEST(Channels, RechecksParamsAndDeduplicates) {
  auto p = Make({{"a"}, {"b"}}, {"c::{a}", "c::{b}"});
  json::object forged{{"a", "x::y"}, {"b", "z"}};
  EXPECT_FALSE(p->Channels(forged, "").ok());
  json::object extra{{"a", "x"}, {"b", "x"}, {"c", "x"}};
  EXPECT_FALSE(p->Channels(extra, "").ok());
  json::object same{{"a", "x"}, {"b", "x"}};
  EXPECT_EQ(*p->Channels(same, ""), std::vector<std::string>{"c::x"});
}

TEST(Channels, PermissivePatternStillCannotInjectControlChars) {
  auto p = Make({{"q", ParamType::kString, ".*"}}, {"c::{q}"});
  auto params = Validate(*p, R"([{"q":"a\u0001b"}])");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(p->Channels(*params, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Transform -----------------------------------------------------------

TEST(Transform, VerbatimPassthroughIsByteExact) {
  auto p = Make({}, {"c"});
  for (std::string s : {"{\"b\":1, \"a\":2}", "  {\"a\" : [1 ,2]}\n", "1.0",
                        "{\"$date\":1700000000000}", "\"\\u00e9\"", "[]", "{}",
                        "true", "-1e400", "{\"a\":1,\"a\":2}"}) {
    auto out = p->Transform(s);
    ASSERT_TRUE(out.has_value()) << s;
    EXPECT_EQ(*out, s);
  }
}

TEST(Transform, FalsyNotSent) {
  auto p = Make({}, {"c"});
  for (const char* s : {"null", "false", "0", "\"\"", "-0", "0.0", "0e5",
                        " null ", "\n\tfalse\r\n", " 0 ", "  \"\"  "}) {
    EXPECT_FALSE(p->Transform(s).has_value()) << s;
  }
  EXPECT_TRUE(p->Transform("\"0\"").has_value());
  EXPECT_TRUE(p->Transform("[0]").has_value());
}

TEST(Transform, InvalidJsonNotSent) {
  auto p = Make({}, {"c"});
  auto q = Make({}, {"c"}, Auth::kPublic, std::vector<std::string>{"a"});
  for (const char* s : {"", "{", "{\"a\":1", "{\"a\":1}x", "hello", "{'a':1}",
                        "{\"a\":1,}", "\"\xff\"", "NaN"}) {
    EXPECT_FALSE(p->Transform(s).has_value()) << s;
    EXPECT_FALSE(q->Transform(s).has_value()) << s;
  }
}

TEST(Transform, Projection) {
  auto p = Make({}, {"c"}, Auth::kPublic,
                std::vector<std::string>{"message", "user.name"});
  auto t = [&](const char* s) { return p->Transform(s); };
  EXPECT_EQ(*t(R"({"secret":1,"message":"hi","x":2})"), R"({"message":"hi"})");
  // Falsy values of present keys are kept.
  EXPECT_EQ(*t(R"({"message":0})"), R"({"message":0})");
  EXPECT_EQ(*t(R"({"message":null})"), R"({"message":null})");
  EXPECT_EQ(*t(R"({"message":false})"), R"({"message":false})");
  EXPECT_EQ(*t(R"({"message":""})"), R"({"message":""})");
  // Nested dotted path, event key order, compact output.
  EXPECT_EQ(
      *t(R"({ "user" : {"pw":"x", "name":"ann", "age":3}, "message": [1, 2.50] })"),
      R"({"user":{"name":"ann"},"message":[1,2.5]})");
  // Absent keys -> not sent; non-object -> not sent.
  EXPECT_FALSE(t(R"({"other":1})").has_value());
  EXPECT_FALSE(t(R"({"user":{"pw":"x"}})").has_value());
  EXPECT_FALSE(t(R"({"user":"ann"})").has_value());
  EXPECT_FALSE(t(R"({})").has_value());
  EXPECT_FALSE(t(R"([{"message":1}])").has_value());
  EXPECT_FALSE(t(R"("message")").has_value());
  EXPECT_FALSE(t("null").has_value());
}

TEST(Transform, ProjectionPrefixWinsAndNumbersLikeJs) {
  auto p =
      Make({}, {"c"}, Auth::kPublic, std::vector<std::string>{"a.b", "a", "n"});
  EXPECT_EQ(*p->Transform(R"({"n":1.0e2,"a":{"b":1,"c":2}})"),
            R"({"n":100,"a":{"b":1,"c":2}})");
  EXPECT_EQ(*p->Transform(R"({"n":1e400})"), R"({"n":null})");
  EXPECT_EQ(*p->Transform(R"({"n":"a\u0000\"\n\u00e9"})"),
            "{\"n\":\"a\\u0000\\\"\\n\xc3\xa9\"}");
}

TEST(Transform, ProjectionDocumentedExamples) {
  auto p =
      Make({}, {"c"}, Auth::kPublic, std::vector<std::string>{"user.name"});
  EXPECT_EQ(*p->Transform(R"({"user":{"name":"ann","pw":"x"}})"),
            R"({"user":{"name":"ann"}})");
  // Duplicate keys: the last one wins (as in JSON.parse).
  EXPECT_EQ(*p->Transform(R"({"user":{"name":"a","name":"b"}})"),
            R"({"user":{"name":"b"}})");
  // A whole nested value, empty object included, is kept as present.
  auto q = Make({}, {"c"}, Auth::kPublic, std::vector<std::string>{"user"});
  EXPECT_EQ(*q->Transform(R"({"user":{}})"), R"({"user":{}})");
}

TEST(Transform, LargeEventProjection) {
  auto p = Make({}, {"c"}, Auth::kPublic, std::vector<std::string>{"k"});
  std::string big = R"({"pad":")" + std::string(100000, 'x') + R"(","k":[1]})";
  EXPECT_EQ(*p->Transform(big), R"({"k":[1]})");
}

}  // namespace
}  // namespace vent::pub
