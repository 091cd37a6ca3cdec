// UTF-8 validation (WebSocket text messages and close reasons, event
// channel names): the one implementation in the tree.
//
// Thread-safe (pure functions). Validation follows Unicode Table 3-7
// ("well-formed UTF-8 byte sequences"): overlong forms, surrogates
// (U+D800-DFFF), code points above U+10FFFF and truncated sequences are all
// invalid.
#ifndef VENT_BASE_UTF8_H_
#define VENT_BASE_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace vent {

// True if `s` is entirely well-formed UTF-8. ASCII runs are checked 8 bytes at
// a time. On false, `*bad_offset` (when given) is the offset of the first byte
// of the first ill-formed sequence.
bool IsValidUtf8(absl::string_view s, size_t* bad_offset = nullptr);

// Length of the longest prefix of `s` (at most `max_bytes`) that does not end
// inside a multi-byte sequence. REQUIRES: `s` is valid UTF-8 (otherwise the cut
// is byte-based).
size_t Utf8PrefixLength(absl::string_view s, size_t max_bytes);

}  // namespace vent

#endif  // VENT_BASE_UTF8_H_
