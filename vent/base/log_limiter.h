// LogLimiter: lets one log line through per period for a kind of event that
// a remote peer can trigger at will (failed logins, TLS handshakes, malformed
// requests), and counts the ones it held back so the line can say how many
// there were. Thread-safe, lock-free.
//
//   static LogLimiter limiter(absl::Seconds(10));
//   if (int64_t n = limiter.Note(); n > 0) VENT_LOG_WARN("...", "count", n);
#ifndef VENT_BASE_LOG_LIMITER_H_
#define VENT_BASE_LOG_LIMITER_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vent::base {

class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration period)
      : period_ns_(absl::ToInt64Nanoseconds(period)) {}

  // Records one event at `now_ns` (absl::GetCurrentTimeNanos() by default).
  // Returns 0 when the caller must not log; otherwise the number of events
  // since the last logged one, this one included (the first event always
  // logs).
  int64_t Note(int64_t now_ns = absl::GetCurrentTimeNanos()) {
    int64_t n = pending_.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t last = last_ns_.load(std::memory_order_relaxed);
    if (last != kNever && now_ns - last < period_ns_) return 0;
    if (!last_ns_.compare_exchange_strong(last, now_ns)) return 0;
    pending_.fetch_sub(n, std::memory_order_relaxed);
    return n;
  }

 private:
  static constexpr int64_t kNever = INT64_MIN;
  const int64_t period_ns_;
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> last_ns_{kNever};
};

}  // namespace vent::base

#endif  // VENT_BASE_LOG_LIMITER_H_
