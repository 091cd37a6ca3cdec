#include "server/subscribe_queue.h"

#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace vent::server {
namespace {

std::shared_ptr<const SharedEvent> Event(size_t size) {
  auto e = std::make_shared<SharedEvent>();
  e->size = size;
  return e;
}

TEST(SubscribeQueue, ReplayIsExemptButChargedAndLiveEventsKeepTheirLimits) {
  SubscribeBudget budget(10, 1 << 20);
  SubscribeQueue q({/*max_events=*/2, /*max_bytes=*/100}, &budget);
  for (int i = 0; i < 5; ++i) q.PushReplay(Event(60));  // 300 bytes, 5 events
  EXPECT_EQ(q.held_bytes(), 300);
  EXPECT_EQ(budget.bytes(), 300);
  // Live events behind the replay: as if it were not there.
  ASSERT_TRUE(q.Push(Event(60)).ok());
  ASSERT_TRUE(absl::IsResourceExhausted(q.Push(Event(60))));  // 120 > 100
  ASSERT_TRUE(q.Push(Event(40)).ok());
  EXPECT_TRUE(
      absl::StrContains(q.Push(Event(1)).message(), "--subscribe-queue)"));
  // Written in order: the replay first; its bytes stop counting as written.
  for (int i = 0; i < 5; ++i) {
    auto e = q.StartWrite();
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->size, 60u);
    q.WriteDone();
  }
  EXPECT_EQ(q.held_bytes(), 100);
  auto e = q.StartWrite();  // the first live one (60) being written
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(absl::IsResourceExhausted(q.Push(Event(1))));  // 100 + 1 bytes
  q.WriteDone();
  ASSERT_TRUE(q.Push(Event(60)).ok());  // 40 + 60 <= 100
  q.Clear();
  EXPECT_EQ(budget.bytes(), 0);
}

TEST(SubscribeQueue, LimitsApplyOnlyWhenHolding) {
  SubscribeBudget budget(10, 1000);
  SubscribeQueue q({/*max_events=*/2, /*max_bytes=*/100}, &budget);
  // One event larger than the byte limit still goes through when idle.
  ASSERT_TRUE(q.Push(Event(150)).ok());
  EXPECT_EQ(q.held_bytes(), 150);
  absl::Status s = q.Push(Event(10));
  EXPECT_TRUE(absl::IsResourceExhausted(s));
  EXPECT_TRUE(absl::StrContains(s.message(), "--subscribe-queue-bytes"));
  ASSERT_NE(q.StartWrite(), nullptr);
  q.WriteDone();
  EXPECT_EQ(q.held_bytes(), 0);
  EXPECT_EQ(budget.bytes(), 0);
  ASSERT_TRUE(q.Push(Event(10)).ok());
  ASSERT_TRUE(q.Push(Event(10)).ok());
  s = q.Push(Event(10));
  EXPECT_TRUE(absl::StrContains(s.message(), "--subscribe-queue)"));
  q.Clear();
  EXPECT_EQ(budget.bytes(), 0);
}

TEST(SubscribeQueue, StalledSinceFollowsProgress) {
  SubscribeBudget budget(10, 1000);
  SubscribeQueue q({10, 1000}, &budget);
  const absl::Time t0 = absl::FromUnixSeconds(100);
  EXPECT_EQ(q.stalled_since(), absl::InfiniteFuture());
  ASSERT_TRUE(q.Push(Event(10), t0).ok());
  ASSERT_TRUE(q.Push(Event(10), t0 + absl::Seconds(1)).ok());
  EXPECT_EQ(q.stalled_since(), t0);  // the first event after idle
  q.StartWrite();
  q.WriteDone(t0 + absl::Seconds(2));
  EXPECT_EQ(q.stalled_since(), t0 + absl::Seconds(2));  // progress
  q.StartWrite();
  q.WriteDone(t0 + absl::Seconds(3));
  EXPECT_EQ(q.stalled_since(), absl::InfiniteFuture());  // holds nothing
}

TEST(SubscribeBudget, CapsCalls) {
  SubscribeBudget budget(2, 1000);
  EXPECT_TRUE(budget.AddCall().ok());
  EXPECT_TRUE(budget.AddCall().ok());
  absl::Status s = budget.AddCall();
  EXPECT_TRUE(absl::IsResourceExhausted(s));
  EXPECT_TRUE(absl::StrContains(s.message(), "--max-subscribers"));
  budget.RemoveCall();
  EXPECT_TRUE(budget.AddCall().ok());
  EXPECT_EQ(budget.calls(), 2u);
}

// Random operations on several queues sharing one budget, against a small
// model: what each holds, what Push accepts, what the budget counts.
TEST(SubscribeQueue, RandomizedAgainstModel) {
  struct Model {
    std::deque<size_t> queued;
    std::optional<size_t> writing;
    bool open = true;
    int64_t held() const {
      int64_t h = writing.value_or(0);
      for (size_t s : queued) h += static_cast<int64_t>(s);
      return h;
    }
  };
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    const size_t max_events = 1 + rng() % 8;
    const int64_t max_bytes = 50 + rng() % 500;
    SubscribeBudget budget(100, 1 << 30);
    constexpr int kQueues = 4;
    std::vector<std::unique_ptr<SubscribeQueue>> qs;
    std::vector<Model> ms(kQueues);
    for (int i = 0; i < kQueues; ++i) {
      qs.push_back(std::make_unique<SubscribeQueue>(
          SubscribeQueue::Limits{max_events, max_bytes}, &budget));
    }
    for (int step = 0; step < 2000; ++step) {
      const int i = static_cast<int>(rng() % kQueues);
      SubscribeQueue& q = *qs[i];
      Model& m = ms[i];
      switch (rng() % 4) {
        case 0:
        case 1: {  // push
          if (!m.open) break;
          const size_t size = 1 + rng() % 120;
          const bool holding = m.held() > 0;
          const bool want_ok =
              !holding || (m.queued.size() < max_events &&
                           m.held() + static_cast<int64_t>(size) <= max_bytes);
          absl::Status s = q.Push(Event(size));
          ASSERT_EQ(s.ok(), want_ok) << seed << " " << step << " " << s;
          if (s.ok()) {
            m.queued.push_back(size);
          } else {
            q.Clear();  // the call ends
            m = Model();
            m.open = false;
          }
          break;
        }
        case 2: {  // start a write
          auto e = q.StartWrite();
          if (m.writing || m.queued.empty()) {
            ASSERT_EQ(e, nullptr);
          } else {
            ASSERT_NE(e, nullptr);
            ASSERT_EQ(e->size, m.queued.front());
            m.writing = m.queued.front();
            m.queued.pop_front();
          }
          break;
        }
        case 3:  // a write completes
          q.WriteDone();
          m.writing.reset();
          break;
      }
      int64_t total = 0;
      for (int k = 0; k < kQueues; ++k) {
        ASSERT_EQ(qs[k]->held_bytes(), ms[k].held()) << seed << " " << step;
        ASSERT_EQ(qs[k]->queued(), ms[k].queued.size());
        ASSERT_EQ(qs[k]->writing(), ms[k].writing.has_value());
        ASSERT_EQ(qs[k]->stalled_since() == absl::InfiniteFuture(),
                  ms[k].held() == 0);
        total += ms[k].held();
      }
      ASSERT_EQ(budget.bytes(), total) << seed << " " << step;
    }
    qs.clear();
    EXPECT_EQ(budget.bytes(), 0);
  }
}

}  // namespace
}  // namespace vent::server
