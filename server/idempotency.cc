#include "server/idempotency.h"

#include "absl/strings/str_cat.h"

namespace vent::server {

IdempotencyCache::IdempotencyCache(absl::Duration window, size_t max_keys,
                                   Clock clock)
    : window_(window),
      max_keys_(max_keys),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })) {}

std::string IdempotencyCache::MapKey(const Ref& ref) {
  // Scopes and channels never contain NUL (validated), so this separator is
  // unambiguous.
  const absl::string_view nul("\0", 1);
  return absl::StrCat(ref.scope, nul, ref.channel, nul, ref.key);
}

void IdempotencyCache::EvictLocked(absl::Time now) {
  while (!order_.empty() &&
         (order_.size() > max_keys_ || now - order_.front().at >= window_)) {
    index_.erase(order_.front().map_key);
    order_.pop_front();
  }
}

IdempotencyCache::Claim IdempotencyCache::ClaimKey(const Ref& ref,
                                                   absl::string_view new_id) {
  absl::Time now = clock_();
  std::string mk = MapKey(ref);
  absl::MutexLock lock(&mu_);
  EvictLocked(now);
  if (auto it = index_.find(mk); it != index_.end()) {
    return Claim{true, it->second->id, it->second->receivers};
  }
  order_.push_back(Entry{mk, std::string(new_id), 0, now});
  index_.emplace(std::move(mk), std::prev(order_.end()));
  EvictLocked(now);
  return Claim{false, std::string(new_id), 0};
}

void IdempotencyCache::Complete(const Ref& ref, absl::string_view id,
                                int64_t receivers) {
  absl::MutexLock lock(&mu_);
  if (auto it = index_.find(MapKey(ref));
      it != index_.end() && it->second->id == id) {
    it->second->receivers = receivers;
  }
}

void IdempotencyCache::Release(const Ref& ref, absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (auto it = index_.find(MapKey(ref));
      it != index_.end() && it->second->id == id) {
    order_.erase(it->second);
    index_.erase(it);
  }
}

size_t IdempotencyCache::size() const {
  absl::MutexLock lock(&mu_);
  return order_.size();
}

}  // namespace vent::server
