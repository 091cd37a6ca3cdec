// Load generators for the vent.v1.Vent emit RPCs, used by vent-emit-bench.
//
// RunLoad() drives one scenario against a connected channel until either
// `max_events` events have been accepted or `max_duration` has passed, and
// reports what the server confirmed:
//   kUnary  `concurrency` Emit calls kept in flight (gRPC callback API);
//   kBatch  `concurrency` EmitBatch calls of `batch_size` events in flight;
//   kStream `concurrency` EmitStream calls of `batch_size` events per message,
//           one writer thread each; an event
//           counts once the final reply's `published` covers it.
// The first failed call stops the scenario (no new calls are started); the
// result carries the error count and the first error's message.
//
// Thread-safety: RunLoad blocks the caller; it may be called repeatedly but
// not concurrently on the same LoadSpec::progress counter.
#ifndef VENT_BENCH_EMIT_EMIT_LOAD_H_
#define VENT_BENCH_EMIT_EMIT_LOAD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "vent/v1/vent.grpc.pb.h"

namespace vent::bench {

enum class LoadKind { kUnary, kBatch, kStream };

struct LoadSpec {
  std::string name;
  LoadKind kind = LoadKind::kUnary;
  int concurrency = 1;
  int batch_size = 1;  // events per EmitBatch call / per EmitStream message
  int64_t max_events = 100000;
  absl::Duration max_duration = absl::Seconds(10);
  std::string channel = "bench::emit";
  std::string json = "{}";
  std::string api_key;  // sent as `authorization: Bearer KEY` when set
  // Incremented as events are confirmed; read by a progress printer.
  std::atomic<int64_t>* progress = nullptr;
};

struct LoadResult {
  int64_t events = 0;  // events the server confirmed as published
  double seconds = 0;  // wall time from first call to last reply
  int64_t calls = 0;   // successful RPCs
  int64_t errors = 0;  // failed RPCs
  std::string first_error;
  // Per-call latency (unary/batch; 0 for streams), microseconds.
  double p50_us = 0;
  double p99_us = 0;
  double EventsPerSecond() const { return seconds > 0 ? events / seconds : 0; }
};

LoadResult RunLoad(const std::shared_ptr<grpc::Channel>& channel,
                   const LoadSpec& spec);

}  // namespace vent::bench

#endif  // VENT_BENCH_EMIT_EMIT_LOAD_H_
