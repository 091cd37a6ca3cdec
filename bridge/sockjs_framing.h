// SockJS over HTTP (sockjs-node 0.3.24, the version Meteor pins): the
// request paths and how each receiving transport writes SockJS frames into
// its HTTP response. Pure functions, unit-tested in sockjs_framing_test.cc.
//
//   POST /sockjs/<server>/<session>/xhr            xhr-polling: one frame
//   POST /sockjs/<server>/<session>/xhr_streaming  frames, "\n"-terminated
//   GET  /sockjs/<server>/<session>/eventsource    "data: <frame>\r\n\r\n"
//   GET  /sockjs/<server>/<session>/htmlfile?c=cb  <script>p("<frame>")
//   POST /sockjs/<server>/<session>/xhr_send       client frames (204)
//
// Frames are "o" (open), "h" (heartbeat), "a[...]" (messages) and
// "c[code,reason]" (close); see vent/ws/sockjs.h for their contents.
#ifndef VENT_BRIDGE_SOCKJS_FRAMING_H_
#define VENT_BRIDGE_SOCKJS_FRAMING_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace vent::bridge {

enum class SockJsTransport {
  kXhrPolling,
  kXhrStreaming,
  kEventSource,
  kHtmlFile,
  kXhrSend,
  kWebSocket,
};

struct SockJsPath {
  std::string server;
  std::string session;
  SockJsTransport transport;
};

// /sockjs/<server>/<session>/<transport> (no query string) where <server>
// and <session> match [^/.]+ and <transport> is one of the above; nullopt
// for anything else.
std::optional<SockJsPath> ParseSockJsPath(absl::string_view path);

// A transport that carries frames to the client (not xhr_send/websocket).
bool IsReceiving(SockJsTransport t);
// "xhr-polling", "xhr-streaming", ... (logs and metrics).
absl::string_view TransportName(SockJsTransport t);

// What a receiving response starts with, before any frame: 2048 'h' + "\n"
// (xhr-streaming), "\r\n" (eventsource), the htmlfile page calling
// parent.<callback> padded past 1024 bytes, nothing for xhr-polling.
std::string ReceiverPrelude(SockJsTransport t, absl::string_view callback);
// One frame as the receiving transport writes it.
std::string ReceiverFrame(SockJsTransport t, absl::string_view frame);
// The htmlfile `c` / `callback` query parameter: [A-Za-z0-9_.-]+.
bool ValidHtmlFileCallback(absl::string_view callback);

// The Content-Type of a receiving response.
absl::string_view ReceiverContentType(SockJsTransport t);

// HTTP/1.1 chunked transfer coding of `data` (non-empty), and its end.
std::string Chunk(absl::string_view data);
inline constexpr absl::string_view kLastChunk = "0\r\n\r\n";

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_SOCKJS_FRAMING_H_
