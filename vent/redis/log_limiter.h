// Rate limit for repeated log lines (a Redis that stays down must not write
// one line per retry). Allow() says whether to write a line with `key` (the
// cause, e.g. "connect 10.0.0.5:6379: Connection refused") now: the first
// time a key is seen, then at most once per `interval` while it repeats,
// reporting how many were skipped. Remembers the last 16 keys, so two
// alternating causes are limited too. Not thread-safe (one owner).
#ifndef VENT_REDIS_LOG_LIMITER_H_
#define VENT_REDIS_LOG_LIMITER_H_

#include <cstdint>
#include <deque>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vent::redis {

class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration interval = absl::Seconds(60))
      : interval_(interval) {}

  bool Allow(absl::string_view key, absl::Time now, int64_t* skipped) {
    *skipped = 0;
    for (Entry& e : entries_) {
      if (e.key != key) continue;
      if (now - e.last < interval_) {
        ++e.skipped;
        return false;
      }
      *skipped = e.skipped;
      e.skipped = 0;
      e.last = now;
      return true;
    }
    if (entries_.size() == kMaxKeys) entries_.pop_front();
    entries_.push_back({std::string(key), now, 0});
    return true;
  }

  // Forget everything (e.g. after a healthy session: the next failure is
  // news again).
  void Clear() { entries_.clear(); }

 private:
  static constexpr size_t kMaxKeys = 16;
  struct Entry {
    std::string key;
    absl::Time last;
    int64_t skipped;
  };
  absl::Duration interval_;
  std::deque<Entry> entries_;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_LOG_LIMITER_H_
