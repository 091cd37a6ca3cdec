// WsConnection: the transport of one upgraded WebSocket connection (raw DDP
// or SockJS over WebSocket), from the HTTP 101 until the socket closes.
//
//   socket -> [TLS] -> ws::FrameParser -> DdpHost (DDP, subscriptions, login)
//   DdpHost replies, Vent frames -> OutputQueue -> [TLS] -> socket
//
// Writes never block (uWebSockets style: try write(2) at once, wait for
// writability only when the kernel buffer is full). Memory per idle
// connection is kept small: no read buffer of its own (reads go into the
// worker's buffer), no timer (the worker's sweep drives deadlines), parser
// and output buffers released at the sweep after they empty, a socket bound
// to the worker's io_context executor (no type-erased executor in the socket
// or in its pending wait).
//
// Limits (docs/protocol.md, "Limits"): over --max-outgoing queued (replies
// count as much as events) -> close 4008 "slow client"; more than 64 KiB queued
// -> stop reading the client until it drains.
//
// Closing (RFC 6455 7.1.1): the close frame is queued, the write side is shut
// down once everything queued is written, then input is read and discarded
// until the peer closes or 2 s pass — so the peer sees the close code rather
// than a reset.
//
// Threading: the worker's thread only. Lifetime: owned by the Worker (and by
// pending async waits, which hold a shared_ptr).
#ifndef VENT_BRIDGE_WS_CONNECTION_H_
#define VENT_BRIDGE_WS_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "bridge/connection.h"
#include "bridge/connection_slot.h"
#include "bridge/ddp_host.h"
#include "bridge/output_queue.h"
#include "bridge/subscription.h"
#include "bridge/worker.h"
#include "vent/tls/tls.h"
#include "vent/ws/deflate.h"
#include "vent/ws/parser.h"

namespace vent::bridge {

enum class Transport { kRaw, kSockJs };

class WsConnection : public std::enable_shared_from_this<WsConnection>,
                     public Connection,
                     public HostOutput,
                     public VentSink,
                     public Sealer {
 public:
  // `tls` is the connection's TLS session when the bridge serves wss (its
  // handshake is done), else null.
  WsConnection(Worker& worker, boost::asio::ip::tcp::socket socket,
               std::unique_ptr<tls::TlsSession> tls, Transport transport,
               ConnectionSlot slot, ConnectionInfo info);
  ~WsConnection() override;
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  // permessage-deflate was negotiated (before Start).
  void EnableDeflate(const ws::DeflateParams& params);
  // `initial_out` is written first (the 101 response, and SockJS's "o").
  // `leftover` holds bytes the client sent after its HTTP request.
  void Start(std::string initial_out, std::string leftover);

  // Connection.
  void Flush() override;
  // Deadlines: handshake, heartbeats, subs, login, close.
  void OnSweep(absl::Time now) override;
  void Shutdown() override;
  bool closing_or_closed() const override { return closing_ || closed_; }

  // VentSink (fan-out).
  void QueueVent(const Subscription& sub, Transformed& t) override;
  // HostOutput.
  void SendMessage(absl::string_view message) override;
  void CloseConnection(uint16_t ws_code, absl::string_view reason) override;
  void Defer(absl::AnyInvocable<void(DdpHost&) &&> fn) override;
  Deferrer MakeDeferrer() override;
  // Sealer (TLS).
  absl::Status Seal(absl::string_view plain, std::string* wire) override;

 private:
  void ArmRead();
  void OnReadable(const boost::system::error_code& ec);
  // Decrypts (TLS) and parses one read's bytes; handles the messages.
  void Consume(absl::string_view bytes);
  void HandleMessage(ws::Message& msg);
  void HandleText(absl::string_view text);
  // Marks the connection for the end-of-pass flush and checks the budget.
  void Queued();
  // Writes what the socket takes now; arms a writability wait when it would
  // block. Never terminates (sets write_failed_ instead).
  void WriteSome();
  void OnWritable(const boost::system::error_code& ec);
  void CloseWith(uint16_t code, absl::string_view reason);
  void SlowClose();
  void Terminate(const char* why);

  using Socket =
      boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                       boost::asio::io_context::executor_type>;

  // The accepted socket, re-bound to the worker's io_context executor.
  static Socket AdoptSocket(Worker& worker, boost::asio::ip::tcp::socket s);
  const std::string& remote() const { return host_.info().remote; }

  Worker& worker_;
  BridgeContext& ctx_;
  Socket socket_;
  std::unique_ptr<tls::TlsSession> tls_;  // null: plain WebSocket
  const Transport transport_;
  ConnectionSlot slot_;
  ws::FrameParser parser_;
  OutputQueue out_;
  DdpHost host_;
  absl::Time handshake_deadline_;
  absl::Time close_deadline_ = absl::InfiniteFuture();
  bool reading_ = false;
  // Not reading: output backpressure, or a login waiting for the backend.
  bool read_paused_ = false;
  bool write_waiting_ = false;
  bool overflow_ = false;
  bool write_failed_ = false;
  bool closing_ = false;  // close frame queued; no more input handled
  bool shut_ = false;     // write side shut down; draining input
  bool closed_ = false;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_WS_CONNECTION_H_
