// Subscriber: refcounted channels over Redis pub/sub, acks after Redis
// confirms, and resubscription after reconnects, failovers and slot moves.
//
// Topology (from options.endpoint and options.pubsub), hidden behind this API:
//   single server (redis://, rediss://, unix://), Sentinel, or a Cluster in
//     classic mode: ONE connection (Sentinel: to the current master, found
//     again on every reconnect and on +switch-master; classic Cluster: to any
//     node, since classic messages reach every node);
//   a Cluster in sharded mode: one connection per master that owns a slot of
//     a subscribed channel (not one per channel), SSUBSCRIBE per slot. The
//     slot map follows MOVED replies, lost nodes (failover: re-read every
//     250 ms until the slot has a master again) and the SUNSUBSCRIBE Redis
//     sends when a slot migrates; channels then resubscribe on the new owner.
//
// Threading: owned by `io`, run by the caller on ONE thread. Start(), Stop(),
// connected() and last_error() are thread-safe; Subscribe(), Unsubscribe()
// and channel_count() must be called on the io thread. Handlers run on the
// io thread and may call Subscribe/Unsubscribe re-entrantly. No handler runs
// after Stop() has taken effect.
//
// Wire behaviour: sockets are always being read (64 KiB reads, all complete
// replies dispatched per read) so Redis never sees a slow subscriber.
// SUBSCRIBE/UNSUBSCRIBE requested during one io-thread turn go out together
// (at most 512 channels per command, one command per slot in a Cluster). At
// most one SUBSCRIBE/UNSUBSCRIBE is in flight per channel; the wanted state is
// reconciled when its reply arrives, so Unsubscribe+Subscribe races resolve
// to the last wish.
//
// Lifetime: destroy after Stop() or with `io` stopped.
#ifndef VENT_REDIS_SUBSCRIBER_H_
#define VENT_REDIS_SUBSCRIBER_H_

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "vent/redis/options.h"

namespace vent::redis {
namespace internal {
class SubscriberImpl;
}

class Subscriber {
 public:
  struct Handlers {
    // Every `message` push for a channel with refcount > 0. The payload is
    // allocated once and shared immutably.
    absl::AnyInvocable<void(const std::string& channel,
                            std::shared_ptr<const std::string> payload)>
        on_message;
    // true once connected AND every wanted channel is confirmed subscribed
    // (Cluster: and the slot map covers every slot); false when that stops
    // holding because a connection was lost, Redis dropped a subscription
    // (slot moved) or the cluster is unusable — not when a new channel
    // merely awaits its confirmation.
    absl::AnyInvocable<void(bool up)> on_state;
  };

  Subscriber(boost::asio::io_context& io, Options options, Handlers handlers);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  void Start();
  // Pending acks get CANCELLED; the connection closes; no reconnect.
  void Stop();

  // Refcounted: the first Subscribe of a channel sends SUBSCRIBE, later ones
  // only count. `on_ack` runs exactly once on the io thread: OK once Redis has
  // confirmed the channel (posted, never inline, if already confirmed);
  // CANCELLED on Stop() or if the channel's refcount drops to 0 before the
  // confirmation. While Redis is down it waits (callers apply a deadline).
  void Subscribe(const std::string& channel,
                 absl::AnyInvocable<void(absl::Status) &&> on_ack);
  // Decrements; UNSUBSCRIBE when it reaches 0. Unknown channel: no-op.
  void Unsubscribe(const std::string& channel);

  // Thread-safe: the last state reported through on_state (true = connected
  // and all channels confirmed).
  bool connected() const;
  // Why the last connect failed / the connection dropped (OK when none).
  absl::Status last_error() const;
  // Channels with refcount > 0 (io thread).
  size_t channel_count() const;

 private:
  std::shared_ptr<internal::SubscriberImpl> impl_;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_SUBSCRIBER_H_
