#include "server/idempotency.h"

#include "gtest/gtest.h"

namespace vent::server {
namespace {

class IdempotencyTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1000);
  IdempotencyCache::Clock clock_ = [this] { return now_; };
};

TEST_F(IdempotencyTest, DuplicateGetsFirstIdAndReceivers) {
  IdempotencyCache c(absl::Minutes(5), 100, clock_);
  auto first = c.ClaimKey({"", "ch", "k"}, "ID1");
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(first.id, "ID1");
  auto pending = c.ClaimKey({"", "ch", "k"}, "ID2");
  EXPECT_TRUE(pending.duplicate);
  EXPECT_EQ(pending.id, "ID1");
  EXPECT_EQ(pending.receivers, 0);
  c.Complete({"", "ch", "k"}, "ID1", 3);
  auto done = c.ClaimKey({"", "ch", "k"}, "ID3");
  EXPECT_TRUE(done.duplicate);
  EXPECT_EQ(done.receivers, 3);
}

TEST_F(IdempotencyTest, KeyedByChannelAndKey) {
  IdempotencyCache c(absl::Minutes(5), 100, clock_);
  EXPECT_FALSE(c.ClaimKey({"", "a", "k"}, "1").duplicate);
  EXPECT_FALSE(c.ClaimKey({"", "b", "k"}, "2").duplicate);
  EXPECT_FALSE(c.ClaimKey({"", "a", "k2"}, "3").duplicate);
  // No ambiguity between ("a","bk") and ("ab","k").
  EXPECT_FALSE(c.ClaimKey({"", "ab", "k"}, "4").duplicate);
  EXPECT_FALSE(c.ClaimKey({"", "a", "bk"}, "5").duplicate);
  EXPECT_EQ(c.size(), 5u);
}

TEST_F(IdempotencyTest, WindowExpires) {
  IdempotencyCache c(absl::Minutes(5), 100, clock_);
  c.ClaimKey({"", "ch", "k"}, "ID1");
  now_ += absl::Minutes(5) - absl::Seconds(1);
  EXPECT_TRUE(c.ClaimKey({"", "ch", "k"}, "ID2").duplicate);
  now_ += absl::Seconds(1);
  auto again = c.ClaimKey({"", "ch", "k"}, "ID3");
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.id, "ID3");
  EXPECT_EQ(c.size(), 1u);
}

TEST_F(IdempotencyTest, OldestEvictedAtCapacity) {
  IdempotencyCache c(absl::Minutes(5), 3, clock_);
  c.ClaimKey({"", "ch", "1"}, "a");
  c.ClaimKey({"", "ch", "2"}, "b");
  c.ClaimKey({"", "ch", "3"}, "c");
  c.ClaimKey({"", "ch", "4"}, "d");
  EXPECT_EQ(c.size(), 3u);
  EXPECT_TRUE(c.ClaimKey({"", "ch", "2"}, "x").duplicate);
  EXPECT_FALSE(c.ClaimKey({"", "ch", "1"}, "y").duplicate);  // was evicted
}

TEST_F(IdempotencyTest, ReleaseOnlyByHolder) {
  IdempotencyCache c(absl::Minutes(5), 100, clock_);
  c.ClaimKey({"", "ch", "k"}, "ID1");
  c.Release({"", "ch", "k"}, "OTHER");
  EXPECT_TRUE(c.ClaimKey({"", "ch", "k"}, "ID2").duplicate);
  c.Release({"", "ch", "k"}, "ID1");
  EXPECT_FALSE(c.ClaimKey({"", "ch", "k"}, "ID3").duplicate);
}

TEST_F(IdempotencyTest, ScopesAreSeparate) {
  IdempotencyCache c(absl::Minutes(5), 100, clock_);
  EXPECT_FALSE(c.ClaimKey({"key-a", "ch", "k"}, "1").duplicate);
  EXPECT_FALSE(c.ClaimKey({"key-b", "ch", "k"}, "2").duplicate);
  EXPECT_FALSE(c.ClaimKey({"", "ch", "k"}, "3").duplicate);
  auto again = c.ClaimKey({"key-a", "ch", "k"}, "4");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.id, "1");
  // No ambiguity between scope and channel.
  EXPECT_FALSE(c.ClaimKey({"key-ach", "", "k"}, "5").duplicate);
  c.Release({"key-b", "ch", "k"}, "2");
  EXPECT_TRUE(c.ClaimKey({"key-a", "ch", "k"}, "6").duplicate);
  EXPECT_FALSE(c.ClaimKey({"key-b", "ch", "k"}, "7").duplicate);
}

}  // namespace
}  // namespace vent::server
