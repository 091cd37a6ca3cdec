#include "vent/pub/catalog.h"

#include <fstream>
#include <sstream>
#include <string>

#include "boost/json/parse.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vent::pub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<std::shared_ptr<const Catalog>> Load(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  return Catalog::FromYaml(root["publications"]);
}

// The message of a load that must fail.
std::string LoadError(const std::string& yaml) {
  auto c = Load(yaml);
  EXPECT_FALSE(c.ok()) << yaml;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

constexpr char kGood[] = R"(
publications:
  threadMessage:
    params: { threadId: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["threads::{threadId}::new_message"]
    auth: user
    fields: [message]
  userEvents:
    channels: ["users::{userId}::events"]
    auth: public
  scores:
    params:
      game: {}
      level: { type: integer }
      ratio: { type: number }
      live: { type: boolean }
    channels:
      - "scores::{game}::{level}"
      - "ratio::{ratio}::{live}"
    auth: authorizer
)";

TEST(Catalog, LoadsTheDocumentedExample) {
  auto c = Load(kGood);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT((*c)->names(),
              ElementsAre("scores", "threadMessage", "userEvents"));
  EXPECT_EQ((*c)->Find("nope"), nullptr);

  const Publication* tm = (*c)->Find("threadMessage");
  ASSERT_NE(tm, nullptr);
  EXPECT_EQ(tm->name(), "threadMessage");
  EXPECT_EQ(tm->auth(), Auth::kUser);
  EXPECT_TRUE(tm->needs_user());
  ASSERT_NE(tm->projection(), nullptr);
  auto params = tm->ValidateParams(
      boost::json::parse(R"([{"threadId":"t1"}])").as_array());
  ASSERT_TRUE(params.ok());
  EXPECT_THAT(*tm->Channels(*params, "u"),
              ElementsAre("threads::t1::new_message"));
  EXPECT_EQ(*tm->Transform(R"({"message":"hi","x":1})"), R"({"message":"hi"})");

  const Publication* ue = (*c)->Find("userEvents");
  EXPECT_EQ(ue->auth(), Auth::kPublic);
  EXPECT_TRUE(ue->needs_user());  // {userId} whatever auth says
  EXPECT_EQ(ue->Channels({}, "").status().code(),
            absl::StatusCode::kPermissionDenied);

  const Publication* sc = (*c)->Find("scores");
  EXPECT_EQ(sc->auth(), Auth::kAuthorizer);
  EXPECT_FALSE(sc->needs_user());
  ASSERT_EQ(sc->params().size(), 4u);
  EXPECT_EQ(sc->params()[0].type(),
            ParamType::kString);  // type defaults to string
  auto sp = sc->ValidateParams(
      boost::json::parse(
          R"([{"game":"chess","level":3,"ratio":0.25,"live":true}])")
          .as_array());
  ASSERT_TRUE(sp.ok()) << sp.status();
  EXPECT_THAT(*sc->Channels(*sp, ""),
              ElementsAre("scores::chess::3", "ratio::0.25::true"));
}

TEST(Catalog, ReadmeExampleLoads) {
  std::ifstream in(VENT_PUB_README);
  ASSERT_TRUE(in) << VENT_PUB_README;
  std::stringstream text;
  text << in.rdbuf();
  const std::string md = text.str();
  const std::string start = "## Example\n\n```yaml\n";
  std::size_t a = md.find(start);
  ASSERT_NE(a, std::string::npos);
  a += start.size();
  std::size_t b = md.find("```", a);
  ASSERT_NE(b, std::string::npos);
  auto c = Load(md.substr(a, b - a));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT((*c)->names(),
              ElementsAre("news", "scores", "threadMessage", "userEvents"));
  const Publication* scores = (*c)->Find("scores");
  auto params = scores->ValidateParams(
      boost::json::parse(R"([{"game":"go","level":2,"live":false}])")
          .as_array());
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_THAT(*scores->Channels(*params, ""),
              ElementsAre("scores::go::2", "scores::go::live::false"));
}

TEST(Catalog, NullOrAbsentSectionIsEmpty) {
  auto absent = Load("other: 1\n");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ((*absent)->size(), 0u);
  auto null = Load("publications:\n");
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE((*null)->names().empty());
}

TEST(Catalog, NotAMapping) {
  EXPECT_THAT(LoadError("publications: [a, b]\n"),
              HasSubstr("publications (line 1): must be a mapping"));
  EXPECT_THAT(LoadError("publications: x\n"), HasSubstr("must be a mapping"));
  EXPECT_THAT(LoadError("publications:\n  p: [1]\n"),
              HasSubstr("publications.p (line 2): must be a mapping"));
}

TEST(Catalog, MissingAuthNamesThePublication) {
  std::string msg = LoadError(R"(
publications:
  threadMessage:
    channels: ["x"]
)");
  EXPECT_THAT(msg, HasSubstr("publications.threadMessage.auth"));
  EXPECT_THAT(msg, HasSubstr("missing"));
  EXPECT_THAT(msg, HasSubstr("public, user, authorizer"));
  EXPECT_THAT(LoadError("publications:\n  p: { channels: [x], auth: }\n"),
              HasSubstr("publications.p.auth"));
}

TEST(Catalog, BadAuthValue) {
  EXPECT_THAT(LoadError("publications:\n  p: { channels: [x], auth: users }\n"),
              HasSubstr("publications.p.auth (line 2): unknown auth 'users'"));
  EXPECT_THAT(
      LoadError("publications:\n  p: { channels: [x], auth: [user] }\n"),
      HasSubstr("publications.p.auth"));
}

TEST(Catalog, BadParamType) {
  EXPECT_THAT(
      LoadError(R"(
publications:
  p:
    params: { n: { type: int } }
    channels: ["c::{n}"]
    auth: public
)"),
      HasSubstr("publications.p.params.n.type (line 4): unknown type 'int'"));
}

TEST(Catalog, BadRegex) {
  std::string msg = LoadError(R"(
publications:
  p:
    params: { id: { pattern: "([a-z]+" } }
    channels: ["c::{id}"]
    auth: public
)");
  EXPECT_THAT(msg, HasSubstr("publications.p"));
  EXPECT_THAT(msg, HasSubstr("param 'id'"));
  EXPECT_THAT(msg, HasSubstr("does not compile"));
}

TEST(Catalog, TemplateReferencesUndeclaredParam) {
  std::string msg = LoadError(R"(
publications:
  p:
    params: { threadId: {} }
    channels: ["threads::{thread}::new"]
    auth: public
)");
  EXPECT_THAT(msg, HasSubstr("publications.p"));
  EXPECT_THAT(msg, HasSubstr("undeclared param '{thread}'"));
}

TEST(Catalog, UnknownKeysAreRefused) {
  EXPECT_THAT(
      LoadError("publications:\n  p: { chanels: [x], auth: public }\n"),
      HasSubstr(
          "publications.p (line 2): unknown key 'chanels' "
          "(allowed: params, channels, auth, fields, delivery, history)"));
  EXPECT_THAT(
      LoadError(R"(
publications:
  p:
    params: { a: { type: string, patern: "x" } }
    channels: ["{a}"]
    auth: public
)"),
      HasSubstr("publications.p.params.a (line 4): unknown key 'patern'"));
}

TEST(Catalog, ShapeErrors) {
  EXPECT_THAT(LoadError("publications:\n  p: { auth: public }\n"),
              HasSubstr("publications.p.channels"));
  EXPECT_THAT(LoadError("publications:\n  p: { channels: x, auth: public }\n"),
              HasSubstr("publications.p.channels (line 2): must be a list"));
  EXPECT_THAT(
      LoadError("publications:\n  p: { channels: [[x]], auth: public }\n"),
      HasSubstr("publications.p.channels[0]"));
  EXPECT_THAT(LoadError("publications:\n  p: { channels: [], auth: public }\n"),
              HasSubstr("at least one"));
  EXPECT_THAT(
      LoadError(
          "publications:\n  p: { channels: [x], auth: public, fields: [] }\n"),
      HasSubstr("publications.p (line 2): fields: fields is empty"));
  EXPECT_THAT(
      LoadError(
          "publications:\n  p: { channels: [x], auth: public, fields: a }\n"),
      HasSubstr("publications.p.fields"));
  EXPECT_THAT(
      LoadError(
          "publications:\n  p: { params: [a], channels: [x], auth: public }\n"),
      HasSubstr("publications.p.params"));
  EXPECT_THAT(LoadError("publications:\n  p: { params: { a: string }, "
                        "channels: [x], auth: public }\n"),
              HasSubstr("publications.p.params.a"));
  EXPECT_THAT(LoadError(R"(
publications:
  p:
    params: { n: { type: integer, pattern: "[0-9]+" } }
    channels: ["c::{n}"]
    auth: public
)"),
              HasSubstr("pattern is only allowed on type string"));
  EXPECT_THAT(LoadError(R"(
publications:
  p:
    params: { userId: {} }
    channels: ["c::{userId}"]
    auth: public
)"),
              HasSubstr("reserved"));
  EXPECT_THAT(
      LoadError("publications:\n  \"a b\": { channels: [x], auth: public }\n"),
      HasSubstr("name must be"));
}

TEST(Catalog, RepeatedKeysAreRefused) {
  EXPECT_THAT(LoadError(R"(
publications:
  p: { channels: [x], auth: public }
  p: { channels: [y], auth: public }
)"),
              HasSubstr("publications.p (line 4): is declared twice"));
  EXPECT_THAT(
      LoadError(
          "publications:\n  p: { channels: [x], auth: public, auth: user }\n"),
      HasSubstr("key 'auth' is repeated"));
  EXPECT_THAT(LoadError(R"(
publications:
  p:
    params: { a: {}, a: { type: integer } }
    channels: ["{a}"]
    auth: public
)"),
              HasSubstr("param 'a' is declared twice"));
}

TEST(Catalog, FieldsNullMeansNoProjection) {
  auto c =
      Load("publications:\n  p: { channels: [x], auth: public, fields: }\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Find("p")->projection(), nullptr);
  EXPECT_EQ(*(*c)->Find("p")->Transform("{\"b\":1, \"a\":2}"),
            "{\"b\":1, \"a\":2}");
}

TEST(Catalog, Delivery) {
  auto c = Load(R"(publications:
  v: { channels: [x], auth: public }
  v2: { channels: [x], auth: public, delivery: vent }
  c: { channels: [x], auth: public, delivery: collection }
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Find("v")->delivery(), Delivery::kVent);
  EXPECT_EQ((*c)->Find("v2")->delivery(), Delivery::kVent);
  EXPECT_EQ((*c)->Find("c")->delivery(), Delivery::kCollection);
  EXPECT_EQ(DeliveryName(Delivery::kCollection), "collection");
  EXPECT_THAT(LoadError(R"(publications:
  p:
    channels: [x]
    auth: public
    delivery: minimongo
)"),
              HasSubstr("publications.p.delivery (line 5): unknown delivery "
                        "'minimongo' (expected vent or collection)"));
  EXPECT_THAT(LoadError(R"(publications:
  p: { channels: [x], auth: public, delivery: [vent] }
)"),
              HasSubstr("publications.p.delivery (line 2): must be a string"));
}

}  // namespace
}  // namespace vent::pub
