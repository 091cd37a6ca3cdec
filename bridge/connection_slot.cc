#include "bridge/connection_slot.h"

#include "bridge/ip_limiter.h"

namespace vent::bridge {

ConnectionSlot::~ConnectionSlot() {
  if (ctx_ == nullptr) return;
  ctx_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (!ip_.empty() && ctx_->ip_limiter != nullptr) {
    ctx_->ip_limiter->Release(ip_);
  }
}

}  // namespace vent::bridge
