// One Redis message as the serialized SubscribeResponse every Subscribe call
// on its channel writes: encoded once, immutable, shared (no per-listener
// copy). The payload is not copied either: the message's middle slice refers
// to the Redis payload string, kept alive by the slice.
//
// Thread-safe: a SharedEvent is immutable; copying its ByteBuffer only takes
// references (gRPC slices are refcounted atomically).
#ifndef VENT_SERVER_SUBSCRIBE_EVENT_H_
#define VENT_SERVER_SUBSCRIBE_EVENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/byte_buffer.h"

namespace vent::server {

struct SharedEvent {
  grpc::ByteBuffer bytes;  // a serialized vent.v1.SubscribeResponse
  size_t size = 0;         // bytes.Length()
  // History channels (docs/history.md): the event's position; offset 0 for
  // events without one (no history, or a raw PUBLISH on a history channel).
  std::string channel;
  int64_t offset = 0;
  std::string epoch;
};

// SubscribeResponse{event: {channel, json: *payload, emitted_at: received}}.
std::shared_ptr<const SharedEvent> EncodeSubscribeEvent(
    absl::string_view channel, std::shared_ptr<const std::string> payload,
    absl::Time received);

// The same for an event with a position: json = `json`, which lies inside
// *payload (e.g. the event inside a history envelope) or is all of it, plus
// offset and epoch. The payload is referenced, not copied.
std::shared_ptr<const SharedEvent> EncodeSubscribeEvent(
    absl::string_view channel, std::shared_ptr<const std::string> payload,
    absl::string_view json, int64_t offset, absl::string_view epoch,
    absl::Time received);

// SubscribeResponse{ready: true}.
grpc::ByteBuffer EncodeReady();

}  // namespace vent::server

#endif  // VENT_SERVER_SUBSCRIBE_EVENT_H_
