// Per-process idempotency window for Emit: remembers (channel, key) -> event id
// for `window` (default 5 minutes), at most `max_keys` entries (oldest evicted
// first). A key is claimed when its emit is accepted, before Redis answers, so
// a concurrent duplicate is also caught; if the publish then fails the claim
// is released (Release) so a retry publishes.
//
// Thread-safe (one mutex; O(1) per call amortized).
#ifndef VENT_SERVER_IDEMPOTENCY_H_
#define VENT_SERVER_IDEMPOTENCY_H_

#include <cstdint>
#include <functional>
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace vent::server {

class IdempotencyCache {
 public:
  using Clock = std::function<absl::Time()>;
  IdempotencyCache(absl::Duration window, size_t max_keys,
                   Clock clock = nullptr);
  IdempotencyCache(const IdempotencyCache&) = delete;
  IdempotencyCache& operator=(const IdempotencyCache&) = delete;

  struct Claim {
    bool duplicate = false;  // true: an earlier emit holds the key
    std::string id;          // the earlier id when duplicate, else `new_id`
    int64_t receivers = 0;   // the earlier reply's receivers (0 while pending)
  };
  // Claims (channel, key) for `new_id` unless a live entry exists.
  Claim ClaimKey(absl::string_view channel, absl::string_view key,
                 absl::string_view new_id);
  // Records the publish result of the claim holding `id`.
  void Complete(absl::string_view channel, absl::string_view key,
                absl::string_view id, int64_t receivers);
  // Drops the claim if it is still held by `id` (its publish failed).
  void Release(absl::string_view channel, absl::string_view key,
               absl::string_view id);

  size_t size() const;

 private:
  struct Entry {
    std::string map_key;
    std::string id;
    int64_t receivers = 0;
    absl::Time at;
  };
  using List = std::list<Entry>;
  static std::string MapKey(absl::string_view channel, absl::string_view key);
  void EvictLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration window_;
  const size_t max_keys_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  List order_
      ABSL_GUARDED_BY(mu_);  // oldest first (insertion order = time order)
  absl::flat_hash_map<std::string, List::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vent::server

#endif  // VENT_SERVER_IDEMPOTENCY_H_
