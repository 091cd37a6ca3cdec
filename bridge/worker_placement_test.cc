#include "bridge/worker_placement.h"

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace vent::bridge {
namespace {

WorkerPlacement::Options Adaptive(int workers) {
  WorkerPlacement::Options o;
  o.workers = workers;
  o.adaptive = true;
  o.spill_busy = 0.75;
  o.shrink_busy = 0.25;
  o.shrink_after = absl::Seconds(60);
  return o;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000000);

TEST(WorkerPlacement, StartsWithOneWorker) {
  WorkerPlacement p(Adaptive(4));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p.Pick(), 0);
  EXPECT_EQ(p.active(), 1);
}

TEST(WorkerPlacement, SpillsWhenTheActiveWorkersAreSaturated) {
  WorkerPlacement p(Adaptive(3));
  std::vector<double> busy = {0.9, 0, 0};
  p.Sample(kT0, busy);
  EXPECT_EQ(p.Pick(), 1);  // activates worker 1
  EXPECT_EQ(p.active(), 2);
  // Worker 0 is still saturated: everything goes to worker 1.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.Pick(), 1);
  busy = {0.9, 0.8, 0};
  p.Sample(kT0 + absl::Seconds(1), busy);
  EXPECT_EQ(p.Pick(), 2);
  EXPECT_EQ(p.active(), 3);
  // Everyone saturated, nothing more to activate: round-robin over all.
  busy = {0.9, 0.8, 0.95};
  p.Sample(kT0 + absl::Seconds(2), busy);
  std::multiset<int> got;
  for (int i = 0; i < 30; ++i) got.insert(p.Pick());
  for (int w = 0; w < 3; ++w) EXPECT_EQ(got.count(w), 10u);
  // Load falls: round-robin over the active workers under the threshold.
  busy = {0.5, 0.1, 0.2};
  p.Sample(kT0 + absl::Seconds(3), busy);
  got.clear();
  for (int i = 0; i < 30; ++i) got.insert(p.Pick());
  for (int w = 0; w < 3; ++w) EXPECT_EQ(got.count(w), 10u);
}

TEST(WorkerPlacement, ShrinksOneWorkerPerQuietPeriod) {
  WorkerPlacement p(Adaptive(3));
  std::vector<double> busy = {0.9, 0.9, 0};
  p.Sample(kT0, busy);
  EXPECT_EQ(p.Pick(), 1);
  EXPECT_EQ(p.Pick(), 2);
  EXPECT_EQ(p.active(), 3);
  busy = {0.1, 0.1, 0.1};
  p.Sample(kT0 + absl::Seconds(1), busy);
  p.Sample(kT0 + absl::Seconds(60), busy);
  EXPECT_EQ(p.active(), 3);  // 59 s quiet
  p.Sample(kT0 + absl::Seconds(61), busy);
  EXPECT_EQ(p.active(), 2);
  // One busy sample restarts the quiet period.
  busy = {0.3, 0.1, 0.1};
  p.Sample(kT0 + absl::Seconds(100), busy);
  busy = {0.1, 0.1, 0.1};
  p.Sample(kT0 + absl::Seconds(101), busy);
  p.Sample(kT0 + absl::Seconds(160), busy);
  EXPECT_EQ(p.active(), 2);
  p.Sample(kT0 + absl::Seconds(161), busy);
  EXPECT_EQ(p.active(), 1);
  p.Sample(kT0 + absl::Seconds(1000), busy);
  EXPECT_EQ(p.active(), 1);  // never below one
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.Pick(), 0);
}

TEST(WorkerPlacement, FixedModeIsRoundRobinOverAll) {
  WorkerPlacement::Options o = Adaptive(3);
  o.adaptive = false;
  WorkerPlacement p(o);
  EXPECT_EQ(p.active(), 3);
  std::vector<double> busy = {0.99, 0.99, 0.0};
  p.Sample(kT0, busy);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(p.Pick(), i % 3);
}

// Randomized against a reference model: random busy samples at random times
// and random picks; the model states which workers a pick may return and how
// the active count must move.
TEST(WorkerPlacement, RandomizedAgainstModel) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    const int n = 1 + static_cast<int>(rng() % 5);
    WorkerPlacement::Options o = Adaptive(n);
    o.shrink_after = absl::Seconds(1 + rng() % 10);
    WorkerPlacement p(o);
    // Model state.
    int active = 1;
    std::vector<double> busy(static_cast<size_t>(n), 0.0);
    bool quiet = false;
    absl::Time quiet_since;
    std::vector<int> picks_since_sample(static_cast<size_t>(n), 0);
    absl::Time now = kT0;
    for (int step = 0; step < 2000; ++step) {
      SCOPED_TRACE(testing::Message() << "seed " << seed << " step " << step);
      if (rng() % 3 == 0) {
        now += absl::Milliseconds(rng() % 3000);
        for (double& b : busy) {
          int r = static_cast<int>(rng() % 10);
          b = r < 4 ? 0.1 : r < 7 ? 0.5 : 0.9;
        }
        p.Sample(now, busy);
        bool all_quiet = true;
        for (int i = 0; i < active; ++i)
          all_quiet = all_quiet && busy[static_cast<size_t>(i)] < 0.25;
        if (!all_quiet) {
          quiet = false;
        } else if (!quiet) {
          quiet = true;
          quiet_since = now;
        } else if (active > 1 && now - quiet_since >= o.shrink_after) {
          --active;
          quiet_since = now;
        }
        std::fill(picks_since_sample.begin(), picks_since_sample.end(), 0);
      } else {
        std::vector<int> open;
        for (int i = 0; i < active; ++i)
          if (busy[static_cast<size_t>(i)] < 0.75) open.push_back(i);
        int w = p.Pick();
        ASSERT_GE(w, 0);
        ASSERT_LT(w, n);
        if (!open.empty()) {
          ASSERT_TRUE(std::count(open.begin(), open.end(), w) == 1)
              << "picked " << w << " while an unsaturated active worker "
              << "existed";
          // Round-robin among the open ones: no open worker gets two more
          // picks than another between samples.
          ++picks_since_sample[static_cast<size_t>(w)];
          auto [lo, hi] =
              std::minmax_element(open.begin(), open.end(), [&](int a, int b) {
                return picks_since_sample[static_cast<size_t>(a)] <
                       picks_since_sample[static_cast<size_t>(b)];
              });
          ASSERT_LE(picks_since_sample[static_cast<size_t>(*hi)] -
                        picks_since_sample[static_cast<size_t>(*lo)],
                    2);
        } else if (active < n) {
          ASSERT_EQ(w, active) << "should activate the next worker";
          ++active;
          quiet = false;
        }
      }
      ASSERT_EQ(p.active(), active);
    }
  }
}

}  // namespace
}  // namespace vent::bridge
