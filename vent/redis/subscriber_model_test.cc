// Randomized test of the Subscriber (refcounts, acks, reconciliation with
// Redis, resubscription after a killed connection) against a small reference
// model, on a real redis-server, in classic and sharded mode. Fixed seeds,
// so a failure replays. Each step runs a batch of random operations in ONE
// io-thread turn (so subscribe/unsubscribe/subscribe races happen inside a
// turn as well as across turns), sometimes after killing the subscriber's
// connection. Checked:
//   * every Subscribe ack runs exactly once; a CANCELLED one is explained by
//     the channel's refcount reaching 0 after that call;
//   * at quiescence, Redis has the subscriber on exactly the channels whose
//     model refcount is > 0 (PUBSUB NUMSUB / SHARDNUMSUB), channel_count()
//     agrees, and a message published to every channel of the pool reaches
//     the Subscriber for exactly those channels;
//   * the reported state ends up, and last_error() is OK.
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "vent/redis/test_harness.h"
#include "vent/redis/url.h"
#include "vent/testing/redis_server.h"

namespace vent::redis {
namespace {

using testing::Clock;
using testing::Harness;

struct Call {
  std::string channel;
  int64_t zero_epoch;  // the channel's zero-count at call time
  int acks = 0;        // io thread
  absl::Status status;
};

class SubscriberModel : public ::testing::TestWithParam<PubSubMode> {
 protected:
  void SetUp() override {
    auto s = vent::testing::RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  std::unique_ptr<vent::testing::RedisServer> server_;
};

TEST_P(SubscriberModel, RandomOperationsAgreeWithTheModel) {
  const bool sharded = GetParam() == PubSubMode::kSharded;
  constexpr int kChannels = 8;
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::mt19937 rng(seed);
    Harness h;
    Options o;
    o.endpoint = *ParseUrl(server_->url());
    o.pubsub = GetParam();
    o.backoff_initial = absl::Milliseconds(5);
    o.backoff_max = absl::Milliseconds(50);
    o.client_name = absl::StrCat("model", seed);
    h.StartSubscriber(o);
    std::vector<std::string> pool;
    for (int i = 0; i < kChannels; ++i) {
      pool.push_back(absl::StrCat("m", seed, "-", i));
    }
    std::map<std::string, int> refs;        // the model
    std::map<std::string, int64_t> zeroes;  // times refs went 1 -> 0
    std::deque<Call> calls;                 // stable addresses

    for (int step = 0; step < 40; ++step) {
      if (rng() % 8 == 0) {
        // Kill the subscriber's connection; it reconnects and resubscribes.
        (void)server_->Cli({"CLIENT", "KILL", "TYPE", "pubsub"});
      }
      const int ops = 1 + static_cast<int>(rng() % 12);
      ASSERT_TRUE(h.OnIo([&] {
        for (int k = 0; k < ops; ++k) {
          const std::string& ch = pool[rng() % pool.size()];
          if (rng() % 3 != 0 || refs[ch] == 0) {
            calls.push_back({ch, zeroes[ch]});
            Call* c = &calls.back();
            ++refs[ch];
            h.subscriber->Subscribe(ch, [c](absl::Status s) {
              ++c->acks;
              c->status = s;
            });
          } else {
            if (--refs[ch] == 0) ++zeroes[ch];
            h.subscriber->Unsubscribe(ch);
          }
        }
        // Unknown channels: no-op.
        h.subscriber->Unsubscribe("never-subscribed");
      }));
    }

    // Quiescence: every ack arrived exactly once.
    auto deadline = Clock::now() + std::chrono::seconds(15);
    bool all = false;
    while (!all && Clock::now() < deadline) {
      ASSERT_TRUE(h.OnIo([&] {
        all = true;
        for (const Call& c : calls) all = all && c.acks > 0;
      }));
      if (!all) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(all) << "some ack never ran";
    size_t count = 0;
    std::set<std::string> wanted;
    ASSERT_TRUE(h.OnIo([&] {
      for (const Call& c : calls) {
        EXPECT_EQ(c.acks, 1) << c.channel;
        if (absl::IsCancelled(c.status)) {
          EXPECT_GT(zeroes[c.channel], c.zero_epoch)
              << c.channel << ": cancelled but never unsubscribed after";
        } else {
          EXPECT_TRUE(c.status.ok()) << c.channel << ": " << c.status;
        }
      }
      count = h.subscriber->channel_count();
      for (const auto& [ch, n] : refs) {
        if (n > 0) wanted.insert(ch);
      }
    }));
    EXPECT_EQ(count, wanted.size());
    // Redis agrees (a fence subscription first: its ack proves every earlier
    // command was processed).
    ASSERT_TRUE(h.SubscribeAndWait(absl::StrCat("fence", seed)).ok());
    std::vector<std::string> args = {sharded ? "SHARDNUMSUB" : "NUMSUB"};
    args.insert(args.begin(), "PUBSUB");
    args.insert(args.end(), pool.begin(), pool.end());
    auto numsub = server_->Cli(args);
    ASSERT_TRUE(numsub.ok()) << numsub.status();
    std::vector<std::string> lines =
        absl::StrSplit(*numsub, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), pool.size() * 2);
    for (size_t i = 0; i < pool.size(); ++i) {
      EXPECT_EQ(lines[2 * i + 1], wanted.count(pool[i]) ? "1" : "0") << pool[i];
    }
    // Messages reach exactly the wanted channels (then the fence).
    h.sink.Clear();
    for (const std::string& ch : pool) {
      ASSERT_TRUE(
          server_->Cli({sharded ? "SPUBLISH" : "PUBLISH", ch, "x"}).ok());
    }
    ASSERT_TRUE(server_
                    ->Cli({sharded ? "SPUBLISH" : "PUBLISH",
                           absl::StrCat("fence", seed), "end"})
                    .ok());
    std::set<std::string> got;
    for (;;) {
      auto m = h.sink.Next();
      ASSERT_TRUE(m.has_value()) << "the fence message never came";
      if (m->first == absl::StrCat("fence", seed)) break;
      EXPECT_TRUE(got.insert(m->first).second) << "twice: " << m->first;
    }
    EXPECT_EQ(got, wanted);
    EXPECT_TRUE(h.subscriber->connected());
    EXPECT_TRUE(h.subscriber->last_error().ok()) << h.subscriber->last_error();
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, SubscriberModel,
                         ::testing::Values(PubSubMode::kClassic,
                                           PubSubMode::kSharded),
                         [](const auto& info) {
                           return info.param == PubSubMode::kClassic
                                      ? std::string("classic")
                                      : std::string("sharded");
                         });

}  // namespace
}  // namespace vent::redis
