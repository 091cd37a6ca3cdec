// WsConnection: one upgraded WebSocket connection (raw DDP or SockJS), from the
// HTTP 101 until the socket closes. Bytes in -> ws::FrameParser -> DDP Session;
// Session output and Vent frames -> one coalescing outgoing buffer -> the
// socket, written without blocking (uWebSockets style: try write(2) at once,
// wait for writability only when the kernel buffer is full).
//
// Memory per idle connection is kept small: no per-connection read buffer
// (reads go into the worker's shared buffer), no per-connection timers (the
// worker's sweep drives heartbeats and deadlines), buffers released when idle.
//
// TLS (wss, --tls-cert/--tls-key): frames are queued as plaintext in out_ and
// become TLS records in tls_out_ at write time (every queued byte at once);
// the budget counts both. Records are per connection: nothing is shared.
//
// Slow clients: when queued outgoing bytes exceed --max-outgoing the
// connection is closed with 4008 "slow client" and counted; it never delays
// other connections (no write ever blocks).
//
// Threading: worker thread only. Lifetime: owned by the Worker; async waits
// hold a shared_ptr.
#ifndef VENT_BRIDGE_WS_CONNECTION_H_
#define VENT_BRIDGE_WS_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "bridge/subscription.h"
#include "bridge/worker.h"
#include "vent/auth/authorizer_client.h"
#include "vent/ddp/session.h"
#include "vent/tls/tls.h"
#include "vent/ws/parser.h"

namespace vent::bridge {

enum class Transport { kRaw, kSockJs };

// The text of `s` as it appears inside a SockJS JSON string (no quotes).
std::string SockJsEscape(absl::string_view s);

// Holds one slot of --max-connections (and of the client IP's limit when
// `ip` is set); released when destroyed.
class ConnectionSlot {
 public:
  ConnectionSlot(BridgeContext* ctx, std::string ip)
      : ctx_(ctx), ip_(std::move(ip)) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept
      : ctx_(o.ctx_), ip_(std::move(o.ip_)) {
    o.ctx_ = nullptr;
  }
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot();
  const std::string& ip() const { return ip_; }

 private:
  BridgeContext* ctx_;
  std::string ip_;  // empty: no per-IP slot held
};

struct ConnectionInfo {
  std::string user_id;  // from a token given at connect time, if any
  std::string remote;   // ip:port
  std::string origin;
  std::string user_agent;
  std::string forwarded_for;
};

class WsConnection : public std::enable_shared_from_this<WsConnection>,
                     public ddp::SessionHost {
 public:
  // `initial_out` is written first (the 101 response, and SockJS's "o").
  // `leftover` holds bytes the client sent after its HTTP request.
  // `tls` is the connection's TLS session when the bridge serves wss (its
  // handshake is done), else null.
  WsConnection(Worker& worker, boost::asio::ip::tcp::socket socket,
               std::unique_ptr<tls::TlsSession> tls, Transport transport,
               ConnectionSlot slot, ConnectionInfo info);
  ~WsConnection() override;
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  void Start(std::string initial_out, std::string leftover);

  // Fan-out (worker): appends one Vent frame. Never writes or closes here;
  // AfterFanOut() does, once per pass.
  void QueueVent(const Subscription& sub, Transformed& t);
  void AfterFanOut();
  // Worker: every channel of `sub_id` is confirmed by Redis.
  void OnSubscriptionAcked(const std::string& sub_id);
  // Worker sweep: heartbeats, handshake and subscription deadlines.
  void OnSweep(absl::Time now);
  // Server shutdown: close 1001 "going away".
  void Shutdown();

  bool dirty() const { return dirty_; }
  void set_dirty(bool d) { dirty_ = d; }

  // ddp::SessionHost.
  void Send(std::string frame) override;
  void Close(uint16_t ws_code, std::string reason) override;
  void StartSubscription(const ddp::SubRequest& req) override;
  void StopSubscription(const std::string& id) override;
  void CallMethod(const ddp::MethodCall& call) override;

 private:
  void ArmRead();
  void OnReadable(const boost::system::error_code& ec);
  void HandleMessage(ws::Message& msg);
  void HandleText(absl::string_view text);
  void QueueText(absl::string_view payload);
  void Flush();
  // Writes what the socket takes now; arms a writability wait when it
  // would block. Never terminates (sets write_failed_ instead).
  bool WriteSome();
  static void ReleaseSent(std::string& buf, size_t& off);
  // Outgoing bytes not yet taken by the kernel (plaintext + TLS records).
  size_t Queued() const {
    return out_.size() - out_off_ + tls_out_.size() - tls_off_;
  }
  // Reports the change of Queued() to the worker's total
  // (--max-worker-outgoing).
  void Account() {
    int64_t now = static_cast<int64_t>(Queued());
    worker_.AddOutgoing(now - accounted_);
    accounted_ = now;
  }
  // Over --max-outgoing, or behind while the worker is over
  // --max-worker-outgoing.
  bool OverBudget() const;
  void CheckBudget();
  void OnWritable(const boost::system::error_code& ec);
  void CloseWith(uint16_t code, absl::string_view reason);
  void Terminate(const char* why);
  void FailSubscription(const std::string& id, int code, std::string reason);
  // Adds a subscription that passed every check to the worker's registry.
  void Register(Subscription& sub);
  void AskAuthorizer(Subscription& sub, const boost::json::object& params);
  void OnAuthorized(const std::string& id, uint64_t generation,
                    absl::StatusOr<auth::Decision> decision);
  void RerunSubscriptions();
  // Runs `fn` on a later loop turn if the connection is still open.
  template <typename F>
  void Defer(F fn) {
    boost::asio::post(worker_.io(), [self = shared_from_this(),
                                     fn = std::move(fn)]() mutable {
      if (self->closed_) return;
      fn();
      self->Flush();
    });
  }

  Worker& worker_;
  BridgeContext& ctx_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls::TlsSession> tls_;  // null: plain WebSocket
  const Transport transport_;
  ConnectionSlot slot_;
  ConnectionInfo info_;
  ws::FrameParser parser_;
  ddp::Session session_;
  absl::flat_hash_map<std::string, std::unique_ptr<Subscription>> subs_;
  std::string user_id_;  // empty = not logged in
  uint64_t sub_generation_ = 0;
  std::string out_;  // queued outgoing bytes; out_[out_off_..] unsent
  size_t out_off_ = 0;
  std::string
      tls_out_;  // TLS mode: encrypted bytes; tls_out_[tls_off_..] unsent
  size_t tls_off_ = 0;
  int64_t accounted_ = 0;  // Queued() as last added to the worker's total
  absl::Time handshake_deadline_;
  absl::Time close_deadline_ = absl::InfiniteFuture();
  bool dirty_ = false;
  bool reading_ = false;
  bool write_waiting_ = false;
  bool overflow_ = false;
  bool write_failed_ = false;
  bool closing_ = false;  // close frame queued; terminate once flushed
  bool closed_ = false;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_WS_CONNECTION_H_
