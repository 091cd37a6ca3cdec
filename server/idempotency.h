// Per-process idempotency window for Emit: remembers (scope, channel, key) ->
// event id for `window` (default 5 minutes), at most `max_keys` entries (oldest
// evicted first). `scope` separates callers (vent-server passes the API key's
// identity, "" without keys), so two API keys never see each other's claims.
// A key is claimed when its emit is accepted, before Redis answers, so a
// concurrent duplicate is also caught. The caller releases the claim (Release)
// only when the publish certainly did not happen, so a retry publishes; a
// publish that may have happened keeps its claim and a retry is a duplicate.
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
  // A claim's identity. `scope` and `channel` never contain NUL.
  struct Ref {
    absl::string_view scope;
    absl::string_view channel;
    absl::string_view key;
  };
  // Claims `ref` for `new_id` unless a live entry exists.
  Claim ClaimKey(const Ref& ref, absl::string_view new_id);
  // Records the publish result of the claim holding `id`.
  void Complete(const Ref& ref, absl::string_view id, int64_t receivers);
  // Drops the claim if it is still held by `id` (its publish did not happen).
  void Release(const Ref& ref, absl::string_view id);

  size_t size() const;

 private:
  struct Entry {
    std::string map_key;
    std::string id;
    int64_t receivers = 0;
    absl::Time at;
  };
  using List = std::list<Entry>;
  static std::string MapKey(const Ref& ref);
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
