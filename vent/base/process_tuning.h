// Process-wide settings for Vent's long-running servers (vent-server,
// vent-bridge, vent-bench). Call once at the start of main(), before any
// thread starts. Tests do not call it (they keep absl's checks on).
#ifndef VENT_BASE_PROCESS_TUNING_H_
#define VENT_BASE_PROCESS_TUNING_H_

namespace vent::base {

// 1. glibc malloc: blocks up to 32 MiB stay in the heap instead of being
//    mmapped and unmapped on every use, and free heap is given back to the
//    kernel only past 64 MiB. Big per-connection and per-call buffers
//    (a lagging client's queue, gRPC's read buffers) otherwise fault in
//    fresh zeroed pages each time they grow: measured at ~20% of
//    vent-server's CPU under EmitStream, and in vent-bridge it turned a
//    short lag at 1M deliveries/s into a collapse (4-5 CPU-s per million
//    deliveries instead of 0.95, memmove + page faults). Skipped when
//    GLIBC_TUNABLES is set (the operator chose).
// 2. absl::Mutex deadlock detection off: Debian's absl is built without
//    NDEBUG, so every lock (ours and gRPC's) ran the detector (~6% of
//    vent-server's CPU under Emit load).
void TuneProcessForServing();

// Gives free heap pages back to the kernel (glibc malloc_trim). With the
// thresholds above, memory freed after a burst (e.g. slow clients' queues
// after an overload) otherwise stays in the process. Cheap when little is
// free; callers run it every few seconds from a timer. Any thread.
void ReleaseFreeMemory();

}  // namespace vent::base

#endif  // VENT_BASE_PROCESS_TUNING_H_
