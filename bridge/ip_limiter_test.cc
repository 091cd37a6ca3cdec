#include "bridge/ip_limiter.h"

#include "gtest/gtest.h"

namespace vent::bridge {
namespace {

TEST(IpLimiterTest, OpenConnectionsPerIp) {
  IpLimiter l(2, 0);
  absl::Time t = absl::FromUnixSeconds(1000);
  EXPECT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kOk);
  EXPECT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kOk);
  EXPECT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kTooMany);
  EXPECT_EQ(l.Acquire("b", t), IpLimiter::Verdict::kOk);
  l.Release("a");
  EXPECT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kOk);
  l.Release("a");
  l.Release("a");
  l.Release("b");
  EXPECT_EQ(l.tracked_ips(), 0u);
}

TEST(IpLimiterTest, RateWithBurst) {
  IpLimiter l(0, 5);  // 5/s, burst 10
  absl::Time t = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kOk) << i;
  EXPECT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kTooFast);
  EXPECT_EQ(l.Acquire("a", t + absl::Milliseconds(100)),
            IpLimiter::Verdict::kTooFast);
  EXPECT_EQ(l.Acquire("a", t + absl::Milliseconds(250)),
            IpLimiter::Verdict::kOk);
  EXPECT_EQ(l.Acquire("other", t), IpLimiter::Verdict::kOk);
}

TEST(IpLimiterTest, RateSurvivesReconnects) {
  IpLimiter l(0, 1);  // 1/s, burst 2
  absl::Time t = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kOk);
    l.Release("a");
  }
  EXPECT_EQ(l.Acquire("a", t), IpLimiter::Verdict::kTooFast);
}

TEST(IpLimiterTest, DisabledAllowsEverything) {
  IpLimiter l(0, 0);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(l.Acquire("a", absl::Now()), IpLimiter::Verdict::kOk);
  EXPECT_EQ(l.tracked_ips(), 0u);
}

}  // namespace
}  // namespace vent::bridge
