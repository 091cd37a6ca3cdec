// SockJsSession: one DDP connection carried by SockJS's HTTP transports
// (xhr-streaming, xhr-polling + xhr_send, eventsource, htmlfile), for
// clients behind proxies that block WebSockets. It drives the same DdpHost
// and OutputQueue as a WebSocket; what differs is the carrier:
//
//   client -> POST .../xhr_send (a JSON array of DDP messages) -> Deliver()
//   DdpHost replies, Vent frames -> OutputQueue (a[...] elements) ->
//     the attached receiving request (a SockJsReceiver) -> client
//
// Semantics (sockjs-node 0.3.24, which Meteor pins):
//  * A session is created by its first receiving request, which gets "o".
//    At most one receiver at a time: a second one gets
//    c[2010,"Another connection still open"] and ends.
//  * Queued messages go to the receiver as one a[...] frame per write; a
//    polling receiver ends after one frame, a streaming one after
//    --sockjs-response-limit bytes; the client then sends the next request.
//  * "h" after --sockjs-heartbeat without a frame on an attached receiver.
//  * No receiver for --sockjs-disconnect-delay: the session ends. A
//    receiver whose client went away (connection closed) ends it at once.
//  * Closing (DDP `failed`, heartbeat timeout, slow client, drain): what is
//    queued, then c[code,reason] to the current or next receiver; the
//    session lingers briefly to hand it over, then ends.
//  * Limits as for WebSockets: --max-outgoing queued (4008 "slow client"),
//    --max-message per xhr_send body, --handshake-timeout for DDP connect;
//    plus --sockjs-max-sessions (checked by the HTTP side).
//
// Threading: the worker thread of the worker the session id hashes to
// (SockJsOwner()); every request for the session is moved there. Lifetime:
// owned by that Worker (a Connection) and by its attached receiver.
#ifndef VENT_BRIDGE_SOCKJS_SESSION_H_
#define VENT_BRIDGE_SOCKJS_SESSION_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "bridge/connection.h"
#include "bridge/ddp_host.h"
#include "bridge/output_queue.h"
#include "bridge/worker.h"

namespace vent::bridge {

// The HTTP response that carries frames to the client (sockjs_receiver.h).
class SockJsReceiver {
 public:
  virtual ~SockJsReceiver() = default;
  // No write in flight: a frame can be sent now.
  virtual bool ready() const = 0;
  // Writes one SockJS frame ("o", "h", "a[...]", "c[...]") in this
  // transport's form; `last` ends the response after it. Returns false when
  // the response ended with this frame (last, polling, response limit):
  // the receiver is then detached and never calls the session again.
  virtual bool SendFrame(absl::string_view frame, bool last) = 0;
  // The session is gone without a close frame (server stop): end the
  // response and close the socket.
  virtual void Abandon() = 0;
};

class SockJsSession : public std::enable_shared_from_this<SockJsSession>,
                      public Connection,
                      public HostOutput,
                      public VentSink {
 public:
  // Registers the session with `worker` (its index and connections).
  // REQUIRES: on worker's thread; worker is SockJsOwner(id).
  static std::shared_ptr<SockJsSession> Create(Worker& worker, std::string id,
                                               ConnectionInfo info);
  SockJsSession(Worker& worker, std::string id, ConnectionInfo info);
  ~SockJsSession() override;
  SockJsSession(const SockJsSession&) = delete;
  SockJsSession& operator=(const SockJsSession&) = delete;

  // A receiving request for this session (see the header comment). The
  // receiver stays attached until SendFrame returns false, Detach or
  // Abandon.
  void Attach(SockJsReceiver* receiver);
  // The receiver's write finished: it can take the next frame.
  void OnReceiverReady(SockJsReceiver* receiver);
  // The receiver's client closed its connection: the session ends.
  void OnReceiverAborted(SockJsReceiver* receiver);
  // One xhr_send body: a JSON array of DDP messages (or one JSON string).
  // InvalidArgument for an empty or broken body (HTTP 500 "Payload
  // expected." / "Broken JSON encoding.", sockjs-node's answers).
  absl::Status Deliver(absl::string_view body);

  const std::string& id() const { return id_; }
  bool closed() const { return closed_; }

  // Connection.
  void Flush() override;
  void OnSweep(absl::Time now) override;
  void Shutdown() override;
  bool closing_or_closed() const override { return closing_ || closed_; }

  // HostOutput.
  void SendMessage(absl::string_view message) override;
  void CloseConnection(uint16_t ws_code, absl::string_view reason) override;
  void Defer(absl::AnyInvocable<void(DdpHost&) &&> fn) override;
  Deferrer MakeDeferrer() override;
  // VentSink.
  void QueueVent(const Subscription& sub, Transformed& t) override;

 private:
  void Queued();
  // Sends "o" (first receiver) / queued messages / the close frame to the
  // receiver while it takes them.
  void Pump();
  // Frame to the attached receiver; detaches it when its response ended.
  void Send(absl::string_view frame, bool last);
  void CloseWith(uint16_t code, absl::string_view reason);
  void SlowClose();
  void Terminate(const char* why);

  Worker& worker_;
  BridgeContext& ctx_;
  const std::string id_;
  const std::string remote_;
  OutputQueue out_;
  DdpHost host_;
  SockJsReceiver* receiver_ = nullptr;
  bool opened_ = false;   // "o" sent
  bool closing_ = false;  // close frame pending or sent; no more messages
  bool close_sent_ = false;
  bool closed_ = false;
  bool overflow_ = false;
  std::string close_frame_;
  absl::Time handshake_deadline_;
  absl::Time detached_since_;  // no receiver since (valid while none)
  absl::Time last_frame_;      // last frame written to a receiver
  absl::Time close_deadline_ = absl::InfiniteFuture();
};

// The worker that owns SockJS session `id` (every request for it is moved
// there). REQUIRES: ctx.workers is not empty.
Worker& SockJsOwner(BridgeContext& ctx, absl::string_view id);

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_SOCKJS_SESSION_H_
