#include "vent/base/log_limiter.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vent::base {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(LogLimiterTest, FirstEventLogsThenOnePerPeriodWithCount) {
  LogLimiter limiter(absl::Seconds(10));
  EXPECT_EQ(limiter.Note(0), 1);
  for (int i = 1; i <= 2999; ++i) EXPECT_EQ(limiter.Note(i), 0);
  EXPECT_EQ(limiter.Note(10 * kSecond - 1), 0);
  // 2999 held back + 1 just before the period + this one.
  EXPECT_EQ(limiter.Note(10 * kSecond), 3001);
  EXPECT_EQ(limiter.Note(11 * kSecond), 0);
  EXPECT_EQ(limiter.Note(25 * kSecond), 2);
}

TEST(LogLimiterTest, ConcurrentEventsAreCountedOnce) {
  LogLimiter limiter(absl::Seconds(1));
  std::atomic<int64_t> logged{0};
  std::atomic<int> lines{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        int64_t n = limiter.Note(static_cast<int64_t>(i) * kSecond / 1000);
        if (n > 0) {
          logged += n;
          ++lines;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // Every event is either in a logged count or still pending (at most the
  // events after the last line).
  int64_t final_n = limiter.Note(100 * kSecond);
  EXPECT_EQ(logged.load() + final_n, 40001);
  EXPECT_LE(lines.load(), 11 + 1);
  EXPECT_GE(lines.load(), 1);
}

}  // namespace
}  // namespace vent::base
