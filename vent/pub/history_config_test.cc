// `history:` in the publications config, and which publication a concrete
// channel belongs to (what vent-server uses to know a channel keeps
// history).
#include "gtest/gtest.h"
#include "vent/pub/catalog.h"

namespace vent::pub {
namespace {

absl::StatusOr<std::shared_ptr<const Catalog>> Load(const std::string& yaml) {
  return Catalog::FromYaml(YAML::Load(yaml));
}

TEST(HistoryConfigTest, ParsesSizeAndTtl) {
  auto c = Load(R"(
    chat:
      params: { room: { type: string } }
      channels: ["rooms::{room}"]
      auth: public
      history: { size: 1000, ttl: 10m }
    plain:
      channels: ["plain"]
      auth: public
  )");
  ASSERT_TRUE(c.ok()) << c.status();
  const Publication* chat = (*c)->Find("chat");
  ASSERT_TRUE(chat->history().has_value());
  EXPECT_EQ(chat->history()->size, 1000);
  EXPECT_EQ(chat->history()->ttl, absl::Minutes(10));
  EXPECT_FALSE((*c)->Find("plain")->history().has_value());
  EXPECT_TRUE((*c)->has_history());
}

TEST(HistoryConfigTest, RefusesBadValuesWithThePath) {
  const std::pair<std::string, std::string> kBad[] = {
      {"history: 5", "publications.p.history (line"},
      {"history: { size: 10 }", "ttl is required"},
      {"history: { ttl: 1m }", "size is required"},
      {"history: { size: 0, ttl: 1m }", "from 1 to 100000"},
      {"history: { size: 100001, ttl: 1m }", "from 1 to 100000"},
      {"history: { size: ten, ttl: 1m }", "from 1 to 100000"},
      {"history: { size: 10, ttl: 500ms }", "from 1s to 168h"},
      {"history: { size: 10, ttl: 169h }", "from 1s to 168h"},
      {"history: { size: 10, ttl: soon }", "from 1s to 168h"},
      {"history: { size: 10, ttl: 1m, keep: yes }", "keep"},
  };
  for (const auto& [extra, want] : kBad) {
    auto c = Load(std::string("p:\n  channels: [c]\n  auth: public\n  ") +
                  extra + "\n");
    ASSERT_FALSE(c.ok()) << extra;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << extra << " -> " << c.status().message();
  }
}

TEST(HistoryConfigTest, ChannelsMapBackToTheirPublications) {
  auto c = Load(R"(
    chat:
      params: { room: { type: string, pattern: "^[a-z]{1,8}$" } }
      channels: ["rooms::{room}::msgs", "rooms::all"]
      auth: public
      history: { size: 100, ttl: 1m }
    numbered:
      params: { n: { type: integer } }
      channels: ["n::{n}"]
      auth: public
      history: { size: 500, ttl: 30s }
    personal:
      channels: ["users::{userId}::inbox"]
      auth: user
      history: { size: 10, ttl: 2h }
    wide:
      params: { room: { type: string } }
      channels: ["rooms::{room}::msgs"]
      auth: public
      history: { size: 5, ttl: 5h }
    live:
      channels: ["live"]
      auth: public
  )");
  ASSERT_TRUE(c.ok()) << c.status();
  const Catalog& cat = **c;
  auto h = cat.HistoryFor("rooms::abc::msgs");
  ASSERT_TRUE(h.has_value());
  // Covered by chat and wide: the largest size, the longest ttl.
  EXPECT_EQ(h->size, 100);
  EXPECT_EQ(h->ttl, absl::Hours(5));
  // Only wide (the default string pattern allows digits; chat's does not).
  EXPECT_EQ(cat.HistoryFor("rooms::a1::msgs")->size, 5);
  EXPECT_EQ(cat.HistoryFor("rooms::all")->size, 100);
  EXPECT_EQ(cat.HistoryFor("n::42")->size, 500);
  EXPECT_EQ(cat.HistoryFor("n::-7")->size, 500);
  EXPECT_FALSE(cat.HistoryFor("n::4.5").has_value());
  EXPECT_FALSE(cat.HistoryFor("n::x").has_value());
  EXPECT_FALSE(cat.HistoryFor("n::").has_value());
  EXPECT_EQ(cat.HistoryFor("users::u-1::inbox")->size, 10);
  EXPECT_FALSE(cat.HistoryFor("users::::inbox").has_value());
  EXPECT_FALSE(cat.HistoryFor("live").has_value());
  EXPECT_FALSE(cat.HistoryFor("rooms::abc::msgs::x").has_value());
  EXPECT_FALSE(cat.HistoryFor("").has_value());
}

TEST(HistoryConfigTest, TemplatesWithAdjacentPlaceholdersAndBraces) {
  auto c = Load(R"(
    glued:
      params:
        a: { type: string, pattern: "^[a-c]+$" }
        b: { type: integer }
      channels: ["{a}{b}", "{{{a}}}::x"]
      auth: public
      history: { size: 1, ttl: 1s }
  )");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->HistoryFor("abc12").has_value());
  EXPECT_FALSE((*c)->HistoryFor("abcd12").has_value());
  EXPECT_FALSE((*c)->HistoryFor("abc").has_value());
  EXPECT_TRUE((*c)->HistoryFor("{ab}::x").has_value());
  EXPECT_FALSE((*c)->HistoryFor("ab::x").has_value());
}

}  // namespace
}  // namespace vent::pub
