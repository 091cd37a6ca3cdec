// Reconnect pacing.
//
// Backoff: exponential with "equal jitter": the n-th delay is uniformly drawn
// from [d/2, d] where d = min(initial * 2^n, max).
// ReconnectPolicy: a Backoff that starts over only after a session stayed up
// for `reset_after`; a session that ends sooner counts as one more failure.
// So a server that accepts connections and then drops them (bad password
// after a restart, a proxy with no backend, a crashing Redis) is retried ever
// more slowly, not at the initial rate.
// Not thread-safe; owned by the reconnect loop of one connection.
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

  // The next failure starts from `initial`.
  void Reset() { current_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration current_;
  std::mt19937_64 rng_;
};

class ReconnectPolicy {
 public:
  ReconnectPolicy(absl::Duration initial, absl::Duration max,
                  absl::Duration reset_after)
      : backoff_(initial, max), reset_after_(reset_after) {}

  // A session came up at `now`.
  void SessionUp(absl::Time now) { up_since_ = now; }
  // Delay before the next attempt, after a failed attempt or the end of a
  // session at `now`.
  absl::Duration NextDelay(absl::Time now) {
    if (up_since_ != absl::InfinitePast() && now - up_since_ >= reset_after_) {
      backoff_.Reset();
    }
    up_since_ = absl::InfinitePast();
    return backoff_.Next();
  }

 private:
  Backoff backoff_;
  absl::Duration reset_after_;
  absl::Time up_since_ = absl::InfinitePast();
};

}  // namespace vent::redis

#endif  // VENT_REDIS_BACKOFF_H_
