// Subscribe: a server-streaming call fed by the SubscriptionHub.
//
// The request is parsed from raw bytes (request_codec.h), so a malformed one
// is answered INVALID_ARGUMENT. The call counts against --max-subscribers
// (SubscribeBudget). The first message is {ready: true}, written once Redis
// acknowledged every channel. Events arrive already serialized and shared
// between calls (SharedEvent); each call queues references, bounded by
// SubscribeQueue (events and bytes per call, bytes across calls) and written
// one at a time. A client that reads too slowly passes a bound and the call
// ends with RESOURCE_EXHAUSTED (events are never skipped: a call either gets
// every event in order or ends). Redis loss ends it with UNAVAILABLE; client
// cancel with CANCELLED; server shutdown with UNAVAILABLE. Every ending
// removes the call from the hub (releasing its channel refcounts).
//
// History channels (docs/history.md): when a channel keeps history or the
// request has `since`, a SubscribeHistory runs the recovery: once Redis
// acknowledged every channel the reactor reads the histories (through the
// hub), live events are captured meanwhile, then ready (with `starts`) is
// written, the replay and the captured events queued, and later live events
// on history channels are admitted only after the last position sent.
//
// Threading: hub callbacks run on the io thread, gRPC callbacks on gRPC
// threads; they meet under mu_. StartWrite is called under mu_ (gRPC never
// runs a write completion inline); Finish is called at most once.
// Lifetime: created by Start; after OnDone it asks the hub to remove it and
// the hub deletes it on the io thread (so no hub callback can outlive it).
#ifndef VENT_SERVER_SUBSCRIBE_REACTOR_H_
#define VENT_SERVER_SUBSCRIBE_REACTOR_H_

#include <cstddef>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/emitter.h"
#include "server/subscribe_history.h"
#include "server/subscribe_queue.h"
#include "server/subscription_hub.h"
#include "vent/v1/vent.pb.h"

namespace vent::server {

class SubscribeReactor final
    : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
      public SubscriptionHub::Listener {
 public:
  struct Limits {
    size_t max_channels = 256;
    SubscribeQueue::Limits queue;
  };
  static SubscribeReactor* Start(grpc::CallbackServerContext* ctx,
                                 const grpc::ByteBuffer* request,
                                 Emitter* emitter, SubscriptionHub* hub,
                                 SubscribeBudget* budget, Limits limits);

  // SubscriptionHub::Listener (io thread).
  void OnReady() override;
  void OnEvent(const std::shared_ptr<const SharedEvent>& e) override;
  void OnClosed(absl::Status why) override;
  void OnHistory(size_t index,
                 absl::StatusOr<redis::HistoryState> state) override;
  Backlog backlog() override;

  // grpc::ServerWriteReactor.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  SubscribeReactor(Emitter* emitter, SubscriptionHub* hub,
                   SubscribeBudget* budget, Limits limits);
  // Authenticates, parses and validates; the channels on success (and
  // history_ when the call needs it).
  absl::StatusOr<std::vector<std::string>> Validate(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& request);
  absl::Status PrepareHistory(const std::vector<std::string>& channels,
                              const v1::SubscribeRequest& req);
  // The histories are read (or none had to be): ready, replay, captured.
  // Returns the status to finish the call with, OK to go on.
  absl::Status FinishHistoryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the call finished; the caller then calls FinishNow(status) unlocked.
  bool BeginFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishNow(const absl::Status& s);

  Emitter* const emitter_;
  SubscriptionHub* const hub_;
  SubscribeBudget* const budget_;
  const Limits limits_;
  bool counted_ = false;     // counted in budget_ (set before any callback)
  bool registered_ = false;  // added to the hub (set before any callback)

  absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_event_ ABSL_GUARDED_BY(mu_) = false;  // not the ready message
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  SubscribeQueue queue_ ABSL_GUARDED_BY(mu_);
  // Null when no channel keeps history and no `since` was given.
  std::unique_ptr<SubscribeHistory> history_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer ready_bytes_ ABSL_GUARDED_BY(mu_);  // EncodeReady() if empty
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);      // being written
};

}  // namespace vent::server

#endif  // VENT_SERVER_SUBSCRIBE_REACTOR_H_
