// One Vent subscription of one connection, as the worker's fan-out sees it.
// Owned by its WsConnection; registered in its Worker's channel registry from
// creation until the connection removes it. Worker-thread only.
#ifndef VENT_BRIDGE_SUBSCRIPTION_H_
#define VENT_BRIDGE_SUBSCRIPTION_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "vent/pub/catalog.h"

namespace vent::bridge {

class WsConnection;

struct Subscription {
  WsConnection* conn = nullptr;
  std::string id;  // DDP sub id
  const pub::Publication* pub = nullptr;
  // `{"msg":"changed","__vent":"1","id":"<rand>.<pub>","e":` — a Vent frame is
  // prefix + e + "}" (ddp-vent-wire.md §9.3, byte-exact).
  std::string prefix;
  std::string
      sockjs_prefix;  // prefix escaped for a SockJS string (SockJS only)
  std::vector<std::string> channels;  // distinct
  size_t acked = 0;                   // channels confirmed by Redis
  bool ready = false;                 // `ready` sent; events flow only after it
  bool registered = false;  // in the worker's registry (after authorization)
  uint64_t generation = 0;  // tells a re-subscribed id from its earlier self
  absl::Time deadline;      // nosub 503 if not ready by then
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_SUBSCRIPTION_H_
