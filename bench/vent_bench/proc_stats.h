// Linux process facts for the benchmark: the bridge's CPU time and resident
// memory from /proc, finding a local server's pid by its listening port, and
// raising this process's open-file limit.
//
// Thread-safe (reads /proc each call, no state).
#ifndef VENT_BENCH_VENT_BENCH_PROC_STATS_H_
#define VENT_BENCH_VENT_BENCH_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>

namespace vent::bench {

// utime + stime of `pid` in seconds; < 0 when unreadable.
double ProcessCpuSeconds(pid_t pid);
// VmRSS of `pid` in bytes; < 0 when unreadable.
int64_t ProcessRssBytes(pid_t pid);
// The pid of a process holding a TCP socket listening on `port` (IPv4/IPv6,
// any address); 0 when none is visible to us.
pid_t FindPidListeningOn(uint16_t port);
// User + system CPU seconds of this process (all threads).
double SelfCpuSeconds();
// Sets RLIMIT_NOFILE's soft limit to its hard limit; returns the new soft
// limit.
int64_t RaiseFileLimit();

}  // namespace vent::bench

#endif  // VENT_BENCH_VENT_BENCH_PROC_STATS_H_
