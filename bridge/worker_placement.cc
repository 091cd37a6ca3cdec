#include "bridge/worker_placement.h"

#include <algorithm>

namespace vent::bridge {

WorkerPlacement::WorkerPlacement(Options options)
    : options_(options),
      active_(options.adaptive ? 1 : std::max(1, options.workers)),
      busy_(static_cast<size_t>(std::max(1, options.workers)), 0.0) {
  options_.workers = std::max(1, options_.workers);
}

void WorkerPlacement::Sample(absl::Time now, absl::Span<const double> busy) {
  for (size_t i = 0; i < busy_.size() && i < busy.size(); ++i)
    busy_[i] = busy[i];
  if (!options_.adaptive) return;
  bool quiet = true;
  for (int i = 0; i < active_; ++i) {
    if (busy_[i] >= options_.shrink_busy) quiet = false;
  }
  if (!quiet) {
    quiet_ = false;
    return;
  }
  if (!quiet_) {
    quiet_ = true;
    quiet_since_ = now;
    return;
  }
  if (active_ > 1 && now - quiet_since_ >= options_.shrink_after) {
    --active_;
    quiet_since_ = now;  // one step per shrink_after
  }
}

int WorkerPlacement::Pick() {
  const int n = options_.adaptive ? active_ : options_.workers;
  if (options_.adaptive) {
    for (int tried = 0; tried < n; ++tried) {
      int w = static_cast<int>(next_++ % static_cast<size_t>(n));
      if (busy_[w] < options_.spill_busy) return w;
    }
    if (active_ < options_.workers) {
      quiet_ = false;
      return active_++;
    }
  }
  return static_cast<int>(next_++ % static_cast<size_t>(options_.workers));
}

}  // namespace vent::bridge
