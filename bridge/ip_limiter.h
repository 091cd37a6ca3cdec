// Per-client-IP connection limits: open connections and a token-bucket rate
// of new connections (burst = 2 x rate). Refusals happen at accept, before
// any parsing.
//
// Thread-safe: Acquire() runs on the acceptor thread, Release() on workers;
// one mutex, taken once per connection open/close (never on the fan-out path).
#ifndef VENT_BRIDGE_IP_LIMITER_H_
#define VENT_BRIDGE_IP_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vent::bridge {

class IpLimiter {
 public:
  enum class Verdict { kOk, kTooMany, kTooFast };
  // 0 disables the corresponding limit.
  IpLimiter(int64_t max_open, int64_t rate_per_second);
  bool enabled() const { return max_open_ > 0 || rate_ > 0; }
  // On kOk the caller owns one slot and must Release(ip) exactly once.
  Verdict Acquire(const std::string& ip, absl::Time now);
  void Release(const std::string& ip);
  size_t tracked_ips() const;

 private:
  struct Entry {
    int64_t open = 0;
    double tokens = 0;
    absl::Time refilled;
  };
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t max_open_;
  const double rate_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t acquires_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_IP_LIMITER_H_
