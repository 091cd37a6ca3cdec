#include "bridge/channel_registry.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/pub/catalog.h"
#include "yaml-cpp/yaml.h"

namespace vent::bridge {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct FakeRedis : RedisSubscriptions {
  void Subscribe(const std::string& c, uint64_t g) override {
    log.push_back("+" + c + "@" + std::to_string(g));
    gen[c] = g;
  }
  void Unsubscribe(const std::string& c) override { log.push_back("-" + c); }
  std::vector<std::string> log;
  std::map<std::string, uint64_t> gen;
};

// Owner and sink in one: records what the registry tells it.
struct Recorder : SubscriptionOwner, VentSink {
  void OnSubscriptionAcked(Subscription& s) override {
    acked.push_back(s.id);
    s.ready = true;  // as DdpHost::MarkReady does
  }
  void OnSubscriptionGap(Subscription& s) override { gaps.push_back(s.id); }
  void QueueVent(const Subscription& s, Transformed& t) override {
    frames.push_back(s.id + ":" + *t.e);
  }
  std::vector<std::string> acked, gaps, frames;
};

class ChannelRegistryTest : public ::testing::Test {
 protected:
  ChannelRegistryTest() {
    catalog_ = *pub::Catalog::FromYaml(YAML::Load(R"(
      p: {channels: ["x"], auth: public}
      q: {channels: ["x"], auth: public, fields: [a]}
    )"));
  }
  std::unique_ptr<Subscription> Sub(std::string id,
                                    std::vector<std::string> channels,
                                    const char* pub = "p") {
    auto s = std::make_unique<Subscription>();
    s->id = std::move(id);
    s->owner = &rec_;
    s->sink = &rec_;
    s->pub = catalog_->Find(pub);
    s->channels = std::move(channels);
    return s;
  }
  std::shared_ptr<const pub::Catalog> catalog_;
  FakeRedis redis_;
  Recorder rec_;
  ChannelRegistry reg_{&redis_};
};

TEST_F(ChannelRegistryTest, SubscribesOnFirstAndUnsubscribesOnLast) {
  auto a = Sub("a", {"x", "y"});
  auto b = Sub("b", {"x"});
  EXPECT_FALSE(reg_.Add(a.get()));
  EXPECT_FALSE(reg_.Add(b.get()));
  EXPECT_THAT(redis_.log, ElementsAre("+x@1", "+y@2"));
  EXPECT_EQ(reg_.channel_count(), 2u);
  EXPECT_EQ(reg_.subscriptions_on("x"), 2u);
  reg_.Remove(a.get());
  EXPECT_THAT(redis_.log, ElementsAre("+x@1", "+y@2", "-y"));
  reg_.Remove(b.get());
  EXPECT_THAT(redis_.log, ElementsAre("+x@1", "+y@2", "-y", "-x"));
  EXPECT_EQ(reg_.channel_count(), 0u);
  EXPECT_FALSE(a->registered);
}

TEST_F(ChannelRegistryTest, ReadyOnlyWhenEveryChannelIsConfirmedAndRedisUp) {
  auto a = Sub("a", {"x", "y"});
  reg_.Add(a.get());
  reg_.OnAck("x", 1, absl::OkStatus());
  reg_.OnAck("y", 2, absl::OkStatus());
  EXPECT_THAT(rec_.acked, IsEmpty());  // Redis not reported up yet
  reg_.SetRedisUp(true);
  EXPECT_THAT(rec_.acked, ElementsAre("a"));
  // A later sub on confirmed channels is complete at once.
  auto b = Sub("b", {"y"});
  EXPECT_TRUE(reg_.Add(b.get()));
  reg_.Remove(a.get());
  reg_.Remove(b.get());
}

TEST_F(ChannelRegistryTest, StaleAndCancelledAcksAreIgnored) {
  reg_.SetRedisUp(true);
  auto a = Sub("a", {"x"});
  reg_.Add(a.get());
  reg_.Remove(a.get());
  auto b = Sub("b", {"x"});
  reg_.Add(b.get());                     // x again: generation 2
  reg_.OnAck("x", 1, absl::OkStatus());  // the first life's ack: stale
  EXPECT_THAT(rec_.acked, IsEmpty());
  reg_.OnAck("x", 2, absl::CancelledError("stopping"));
  EXPECT_THAT(rec_.acked, IsEmpty());
  reg_.OnAck("x", 2, absl::OkStatus());
  EXPECT_THAT(rec_.acked, ElementsAre("b"));
  reg_.OnAck("x", 2, absl::OkStatus());  // duplicate: ignored
  EXPECT_THAT(rec_.acked, ElementsAre("b"));
  reg_.Remove(b.get());
}

TEST_F(ChannelRegistryTest, RedisComingBackTellsReadySubsAboutTheGap) {
  reg_.SetRedisUp(true);
  auto a = Sub("a", {"x"});
  reg_.Add(a.get());
  reg_.OnAck("x", 1, absl::OkStatus());
  EXPECT_THAT(rec_.acked, ElementsAre("a"));
  reg_.SetRedisUp(false);
  auto b = Sub("b", {"x"});  // confirmed channel, but Redis is down: waits
  EXPECT_FALSE(reg_.Add(b.get()));
  reg_.SetRedisUp(true);
  EXPECT_THAT(rec_.gaps, ElementsAre("a"));
  EXPECT_THAT(rec_.acked, ElementsAre("a", "b"));
  reg_.Remove(a.get());
  reg_.Remove(b.get());
}

TEST_F(ChannelRegistryTest,
       DeliverTransformsOncePerPublicationAndSkipsPending) {
  reg_.SetRedisUp(true);
  auto a = Sub("a", {"x"});
  auto b = Sub("b", {"x"}, "q");
  auto c = Sub("c", {"x"}, "q");
  reg_.Add(a.get());
  reg_.OnAck("x", 1, absl::OkStatus());
  reg_.Add(b.get());  // complete at once; the caller marks it ready
  b->ready = true;
  reg_.Add(c.get());  // complete too, but left pending by its owner
  std::vector<Transformed> cache;
  EXPECT_EQ(reg_.Deliver("x", R"({"a":1,"b":2})", cache), 2u);
  EXPECT_THAT(rec_.frames, ::testing::UnorderedElementsAre(R"(a:{"a":1,"b":2})",
                                                           R"(b:{"a":1})"));
  EXPECT_EQ(cache.size(), 2u);  // one payload per publication
  EXPECT_EQ(reg_.Deliver("nobody", "{}", cache), 0u);
  // Falsy payloads are not sent (the seed's rule).
  EXPECT_EQ(reg_.Deliver("x", "0", cache), 0u);
  reg_.Remove(a.get());
  reg_.Remove(b.get());
  reg_.Remove(c.get());
}

}  // namespace
}  // namespace vent::bridge
