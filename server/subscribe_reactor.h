// Subscribe: a server-streaming call fed by the SubscriptionHub.
//
// The first message is {ready: true}, written once Redis acknowledged every
// channel. Events are queued per call (at most `queue_limit`) and written one
// at a time; a client that reads too slowly overflows the queue and the call
// ends with RESOURCE_EXHAUSTED. Redis loss ends it with UNAVAILABLE; client
// cancel ends it with CANCELLED. Every ending removes the call from the hub
// (releasing its channel refcounts).
//
// Threading: hub callbacks run on the io thread, gRPC callbacks on gRPC
// threads; they meet under mu_. StartWrite is called under mu_ (gRPC never
// runs a write completion inline); Finish is called at most once.
// Lifetime: created by Start; after OnDone it asks the hub to remove it and
// the hub deletes it on the io thread (so no hub callback can outlive it).
#ifndef VENT_SERVER_SUBSCRIBE_REACTOR_H_
#define VENT_SERVER_SUBSCRIBE_REACTOR_H_

#include <cstddef>
#include <deque>

#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "server/emitter.h"
#include "server/subscription_hub.h"
#include "vent/v1/vent.pb.h"

namespace vent::server {

class SubscribeReactor final
    : public grpc::ServerWriteReactor<v1::SubscribeResponse>,
      public SubscriptionHub::Listener {
 public:
  struct Limits {
    size_t max_channels = 256;
    size_t queue_limit = 1024;
  };
  static SubscribeReactor* Start(grpc::CallbackServerContext* ctx,
                                 const v1::SubscribeRequest* request,
                                 Emitter* emitter, SubscriptionHub* hub,
                                 Limits limits);

  // SubscriptionHub::Listener (io thread).
  void OnReady() override;
  void OnEvent(const event::ReceivedEvent& e, absl::Time received) override;
  void OnClosed(absl::Status why) override;

  // grpc::ServerWriteReactor.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  SubscribeReactor(Emitter* emitter, SubscriptionHub* hub, Limits limits);
  absl::Status Validate(grpc::CallbackServerContext* ctx,
                        const v1::SubscribeRequest& req);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the call finished; the caller then calls FinishNow(status) unlocked.
  bool BeginFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishNow(const absl::Status& s);

  Emitter* const emitter_;
  SubscriptionHub* const hub_;
  const Limits limits_;
  bool registered_ = false;  // added to the hub (set before any callback)

  absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::SubscribeResponse> queue_ ABSL_GUARDED_BY(mu_);
  v1::SubscribeResponse current_ ABSL_GUARDED_BY(mu_);  // being written
};

}  // namespace vent::server

#endif  // VENT_SERVER_SUBSCRIBE_REACTOR_H_
