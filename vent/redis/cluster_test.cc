#include "vent/redis/cluster.h"

#include <hiredis.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/redis/connection.h"
#include "vent/redis/resp.h"

namespace vent::redis {
namespace {

// Parses one RESP reply.
ReplyPtr Parse(absl::string_view wire) {
  RespReader r;
  r.Feed(wire.data(), wire.size());
  auto out = r.Next();
  EXPECT_TRUE(out.ok() && *out != nullptr);
  return out.ok() ? *std::move(out) : nullptr;
}

TEST(KeySlot, KnownValues) {
  // Values from `redis-cli CLUSTER KEYSLOT`.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 & 16383);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(KeySlot, HashTags) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("{user1000}.followers"), KeySlot("{user1000}.following"));
  // Empty tag: the whole key.
  EXPECT_EQ(KeySlot("foo{}{bar}"), KeySlot("foo{}{bar}"));
  EXPECT_NE(KeySlot("foo{}{bar}"), KeySlot("bar"));
  // First tag only.
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  // Unterminated: the whole key.
  EXPECT_EQ(KeySlot("a{b"), KeySlot("a{b"));
  EXPECT_NE(KeySlot("a{b"), KeySlot("b"));
}

TEST(Redirect, Parses) {
  auto m = ParseRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->ask);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->to.host, "127.0.0.1");
  EXPECT_EQ(m->to.port, 6381);
  auto a = ParseRedirect("ASK 1 ::1:7000");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->ask);
  EXPECT_EQ(a->to.host, "::1");
  EXPECT_EQ(a->to.port, 7000);
  for (const char* bad : {"MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1",
                          "MOVED 1 h", "MOVED 1 h:0", "ERR MOVED 1 h:1",
                          "CLUSTERDOWN The cluster is down", ""}) {
    EXPECT_FALSE(ParseRedirect(bad).has_value()) << bad;
  }
}

TEST(Redirect, CarriedByStatus) {
  absl::Status st =
      internal::ErrorReplyToStatus("SPUBLISH", "MOVED 42 10.0.0.2:7001");
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  auto r = RedirectOf(st);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->slot, 42);
  EXPECT_EQ(r->to.ToString(), "10.0.0.2:7001");
  EXPECT_FALSE(RedirectOf(absl::UnavailableError("x")).has_value());
  EXPECT_TRUE(absl::IsUnavailable(internal::ErrorReplyToStatus(
      "SPUBLISH", "CLUSTERDOWN Hash slot not served")));
  EXPECT_TRUE(absl::IsPermissionDenied(internal::ErrorReplyToStatus(
      "AUTH", "WRONGPASS invalid username-password pair")));
}

// CLUSTER SLOTS of a 3-master cluster (one replica each, Redis 7 adds a
// 4th element per node).
constexpr absl::string_view kSlots =
    "*3\r\n"
    "*4\r\n:0\r\n:5460\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$3\r\nid1\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7004\r\n$3\r\nid4\r\n*0\r\n"
    "*4\r\n:5461\r\n:10922\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7002\r\n$3\r\nid2\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7005\r\n$3\r\nid5\r\n*0\r\n"
    "*3\r\n:10923\r\n:16383\r\n"
    "*4\r\n$0\r\n\r\n:7003\r\n$3\r\nid3\r\n*0\r\n";

TEST(SlotMap, FromClusterSlots) {
  ReplyPtr r = Parse(kSlots);
  auto map = SlotMap::FromClusterSlots(*r, "10.1.1.1");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->uncovered(), 0);
  ASSERT_NE(map->MasterOf(0), nullptr);
  EXPECT_EQ(map->MasterOf(0)->ToString(), "127.0.0.1:7001");
  EXPECT_EQ(map->MasterOf(5461)->ToString(), "127.0.0.1:7002");
  // An empty host means "the node you asked".
  EXPECT_EQ(map->MasterOf(16383)->ToString(), "10.1.1.1:7003");
  EXPECT_EQ(map->masters().size(), 3u);
  EXPECT_EQ(map->nodes().size(), 5u);
  EXPECT_EQ(map->MasterOf(-1), nullptr);
  EXPECT_EQ(map->MasterOf(16384), nullptr);
}

TEST(SlotMap, PartialCoverageAndAssign) {
  ReplyPtr r = Parse("*1\r\n*3\r\n:0\r\n:99\r\n*2\r\n$1\r\nh\r\n:1\r\n");
  auto map = SlotMap::FromClusterSlots(*r, "q");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->uncovered(), 16384 - 100);
  EXPECT_EQ(map->MasterOf(100), nullptr);
  SlotMap copy = *map;
  EXPECT_TRUE(copy.SameOwners(*map));
  copy.Assign(100, HostPort{"h2", 2});
  EXPECT_EQ(copy.uncovered(), 16384 - 101);
  EXPECT_EQ(copy.MasterOf(100)->ToString(), "h2:2");
  EXPECT_FALSE(copy.SameOwners(*map));
  copy.Assign(0, HostPort{"h2", 2});
  copy.Assign(0, HostPort{"h2", 2});
  EXPECT_EQ(copy.uncovered(), 16384 - 101);
  EXPECT_EQ(copy.masters().size(), 2u);  // h:1 still owns 1..99
}

TEST(SlotMap, RejectsGarbage) {
  for (const char* wire :
       {"+OK\r\n", "*1\r\n:5\r\n",
        "*1\r\n*3\r\n:5\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n",
        "*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n"}) {
    ReplyPtr r = Parse(wire);
    ASSERT_NE(r, nullptr) << wire;
    EXPECT_FALSE(SlotMap::FromClusterSlots(*r, "q").ok()) << wire;
  }
}

}  // namespace
}  // namespace vent::redis
