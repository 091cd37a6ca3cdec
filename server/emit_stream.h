// EmitStream: client-streaming emit with flow control.
//
// Each stream message (EmitStreamRequest) carries a batch of events, handed
// to the Emitter as one PublishBatch (one pipelined write, one completion);
// an old-style EmitRequest message decodes as a batch of one. Events are
// numbered across the whole stream for error messages. At most `window`
// events of one call are in flight (a larger message is let through alone);
// the next StartRead is issued only while under it, so a fast client is
// slowed by gRPC's own flow control instead of growing a buffer here. The reply
// (published, receivers) is sent after the client half-closed and every publish
// was answered. The first bad event or failed publish stops reading; the call
// ends with that error once the in-flight publishes are answered, and the
// message says how many events were published.
//
// Lifetime: gRPC owns the reactor; it deletes itself in OnDone, which can only
// come after Finish. Finish is called with no publish in flight and as the
// last action of the last thread inside the reactor (active_ == 0), so no
// thread touches the reactor after it.
// Thread-safety: read completions (gRPC threads) and publish completions (io
// thread) meet under mu_.
#ifndef VENT_SERVER_EMIT_STREAM_H_
#define VENT_SERVER_EMIT_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "server/emitter.h"
#include "vent/v1/vent.pb.h"

namespace vent::server {

class EmitStreamRegistry;

class EmitStreamReactor final
    : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  struct Options {
    size_t window = 1024;        // events in flight per call
    size_t max_message = 10000;  // events per message (--max-batch)
  };
  // Registers with `registry` (which must outlive the call) until OnDone.
  EmitStreamReactor(grpc::CallbackServerContext* ctx,
                    grpc::ByteBuffer* response, Emitter* emitter,
                    EmitStreamRegistry* registry, Options options);

  void OnReadDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  // Thread-safe: stops reading; the call ends with `why` once its publishes
  // in flight are answered (shutdown). Only until OnDone (the service keeps
  // a registry under a lock that OnDone also takes).
  void Stop(absl::Status why);

 private:
  void OnPublished(std::vector<Emitter::Outcome> outcomes);
  // Handles one read message (publishes its events). Called with mu_ held and
  // active_ counted; returns with mu_ held.
  void HandleMessageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Publishes pending_ when --max-inflight has room. When it has not and
  // this call has events in flight, sets waiting_ (no reads; OnPublished
  // retries); with none in flight the call fails with RESOURCE_EXHAUSTED.
  // Then applies pending_bad_. May unlock mu_ while handing the batch over.
  void DispatchPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stops reading and records the call's error (the first one wins).
  void FailLocked(absl::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True (and a StartRead is due) when reading may continue.
  bool ShouldReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Every entry point ends here: drops this thread's activity count, and when
  // it was the last one and the call is complete, calls Finish. Must be the
  // last use of `this` by the caller.
  void Leave() ABSL_UNLOCK_FUNCTION(mu_);

  grpc::CallbackServerContext* const ctx_;
  grpc::ByteBuffer* const response_;
  Emitter* const emitter_;
  EmitStreamRegistry* const registry_;
  const size_t window_;
  const size_t max_message_;
  const Principal* who_ = nullptr;
  grpc::ByteBuffer request_;  // the read buffer (parsed by the reader)

  absl::Mutex mu_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;  // a StartRead is outstanding
  bool read_closed_ ABSL_GUARDED_BY(mu_) =
      false;  // half-close, error or cancel
  bool publishing_ ABSL_GUARDED_BY(mu_) =
      false;  // a batch is being handed to Publish
  bool waiting_ ABSL_GUARDED_BY(mu_) =
      false;  // pending_ waits for --max-inflight room
  // The read message's valid events not yet published, the stream index of
  // its first event, and the error of its first invalid event (if any).
  std::vector<Emitter::Prepared> pending_ ABSL_GUARDED_BY(mu_);
  int64_t pending_first_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status pending_bad_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;  // threads inside a method of this

  size_t inflight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t published_ ABSL_GUARDED_BY(mu_) = 0;
  // Failed publishes that may have reached Redis (MayHavePublished).
  int64_t maybe_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t receivers_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// The open EmitStream calls, so a shutdown can end them. Thread-safe.
// gRPC never runs OnDone inline from Finish (its finish tag is not
// inlineable), so Stop may be called under the registry's lock while OnDone
// waits for it to Remove.
class EmitStreamRegistry {
 public:
  // Returns the status a new call must end with at once (set by StopAll), or
  // OK.
  absl::Status Add(EmitStreamReactor* r);
  void Remove(EmitStreamReactor* r);
  // Stops every open call with `why`; later Adds get `why` too.
  void StopAll(absl::Status why);

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<EmitStreamReactor*> open_ ABSL_GUARDED_BY(mu_);
  absl::Status stopped_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vent::server

#endif  // VENT_SERVER_EMIT_STREAM_H_
