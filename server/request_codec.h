// vent.v1 requests from raw gRPC bytes, and why a parse fails.
//
// gRPC's callback API answers a request it cannot deserialize with
// UNIMPLEMENTED and an empty message (invalid UTF-8 in a proto3 string, a
// `data` Struct nested past protobuf's default recursion limit of 100, which
// is only ~32 JSON levels). vent-server therefore takes every request as a
// grpc::ByteBuffer and parses it here: with a recursion limit that admits
// `max_json_depth` levels of `data` (the documented JSON limit, enforced
// exactly by vent/event), and on failure a second, descriptor-driven pass over
// the wire bytes finds the first bad field so the answer is INVALID_ARGUMENT
// naming it:
//   "event.channel: not valid UTF-8 at byte 3"
//   "events[2].data: nesting deeper than 64 levels"
//   "events[7].idempotency_key: not valid UTF-8 at byte 0"
//   "request: not a valid vent.v1.EmitRequest message (truncated or corrupt)"
//
// No I/O; thread-safe (pure functions).
#ifndef VENT_SERVER_REQUEST_CODEC_H_
#define VENT_SERVER_REQUEST_CODEC_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace vent::server {

struct ParseOptions {
  // JSON nesting allowed in a Struct/ListValue (the `data` field): the parser
  // admits it; deeper is refused naming the field.
  size_t max_json_depth = 64;
  // Added to the indexes of the top-level repeated field in messages
  // ("events[i]"): an EmitStream message's first event's index in the stream.
  int64_t index_base = 0;
};

// Parses `buffer` into `msg` (cleared first). OK, or INVALID_ARGUMENT as above.
absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message* msg,
                          const ParseOptions& options = {});
// The same from flat bytes (tests, fuzzing).
absl::Status ParseRequest(absl::string_view bytes,
                          google::protobuf::Message* msg,
                          const ParseOptions& options = {});

// The recursion limit used for `max_json_depth`: every JSON level costs up to
// three protobuf levels (Struct -> map entry -> Value), plus the request's
// own nesting.
int RecursionLimitFor(size_t max_json_depth);

// Serializes a reply into `out` (gRPC's own serializer).
void SerializeTo(const google::protobuf::Message& msg, grpc::ByteBuffer* out);

// Routes protobuf's own log lines (it writes one ERROR line per string with
// invalid UTF-8 it refuses, i.e. one per bad request) through vent's logger
// at WARN, at most one line per 10 s with the count skipped. Process-wide;
// call once at startup.
void InstallProtobufLogLimiter();

}  // namespace vent::server

#endif  // VENT_SERVER_REQUEST_CODEC_H_
