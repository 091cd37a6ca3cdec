// ChannelRegistry: one worker's channel -> subscriptions index, the Redis
// SUBSCRIBE bookkeeping behind it, and the fan-out of one Redis message to
// the subscriptions of its channel. No sockets, no threads: the worker owns
// one and drives it; tests drive it with fakes (see channel_registry_test.cc
// and ddp_host_model_test.cc).
//
// Invariants (checked with VENT_DCHECK):
//  * A channel is in the index iff at least one registered subscription
//    lists it; the registry asked Redis for it (RedisSubscriptions::Subscribe)
//    on its 0 -> 1 transition with a fresh generation, and gives it back
//    (Unsubscribe) on 1 -> 0.
//  * A Redis ack counts only for the channel's current generation; a stale
//    ack (for a channel removed and added again since) is ignored.
//  * sub->acked == number of sub->channels whose current generation is
//    confirmed. A subscription becomes ready (owner->OnSubscriptionAcked)
//    exactly once, when all its channels are confirmed while Redis is up.
//  * Owners' callbacks must not call Add/Remove (checked).
//  * History subscriptions never get an event twice or out of order: the
//    fan-out keeps their last sent (epoch, offset) per channel
//    (Subscription::sent_*) and drops anything not after it.
//
// Redis up/down: while down (the initial state, until the Redis subscriber
// first reports up), no subscription becomes ready; confirmed channels stay
// confirmed (the Redis client resubscribes them). On down -> up, every ready
// subscription is told it may have missed events (OnSubscriptionGap) and
// every complete pending one becomes ready.
//
// Threading: the owning worker's thread only.
#ifndef VENT_BRIDGE_CHANNEL_REGISTRY_H_
#define VENT_BRIDGE_CHANNEL_REGISTRY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "bridge/subscription.h"

namespace vent::bridge {

// The registry's view of Redis (the Hub, or a fake in tests).
class RedisSubscriptions {
 public:
  virtual ~RedisSubscriptions() = default;
  // Redis should deliver `channel`; the confirmation comes back through
  // ChannelRegistry::OnAck with the same generation.
  virtual void Subscribe(const std::string& channel, uint64_t generation) = 0;
  virtual void Unsubscribe(const std::string& channel) = 0;
};

class ChannelRegistry {
 public:
  explicit ChannelRegistry(RedisSubscriptions* redis) : redis_(redis) {}
  ChannelRegistry(const ChannelRegistry&) = delete;
  ChannelRegistry& operator=(const ChannelRegistry&) = delete;
  ~ChannelRegistry();

  // Registers `sub` on its channels. REQUIRES: !sub->registered, !sub->ready,
  // sub->owner and sub->sink set. Returns true when the subscription is
  // complete now (every channel already confirmed and Redis up): the caller
  // then treats it as acked; the registry does not call the owner for it.
  bool Add(Subscription* sub);
  // REQUIRES: sub->registered. Afterwards !sub->registered.
  void Remove(Subscription* sub);

  // Redis confirmed (status OK) or gave up on (CANCELLED) `channel` as
  // requested with `generation`.
  void OnAck(const std::string& channel, uint64_t generation,
             const absl::Status& status);
  // The Redis subscriber's state (see the header comment).
  void SetRedisUp(bool up);
  bool redis_up() const { return redis_up_; }

  // Fan-out of one Redis message: every ready subscription of `channel` gets
  // a Vent frame through its sink; each publication's payload is computed
  // once (`cache` is scratch space reused across calls). Returns the number
  // of frames queued.
  uint64_t Deliver(absl::string_view channel, const std::string& payload,
                   std::vector<Transformed>& cache);

  size_t channel_count() const { return channels_.size(); }
  size_t subscription_count() const { return subs_.size(); }
  // Subscriptions registered on `channel` (test and debug use).
  size_t subscriptions_on(absl::string_view channel) const;

 private:
  struct ChannelState {
    std::vector<Subscription*> subs;
    uint64_t generation = 0;
    bool confirmed = false;
  };
  // A history event for a ready `sub`: false unless it comes after the
  // last one the sub sent (redis::PositionBefore); else records it.
  static bool FreshForSub(Subscription& sub, const Transformed& t);
  // Tells the owners of complete, not yet ready subscriptions in `subs`.
  void NotifyComplete(const std::vector<Subscription*>& subs);

  RedisSubscriptions* const redis_;
  absl::flat_hash_map<std::string, ChannelState> channels_;
  absl::flat_hash_set<Subscription*> subs_;
  uint64_t next_generation_ = 1;
  bool redis_up_ = false;
  bool notifying_ = false;  // inside an owner callback
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_CHANNEL_REGISTRY_H_
