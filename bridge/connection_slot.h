// ConnectionSlot: one accepted socket's share of --max-connections (and of
// its client IP's --max-connections-per-ip when `ip` is set), released when
// the slot is destroyed. Moves with the socket from the listener to the HTTP
// session to the WebSocket connection. Any thread (the counters are atomic).
#ifndef VENT_BRIDGE_CONNECTION_SLOT_H_
#define VENT_BRIDGE_CONNECTION_SLOT_H_

#include <string>
#include <utility>

#include "bridge/context.h"

namespace vent::bridge {

class ConnectionSlot {
 public:
  ConnectionSlot(BridgeContext* ctx, std::string ip)
      : ctx_(ctx), ip_(std::move(ip)) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept
      : ctx_(o.ctx_), ip_(std::move(o.ip_)) {
    o.ctx_ = nullptr;
  }
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot();
  const std::string& ip() const { return ip_; }

 private:
  BridgeContext* ctx_;
  std::string ip_;  // empty: no per-IP slot held
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_CONNECTION_SLOT_H_
