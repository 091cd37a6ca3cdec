// WebSocket (RFC 6455) server-to-client frame encoding. No I/O: frames are
// appended to the connection's coalescing buffer so that many messages leave in
// one socket write.
//
// Server frames are never masked and always have FIN set (the bridge never
// fragments). Thread-safe (pure functions); `out` is owned by the caller.
#ifndef VENT_WS_FRAME_H_
#define VENT_WS_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace vent::ws {

enum class Opcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

// Largest frame header a server writes: 2 bytes + 8-byte extended length (no
// mask).
inline constexpr size_t kMaxServerHeaderSize = 10;
// Largest payload of a control frame (close, ping, pong).
inline constexpr size_t kMaxControlPayload = 125;

// Appends a FIN, unmasked frame header for `payload_size` bytes using the
// minimal length encoding (7-bit, 16-bit or 64-bit). The caller appends exactly
// `payload_size` bytes next. REQUIRES: control opcodes have payload_size <=
// 125. `compressed` sets RSV1 (permessage-deflate, deflate.h; data frames
// only).
void AppendFrameHeader(std::string& out, Opcode op, size_t payload_size,
                       bool compressed = false);

// Appends a complete frame (header + payload).
void AppendFrame(std::string& out, Opcode op, absl::string_view payload);

// Appends one text frame whose payload is the concatenation of `parts` (no
// temporary). REQUIRES: the concatenation is valid UTF-8.
void AppendTextFrameParts(std::string& out,
                          std::initializer_list<absl::string_view> parts);

// Appends a close frame. code 0 sends a close without payload (used to answer a
// close that had no status code; 1005 must not go on the wire). Otherwise the
// payload is the big-endian code followed by `reason` truncated at a UTF-8
// character boundary so that the payload fits in 125 bytes.
void AppendClose(std::string& out, uint16_t code, absl::string_view reason);

// True for close codes an endpoint may send/receive on the wire (RFC 6455 7.4):
// 1000-1003, 1007-1011 (1012-1014 are IANA-registered and accepted too),
// 3000-4999.
bool IsValidCloseCode(uint16_t code);

}  // namespace vent::ws

#endif  // VENT_WS_FRAME_H_
