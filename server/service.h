// vent.v1.Vent on gRPC's callback API. No handler blocks: each call validates,
// hands its events to the Emitter (which posts them to the Redis publisher)
// and returns; the publisher's completion finishes the call.
//
// Thread-safety: gRPC calls the methods on its own threads, concurrently. The
// service does not own the Emitter or the hub; both must outlive it (shut the
// grpc::Server down first).
#ifndef VENT_SERVER_SERVICE_H_
#define VENT_SERVER_SERVICE_H_

#include <cstddef>

#include "server/emit_stream.h"
#include "server/emitter.h"
#include "server/subscription_hub.h"
#include "vent/v1/vent.grpc.pb.h"

namespace vent::server {

struct ServiceOptions {
  size_t max_batch =
      10000;  // --max-batch: events per EmitBatch / EmitStream message
  size_t stream_window = 1024;          // events in flight per EmitStream call
  size_t max_subscribe_channels = 256;  // channels per Subscribe call
  size_t subscribe_queue =
      1024;  // --subscribe-queue: events queued per Subscribe call
};

class VentService final : public v1::Vent::CallbackService {
 public:
  VentService(ServiceOptions options, Emitter* emitter, SubscriptionHub* hub);

  grpc::ServerUnaryReactor* Emit(grpc::CallbackServerContext* ctx,
                                 const v1::EmitRequest* request,
                                 v1::EmitResponse* response) override;
  grpc::ServerUnaryReactor* EmitBatch(grpc::CallbackServerContext* ctx,
                                      const v1::EmitBatchRequest* request,
                                      v1::EmitBatchResponse* response) override;
  grpc::ServerReadReactor<v1::EmitStreamRequest>* EmitStream(
      grpc::CallbackServerContext* ctx,
      v1::EmitStreamResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* ctx,
      const v1::SubscribeRequest* request) override;

  // Shutdown: ends every open EmitStream call (and any started later) with
  // `why` once its publishes in flight are answered.
  void StopStreams(absl::Status why) { streams_.StopAll(std::move(why)); }

 private:
  const ServiceOptions options_;
  Emitter* const emitter_;
  SubscriptionHub* const hub_;
  EmitStreamRegistry streams_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_SERVICE_H_
