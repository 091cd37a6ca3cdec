// vent.v1.Vent on gRPC's callback API, every method "raw": requests arrive as
// grpc::ByteBuffer and are parsed by request_codec.h after authentication
// (so a malformed request gets INVALID_ARGUMENT naming the field, not gRPC's
// empty UNIMPLEMENTED, and unauthenticated junk is not even parsed); replies
// are serialized here. No handler blocks: each call validates, hands its
// events to the Emitter (which posts them to the Redis publisher) and
// returns; the publisher's completion finishes the call.
//
// Thread-safety: gRPC calls the methods on its own threads, concurrently. The
// service does not own the Emitter or the hub; both must outlive it (shut the
// grpc::Server down first).
#ifndef VENT_SERVER_SERVICE_H_
#define VENT_SERVER_SERVICE_H_

#include <cstddef>

#include "server/emit_stream.h"
#include "server/emitter.h"
#include "server/subscribe_queue.h"
#include "server/subscription_hub.h"
#include "vent/v1/vent.grpc.pb.h"

namespace vent::server {

struct ServiceOptions {
  size_t max_batch =
      10000;  // --max-batch: events per EmitBatch / EmitStream message
  size_t stream_window = 1024;          // events in flight per EmitStream call
  size_t max_subscribe_channels = 256;  // channels per Subscribe call
  // --subscribe-queue / --subscribe-queue-bytes: per Subscribe call.
  SubscribeQueue::Limits subscribe_queue;
};

using VentRawService = v1::Vent::WithRawCallbackMethod_Emit<
    v1::Vent::WithRawCallbackMethod_EmitBatch<
        v1::Vent::WithRawCallbackMethod_EmitStream<
            v1::Vent::WithRawCallbackMethod_Subscribe<v1::Vent::Service>>>>;

class VentService final : public VentRawService {
 public:
  // `budget` (--max-subscribers, --subscribe-memory) is shared with the hub.
  VentService(ServiceOptions options, Emitter* emitter, SubscriptionHub* hub,
              SubscribeBudget* budget);

  grpc::ServerUnaryReactor* Emit(grpc::CallbackServerContext* ctx,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* EmitBatch(grpc::CallbackServerContext* ctx,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* EmitStream(
      grpc::CallbackServerContext* ctx, grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(
      grpc::CallbackServerContext* ctx,
      const grpc::ByteBuffer* request) override;

  // Shutdown: ends every open EmitStream call (and any started later) with
  // `why` once its publishes in flight are answered.
  void StopStreams(absl::Status why) { streams_.StopAll(std::move(why)); }

 private:
  const ServiceOptions options_;
  Emitter* const emitter_;
  SubscriptionHub* const hub_;
  EmitStreamRegistry streams_;
  SubscribeBudget* const budget_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_SERVICE_H_
