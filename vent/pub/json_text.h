// JSON text helpers for publications: validation without a DOM and the
// seed's falsy rule. (Writing JSON: vent/base/json_write.h.)
//
// All functions are pure and thread-safe.
#ifndef VENT_PUB_JSON_TEXT_H_
#define VENT_PUB_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace vent::pub {

// Events nested deeper than this are treated as invalid (not sent).
inline constexpr int kMaxJsonDepth = 128;

struct JsonScan {
  bool valid = false;  // one complete RFC 8259 value, valid UTF-8, depth ok
  // valid and the top-level value is null, false, "" or a number equal to
  // zero (0, -0, 0.0, 0e5, and 1e-400 which is 0 as a double) — JavaScript's
  // falsy values that JSON can express.
  bool falsy = false;
};

// Validates `text` (leading/trailing JSON whitespace allowed) without building
// a DOM. Never allocates for documents up to a modest nesting depth.
JsonScan ScanJson(absl::string_view text);

}  // namespace vent::pub

#endif  // VENT_PUB_JSON_TEXT_H_
