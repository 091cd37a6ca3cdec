// Exponential backoff with "equal jitter": the n-th delay is uniformly drawn
// from [d/2, d] where d = min(initial * 2^n, max). Not thread-safe; owned by
// the reconnect loop of one connection.
#ifndef VENT_REDIS_BACKOFF_H_
#define VENT_REDIS_BACKOFF_H_

#include <algorithm>
#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace vent::redis {

class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max)
      : initial_(std::max(initial, absl::Milliseconds(1))),
        max_(std::max(max, initial_)),
        current_(initial_),
        rng_(std::random_device{}()) {}

  // Delay before the next attempt; doubles the base for the one after.
  absl::Duration Next() {
    absl::Duration d = current_;
    current_ = std::min(current_ * 2, max_);
    int64_t us = absl::ToInt64Microseconds(d);
    std::uniform_int_distribution<int64_t> dist(us / 2, us);
    return absl::Microseconds(dist(rng_));
  }

  // After a successful connection: the next failure starts from `initial`.
  void Reset() { current_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration current_;
  std::mt19937_64 rng_;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_BACKOFF_H_
