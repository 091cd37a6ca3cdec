// Bounded TTL cache of Authorizer decisions, keyed by (user_id, publication,
// params_json). Insertion order is the eviction order: inserting into a full
// cache drops the oldest entry; re-inserting a key refreshes its position.
// Expired entries are dropped when looked up or when they reach the front.
//
// Thread-safe (one internal mutex; O(1) operations besides hashing the key).
#ifndef VENT_AUTH_DECISION_CACHE_H_
#define VENT_AUTH_DECISION_CACHE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vent/auth/authorizer_client.h"

namespace vent::auth {

class DecisionCache {
 public:
  explicit DecisionCache(size_t max_entries) : max_(max_entries) {}

  // Unambiguous key (length-prefixed parts).
  static std::string Key(absl::string_view user_id,
                         absl::string_view publication,
                         absl::string_view params_json);

  // The cached decision if present and now < its expiry.
  std::optional<Decision> Lookup(const std::string& key, absl::Time now);
  // No-op when max_entries is 0 or expires <= now.
  void Insert(std::string key, const Decision& decision, absl::Time expires,
              absl::Time now);
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    Decision decision;
    absl::Time expires;
  };
  using List = std::list<Entry>;

  const size_t max_;
  mutable absl::Mutex mu_;
  List order_ ABSL_GUARDED_BY(mu_);  // oldest first
  absl::flat_hash_map<std::string, List::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vent::auth

#endif  // VENT_AUTH_DECISION_CACHE_H_
