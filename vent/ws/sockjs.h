// SockJS framing (sockjs-node 0.3.24 as pinned by Meteor) for the
// /sockjs/<server>/<session>/websocket transport, plus the /sockjs/info body.
// No I/O: the results are WebSocket text-frame payloads / HTTP bodies for the
// bridge to send.
//
// Server-to-client frames: "o" (open), "h" (heartbeat), "a[...]" (messages),
// "c[code,reason]". Thread-safe (pure functions).
#ifndef VENT_WS_SOCKJS_H_
#define VENT_WS_SOCKJS_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::ws {

inline constexpr absl::string_view kSockJsOpenFrame = "o";
inline constexpr absl::string_view kSockJsHeartbeatFrame = "h";
inline constexpr absl::string_view kSockJsBrokenFraming = "Broken framing.";

// Body of GET /sockjs/info:
// {"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":N}
std::string InfoJson(uint32_t entropy);

// Appends the payload of one `a[...]` frame holding `messages` (each a DDP
// message, UTF-8) as JSON string elements, escaped byte-for-byte like
// sockjs-node's quote(): the JSON.stringify escapes (\" \\ \b \f \n \r \t,
// \u00XX for other C0 controls) plus lowercase \uXXXX for U+200C-200F,
// U+2028-202F, U+2060-206F, U+FFF0-FFFF and for both UTF-16 surrogates of every
// character above U+FFFF (e.g. U+1F600 -> \ud83d\ude00). Bytes that are not
// valid UTF-8 are written as \ufffd (one per bad byte). An empty span gives
// "a[]".
void AppendArrayFrame(std::string& out,
                      std::span<const absl::string_view> messages);

// The text of `s` as it appears inside one element of an `a[...]` frame
// (escaped as AppendArrayFrame does, without the quotes). Lets the bridge
// escape a Vent payload once and share it among SockJS subscribers.
std::string SockJsEscape(absl::string_view s);

// c[code,"reason"] with JSON.stringify escaping of the reason (sockjs-node
// closeFrame).
std::string CloseFrame(uint16_t code, absl::string_view reason);

// Parses a client frame: a JSON array of strings or a bare JSON string (one
// message). Empty text -> empty vector. Anything else (invalid JSON, non-string
// element, other JSON types) -> InvalidArgument(kSockJsBrokenFraming); the
// bridge then closes with c[3000,"Broken framing."].
absl::StatusOr<std::vector<std::string>> ParseClientFrame(
    absl::string_view text);

// True for /sockjs/<server>/<session>/websocket (optionally with a trailing '/'
// and a query string) where <server> and <session> are non-empty and match
// [^/.]+.
bool IsSockJsWebSocketPath(absl::string_view path);

}  // namespace vent::ws

#endif  // VENT_WS_SOCKJS_H_
