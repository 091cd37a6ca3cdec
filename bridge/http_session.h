// HttpSession: the HTTP phase of a bridge connection (Boost.Beast): routes
//   /websocket, /websocket/, /sockjs/websocket[/]  raw DDP over WebSocket
//   /sockjs/<server>/<session>/websocket           DDP over SockJS's WS
//   transport GET|OPTIONS /sockjs/info                        SockJS info
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

#include "bridge/connection_slot.h"
#include "bridge/worker.h"

namespace vent::bridge {

// Starts serving `socket` (accepted on worker's io_context). `admin`: the
// --metrics-listen port (plain HTTP; /metrics, /livez, /readyz only).
void StartHttpSession(Worker& worker, boost::asio::ip::tcp::socket socket,
                      ConnectionSlot slot, bool admin = false);

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_HTTP_SESSION_H_
