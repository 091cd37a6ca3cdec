// WorkerPlacement: which worker a new connection goes to, with a worker
// count that follows the load (`--workers 0`, the default).
//
// Why: a worker that carries more connections writes more Vent frames per
// write(2) (everything queued since its last flush goes out at once), so one
// busy worker costs less CPU per delivery than the same connections spread
// over several half-busy ones (30-40% less on a 2-core machine; see
// BENCHMARKS.md). Extra workers pay off only once one worker cannot keep up.
//
// Rules (adaptive mode). `busy` is each worker's CPU time over the last
// sampling window divided by the window (0..1), fed by Sample():
//   - Start with one active worker (index 0). Workers [0, active) are active.
//   - Pick() hands new connections round-robin to the active workers that are
//     below `spill_busy`. When none is, it activates the next worker (if any)
//     and picks it; with every worker active and saturated it goes
//     round-robin over all of them.
//   - Sample() deactivates the highest active worker (never below one) once
//     every active worker has stayed below `shrink_busy` for `shrink_after`;
//     its connections stay where they are (connections never move), it only
//     stops receiving new ones until the load brings it back.
// Fixed mode (`--workers N`): all N workers are active for good and Pick()
// is plain round-robin, as before.
//
// Threading: owned by the acceptor's thread (no I/O, no locks); the busy
// fractions it reads are published by the workers through atomics elsewhere.
#ifndef VENT_BRIDGE_WORKER_PLACEMENT_H_
#define VENT_BRIDGE_WORKER_PLACEMENT_H_

#include <cstddef>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace vent::bridge {

class WorkerPlacement {
 public:
  struct Options {
    int workers = 1;
    bool adaptive = true;
    double spill_busy = 0.75;
    double shrink_busy = 0.25;
    absl::Duration shrink_after = absl::Seconds(60);
  };

  explicit WorkerPlacement(Options options);

  // The latest busy fraction of every worker (size == workers), at `now`.
  void Sample(absl::Time now, absl::Span<const double> busy);
  // The worker for the next connection (may activate one).
  int Pick();
  int active() const { return active_; }

 private:
  Options options_;
  int active_;
  std::vector<double> busy_;
  size_t next_ = 0;
  absl::Time quiet_since_ = absl::InfinitePast();  // all active below shrink
  bool quiet_ = false;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_WORKER_PLACEMENT_H_
