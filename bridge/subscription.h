// One Vent subscription of one connection, as the fan-out sees it, and the
// two interfaces through which the fan-out reaches the connection.
//
// Ownership: a Subscription is owned by its connection's DdpHost (one per DDP
// sub id at a time) and is in its worker's ChannelRegistry exactly while
// `registered` is true. Worker-thread only. See docs/architecture.md.
#ifndef VENT_BRIDGE_SUBSCRIPTION_H_
#define VENT_BRIDGE_SUBSCRIPTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "vent/pub/catalog.h"

namespace vent::bridge {

struct Subscription;

// A publication's payload for one Redis message, computed once per message
// and shared by every subscription of that publication in the pass.
struct Transformed {
  const pub::Publication* pub = nullptr;
  std::optional<std::string> e;  // nullopt = not sent
  std::string sockjs_e;          // `e` escaped for a SockJS string, lazily
  bool sockjs_ready = false;
  // permessage-deflate: `e` as a DEFLATE segment (vent/ws/deflate.h),
  // computed once for every subscriber that negotiated compression.
  // 0 = not tried yet, 1 = in deflated_e, -1 = not worth it (no smaller).
  int8_t deflate_state = 0;
  std::string deflated_e;
  // The Redis channel the message came on, and, for a history publish
  // (vent/redis/history.h envelope), its offset (> 0) and epoch: the frame
  // then carries ,"h":[channel index, offset, "epoch"] after `e`.
  absl::string_view channel;
  int64_t offset = 0;
  std::string epoch;
};

// Where a subscription's Vent frames go: its connection's output queue.
class VentSink {
 public:
  virtual ~VentSink() = default;
  // Appends one Vent frame for `sub`. Never writes to a socket, never closes
  // and never changes any registry (it runs inside a fan-out pass).
  virtual void QueueVent(const Subscription& sub, Transformed& t) = 0;
};

// The owner of a subscription's life (the connection's DdpHost). Called by
// the ChannelRegistry; implementations must not add or remove registry
// entries from inside these calls.
class SubscriptionOwner {
 public:
  virtual ~SubscriptionOwner() = default;
  // Every channel of `sub` is confirmed by Redis (and Redis is up).
  virtual void OnSubscriptionAcked(Subscription& sub) = 0;
  // Redis was lost and every channel of this ready `sub` is subscribed again:
  // events published in between may have been missed.
  virtual void OnSubscriptionGap(Subscription& sub) = 0;
  // A live event for `sub` while it is `capturing` (recovering history
  // before its `ready`); the owner buffers it.
  virtual void OnCapture(Subscription& /*sub*/, const Transformed& /*t*/) {}
};

// A history publication's recovery in progress (owned by DdpHost;
// defined in ddp_host_history.cc).
struct Recovery;
struct RecoveryDeleter {
  void operator()(Recovery* r) const;
};

struct Subscription {
  SubscriptionOwner* owner = nullptr;
  VentSink* sink = nullptr;
  std::string id;       // DDP sub id
  uint64_t generation;  // unique per connection: tells an id's lives apart
  const pub::Publication* pub = nullptr;
  // A Vent frame is prefix + e + suffix (docs/protocol.md, byte-exact):
  //  delivery vent: `{"msg":"changed","__vent":"1","id":"<rand>.<pub>","e":`
  //    and "}";
  //  delivery collection: `{"msg":"changed","collection":"__vent.<rand>.<pub>",
  //    "id":"i","fields":{"e":` and "}}".
  std::string prefix;
  std::string sockjs_prefix;  // prefix escaped for a SockJS string
  // permessage-deflate: `prefix` as a DEFLATE segment, filled by the
  // connection's OutputQueue at its first compressed Vent frame.
  mutable std::string deflated_prefix;
  absl::string_view suffix = "}";  // static storage
  // Delivery collection: the client holds document "i" of this sub id's
  // collection (`added` sent, no `removed` since). Carried across re-runs.
  bool doc_added = false;
  std::vector<std::string> channels;  // distinct
  size_t acked = 0;         // channels confirmed by Redis (registry-owned)
  bool ready = false;       // `ready` sent; events flow only after it
  bool registered = false;  // in the worker's ChannelRegistry
  absl::Time deadline;      // nosub 503 if not ready by then
  // History publications: recovery runs between "every channel confirmed"
  // and `ready`; live events meanwhile go to OnCapture.
  bool capturing = false;
  std::unique_ptr<Recovery, RecoveryDeleter> recovery;
  // History publications, once ready: per channel (index as `channels`),
  // the epoch and offset of the last event sent. The fan-out drops a live
  // event at or below it (same epoch): one that reached the client through
  // the recovery read while still in flight on the pub/sub connection.
  std::vector<std::string> sent_epoch;
  std::vector<int64_t> sent_offset;
  bool since_given = false;  // the sub carried a position (any publication)
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_SUBSCRIPTION_H_
