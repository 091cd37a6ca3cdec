// HttpSession: the HTTP phase of a bridge connection (Boost.Beast): routes
//   /websocket, /websocket/, /sockjs/websocket[/]  raw DDP over WebSocket
//   /sockjs/<server>/<session>/websocket           DDP over SockJS's WS
//   transport GET|OPTIONS /sockjs/info                        SockJS info
//   /sockjs/<server>/<session>/{xhr,xhr_streaming,eventsource,htmlfile,
//     xhr_send} (+ OPTIONS)  SockJS over HTTP (sockjs_session.h): moved to
//     the worker that owns the session, then a SockJsHttpReceiver answers
//     receiving requests and xhr_send gets 204
//   /livez      200 while the process serves HTTP
//   /readyz     200 when the Redis subscriber is up and the bridge is not
//               draining, else 503 (/healthz is the same)
//   /metrics    Prometheus text (on --metrics-listen instead when set)
//   anything else: a static file from --static-dir, or 404.
// A plain GET on a WebSocket path gets Meteor's 400 "Not a valid websocket
// request". On upgrade the socket moves to a WsConnection on the same worker.
// The whole HTTP phase is bounded by --handshake-timeout; a request whose
// Transfer-Encoding does not end in chunked gets 400; static files are
// bounded by --max-static-bytes.
// Threading: the owning worker's thread only.
#ifndef VENT_BRIDGE_HTTP_SESSION_H_
#define VENT_BRIDGE_HTTP_SESSION_H_

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "bridge/connection_slot.h"
#include "bridge/worker.h"
#include "vent/tls/tls.h"

namespace vent::bridge {

// Starts serving `socket` (on worker's io_context). `admin`: the
// --metrics-listen port (plain HTTP; /metrics, /livez, /readyz only).
// `tls` / `leftover`: a connection that already served requests (its TLS
// session and the plaintext received after them); null / empty for a new
// one.
void StartHttpSession(Worker& worker, boost::asio::ip::tcp::socket socket,
                      ConnectionSlot slot, bool admin = false,
                      std::unique_ptr<tls::TlsSession> tls = nullptr,
                      std::string leftover = {});

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_HTTP_SESSION_H_
