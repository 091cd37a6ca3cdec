#include "server/service.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/emit_stream.h"
#include "server/status.h"
#include "server/subscribe_reactor.h"

namespace vent::server {
namespace {

// Completes a unary call once: counts it and hands the status to gRPC.
void FinishUnary(Emitter* emitter, Rpc rpc, grpc::ServerUnaryReactor* reactor,
                 const absl::Status& s) {
  grpc::Status gs = ToGrpcStatus(s);
  emitter->metrics().CountCall(rpc, gs.error_code());
  reactor->Finish(gs);
}

// Collects the outcomes of one EmitBatch; the last one finishes the call.
class BatchState {
 public:
  BatchState(Emitter* emitter, grpc::ServerUnaryReactor* reactor,
             v1::EmitBatchResponse* response, size_t n)
      : emitter_(emitter), reactor_(reactor), response_(response), remaining_(n), total_(n) {}

  // Called once per index, from any thread.
  void Done(size_t index, Emitter::Outcome o) {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      if (o.status.ok()) {
        FillResponse(o, response_->mutable_results(static_cast<int>(index)));
        if (!o.duplicate) ++published_;
      } else if (error_index_ < 0 || static_cast<int64_t>(index) < error_index_) {
        error_index_ = static_cast<int64_t>(index);
        error_ = o.status;
      }
      last = --remaining_ == 0;
    }
    if (!last) return;
    absl::Status s;
    if (error_index_ >= 0) {
      s = absl::Status(error_.code(),
                       absl::StrCat("events[", error_index_, "]: ", error_.message(), " (",
                                    published_, " of ", total_, " events were published)"));
    }
    FinishUnary(emitter_, Rpc::kEmitBatch, reactor_, s);
  }

 private:
  Emitter* const emitter_;
  grpc::ServerUnaryReactor* const reactor_;
  v1::EmitBatchResponse* const response_;
  absl::Mutex mu_;
  size_t remaining_ ABSL_GUARDED_BY(mu_);
  const size_t total_;
  size_t published_ = 0;
  int64_t error_index_ = -1;
  absl::Status error_;
};

}  // namespace

VentService::VentService(ServiceOptions options, Emitter* emitter, SubscriptionHub* hub)
    : options_(options), emitter_(emitter), hub_(hub) {}

grpc::ServerUnaryReactor* VentService::Emit(grpc::CallbackServerContext* ctx,
                                            const v1::EmitRequest* request,
                                            v1::EmitResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto who = emitter_->Authenticate(ctx);
  if (!who.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, who.status());
    return reactor;
  }
  auto prepared = emitter_->Prepare(request->event(), *who, "event");
  if (!prepared.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, prepared.status());
    return reactor;
  }
  if (absl::Status s = emitter_->Reserve(1); !s.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, s);
    return reactor;
  }
  emitter_->Publish(std::move(*prepared),
                    [emitter = emitter_, reactor, response](Emitter::Outcome o) {
                      if (o.status.ok()) FillResponse(o, response);
                      FinishUnary(emitter, Rpc::kEmit, reactor, o.status);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* VentService::EmitBatch(grpc::CallbackServerContext* ctx,
                                                 const v1::EmitBatchRequest* request,
                                                 v1::EmitBatchResponse* response) {
  auto* reactor = ctx->DefaultReactor();
  auto fail = [&](const absl::Status& s) {
    FinishUnary(emitter_, Rpc::kEmitBatch, reactor, s);
    return reactor;
  };
  auto who = emitter_->Authenticate(ctx);
  if (!who.ok()) return fail(who.status());
  const size_t n = static_cast<size_t>(request->events_size());
  if (n == 0) return fail(absl::InvalidArgumentError("events: empty batch"));
  if (n > options_.max_batch) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "events: ", n, " events is over the ", options_.max_batch,
        "-event limit (--max-batch)")));
  }
  std::vector<Emitter::Prepared> prepared;
  prepared.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto p = emitter_->Prepare(request->events(static_cast<int>(i)), *who,
                               absl::StrCat("events[", i, "]"));
    if (!p.ok()) return fail(p.status());
    prepared.push_back(std::move(*p));
  }
  if (absl::Status s = emitter_->Reserve(static_cast<int64_t>(n)); !s.ok()) return fail(s);
  for (size_t i = 0; i < n; ++i) response->add_results();
  auto state = std::make_shared<BatchState>(emitter_, reactor, response, n);
  // Published back to back: the publisher coalesces them into one pipelined write.
  for (size_t i = 0; i < n; ++i) {
    emitter_->Publish(std::move(prepared[i]), [state, i](Emitter::Outcome o) {
      state->Done(i, std::move(o));
    });
  }
  return reactor;
}

grpc::ServerReadReactor<v1::EmitRequest>* VentService::EmitStream(
    grpc::CallbackServerContext* ctx, v1::EmitStreamResponse* response) {
  return new EmitStreamReactor(ctx, response, emitter_, options_.stream_window);
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* VentService::Subscribe(
    grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) {
  return SubscribeReactor::Start(ctx, request, emitter_, hub_,
                                 {options_.max_subscribe_channels, options_.subscribe_queue});
}

}  // namespace vent::server
