// The Redis wire format of a Vent event, defined here and nowhere else.
//
// An event is PUBLISHed on its channel, exactly as given (no prefix), and the
// message is the event's JSON text byte for byte as the emitter sent it; a
// protobuf Struct payload is serialized to compact JSON first. This is what
// redis-oplog's Vent.emit and `redis-cli PUBLISH` produce, so all of them
// interoperate. The message carries no id and no time.
//
// No I/O; thread-safe (pure functions).
#ifndef VENT_EVENT_EVENT_H_
#define VENT_EVENT_EVENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "vent/event/validate.h"

namespace vent::event {

// One Redis PUBLISH: `PUBLISH channel message`.
struct RedisMessage {
  std::string channel;
  std::string message;
};

// Validates and encodes an event. `json` wins when non-empty; otherwise
// `data` (may be null = unset) is serialized. Neither set is an error.
// Strings are taken by value so callers that own them can move them in.
// Errors are InvalidArgument, prefixed with `where` ("event", "events[3]").
absl::StatusOr<RedisMessage> Encode(std::string channel, std::string json,
                                    const google::protobuf::Struct* data,
                                    const Limits& limits,
                                    absl::string_view where);

// An event received from Redis. `json` is the message exactly as published
// (not re-validated: raw publishers may send anything); it is shared,
// immutable, so one received message can go to many listeners without copies.
struct ReceivedEvent {
  std::string channel;
  std::shared_ptr<const std::string> json;
};
ReceivedEvent Decode(std::string channel,
                     std::shared_ptr<const std::string> message);

// Compact JSON for a Struct (keys in the map's iteration order, no
// whitespace), written by vent/base/json_write.h: numbers (all doubles in a
// Struct) as JavaScript's JSON.stringify writes them. NaN and infinities are
// not JSON: InvalidArgument naming `field`.
absl::StatusOr<std::string> StructToJson(const google::protobuf::Struct& data,
                                         absl::string_view field);

}  // namespace vent::event

#endif  // VENT_EVENT_EVENT_H_
