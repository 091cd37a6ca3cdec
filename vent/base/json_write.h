// The one JSON value writer of the project: every JSON text Vent produces
// (DDP messages, projected events, events built from a protobuf Struct, log
// lines, Authorizer params, channel names rendered from params) is written
// here, so that the same value always has the same bytes.
//
// Output is what JavaScript's JSON.stringify writes for the value after
// JSON.parse, with one documented exception, the integer rule:
//  * a number the parser kept as an integer (Boost.JSON int64 / uint64, i.e.
//    written without fraction or exponent and within 64 bits) is written with
//    its exact decimal digits, even beyond 2^53. JSON.parse in a browser
//    turns both these digits and JSON.stringify's rounded digits into the
//    same Number (the nearest double), so JavaScript clients cannot tell the
//    difference, while clients that keep 64-bit integers (Go, Python, Java)
//    receive the value that was sent — as they do for events delivered
//    without a projection, which are copied byte for byte.
//  * every other number (a double) is written as Number#toString: shortest
//    round-trip digits, 1e+21, 1e-7, 0.000001, -0 as 0; NaN and +-Infinity
//    as null.
//  * strings: `"` and `\` escaped, control characters as \b \f \n \r \t or
//    \u00xx (lower-case hex), everything else (UTF-8 included) as is.
//  * objects keep their members' order; no whitespace anywhere.
// docs/protocol.md ("JSON values") states the same rule for clients.
//
// Thread-safe (pure functions).
#ifndef VENT_BASE_JSON_WRITE_H_
#define VENT_BASE_JSON_WRITE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "boost/json/value.hpp"

namespace vent {

// Appends `s` as a quoted JSON string (escaping above).
void AppendJsonString(std::string* out, absl::string_view s);

// Appends `d` as ECMAScript Number::toString does; non-finite -> "null".
void AppendJsNumber(std::string* out, double d);

// Appends an integer with its exact digits (the integer rule above).
void AppendJsonInteger(std::string* out, int64_t i);
void AppendJsonInteger(std::string* out, uint64_t u);

// Appends `v` compactly (the rules above, recursively).
void AppendJsonValue(std::string* out, const boost::json::value& v);

// AppendJsonValue's output as a string.
std::string JsonText(const boost::json::value& v);

}  // namespace vent

#endif  // VENT_BASE_JSON_WRITE_H_
