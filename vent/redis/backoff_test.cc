#include "vent/redis/backoff.h"

#include "gtest/gtest.h"

namespace vent::redis {
namespace {

TEST(Backoff, GrowsWithJitterAndCapsAndResets) {
  Backoff b(absl::Milliseconds(100), absl::Milliseconds(800));
  absl::Duration bases[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                            absl::Milliseconds(400), absl::Milliseconds(800),
                            absl::Milliseconds(800)};
  for (absl::Duration base : bases) {
    absl::Duration d = b.Next();
    EXPECT_GE(d, base / 2);
    EXPECT_LE(d, base);
  }
  b.Reset();
  absl::Duration d = b.Next();
  EXPECT_GE(d, absl::Milliseconds(50));
  EXPECT_LE(d, absl::Milliseconds(100));
}

TEST(Backoff, JitterVaries) {
  Backoff b(absl::Seconds(1), absl::Seconds(1));
  absl::Duration first = b.Next();
  bool differs = false;
  for (int i = 0; i < 20 && !differs; ++i) differs = b.Next() != first;
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace vent::redis
