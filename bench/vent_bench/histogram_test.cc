#include "bench/vent_bench/histogram.h"

#include <gtest/gtest.h>

namespace vent::bench {
namespace {

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Quantile(0.99), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.Quantile(0.5), 25);
  EXPECT_EQ(h.Quantile(1.0), 50);
  EXPECT_EQ(h.max(), 50);
}

TEST(HistogramTest, LargeValuesWithinThreePercent) {
  Histogram h;
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double want = q * 100000 * 1000;
    double got = static_cast<double>(h.Quantile(q));
    EXPECT_LE(got, want * 1.0001) << q;
    EXPECT_GE(got, want * 0.97) << q;
  }
  EXPECT_EQ(h.max(), 100000 * 1000);
}

TEST(HistogramTest, MergeAddsCountsAndKeepsMax) {
  Histogram a, b;
  a.Record(10);
  b.Record(1'000'000'000);
  b.Record(-5);  // clamps to 0
  a.Merge(b);
  EXPECT_EQ(a.count(), 3);
  EXPECT_EQ(a.max(), 1'000'000'000);
  EXPECT_EQ(a.Quantile(0.01), 0);
  EXPECT_GE(a.Quantile(1.0), 970'000'000);
}

}  // namespace
}  // namespace vent::bench
