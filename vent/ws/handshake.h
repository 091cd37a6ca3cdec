// WebSocket (RFC 6455) opening handshake helpers for the server side. No I/O:
// the bridge parses the HTTP request (Beast) and writes the 101 / 400 response
// itself.
//
// Thread-safe (pure functions).
#ifndef VENT_WS_HANDSHAKE_H_
#define VENT_WS_HANDSHAKE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace vent::ws {

// Reason texts returned by ValidateUpgrade (the bridge sends them as the 400
// body). The first two are Meteor's (sockjs-node 0.3.24 / faye-websocket) exact
// texts.
inline constexpr absl::string_view kNotWebSocketRequest =
    "Not a valid websocket request";
inline constexpr absl::string_view kUnsupportedVersion =
    "Only supported WebSocket protocol is RFC 6455.";
inline constexpr absl::string_view kBadKey =
    "Missing or invalid Sec-WebSocket-Key header";

// Sec-WebSocket-Accept value: base64(SHA-1(key +
// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). `sec_websocket_key` is used
// verbatim (the caller passes the header value with surrounding whitespace
// already stripped, as HTTP parsers do).
std::string AcceptKey(absl::string_view sec_websocket_key);

// Validates the upgrade-relevant headers of a GET request (pass "" for a
// missing header).
//  - Upgrade: a comma-separated token list containing "websocket" (ASCII
//  case-insensitive),
//  - Connection: a comma-separated token list containing "upgrade"
//  (case-insensitive),
//    both otherwise -> kNotWebSocketRequest;
//  - Sec-WebSocket-Version: "13" or "8" -> else kUnsupportedVersion;
//  - Sec-WebSocket-Key: base64 of exactly 16 bytes (22 base64 chars + "==") ->
//  else kBadKey.
// Optional whitespace around values/tokens is ignored. Returns OK or
// InvalidArgument(reason).
absl::Status ValidateUpgrade(absl::string_view upgrade,
                             absl::string_view connection,
                             absl::string_view version, absl::string_view key);

}  // namespace vent::ws

#endif  // VENT_WS_HANDSHAKE_H_
