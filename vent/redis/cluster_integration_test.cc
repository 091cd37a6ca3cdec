// redis-cluster:// against a real 3 masters + 3 replicas cluster
// (vent::testing::RedisCluster): sharded pub/sub routed per slot with one
// subscriber connection per master, failover of a master (publishes to its
// slots UNAVAILABLE meanwhile, others unaffected, the subscription resumes),
// slot migration with `redis-cli --cluster reshard` (the Subscriber follows
// the SUNSUBSCRIBE, the Publisher the MOVED), classic mode on a cluster, and
// the faults: unreachable seeds, a non-cluster seed, partial slot coverage.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/redis/cluster.h"
#include "vent/redis/test_harness.h"
#include "vent/redis/url.h"
#include "vent/testing/redis_topology.h"

namespace vent::redis {
namespace {

using testing::Clock;
using testing::Harness;
using ::testing::HasSubstr;
using vent::testing::RedisCli;

Options ClusterOptions(const std::string& url, PubSubMode mode,
                       const std::string& name) {
  Options o;
  o.endpoint = *ParseUrl(url);
  o.pubsub = mode;
  o.backoff_initial = absl::Milliseconds(50);
  o.backoff_max = absl::Milliseconds(500);
  o.connect_timeout = absl::Milliseconds(500);
  o.client_name = name;
  return o;
}

template <typename F>
std::string WaitForError(F f, const std::string& what) {
  auto deadline = Clock::now() + std::chrono::seconds(15);
  std::string last;
  while (Clock::now() < deadline) {
    absl::Status st = f();
    last = st.ToString();
    if (!st.ok() && absl::StrContains(last, what)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "timed out; last: " + last;
}

// The first "prefix<n>" whose slot satisfies `pred`.
template <typename P>
std::string NameWithSlot(const std::string& prefix, P pred) {
  for (int n = 0;; ++n) {
    std::string name = absl::StrCat(prefix, n);
    if (pred(KeySlot(name))) return name;
  }
}

// The CLIENT LIST id of the client named `name` on `port` ("" if none).
std::string ClientId(uint16_t port, const std::string& name) {
  auto list = RedisCli({"CLIENT", "LIST"}, port);
  if (!list.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*list, '\n')) {
    if (!absl::StrContains(line, absl::StrCat(" name=", name, " "))) continue;
    return std::string(line.substr(0, line.find(' ')));
  }
  return "";
}

// Number of pub/sub clients named `name` on the node at `port`.
int PubSubClients(uint16_t port, const std::string& name) {
  auto list = RedisCli({"CLIENT", "LIST", "TYPE", "pubsub"}, port);
  if (!list.ok()) return -1;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(*list, '\n')) {
    n += absl::StrContains(line, absl::StrCat(" name=", name, " "));
  }
  return n;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = vent::testing::RedisCluster::Start();
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = *std::move(c);
  }
  // One channel per master (slots 0-5460, 5461-10922, 10923-16383 after
  // `redis-cli --cluster create` with 3 masters).
  std::vector<std::string> SpreadChannels(const std::string& prefix) {
    return {
        NameWithSlot(prefix + "a", [](int s) { return s < 5000; }),
        NameWithSlot(prefix + "b", [](int s) { return s > 6000 && s < 10000; }),
        NameWithSlot(prefix + "c", [](int s) { return s > 11000; })};
  }
  std::unique_ptr<vent::testing::RedisCluster> cluster_;
};

TEST_F(ClusterTest, ShardedOneConnectionPerMasterEveryMessageArrives) {
  Harness h;
  h.StartSubscriber(
      ClusterOptions(cluster_->url(), PubSubMode::kSharded, "vent-cl-sub"));
  std::vector<std::string> channels;
  for (int i = 0; i < 3; ++i) {
    for (const std::string& c : SpreadChannels(absl::StrCat("ch", i, "-"))) {
      channels.push_back(c);
    }
  }
  for (const std::string& c : channels) {
    ASSERT_TRUE(h.SubscribeAndWait(c).ok()) << c;
  }
  ASSERT_TRUE(h.sink.WaitState(true));
  h.StartPublisher(
      ClusterOptions(cluster_->url(), PubSubMode::kSharded, "vent-cl-pub"));
  for (const std::string& c : channels) {
    auto r = h.PublishWhenUp(c, "hello " + c);
    ASSERT_TRUE(r.ok()) << c << ": " << r.status();
    EXPECT_EQ(*r, 1) << c;
    auto m = h.sink.Next();
    ASSERT_TRUE(m.has_value()) << c;
    EXPECT_EQ(m->first, c);
    EXPECT_EQ(m->second, "hello " + c);
  }
  // 9 channels over 3 masters: exactly one pub/sub connection on each.
  for (const std::string& c : SpreadChannels("x")) {
    auto port = cluster_->MasterOfSlot(KeySlot(c));
    ASSERT_TRUE(port.ok());
    EXPECT_EQ(PubSubClients(*port, "vent-cl-sub"), 1) << *port;
  }
  // A batch spread over the masters keeps its order per result.
  std::vector<Publisher::Message> batch;
  for (int i = 0; i < 30; ++i) {
    batch.push_back({channels[i % channels.size()], absl::StrCat("b", i)});
  }
  std::promise<std::vector<absl::StatusOr<int64_t>>> done;
  h.publisher->PublishBatch(std::move(batch),
                            [&](std::vector<absl::StatusOr<int64_t>> r) {
                              done.set_value(std::move(r));
                            });
  auto results = done.get_future().get();
  ASSERT_EQ(results.size(), 30u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 1);
  }
  int got = 0;
  while (got < 30 && h.sink.Next().has_value()) ++got;
  EXPECT_EQ(got, 30);
  // redis-cli SPUBLISH (following MOVED with -c) reaches the Subscriber too.
  auto cli = cluster_->Cli({"-c", "SPUBLISH", channels[4], "from cli"});
  ASSERT_TRUE(cli.ok()) << cli.status();
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "from cli");
}

TEST_F(ClusterTest, MasterFailover) {
  Harness h;
  h.StartSubscriber(
      ClusterOptions(cluster_->url(), PubSubMode::kSharded, "vent-fo-sub"));
  std::vector<std::string> ch = SpreadChannels("fo");
  for (const std::string& c : ch) ASSERT_TRUE(h.SubscribeAndWait(c).ok());
  ASSERT_TRUE(h.sink.WaitState(true));
  h.StartPublisher(
      ClusterOptions(cluster_->url(), PubSubMode::kSharded, "vent-fo-pub"));
  ASSERT_TRUE(h.PublishWhenUp(ch[0], "before").ok());
  ASSERT_TRUE(h.sink.Next().has_value());

  const int slot = KeySlot(ch[0]);
  auto old_master = cluster_->MasterOfSlot(slot);
  ASSERT_TRUE(old_master.ok());
  cluster_->NodeByPort(*old_master)->Kill();
  ASSERT_TRUE(h.sink.WaitState(false));
  // While the slot has no reachable master: UNAVAILABLE (nothing published).
  auto r = h.Publish(ch[0], "during");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  // The other masters are unaffected.
  auto other = h.PublishWhenUp(ch[1], "other shard");
  ASSERT_TRUE(other.ok()) << other.status();
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "other shard");

  auto new_master = cluster_->WaitForNewMaster(slot, *old_master);
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  ASSERT_TRUE(h.sink.WaitState(true, std::chrono::seconds(20)));
  r = h.PublishWhenUp(ch[0], "after");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, ch[0]);
  EXPECT_EQ(m->second, "after");
  EXPECT_EQ(PubSubClients(*new_master, "vent-fo-sub"), 1);
}

TEST_F(ClusterTest, SlotMigrationIsFollowed) {
  // The lowest slot of the first master is what `--cluster reshard` of one
  // slot moves.
  auto from = cluster_->MasterOfSlot(0);
  ASSERT_TRUE(from.ok());
  auto to = cluster_->MasterOfSlot(16383);
  ASSERT_TRUE(to.ok());
  const std::string moving = NameWithSlot("mig", [](int s) { return s == 0; });
  const std::string staying =
      NameWithSlot("stay", [](int s) { return s > 100 && s < 5000; });

  Harness h;
  h.StartSubscriber(
      ClusterOptions(cluster_->url(), PubSubMode::kSharded, "vent-mig-sub"));
  ASSERT_TRUE(h.SubscribeAndWait(moving).ok());
  ASSERT_TRUE(h.SubscribeAndWait(staying).ok());
  h.StartPublisher(
      ClusterOptions(cluster_->url(), PubSubMode::kSharded, "vent-mig-pub"));
  ASSERT_TRUE(h.PublishWhenUp(moving, "before").ok());
  ASSERT_TRUE(h.sink.Next().has_value());
  const std::string conn_before = ClientId(*from, "vent-mig-sub");
  ASSERT_NE(conn_before, "");

  ASSERT_TRUE(cluster_->Reshard(*from, *to, 1).ok());
  auto owner = cluster_->MasterOfSlot(0);
  ASSERT_TRUE(owner.ok());
  ASSERT_EQ(*owner, *to);
  // The Subscriber saw Redis' SUNSUBSCRIBE and subscribed on the new owner;
  // the Publisher follows MOVED.
  auto deadline = Clock::now() + std::chrono::seconds(20);
  std::string numsub;
  while (Clock::now() < deadline) {
    auto out = RedisCli({"PUBSUB", "SHARDNUMSUB", moving}, *to);
    numsub = out.ok() ? *out : "";
    if (numsub == moving + "\n1\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(numsub, moving + "\n1\n");
  auto r = h.PublishWhenUp(moving, "after");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, moving);
  EXPECT_EQ(m->second, "after");
  r = h.PublishWhenUp(staying, "still");
  ASSERT_TRUE(r.ok()) << r.status();
  m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "still");
  // Followed on the same connection to the old owner (no reconnect, no
  // periodic refresh needed), which no longer carries the moved channel.
  EXPECT_EQ(ClientId(*from, "vent-mig-sub"), conn_before);
  auto left = RedisCli({"PUBSUB", "SHARDNUMSUB", moving}, *from);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, moving + "\n0\n");
}

TEST_F(ClusterTest, ClassicModeAnyNodeAndNodeLoss) {
  Harness h;
  h.StartSubscriber(ClusterOptions(cluster_->url(), PubSubMode::kClassic,
                                   "vent-classic-sub"));
  ASSERT_TRUE(h.SubscribeAndWait("news").ok());
  h.StartPublisher(ClusterOptions(cluster_->url(), PubSubMode::kClassic,
                                  "vent-classic-pub"));
  ASSERT_TRUE(h.PublishWhenUp("news", "one").ok());
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "one");
  // redis-oplog style: a raw PUBLISH on any node reaches the subscriber.
  for (const auto& node : cluster_->nodes()) {
    ASSERT_TRUE(node->Cli({"PUBLISH", "news", "raw"}).ok());
    m = h.sink.Next();
    ASSERT_TRUE(m.has_value()) << node->port();
  }
  // Kill the node the subscriber is on: it moves to another node.
  uint16_t sub_node = 0;
  for (const auto& node : cluster_->nodes()) {
    if (PubSubClients(node->port(), "vent-classic-sub") == 1) {
      sub_node = node->port();
    }
  }
  ASSERT_NE(sub_node, 0);
  cluster_->NodeByPort(sub_node)->Kill();
  ASSERT_TRUE(h.sink.WaitState(false));
  ASSERT_TRUE(h.sink.WaitState(true, std::chrono::seconds(20)));
  h.sink.Clear();
  for (const auto& node : cluster_->nodes()) {
    if (!node->running()) continue;
    ASSERT_TRUE(node->Cli({"PUBLISH", "news", "again"}).ok());
    m = h.sink.Next();
    ASSERT_TRUE(m.has_value()) << node->port();
    EXPECT_EQ(m->second, "again");
    break;
  }
}

TEST(ClusterFaults, UnreachableSeedsAreNamed) {
  uint16_t a = vent::testing::FreePort(), b = vent::testing::FreePort();
  Harness h;
  Options o = ClusterOptions(
      absl::StrCat("redis-cluster://127.0.0.1:", a, ",127.0.0.1:", b),
      PubSubMode::kSharded, "p");
  Publisher& pub = h.StartPublisher(o);
  h.StartSubscriber(o);
  std::string err = WaitForError([&] { return pub.last_error(); },
                                 "no cluster node answered");
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", a)));
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", b)));
  EXPECT_FALSE(pub.connected());
  EXPECT_FALSE(h.subscriber->connected());
  auto r = h.Publish("x", "y");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  // A subscribe waits (the bridge applies its own deadline).
  auto ack = h.SubscribeAndWait("x", std::chrono::milliseconds(300));
  EXPECT_TRUE(absl::IsDeadlineExceeded(ack)) << ack;
}

TEST(ClusterFaults, NonClusterSeedIsAClearError) {
  auto s = vent::testing::RedisServer::Start();
  ASSERT_TRUE(s.ok()) << s.status();
  Harness h;
  Publisher& pub = h.StartPublisher(
      ClusterOptions(absl::StrCat("redis-cluster://127.0.0.1:", (*s)->port()),
                     PubSubMode::kSharded, "p"));
  std::string err = WaitForError([&] { return pub.last_error(); },
                                 "cluster support disabled");
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", (*s)->port())));
}

TEST(ClusterFaults, PartialSlotCoverageIsNotReady) {
  vent::testing::RedisServer::Config c;
  c.cluster_port = true;
  c.args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"};
  auto s = vent::testing::RedisServer::Start(c);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->Cli({"CLUSTER", "ADDSLOTSRANGE", "0", "8191"}).ok());
  Harness h;
  Options o =
      ClusterOptions(absl::StrCat("redis-cluster://127.0.0.1:", (*s)->port()),
                     PubSubMode::kSharded, "p");
  Publisher& pub = h.StartPublisher(o);
  h.StartSubscriber(o);
  std::string err = WaitForError([&] { return pub.last_error(); },
                                 "8192 of 16384 slots without a master");
  EXPECT_THAT(err, HasSubstr("8192 of 16384 slots without a master"));
  EXPECT_FALSE(pub.connected());
  EXPECT_FALSE(h.subscriber->connected());
  const std::string uncovered =
      NameWithSlot("u", [](int s) { return s >= 8192; });
  auto r = h.Publish(uncovered, "y");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("has no master"));
}

}  // namespace
}  // namespace vent::redis
