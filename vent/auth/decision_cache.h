// Bounded TTL caches of the Authorizer's answers. Insertion order is the
// eviction order: inserting into a full cache drops the oldest entry;
// re-inserting a key refreshes its position. Expired entries are dropped
// when looked up or when they reach the front.
//
//   DecisionCache: Authorize answers by (user_id, publication, params_json).
//   IdentityCache: Authenticate answers by the token's SHA-256.
//
// Thread-safe (one internal mutex; O(1) operations besides hashing the key).
#ifndef VENT_AUTH_DECISION_CACHE_H_
#define VENT_AUTH_DECISION_CACHE_H_

#include <cstddef>
#include <iterator>
#include <list>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vent/auth/authorizer_client.h"

namespace vent::auth {

template <typename Value>
class TtlCache {
 public:
  explicit TtlCache(size_t max_entries) : max_(max_entries) {}

  // The cached value if present and now < its expiry.
  std::optional<Value> Lookup(const std::string& key, absl::Time now) {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (now >= it->second->expires) {
      order_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    return it->second->value;
  }

  // No-op when max_entries is 0 or expires <= now.
  void Insert(std::string key, const Value& value, absl::Time expires,
              absl::Time now) {
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
    order_.push_back(Entry{key, value, expires});
    index_.emplace(std::move(key), std::prev(order_.end()));
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return order_.size();
  }

 private:
  struct Entry {
    std::string key;
    Value value;
    absl::Time expires;
  };
  using List = std::list<Entry>;

  const size_t max_;
  mutable absl::Mutex mu_;
  List order_ ABSL_GUARDED_BY(mu_);  // oldest first
  absl::flat_hash_map<std::string, typename List::iterator> index_
      ABSL_GUARDED_BY(mu_);
};

class DecisionCache : public TtlCache<Decision> {
 public:
  using TtlCache<Decision>::TtlCache;
  // Unambiguous key (length-prefixed parts).
  static std::string Key(absl::string_view user_id,
                         absl::string_view publication,
                         absl::string_view params_json);
};

class IdentityCache : public TtlCache<Identity> {
 public:
  using TtlCache<Identity>::TtlCache;
  // The raw SHA-256 of `token`: tokens themselves are not kept in memory.
  static std::string Key(absl::string_view token);
};

}  // namespace vent::auth

#endif  // VENT_AUTH_DECISION_CACHE_H_
