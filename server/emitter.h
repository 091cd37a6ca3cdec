// The shared core of the Emit RPCs: authentication, validation, the global
// in-flight limit, idempotency keys, publishing through an EventSink and the
// emit metrics. The reactors in service.cc / emit_stream.cc only sequence
// calls to it.
//
// Thread-safety: all methods are thread-safe. Emitter does not own the sink,
// keys or metrics; they must outlive it.
#ifndef VENT_SERVER_EMITTER_H_
#define VENT_SERVER_EMITTER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "server/auth.h"
#include "server/idempotency.h"
#include "server/log_limiter.h"
#include "server/server_metrics.h"
#include "server/sinks.h"
#include "vent/event/event.h"
#include "vent/v1/vent.pb.h"

namespace vent::server {

struct EmitterOptions {
  event::Limits limits;
  int64_t max_inflight = 10000;  // --max-inflight
  absl::Duration idempotency_window = absl::Minutes(5);
  size_t idempotency_max_keys = 100000;
};

class Emitter {
 public:
  Emitter(EmitterOptions options, EventSink* sink, const ApiKeys* keys,
          ServerMetrics* metrics, IdempotencyCache::Clock clock = nullptr);
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  // The caller's principal from the call's `authorization` metadata (nullptr
  // when keys are off); UNAUTHENTICATED otherwise (counted), also when the
  // call carries more than one `authorization` header (ambiguous: refused
  // rather than picking one).
  absl::StatusOr<const Principal*> Authenticate(
      const grpc::CallbackServerContext* ctx) const;
  // The same from the values of every `authorization` header of a request
  // (HTTP).
  absl::StatusOr<const Principal*> AuthenticateValues(
      const std::vector<absl::string_view>& values) const;
  // Parses a raw request (request_codec.h) with the JSON depth limit;
  // INVALID_ARGUMENT naming the field on failure, counted in
  // vent_malformed_requests_total{rpc} and logged at most once per 10 s.
  // `index_base`: see ParseOptions.
  absl::Status ParseRequest(Rpc rpc, const grpc::ByteBuffer& request,
                            google::protobuf::Message* msg,
                            const grpc::CallbackServerContext* ctx,
                            int64_t index_base = 0) const;
  // Counts a malformed request and logs it (at most once per 10 s).
  void ReportMalformed(Rpc rpc, const absl::Status& s,
                       absl::string_view peer) const;
  // PERMISSION_DENIED naming the channel when `who` may not use it (counted).
  absl::Status CheckScope(const Principal* who, absl::string_view channel,
                          absl::string_view where) const;

  // A validated, authorized event ready to publish. `who` (null without API
  // keys) scopes its idempotency key.
  struct Prepared {
    event::RedisMessage message;
    std::string id;
    std::string idempotency_key;
    const Principal* who = nullptr;
  };
  // Validates `ev` (INVALID_ARGUMENT prefixed with `where`), checks scope, and
  // assigns an id. Moves the strings out of `ev`.
  absl::StatusOr<Prepared> Prepare(v1::Event&& ev, const Principal* who,
                                   absl::string_view where) const;
  // Prepare for element `index` of a list: errors are prefixed
  // "<list>[<index>]", built only on failure. Without `assign_id` the id stays
  // empty unless the event has an idempotency key (EmitStream returns no ids).
  absl::StatusOr<Prepared> PrepareAt(v1::Event&& ev, const Principal* who,
                                     absl::string_view list, int64_t index,
                                     bool assign_id = true) const;

  // Reserves `n` in-flight publishes: RESOURCE_EXHAUSTED when the total would
  // pass max_inflight. Every reserved slot is released by Publish's completion.
  absl::Status Reserve(int64_t n);
  // Returns slots reserved but not handed to Publish.
  void Unreserve(int64_t n);

  struct Outcome {
    absl::Status status;
    int64_t receivers = 0;
    std::string id;
    bool duplicate = false;
  };
  using Done = absl::AnyInvocable<void(Outcome) &&>;
  // Publishes one prepared event, consuming one reserved slot. A repeated
  // idempotency key (same API key and channel) completes at once with
  // duplicate=true and the first id. Redis down -> UNAVAILABLE without
  // queueing. A failure that may have published (MayHavePublished) keeps the
  // key's claim, so a retry with it is a duplicate; any other failure
  // releases it. `done` runs exactly once, on the sink's thread or inline.
  void Publish(Prepared p, Done done);
  using BatchDone = absl::AnyInvocable<void(std::vector<Outcome>) &&>;
  // Publishes `ps` in order, consuming ps.size() reserved slots, and calls
  // `done` once with one Outcome per event (same meaning as Publish's), on
  // the sink's thread or inline. Unkeyed events go to the sink as one batch
  // (one pipelined write, one completion); a batch with idempotency keys is
  // published event by event.
  void PublishBatch(std::vector<Prepared> ps, BatchDone done);

  int64_t inflight() const { return inflight_.load(std::memory_order_relaxed); }
  bool connected() const { return sink_->connected(); }
  ServerMetrics& metrics() const { return *metrics_; }
  const EmitterOptions& options() const { return options_; }

 private:
  void Finished(int64_t n);

  const EmitterOptions options_;
  EventSink* const sink_;
  const ApiKeys* const keys_;
  ServerMetrics* const metrics_;
  IdempotencyCache idempotency_;
  std::atomic<int64_t> inflight_{0};
  mutable LogLimiter malformed_log_{absl::Seconds(10)};
};

// Fills a reply from an Outcome.
void FillResponse(const Emitter::Outcome& o, v1::EmitResponse* resp);

// The status of a batch call from its outcomes: OK, or the first failure as
// "events[i]: <why> (P of N events were published[; M more may have been
// published])", DEADLINE_EXCEEDED when any may have been published.
absl::Status BatchStatus(const std::vector<Emitter::Outcome>& outcomes);

// False when a failed publish certainly did not reach Redis (UNAVAILABLE,
// RESOURCE_EXHAUSTED, a Redis -ERR reply, a refused request); true for
// DEADLINE_EXCEEDED and any other code whose outcome is unknown. OK -> true.
bool MayHavePublished(const absl::Status& s);

}  // namespace vent::server

#endif  // VENT_SERVER_EMITTER_H_
