// Validation of event channels and JSON payloads, with the error messages the
// Vent API returns (INVALID_ARGUMENT). No I/O; thread-safe (pure functions).
//
// Every error message starts with the field it is about, e.g.
//   "event.channel: must not be empty"
//   "events[3].json: not valid JSON at offset 12: syntax error"
//   "event.json: 70000 bytes is over the 65536-byte limit (--max-payload)"
// `where` is the prefix naming the event ("event", "events[3]").
#ifndef VENT_EVENT_VALIDATE_H_
#define VENT_EVENT_VALIDATE_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace vent::event {

struct Limits {
  size_t max_channel = 1024;         // bytes (--max-channel)
  size_t max_payload = 64 * 1024;    // bytes of JSON text (--max-payload)
  size_t max_depth = 64;             // JSON nesting (arrays + objects)
  size_t max_idempotency_key = 128;  // bytes
};

// Non-empty, <= limits.max_channel bytes, valid UTF-8, no control characters
// (U+0000-U+001F, U+007F).
absl::Status ValidateChannel(absl::string_view channel, const Limits& limits,
                             absl::string_view where);

// One complete JSON value (RFC 8259, UTF-8; no comments, no trailing commas),
// <= limits.max_payload bytes, nesting depth <= limits.max_depth. `field` is
// the full field name used in messages ("event.json", "event.data").
// A nesting deeper than limits.max_depth is the only error that satisfies
// IsTooDeep() (callers that report depth differently test for it instead of
// matching the message).
absl::Status ValidateJson(absl::string_view json, const Limits& limits,
                          absl::string_view field);
bool IsTooDeep(const absl::Status& status);

// Empty is allowed (no key); otherwise <= limits.max_idempotency_key bytes.
absl::Status ValidateIdempotencyKey(absl::string_view key, const Limits& limits,
                                    absl::string_view where);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, <=
// U+10FFFF). On false, *bad_offset (when given) is the byte offset of the first
// bad sequence.
bool IsValidUtf8(absl::string_view text, size_t* bad_offset = nullptr);

}  // namespace vent::event

#endif  // VENT_EVENT_VALIDATE_H_
