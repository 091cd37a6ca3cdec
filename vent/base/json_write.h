// JSON text written exactly as JavaScript's JSON.stringify writes it: the one
// implementation shared by the DDP writer, publication projection and the
// event encoder (byte-exact output matters: clients compare frames).
// Thread-safe (pure functions).
#ifndef VENT_BASE_JSON_WRITE_H_
#define VENT_BASE_JSON_WRITE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace vent {

// Appends `s` as a quoted JSON string: `"` and `\` escaped, control
// characters as \b \f \n \r \t or \u00xx (lower-case hex), everything
// else (UTF-8 included) copied as is.
void AppendJsonString(std::string* out, absl::string_view s);

// Appends `d` as ECMAScript Number::toString does (shortest round-trip
// digits; 1e+21, 1e-7, 0.000001, -0 -> "0"); NaN and +-Infinity -> "null".
void AppendJsNumber(std::string* out, double d);

}  // namespace vent

#endif  // VENT_BASE_JSON_WRITE_H_
