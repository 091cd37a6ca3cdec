// JSON text helpers for publications: validation without a DOM, the seed's
// falsy rule, and a compact serializer whose output matches JavaScript's
// JSON.stringify for the same values (what a Meteor server would send).
//
// All functions are pure and thread-safe.
#ifndef VENT_PUB_JSON_TEXT_H_
#define VENT_PUB_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "boost/json/value.hpp"

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

// Appends `d` as JavaScript's Number.prototype.toString would ("1", "0.5",
// "1e+21", "1e-7", "-0" -> "0"). REQUIRES: d is finite.
void AppendJsNumber(double d, std::string* out);

// Appends `s` as a JSON string literal, escaped like JSON.stringify.
void AppendJsonString(absl::string_view s, std::string* out);

// Appends `v` compactly. Doubles use AppendJsNumber; non-finite doubles
// (from literals like 1e400) become null, as in JSON.stringify.
void AppendJsonValue(const boost::json::value& v, std::string* out);

}  // namespace vent::pub

#endif  // VENT_PUB_JSON_TEXT_H_
