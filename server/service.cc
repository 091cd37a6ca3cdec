#include "server/service.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/emit_stream.h"
#include "server/request_codec.h"
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

// Fills an EmitBatch reply from the outcomes and returns the call's status
// (BatchStatus).
absl::Status BatchResult(std::vector<Emitter::Outcome>& outcomes,
                         v1::EmitBatchResponse* response) {
  auto* results = response->mutable_results();
  results->Reserve(static_cast<int>(outcomes.size()));
  for (const Emitter::Outcome& o : outcomes) {
    v1::EmitResponse* r = results->Add();
    if (o.status.ok()) FillResponse(o, r);
  }
  return BatchStatus(outcomes);
}

}  // namespace

VentService::VentService(ServiceOptions options, Emitter* emitter,
                         SubscriptionHub* hub, SubscribeBudget* budget)
    : options_(options), emitter_(emitter), hub_(hub), budget_(budget) {}

grpc::ServerUnaryReactor* VentService::Emit(grpc::CallbackServerContext* ctx,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) {
  auto* reactor = ctx->DefaultReactor();
  auto who = emitter_->Authenticate(ctx);
  if (!who.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, who.status());
    return reactor;
  }
  v1::EmitRequest req;
  if (absl::Status s = emitter_->ParseRequest(Rpc::kEmit, *request, &req, ctx);
      !s.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, s);
    return reactor;
  }
  auto prepared =
      emitter_->Prepare(std::move(*req.mutable_event()), *who, "event");
  if (!prepared.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, prepared.status());
    return reactor;
  }
  if (absl::Status s = emitter_->Reserve(1); !s.ok()) {
    FinishUnary(emitter_, Rpc::kEmit, reactor, s);
    return reactor;
  }
  emitter_->Publish(std::move(*prepared), [emitter = emitter_, reactor,
                                           response](Emitter::Outcome o) {
    if (o.status.ok()) {
      v1::EmitResponse r;
      FillResponse(o, &r);
      SerializeTo(r, response);
    }
    FinishUnary(emitter, Rpc::kEmit, reactor, o.status);
  });
  return reactor;
}

grpc::ServerUnaryReactor* VentService::EmitBatch(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw,
    grpc::ByteBuffer* response) {
  auto* reactor = ctx->DefaultReactor();
  auto fail = [&](const absl::Status& s) {
    FinishUnary(emitter_, Rpc::kEmitBatch, reactor, s);
    return reactor;
  };
  auto who = emitter_->Authenticate(ctx);
  if (!who.ok()) return fail(who.status());
  v1::EmitBatchRequest req;
  if (absl::Status s = emitter_->ParseRequest(Rpc::kEmitBatch, *raw, &req, ctx);
      !s.ok()) {
    return fail(s);
  }
  v1::EmitBatchRequest* request = &req;
  const size_t n = static_cast<size_t>(request->events_size());
  if (n == 0) return fail(absl::InvalidArgumentError("events: empty batch"));
  if (n > options_.max_batch) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("events: ", n, " events is over the ", options_.max_batch,
                     "-event limit (--max-batch)")));
  }
  // The strings are moved into the publishes instead of copied.
  auto* events = request->mutable_events();
  std::vector<Emitter::Prepared> prepared;
  prepared.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto p =
        emitter_->PrepareAt(std::move(*events->Mutable(static_cast<int>(i))),
                            *who, "events", static_cast<int64_t>(i));
    if (!p.ok()) return fail(p.status());
    prepared.push_back(std::move(*p));
  }
  if (absl::Status s = emitter_->Reserve(static_cast<int64_t>(n)); !s.ok())
    return fail(s);
  emitter_->PublishBatch(std::move(prepared),
                         [emitter = emitter_, reactor,
                          response](std::vector<Emitter::Outcome> outcomes) {
                           v1::EmitBatchResponse r;
                           absl::Status s = BatchResult(outcomes, &r);
                           if (s.ok()) SerializeTo(r, response);
                           FinishUnary(emitter, Rpc::kEmitBatch, reactor, s);
                         });
  return reactor;
}

grpc::ServerReadReactor<grpc::ByteBuffer>* VentService::EmitStream(
    grpc::CallbackServerContext* ctx, grpc::ByteBuffer* response) {
  return new EmitStreamReactor(ctx, response, emitter_, &streams_,
                               {options_.stream_window, options_.max_batch});
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* VentService::Subscribe(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
  return SubscribeReactor::Start(
      ctx, request, emitter_, hub_, budget_,
      {options_.max_subscribe_channels, options_.subscribe_queue});
}

}  // namespace vent::server
