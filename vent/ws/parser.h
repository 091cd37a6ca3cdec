// Incremental parser of client-to-server WebSocket (RFC 6455) frames. No I/O.
//
// Enforces every rule a server must check (errors carry the close code to
// send):
//  * 1002: RSV bits set (except RSV1 on the first frame of a data message
//    once permessage-deflate is on), unknown opcode, unmasked frame, control
//    frame fragmented or > 125 bytes, continuation without a started message,
//    new data frame while a fragmented message is open, 64-bit length with
//    the MSB set, non-minimal length encoding, close payload of 1 byte,
//    invalid close code.
//  * 1007: text message (checked once complete and inflated) or close reason
//    that is not valid UTF-8; a compressed message that is not valid DEFLATE
//    data.
//  * 1009: reassembled data message larger than max_message_bytes, detected
//    from the frame header before any of its payload is buffered; for a
//    compressed message, also its inflated size (inflation stops one byte
//    past the limit: a "zip bomb" costs no more than the limit).
//
// permessage-deflate (RFC 7692, deflate.h): EnableDeflate() after the
// extension was negotiated. A message whose first frame has RSV1 is
// reassembled compressed, then inflated from an empty window (the bridge
// always negotiates client_no_context_takeover) by the Inflater given, which
// the parser does not own (one per thread).
//
// Memory: the parser holds at most a partial header (<= 14 bytes), the open
// data message (bounded by max_message_bytes) and a partial control payload
// (<= 125 bytes). Buffers grow with the bytes actually received, never with
// the length a header announces.
//
// Not thread-safe: one parser per connection, used from the thread that owns
// the connection (the bridge's worker thread).
#ifndef VENT_WS_PARSER_H_
#define VENT_WS_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "vent/ws/deflate.h"
#include "vent/ws/frame.h"

namespace vent::ws {

// A complete message or control frame from the client.
struct Message {
  enum class Kind { kText, kBinary, kPing, kPong, kClose } kind;
  // Text/binary: the reassembled message. Ping/pong: the application data.
  // Close: the reason text (valid UTF-8), without the 2-byte code.
  std::string payload;
  // Close only: the status code, or 0 when the close frame had no payload.
  uint16_t close_code = 0;
};

// Close code 1002/1007/1009 to fail the connection with, and a short reason for
// the close frame / logs.
struct ProtocolError {
  uint16_t close_code;
  std::string reason;
};

class FrameParser {
 public:
  // `max_message_bytes` limits each reassembled data message (fragments
  // summed).
  explicit FrameParser(size_t max_message_bytes);

  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;

  // permessage-deflate was negotiated: RSV1 marks compressed messages,
  // inflated with `inflater` (not owned; must outlive every Feed call).
  void EnableDeflate(Inflater* inflater) { inflater_ = inflater; }

  // Consumes all of `data`, appending each complete message to `out` in wire
  // order (control frames interleaved with fragments are delivered as they
  // complete). Returns the first protocol violation; messages completed before
  // it in the same call are still in `out`. After an error the parser is dead:
  // every later call returns the same error and consumes nothing. The caller
  // stops feeding after a Close message.
  std::optional<ProtocolError> Feed(absl::string_view data,
                                    std::vector<Message>* out);

  // Bytes currently held for an incomplete frame/message (header, payload,
  // control).
  size_t buffered_bytes() const;

  // Releases buffer capacity that is not holding data (call when the connection
  // idles).
  void ShrinkToFit();

 private:
  enum class State : uint8_t { kHeader, kPayload, kFailed };

  // Validates the complete header in header_; sets up the payload state.
  std::optional<ProtocolError> StartFrame();
  // Called when the current frame's payload is complete.
  std::optional<ProtocolError> FinishFrame(std::vector<Message>* out);
  std::optional<ProtocolError> Fail(uint16_t code, const char* reason);

  const size_t max_message_bytes_;
  State state_ = State::kHeader;
  // Frame currently being read.
  uint8_t header_[14];
  uint8_t header_len_ = 0;
  uint8_t opcode_ = 0;
  bool fin_ = false;
  uint8_t mask_[4] = {0, 0, 0, 0};
  uint64_t payload_len_ = 0;
  uint64_t payload_read_ = 0;
  // Data message being reassembled (open while message_open_).
  bool message_open_ = false;
  bool message_is_text_ = false;
  bool message_compressed_ = false;  // RSV1 on its first frame
  std::string message_;
  // Payload of the control frame being read (<= 125 bytes).
  std::string control_;
  // After a failure: the close code and reason (static text) it returns.
  uint16_t error_code_ = 0;
  const char* error_reason_ = "";
  Inflater* inflater_ = nullptr;  // non-null: permessage-deflate is on
};

}  // namespace vent::ws

#endif  // VENT_WS_PARSER_H_
