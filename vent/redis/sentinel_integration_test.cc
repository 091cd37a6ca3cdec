// redis-sentinel:// against a real master, replica and three Sentinels
// (vent::testing::RedisSentinels): discovery, failover after the master is
// killed (both Publisher and Subscriber follow; the subscription resumes),
// a manual SENTINEL FAILOVER (+switch-master), and the faults: unknown
// master name, unreachable Sentinels, a named master that refuses
// connections.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/redis/test_harness.h"
#include "vent/redis/url.h"
#include "vent/testing/redis_topology.h"

namespace vent::redis {
namespace {

using testing::Clock;
using testing::Harness;
using ::testing::HasSubstr;

Options SentinelOptions(const std::string& url, const std::string& name) {
  Options o;
  o.endpoint = *ParseUrl(url);
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

// Whether the node on `port` has a client named `name`.
bool HasClient(uint16_t port, const std::string& name) {
  auto list = vent::testing::RedisCli({"CLIENT", "LIST"}, port);
  return list.ok() &&
         absl::StrContains(*list, absl::StrCat(" name=", name, " "));
}

class SentinelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = vent::testing::RedisSentinels::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    set_ = *std::move(s);
  }
  std::unique_ptr<vent::testing::RedisSentinels> set_;
};

TEST_F(SentinelTest, FollowsTheMasterThroughAFailover) {
  Harness h;
  h.StartSubscriber(SentinelOptions(set_->url(), "vent-sen-sub"));
  ASSERT_TRUE(h.SubscribeAndWait("orders").ok());
  ASSERT_TRUE(h.sink.WaitState(true));
  h.StartPublisher(SentinelOptions(set_->url(), "vent-sen-pub"));
  ASSERT_TRUE(h.PublishWhenUp("orders", "before").ok());
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "before");
  auto old_master = set_->MasterPort();
  ASSERT_TRUE(old_master.ok());
  EXPECT_TRUE(HasClient(*old_master, "vent-sen-sub"));

  set_->DataByPort(*old_master)->Kill();
  ASSERT_TRUE(h.sink.WaitState(false));
  auto new_master = set_->WaitForNewMaster(*old_master);
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  // Both follow: the subscription is back on the new master and a publish
  // goes through it to the same Subscriber.
  ASSERT_TRUE(h.sink.WaitState(true, std::chrono::seconds(20)));
  auto r = h.PublishWhenUp("orders", "after");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "after");
  EXPECT_TRUE(HasClient(*new_master, "vent-sen-sub"));
  EXPECT_TRUE(HasClient(*new_master, "vent-sen-pub"));
}

TEST_F(SentinelTest, ManualFailoverSwitchesBothConnections) {
  Harness h;
  h.StartSubscriber(SentinelOptions(set_->url(), "vent-sw-sub"));
  ASSERT_TRUE(h.SubscribeAndWait("sw").ok());
  h.StartPublisher(SentinelOptions(set_->url(), "vent-sw-pub"));
  ASSERT_TRUE(h.PublishWhenUp("sw", "x").ok());
  ASSERT_TRUE(h.sink.Next().has_value());
  auto old_master = set_->MasterPort();
  ASSERT_TRUE(old_master.ok());
  // Nothing dies: the old master is demoted and keeps accepting connections.
  ASSERT_TRUE(set_->sentinels()[0]
                  ->Cli({"SENTINEL", "FAILOVER", set_->master_name()})
                  .ok());
  auto new_master = set_->WaitForNewMaster(*old_master);
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline && !(HasClient(*new_master, "vent-sw-sub") &&
                                      HasClient(*new_master, "vent-sw-pub"))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(HasClient(*new_master, "vent-sw-sub"));
  EXPECT_TRUE(HasClient(*new_master, "vent-sw-pub"));
  ASSERT_TRUE(h.sink.WaitState(true, std::chrono::seconds(20)));
  h.sink.Clear();
  auto r = h.PublishWhenUp("sw", "on the new master");
  ASSERT_TRUE(r.ok()) << r.status();
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "on the new master");
}

TEST_F(SentinelTest, UnknownMasterNameIsAClearError) {
  Harness h;
  std::string url = set_->url();
  url = url.substr(0, url.rfind('/')) + "/nosuchmaster";
  Publisher& pub = h.StartPublisher(SentinelOptions(url, "p"));
  std::string err = WaitForError([&] { return pub.last_error(); },
                                 "knows no master named \"nosuchmaster\"");
  EXPECT_THAT(err, HasSubstr("knows no master named \"nosuchmaster\""));
  EXPECT_FALSE(pub.connected());
}

TEST_F(SentinelTest, NamedMasterRefusingConnectionsIsAClearError) {
  auto master = set_->MasterPort();
  ASSERT_TRUE(master.ok());
  // Both data nodes gone: the Sentinels keep naming the old master.
  set_->data()[1]->Kill();
  set_->DataByPort(*master)->Kill();
  Harness h;
  h.StartSubscriber(SentinelOptions(set_->url(), "s"));
  std::string err =
      WaitForError([&] { return h.subscriber->last_error(); },
                   absl::StrCat("cannot connect to 127.0.0.1:", *master));
  EXPECT_THAT(err, HasSubstr("Connection refused"));
  EXPECT_FALSE(h.subscriber->connected());
}

TEST(SentinelFaults, UnreachableSentinelsAreNamed) {
  uint16_t a = vent::testing::FreePort(), b = vent::testing::FreePort();
  Harness h;
  Publisher& pub = h.StartPublisher(SentinelOptions(
      absl::StrCat("redis-sentinel://127.0.0.1:", a, ",127.0.0.1:", b, "/m"),
      "p"));
  std::string err =
      WaitForError([&] { return pub.last_error(); }, "no Sentinel gave");
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", a)));
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", b)));
  auto r = h.Publish("x", "y");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

}  // namespace
}  // namespace vent::redis
