// HttpSession: the HTTP phase of a bridge connection (Boost.Beast): routes
//   /websocket, /websocket/, /sockjs/websocket[/]  raw DDP over WebSocket
//   /sockjs/<server>/<session>/websocket           DDP over SockJS's WS
//   transport GET|OPTIONS /sockjs/info                        SockJS info
//   /healthz    200 when the Redis subscriber is up, else 503
//   /metrics    Prometheus text
//   anything else: a static file from --static-dir, or 404.
// A plain GET on a WebSocket path gets Meteor's 400 "Not a valid websocket
// request". On upgrade the socket moves to a WsConnection on the same worker.
// The whole HTTP phase is bounded by --handshake-timeout.
// Threading: the owning worker's thread only.
#ifndef VENT_BRIDGE_HTTP_SESSION_H_
#define VENT_BRIDGE_HTTP_SESSION_H_

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "bridge/worker.h"
#include "bridge/ws_connection.h"

namespace vent::bridge {

// Starts serving `socket` (accepted on worker's io_context).
void StartHttpSession(Worker& worker, boost::asio::ip::tcp::socket socket,
                      ConnectionSlot slot);

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_HTTP_SESSION_H_
