// SockJsHttpReceiver: one receiving request of a SockJS session over HTTP
// (xhr-polling, xhr-streaming, eventsource, htmlfile) from the moment its
// response starts until it ends — the HTTP side of SockJsReceiver.
//
//   HttpSession (routes the request) -> SockJsHttpReceiver(socket) ->
//     response head + prelude, then each frame the session sends, in the
//     transport's form (sockjs_framing.h), chunked on HTTP/1.1;
//   response ended (one frame for polling, --sockjs-response-limit bytes
//   for streaming, or the close frame) -> the socket goes back to a new
//   HttpSession (keep-alive) or is closed.
//
// Writes never block (try write(2), wait for writability only when the
// kernel buffer is full); while a write waits the receiver is not ready()
// and the session's queue grows against --max-outgoing. The socket is
// watched for the client going away (the session then ends at once, as in
// sockjs-node). A write that makes no progress for --heartbeat-interval +
// --heartbeat-timeout closes the connection (a client that stopped reading;
// its session was closed as slow long before). Callbacks into the session
// only ever run from completion handlers, never from inside SendFrame.
//
// Threading: the owning worker's thread. Lifetime: held by pending async
// waits (shared_ptr); the session holds a plain pointer while attached.
#ifndef VENT_BRIDGE_SOCKJS_RECEIVER_H_
#define VENT_BRIDGE_SOCKJS_RECEIVER_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "bridge/connection_slot.h"
#include "bridge/sockjs_framing.h"
#include "bridge/sockjs_session.h"
#include "bridge/worker.h"
#include "vent/tls/tls.h"

namespace vent::bridge {

class SockJsHttpReceiver
    : public std::enable_shared_from_this<SockJsHttpReceiver>,
      public SockJsReceiver {
 public:
  struct Params {
    SockJsTransport transport;
    std::string head;     // status line + headers, ending with an empty line
    std::string prelude;  // ReceiverPrelude()
    bool chunked = true;  // HTTP/1.1: chunked coding; else close delimits
    bool keep_alive = true;
  };

  // `leftover`: bytes the client sent after its request (kept for the
  // next request on this connection).
  SockJsHttpReceiver(Worker& worker, boost::asio::ip::tcp::socket socket,
                     std::unique_ptr<tls::TlsSession> tls, ConnectionSlot slot,
                     std::string leftover, Params params);
  ~SockJsHttpReceiver() override;
  SockJsHttpReceiver(const SockJsHttpReceiver&) = delete;
  SockJsHttpReceiver& operator=(const SockJsHttpReceiver&) = delete;

  // Writes the head and prelude and attaches to `session`.
  void Start(std::shared_ptr<SockJsSession> session);

  // SockJsReceiver.
  bool ready() const override {
    return !ended_ && !failed_ && !write_waiting_ && !done_;
  }
  bool SendFrame(absl::string_view frame, bool last) override;
  void Abandon() override;

 private:
  // Appends response bytes (sealed when TLS is on) and writes what the
  // socket takes.
  void Write(absl::string_view plain);
  void WriteSome();
  void OnWritable(const boost::system::error_code& ec);
  // Arms the stall deadline of the write that waits now.
  void ArmStall();
  void ArmRead();
  void OnReadable(const boost::system::error_code& ec);
  // The response is complete and written: next request or close.
  void Finish();
  // The client is gone (read EOF/error, write error).
  void Gone();
  void Close();

  Worker& worker_;
  BridgeContext& ctx_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls::TlsSession> tls_;  // null: plain HTTP
  ConnectionSlot slot_;
  std::string in_;  // received after the request (plaintext)
  const Params params_;
  std::shared_ptr<SockJsSession> session_;  // while attached
  boost::asio::steady_timer stall_timer_;
  uint64_t stall_generation_ = 0;  // bumped by every write progress
  std::string out_;                // wire bytes not yet written
  size_t out_off_ = 0;
  size_t response_bytes_ = 0;  // frame bytes written in this response
  bool attached_ = false;      // the session holds this receiver
  bool ended_ = false;         // the last frame is queued
  bool failed_ = false;        // a write failed (Gone() is posted)
  bool write_waiting_ = false;
  bool reading_ = false;
  bool done_ = false;  // socket handed back or closed
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_SOCKJS_RECEIVER_H_
