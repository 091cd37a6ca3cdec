// permessage-deflate (RFC 7692) for the server side, without I/O: offer
// negotiation, DEFLATE segments for outgoing messages, bounded inflation of
// incoming ones. zlib (Debian's) does the (de)compression.
//
// What the bridge agrees to (docs/protocol.md, "Compression"):
//  * server_no_context_takeover, always: every message the server sends is
//    compressed from an empty window, so one compressed event can be shared
//    by every subscriber that negotiated the extension.
//  * client_no_context_takeover, always (RFC 7692 7.1.1.2 lets the server
//    ask for it unasked): every client message is inflated from scratch, so
//    a connection keeps no zlib state between messages — the (de)compressors
//    belong to the worker thread, not to the connection.
//  * server_max_window_bits=N (8..15) when the client asks: echoed; a
//    compressed message never refers further back than N allows (see
//    FitsWindow), else it goes uncompressed.
//  * client_max_window_bits (with or without a value): accepted and not
//    echoed (the inflater always has a 15-bit window).
// An offer with an unknown or repeated parameter or an invalid value is
// declined, and the next offer is considered (RFC 7692 5, 7.1).
//
// Segments: Deflater::AppendSegment compresses bytes from an empty window
// and ends them with an empty stored block (00 00 ff ff), so the output is
// byte aligned and self-contained. A message is the concatenation of
// segments with the last segment's 4 tail bytes removed (RFC 7692 7.2.1);
// the receiver appends them again. The bridge sends a Vent frame as
// segment(prefix) + segment(event) + segment(suffix): the event's segment
// is computed once per publication, the prefix's once per subscription.
//
// Threading: Deflater and Inflater are not thread-safe; the bridge keeps one
// of each per worker thread (ThreadDeflater / ThreadInflater).
#ifndef VENT_WS_DEFLATE_H_
#define VENT_WS_DEFLATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace vent::ws {

// The outcome of negotiating permessage-deflate for one connection.
struct DeflateParams {
  bool enabled = false;
  // Largest LZ77 window the client accepts for the server's messages.
  uint8_t server_window_bits = 15;
};

struct DeflateNegotiation {
  DeflateParams params;
  // The Sec-WebSocket-Extensions value of the 101 response; empty when the
  // extension is not used (no acceptable offer).
  std::string response;
};

// `offers`: every Sec-WebSocket-Extensions header of the request, joined
// with ", " ("" when there is none).
DeflateNegotiation NegotiateDeflate(absl::string_view offers);

// True when a segment compressed from `input_size` bytes can be sent to a
// peer that allows `window_bits`: no back reference in it can be farther
// than the input is long.
inline bool FitsWindow(size_t input_size, uint8_t window_bits) {
  return input_size <= (size_t{1} << window_bits);
}

// The 4 bytes the sender strips from the end of a compressed message.
inline constexpr absl::string_view kDeflateTail{"\x00\x00\xff\xff", 4};

class Deflater {
 public:
  // zlib level 1..9 (6 = zlib's default).
  explicit Deflater(int level = 6);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Appends `in` compressed from an empty window, ending with an empty
  // stored block (kDeflateTail). Returns false if zlib fails (out of
  // memory); `*out` is then unchanged.
  bool AppendSegment(absl::string_view in, std::string* out);

 private:
  struct State;
  std::unique_ptr<State> state_;  // created on first use
  int level_;
};

class Inflater {
 public:
  enum class Result { kOk, kTooBig, kCorrupt };

  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates one whole message (its payload as received, the 4 tail bytes
  // not included) from an empty window into `*out` (replaced). Stops as
  // soon as the output would exceed `max_out` bytes: kTooBig, and at most
  // max_out + 1 bytes were ever produced (a "zip bomb" costs no more than
  // the limit). kCorrupt: not valid DEFLATE data, or data after the end.
  Result Inflate(absl::string_view in, size_t max_out, std::string* out);

 private:
  struct State;
  std::unique_ptr<State> state_;  // created on first use
};

// The calling thread's compressor / decompressor (created on first use).
Deflater& ThreadDeflater();
Inflater& ThreadInflater();

}  // namespace vent::ws

#endif  // VENT_WS_DEFLATE_H_
