#include "vent/auth/decision_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace vent::auth {

std::string DecisionCache::Key(absl::string_view user_id,
                               absl::string_view publication,
                               absl::string_view params_json) {
  return absl::StrCat(user_id.size(), ":", user_id, publication.size(), ":",
                      publication, params_json);
}

std::optional<Decision> DecisionCache::Lookup(const std::string& key,
                                              absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (now >= it->second->expires) {
    order_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  return it->second->decision;
}

void DecisionCache::Insert(std::string key, const Decision& decision,
                           absl::Time expires, absl::Time now) {
  if (max_ == 0 || expires <= now) return;
  absl::MutexLock lock(&mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    order_.erase(it->second);
    index_.erase(it);
  }
  // Drop expired entries at the front, then the oldest while full.
  while (!order_.empty() &&
         (order_.size() >= max_ || now >= order_.front().expires)) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(Entry{key, decision, expires});
  index_.emplace(std::move(key), std::prev(order_.end()));
}

size_t DecisionCache::size() const {
  absl::MutexLock lock(&mu_);
  return order_.size();
}

}  // namespace vent::auth
