// The `fanout` and `idle` scenarios of vent-bench.
//
// RunFanout: connects `clients` DDP clients (over `threads` io threads, at
// most `max_handshakes` handshakes in flight) subscribed round-robin to
// `channels` channels (client i listens on channel "c<i % channels>" through
// publication `bench`), waits until all settled, then publishes events of
// `size` bytes through Redis directly (or gRPC Emit) at `rate` events/s in
// total (0: as fast as Redis answers, at most `max_inflight` unanswered),
// round-robin over the channels, for `duration`; then waits for the tail to
// drain and reports. Each event is
// {"vb":[steady_clock_ns,seq_in_channel],"p":"xx.."}.
//
// RunIdle: connects and subscribes the same way, measures the bridge's RSS
// before and after, holds the connections for `duration` (answering pings)
// and reports memory per connection and how many connections were lost.
//
// Both block the caller and print a progress line to stderr every second.
#ifndef VENT_BENCH_VENT_BENCH_RUNNER_H_
#define VENT_BENCH_VENT_BENCH_RUNNER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vent/redis/flags.h"

namespace vent::bench {

struct BenchOptions {
  std::string url = "ws://127.0.0.1:3000/websocket";
  std::string redis = "redis://127.0.0.1:6379";
  // --redis-pubsub etc. (vent/redis/flags.h): e.g. sharded on a Cluster.
  redis::TopologyFlags redis_topology;
  // fanout: "redis" (PUBLISH directly) or "grpc" (unary Emit to vent-server at
  // `grpc`, `api_key` as Bearer token when set).
  std::string via = "redis";
  std::string grpc = "127.0.0.1:50051";
  std::string api_key;
  int64_t clients = 1000;
  int64_t channels = 1;
  int64_t rate = 1000;  // events/s in total; 0 = unpaced
  int64_t size = 200;   // bytes of event JSON
  absl::Duration duration = absl::Seconds(10);
  int64_t threads = 1;
  std::vector<std::string> source_addrs;
  int64_t connections_per_source = 28000;
  int64_t bridge_pid = 0;  // 0: find by the URL's port (local bridges only)
  int64_t max_handshakes = 256;
  int64_t max_inflight = 2000;
  absl::Duration connect_timeout = absl::Seconds(60);
  // After publishing: wait at most this long for the tail (also stops after
  // 2 s without progress). Events not received by then count as lost.
  absl::Duration drain_timeout = absl::Seconds(15);
  std::string label;
};

struct RunResult {
  std::string mode;
  std::string label;
  BenchOptions options;
  pid_t bridge_pid = 0;
  double connect_seconds = 0;
  int64_t ready = 0, failed = 0, dropped = 0, nosub = 0;
  std::string first_error;
  // fanout
  int64_t published = 0, publish_errors = 0;
  double publish_seconds = 0;  // publish start until the tail drained
  double publish_phase_seconds = 0;
  int64_t expected = 0, delivered = 0, lost = 0, duplicates = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double bridge_cpu_seconds = -1;
  double bridge_cpu_per_million = -1;
  double bench_cpu_seconds = -1;  // this load generator, same window
  // idle
  int64_t rss_before = -1, rss_after = -1;
  double bytes_per_connection = -1;

  double published_per_s() const {
    return publish_phase_seconds > 0 ? published / publish_phase_seconds : 0;
  }
  double delivered_per_s() const {
    return publish_seconds > 0 ? delivered / publish_seconds : 0;
  }
};

absl::StatusOr<RunResult> RunFanout(const BenchOptions& options);
absl::StatusOr<RunResult> RunIdle(const BenchOptions& options);

}  // namespace vent::bench

#endif  // VENT_BENCH_VENT_BENCH_RUNNER_H_
