#include "bridge/connection_slot.h"

#include "bridge/ip_limiter.h"
#include "vent/base/check.h"

namespace vent::bridge {

ConnectionSlot::~ConnectionSlot() {
  if (ctx_ == nullptr) return;
  const int64_t before =
      ctx_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  VENT_DCHECK(before > 0);  // one slot per counted accept
  if (!ip_.empty() && ctx_->ip_limiter != nullptr) {
    ctx_->ip_limiter->Release(ip_);
  }
}

}  // namespace vent::bridge
