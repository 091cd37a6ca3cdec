// History on a real redis-server: the publish script (offsets, trimming,
// TTL, epochs, envelope on pub/sub, classic and sharded), the read script,
// Publisher::Call, and the pure helpers (keys, envelope parsing).
#include "vent/redis/history.h"

#include <future>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "vent/redis/publisher.h"
#include "vent/redis/test_harness.h"
#include "vent/redis/url.h"
#include "vent/testing/redis_server.h"

namespace vent::redis {
namespace {

using ::vent::redis::testing::Harness;

TEST(HistoryKeysTest, HashTagKeepsKeysInTheChannelsSlot) {
  auto plain = HistoryKeysFor("threads::t1");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->meta, "vent:{threads::t1}:m:threads::t1");
  EXPECT_EQ(plain->stream, "vent:{threads::t1}:h:threads::t1");
  auto tagged = HistoryKeysFor("{acme}::events");
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->stream, "vent:{acme}:h:{acme}::events");
  for (const char* bad : {"a}b", "x{}y", "{open"}) {
    EXPECT_FALSE(HistoryKeysFor(bad).ok()) << bad;
  }
}

TEST(HistoryEnvelopeTest, RoundTripAndRawMessages) {
  std::string env = MakeEnvelope("EP0123456789", 42, R"({"a":"x\"y"})");
  EXPECT_EQ(env, R"({"__vent_h":"EP0123456789:42","e":{"a":"x\"y"}})");
  auto parsed = ParseEnvelope(env);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->epoch, "EP0123456789");
  EXPECT_EQ(parsed->offset, 42);
  EXPECT_EQ(parsed->event, R"({"a":"x\"y"})");
  for (const std::string& raw : std::vector<std::string>{
           R"({"a":1})", "0", R"({"__vent_h":"x","e":1})",
           R"({"__vent_h":"ep:0","e":1})", R"({"__vent_h":"ep:-3","e":1})",
           R"({"__vent_h":"ep:9","f":1})", R"({"__vent_h":":9","e":1})",
           R"({"__vent_h":"x\\:9","e":1})", R"({"__vent_h":"a b:9","e":1})",
           "{\"__vent_h\":\"" + std::string(41, 'a') + ":9\",\"e\":1}", ""}) {
    EXPECT_FALSE(ParseEnvelope(raw).has_value()) << raw;
  }
}

class HistoryRedisTest : public ::testing::TestWithParam<PubSubMode> {
 protected:
  void SetUp() override {
    auto s = ::vent::testing::RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    redis_ = std::move(*s);
    Options o;
    o.endpoint = *ParseUrl(redis_->url());
    o.pubsub = GetParam();
    o.connect_timeout = absl::Seconds(2);
    h_.StartPublisher(o);
    h_.StartSubscriber(o);
  }

  absl::StatusOr<int64_t> Publish(const std::string& ch, const std::string& m,
                                  HistorySpec spec) {
    auto p = std::make_shared<std::promise<absl::StatusOr<int64_t>>>();
    auto f = p->get_future();
    h_.publisher->Publish(
        ch, m, [p](absl::StatusOr<int64_t> r) { p->set_value(r); }, spec);
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no publish callback");
    }
    return f.get();
  }

  absl::StatusOr<HistoryState> Read(
      const std::string& ch, int64_t after, int64_t max = 100,
      absl::Duration create_ttl = absl::ZeroDuration()) {
    auto keys = HistoryKeysFor(ch);
    if (!keys.ok()) return keys.status();
    auto p = std::make_shared<std::promise<absl::StatusOr<ReplyPtr>>>();
    auto f = p->get_future();
    h_.publisher->Call(
        HistoryReadCommand(*keys, after, max, create_ttl, NewEpoch()), ch,
        [p](absl::StatusOr<ReplyPtr> r) { p->set_value(std::move(r)); });
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no call callback");
    }
    absl::StatusOr<ReplyPtr> r = f.get();
    if (!r.ok()) return r.status();
    return ParseHistoryReadReply(**r);
  }

  std::unique_ptr<::vent::testing::RedisServer> redis_;
  Harness h_;
};

TEST_P(HistoryRedisTest, OffsetsEnvelopesTrimmingAndReads) {
  const HistorySpec spec{3, absl::Minutes(1)};
  ASSERT_TRUE(h_.SubscribeAndWait("room").ok());
  // Wait until the publisher is connected.
  ASSERT_TRUE(h_.PublishWhenUp("warmup", "1").ok());
  auto empty = Read("room", 0);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_FALSE(empty->exists);
  for (int i = 1; i <= 5; ++i) {
    auto r = Publish("room", absl::StrCat(R"({"i":)", i, "}"), spec);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 1);  // the subscriber
  }
  std::string epoch;
  for (int i = 1; i <= 5; ++i) {
    auto m = h_.sink.Next();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->first, "room");
    auto env = ParseEnvelope(m->second);
    ASSERT_TRUE(env.has_value()) << m->second;
    EXPECT_EQ(env->offset, i);
    EXPECT_EQ(env->event, absl::StrCat(R"({"i":)", i, "}"));
    if (i == 1) epoch = std::string(env->epoch);
    EXPECT_EQ(env->epoch, epoch);
  }
  auto st = Read("room", 3);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->epoch, epoch);
  EXPECT_EQ(st->last, 5);
  EXPECT_EQ(st->first, 3);  // trimmed to 3 entries
  ASSERT_EQ(st->entries.size(), 2u);
  EXPECT_EQ(st->entries[0].offset, 4);
  EXPECT_EQ(st->entries[1].event, R"({"i":5})");
  auto none = Read("room", 5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->entries.empty());
  auto capped = Read("room", 0, 1);
  ASSERT_TRUE(capped.ok());
  ASSERT_EQ(capped->entries.size(), 1u);
  EXPECT_EQ(capped->entries[0].offset, 3);
}

TEST_P(HistoryRedisTest, LostKeysStartANewEpoch) {
  const HistorySpec spec{10, absl::Minutes(1)};
  ASSERT_TRUE(h_.PublishWhenUp("warmup", "1").ok());
  ASSERT_TRUE(Publish("c", "1", spec).ok());
  ASSERT_TRUE(Publish("c", "2", spec).ok());
  auto before = Read("c", 0);
  ASSERT_TRUE(before.ok());
  auto keys = *HistoryKeysFor("c");
  // Eviction or a restart without persistence loses the keys.
  ASSERT_TRUE(redis_->Cli({"DEL", keys.meta}).ok());
  ASSERT_TRUE(Publish("c", "3", spec).ok());
  auto after = Read("c", 0);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->epoch, before->epoch);
  EXPECT_EQ(after->last, 1);
  ASSERT_EQ(after->entries.size(), 1u);  // the old stream was discarded
  EXPECT_EQ(after->entries[0].event, "3");
  // Only the stream lost: same epoch, first offset past the client's.
  ASSERT_TRUE(Publish("c", "4", spec).ok());
  ASSERT_TRUE(redis_->Cli({"DEL", keys.stream}).ok());
  ASSERT_TRUE(Publish("c", "5", spec).ok());
  auto gap = Read("c", 1);
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->epoch, after->epoch);
  EXPECT_EQ(gap->first, 3);
  EXPECT_EQ(gap->last, 3);
}

// A reader of a channel without history gives it its epoch, so a position
// taken then names an epoch: one that comes and goes later is a change.
TEST_P(HistoryRedisTest, ReadCreatesTheEpochOfAnEmptyChannel) {
  const HistorySpec spec{10, absl::Minutes(1)};
  ASSERT_TRUE(h_.PublishWhenUp("warmup", "1").ok());
  auto plain = Read("r", 0);  // without create_ttl: nothing is created
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->exists);
  auto first = Read("r", 0, 100, absl::Minutes(1));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->exists);
  EXPECT_FALSE(first->epoch.empty());
  EXPECT_EQ(first->last, 0);
  EXPECT_TRUE(first->entries.empty());
  auto keys = *HistoryKeysFor("r");
  auto pttl = redis_->Cli({"PTTL", keys.meta});
  ASSERT_TRUE(pttl.ok());
  int64_t ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*pttl, &ms)) << *pttl;
  EXPECT_GT(ms, 0);
  EXPECT_LE(ms, 60000);
  // The next publish continues that epoch from offset 1.
  ASSERT_TRUE(Publish("r", "1", spec).ok());
  auto after = Read("r", 0, 100, absl::Minutes(1));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->epoch, first->epoch);
  EXPECT_EQ(after->last, 1);
  ASSERT_EQ(after->entries.size(), 1u);
  // Lost, then published again: a new epoch, which a position [0, first
  // epoch] does not match.
  ASSERT_TRUE(redis_->Cli({"DEL", keys.meta, keys.stream}).ok());
  ASSERT_TRUE(Publish("r", "2", spec).ok());
  auto again = Read("r", 0, 100, absl::Minutes(1));
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->epoch, first->epoch);
  EXPECT_EQ(again->last, 1);
}

TEST_P(HistoryRedisTest, KeysExpireAfterTheTtl) {
  const HistorySpec spec{10, absl::Milliseconds(1500)};
  ASSERT_TRUE(h_.PublishWhenUp("warmup", "1").ok());
  ASSERT_TRUE(Publish("t", "1", spec).ok());
  auto keys = *HistoryKeysFor("t");
  for (const std::string& k : {keys.meta, keys.stream}) {
    auto pttl = redis_->Cli({"PTTL", k});
    ASSERT_TRUE(pttl.ok());
    int64_t ms = 0;
    ASSERT_TRUE(absl::SimpleAtoi(*pttl, &ms)) << *pttl;
    EXPECT_GT(ms, 0);
    EXPECT_LE(ms, 1500);
  }
}

TEST_P(HistoryRedisTest, ChannelWithoutUsableKeysIsRefused) {
  ASSERT_TRUE(h_.PublishWhenUp("warmup", "1").ok());
  auto r = Publish("a}b", "1", HistorySpec{10, absl::Minutes(1)});
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  Publisher::Message ok{"fine", "1", HistorySpec{10, absl::Minutes(1)}};
  Publisher::Message bad{"x{}y", "2", HistorySpec{10, absl::Minutes(1)}};
  auto p =
      std::make_shared<std::promise<std::vector<absl::StatusOr<int64_t>>>>();
  auto f = p->get_future();
  h_.publisher->PublishBatch({ok, bad},
                             [p](std::vector<absl::StatusOr<int64_t>> r) {
                               p->set_value(std::move(r));
                             });
  auto results = f.get();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(absl::IsInvalidArgument(results[0].status()));
  auto st = Read("fine", 0);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->exists) << "nothing of a refused batch is published";
}

INSTANTIATE_TEST_SUITE_P(Modes, HistoryRedisTest,
                         ::testing::Values(PubSubMode::kClassic,
                                           PubSubMode::kSharded),
                         [](const auto& info) {
                           return info.param == PubSubMode::kClassic
                                      ? "classic"
                                      : "sharded";
                         });

}  // namespace
}  // namespace vent::redis
