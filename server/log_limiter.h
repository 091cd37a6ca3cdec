// At most one log line per interval for one kind of event, with the count of
// lines it skipped, so a flood of bad requests cannot flood the log.
//
// Thread-safe.
#ifndef VENT_SERVER_LOG_LIMITER_H_
#define VENT_SERVER_LOG_LIMITER_H_

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vent::server {

class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration interval) : interval_(interval) {}

  // True when a line may be written now; then *skipped is the number of
  // lines refused since the last one allowed.
  bool Allow(int64_t* skipped, absl::Time now = absl::Now()) {
    absl::MutexLock lock(&mu_);
    if (now < next_) {
      ++skipped_;
      return false;
    }
    next_ = now + interval_;
    *skipped = skipped_;
    skipped_ = 0;
    return true;
  }

 private:
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::Time next_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vent::server

#endif  // VENT_SERVER_LOG_LIMITER_H_
