#include "bridge/ip_limiter.h"

#include <algorithm>

#include "vent/base/check.h"

namespace vent::bridge {

IpLimiter::IpLimiter(int64_t max_open, int64_t rate_per_second)
    : max_open_(max_open), rate_(static_cast<double>(rate_per_second)) {}

IpLimiter::Verdict IpLimiter::Acquire(const std::string& ip, absl::Time now) {
  if (!enabled()) return Verdict::kOk;
  absl::MutexLock lock(&mu_);
  if (rate_ > 0 && ++acquires_ % 1024 == 0) Prune(now);
  auto [it, inserted] = entries_.try_emplace(ip);
  Entry& e = it->second;
  if (inserted) {
    e.tokens = 2 * rate_;
    e.refilled = now;
  }
  if (max_open_ > 0 && e.open >= max_open_) return Verdict::kTooMany;
  if (rate_ > 0) {
    e.tokens = std::min(
        2 * rate_, e.tokens + absl::ToDoubleSeconds(now - e.refilled) * rate_);
    e.refilled = now;
    if (e.tokens < 1) {
      if (e.open == 0) entries_.erase(it);
      return Verdict::kTooFast;
    }
    e.tokens -= 1;
  }
  ++e.open;
  return Verdict::kOk;
}

void IpLimiter::Release(const std::string& ip) {
  if (!enabled()) return;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(ip);
  // Released exactly once per kOk: an entry with open connections is never
  // pruned, so it is still here.
  VENT_DCHECK(it != entries_.end() && it->second.open > 0);
  if (it == entries_.end()) return;
  // Without a rate limit an IP with no connection has no state. With one,
  // its bucket must survive reconnects; Prune() drops it once refilled.
  if (--it->second.open <= 0 && rate_ <= 0) entries_.erase(it);
}

void IpLimiter::Prune(absl::Time now) {
  // A bucket refills completely in 2 s (burst = 2 x rate).
  absl::erase_if(entries_, [now](const auto& kv) {
    return kv.second.open <= 0 && now - kv.second.refilled > absl::Seconds(2);
  });
}

size_t IpLimiter::tracked_ips() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace vent::bridge
