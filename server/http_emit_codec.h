// The HTTP emit API's bodies and replies (server/README.md, "HTTP emit API"):
//
//   POST /v1/emit        {"channel": "...", "data": <any JSON>,
//                         "idempotency_key": "..."}            (key optional)
//     200 {"id": "...", "receivers": N, "duplicate": false}
//   POST /v1/emit_batch  {"events": [{"channel": ..., "data": ...}, ...]}
//     200 {"results": [{"id": ..., "receivers": N, "duplicate": ...}, ...]}
//   errors               {"error": {"code": "INVALID_ARGUMENT", "message":
//   "..."}}
//
// `data` is published byte for byte as it appears in the body (whitespace
// and key order included), as gRPC Emit publishes `json`. Strings are
// decoded (escapes, \u surrogate pairs); unknown or repeated fields and wrong
// types are refused naming the field.
//
// No I/O; thread-safe (pure functions).
#ifndef VENT_SERVER_HTTP_EMIT_CODEC_H_
#define VENT_SERVER_HTTP_EMIT_CODEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::server {

// One event of a body; `data` points into the body.
struct HttpEvent {
  std::string channel;
  absl::string_view data;
  std::string idempotency_key;
};

// Parses a /v1/emit body. `max_depth` is the JSON nesting allowed in `data`
// (deeper is left for the event validation to refuse exactly).
absl::StatusOr<HttpEvent> ParseEmitBody(absl::string_view body,
                                        size_t max_depth);
// Parses a /v1/emit_batch body (1..max_events events).
absl::StatusOr<std::vector<HttpEvent>> ParseEmitBatchBody(
    absl::string_view body, size_t max_depth, size_t max_events);

struct HttpEmitResult {
  std::string id;
  int64_t receivers = 0;
  bool duplicate = false;
};
std::string EncodeEmitReply(const HttpEmitResult& r);
std::string EncodeEmitBatchReply(const std::vector<HttpEmitResult>& results);
std::string EncodeError(absl::StatusCode code, absl::string_view message);

// The HTTP status for a gRPC-style code: 400 INVALID_ARGUMENT, 401
// UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED, 503
// UNAVAILABLE, 504 DEADLINE_EXCEEDED (may have been published), 404
// NOT_FOUND, 500 otherwise.
int HttpStatusFor(absl::StatusCode code);
// "INVALID_ARGUMENT", ...
const char* CodeName(absl::StatusCode code);

// Renames the gRPC field names in a validation message to the HTTP body's:
// "event.channel: ..." -> "channel: ...", "event.json: ..." -> "data: ...",
// "events[3].json: ..." -> "events[3].data: ...".
std::string HttpFieldNames(absl::string_view message);

}  // namespace vent::server

#endif  // VENT_SERVER_HTTP_EMIT_CODEC_H_
