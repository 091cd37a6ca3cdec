#include "bridge/ws_connection.h"

#include <boost/asio/post.hpp>

#include "vent/base/check.h"
#include "vent/base/log.h"
#include "vent/ws/frame.h"
#include "vent/ws/sockjs.h"

namespace vent::bridge {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

bool WouldBlock(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

constexpr size_t kReadsPerWake = 16;  // fairness between connections
constexpr absl::Duration kCloseLinger = absl::Seconds(2);

OutputBudget MakeBudget(Worker& worker) {
  const BridgeOptions& o = worker.ctx().options;
  OutputBudget b;
  b.max_bytes = static_cast<size_t>(o.max_outgoing);
  b.max_worker_bytes = o.max_worker_outgoing;
  b.worker_total = worker.outgoing_total();
  return b;
}

}  // namespace

WsConnection::Socket WsConnection::AdoptSocket(Worker& worker,
                                               asio::ip::tcp::socket s) {
  error_code ec;
  asio::ip::tcp protocol = asio::ip::tcp::v4();
  asio::ip::tcp::endpoint local = s.local_endpoint(ec);
  if (!ec) protocol = local.protocol();
  // No operation is pending on `s` (the HTTP phase ended inside a handler).
  int fd = s.release(ec);
  WsConnection::Socket out(worker.io().get_executor());
  if (!ec) out.assign(protocol, fd, ec);
  return out;
}

WsConnection::WsConnection(Worker& worker, asio::ip::tcp::socket socket,
                           std::unique_ptr<tls::TlsSession> tls,
                           Transport transport, ConnectionSlot slot,
                           ConnectionInfo info)
    : worker_(worker),
      ctx_(worker.ctx()),
      socket_(AdoptSocket(worker, std::move(socket))),
      tls_(std::move(tls)),
      transport_(transport),
      slot_(std::move(slot)),
      parser_(static_cast<size_t>(ctx_.options.max_message)),
      out_(transport == Transport::kRaw
               ? OutputQueue::Framing::kWebSocket
               : OutputQueue::Framing::kSockJsWebSocket,
           MakeBudget(worker)),
      host_(DdpHost::Deps{&ctx_, &worker.registry(), this, this,
                          transport == Transport::kSockJs},
            std::move(info)),
      handshake_deadline_(absl::Now() + ctx_.options.handshake_timeout) {}

WsConnection::~WsConnection() = default;

void WsConnection::EnableDeflate(const ws::DeflateParams& params) {
  if (!params.enabled) return;
  // Inflation and compression state belong to the worker thread: with no
  // context takeover either way, the connection keeps none of its own.
  parser_.EnableDeflate(&ws::ThreadInflater());
  out_.EnableDeflate(params.server_window_bits);
}

void WsConnection::Start(std::string initial_out, std::string leftover) {
  error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  ctx_.metrics->connections->Add(1);
  ctx_.metrics->connections_total->Add();
  ctx_.ws_connections.fetch_add(1, std::memory_order_relaxed);
  // The 101 (and "o") go out in clear text for plain connections and as
  // records for TLS: both are plaintext here, sealed at write time.
  out_.AppendRaw(initial_out);
  if (tls_ != nullptr) out_.set_sealer(this);
  if (!leftover.empty()) {
    std::vector<ws::Message> msgs;
    auto err = parser_.Feed(leftover, &msgs);
    for (ws::Message& m : msgs) {
      if (closing_ || closed_) break;
      HandleMessage(m);
    }
    if (err && !closing_ && !closed_) {
      ctx_.metrics->protocol_closes->Add();
      CloseWith(err->close_code, err->reason);
    }
  }
  Flush();
  if (!closed_) ArmRead();
}

void WsConnection::ArmRead() {
  if (reading_ || closed_ || read_paused_) return;
  if (host_.input_paused()) {
    read_paused_ = true;  // a login waits for the backend; Flush resumes
    return;
  }
  reading_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const error_code& ec) {
                       self->OnReadable(ec);
                     });
}

void WsConnection::OnReadable(const error_code& wait_ec) {
  reading_ = false;
  if (closed_) return;
  if (wait_ec) {
    Terminate("wait failed");
    return;
  }
  for (size_t i = 0; i < kReadsPerWake && !closed_; ++i) {
    if (!closing_ && host_.input_paused()) {
      read_paused_ = true;  // a login waits for the backend; Flush resumes
      break;
    }
    if (!closing_ && out_.behind()) {
      // The client sends faster than it takes our replies: write what it
      // takes; if still behind, stop reading until OnWritable drains it.
      if (!write_waiting_) WriteSome();
      if (out_.behind()) {
        read_paused_ = true;
        ctx_.metrics->reads_paused->Add();
        break;
      }
    }
    error_code ec;
    size_t n = socket_.read_some(
        asio::buffer(worker_.rx_buffer(), worker_.rx_size()), ec);
    if (WouldBlock(ec)) break;
    if (ec) {
      // After our close frame, the peer closing is the normal end.
      Terminate(closing_ && ec == asio::error::eof ? "closed"
                : ec == asio::error::eof           ? "peer closed"
                                                   : "read failed");
      return;
    }
    if (shut_) continue;  // draining after the close handshake
    Consume(absl::string_view(worker_.rx_buffer(), n));
    if (n < worker_.rx_size()) break;
  }
  if (closed_) return;
  if (parser_.buffered_bytes() == 0) parser_.ShrinkToFit();
  Flush();
  if (!closed_) ArmRead();
}

void WsConnection::Consume(absl::string_view bytes) {
  if (tls_ != nullptr) {
    // Decrypted bytes go to a per-thread buffer (no per-connection one).
    static thread_local std::string plain;
    static thread_local std::string wire;
    plain.clear();
    wire.clear();
    absl::Status st = tls_->Feed(bytes, &plain, &wire);
    if (!wire.empty()) {
      // Alerts or post-handshake records: already sealed, sent in order.
      out_.AppendSealed(wire);
      Queued();
    }
    if (!st.ok()) {
      ctx_.NoteTlsFailure(remote(), st.message());
      Terminate("tls error");
      return;
    }
    if (tls_->peer_closed()) {
      Terminate("peer closed");
      return;
    }
    bytes = plain;
  }
  if (closing_) return;  // input after our close frame is discarded
  std::vector<ws::Message> msgs;
  auto err = parser_.Feed(bytes, &msgs);
  for (ws::Message& m : msgs) {
    if (closing_ || closed_) return;
    HandleMessage(m);
  }
  if (err && !closing_ && !closed_) {
    ctx_.metrics->protocol_closes->Add();
    VENT_LOG_DEBUG("websocket protocol error", "remote", remote(), "code",
                   err->close_code, "reason", err->reason);
    CloseWith(err->close_code, err->reason);
  }
}

void WsConnection::HandleMessage(ws::Message& msg) {
  switch (msg.kind) {
    case ws::Message::Kind::kText:
      HandleText(msg.payload);
      break;
    case ws::Message::Kind::kBinary:
      break;  // Meteor ignores binary frames.
    case ws::Message::Kind::kPing:
      out_.AppendControl(ws::Opcode::kPong, msg.payload);
      Queued();
      break;
    case ws::Message::Kind::kPong:
      break;
    case ws::Message::Kind::kClose:
      CloseWith(msg.close_code == 0 ? 1000 : msg.close_code, "");
      break;
  }
}

void WsConnection::HandleText(absl::string_view text) {
  absl::Time now = absl::Now();
  if (transport_ == Transport::kRaw) {
    host_.OnMessage(text, now);
    return;
  }
  auto msgs = ws::ParseClientFrame(text);
  if (!msgs.ok()) {
    CloseWith(3000, ws::kSockJsBrokenFraming);
    return;
  }
  for (const std::string& m : *msgs) {
    if (closing_ || closed_) return;
    host_.OnMessage(m, now);
  }
}

// --- output -----------------------------------------------------------------

void WsConnection::SendMessage(absl::string_view message) {
  if (closing_ || closed_) return;
  out_.AppendMessage(message);
  Queued();
}

void WsConnection::QueueVent(const Subscription& sub, Transformed& t) {
  if (closing_ || closed_ || overflow_) return;
  out_.AppendVent(sub, t);
  Queued();
}

void WsConnection::Queued() {
  worker_.MarkDirty(this);
  if (!out_.over_budget()) return;
  // Over budget only if the socket does not take the bytes now: a big burst
  // to a client that reads is not a slow client. Never terminates here (we
  // may be inside a fan-out pass); Flush() acts on the flag.
  if (!write_waiting_) WriteSome();
  if (out_.over_budget()) overflow_ = true;
}

absl::Status WsConnection::Seal(absl::string_view plain, std::string* wire) {
  return tls_->Encrypt(plain, wire);
}

void WsConnection::WriteSome() {
  uint64_t written = 0;
  while (!write_failed_) {
    absl::StatusOr<absl::string_view> pending = out_.Pending();
    if (!pending.ok()) {
      write_failed_ = true;
      break;
    }
    if (pending->empty()) break;
    error_code ec;
    size_t n =
        socket_.write_some(asio::buffer(pending->data(), pending->size()), ec);
    if (WouldBlock(ec)) {
      write_waiting_ = true;
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const error_code& ec) {
                           self->OnWritable(ec);
                         });
      break;
    }
    if (ec) {
      write_failed_ = true;
      break;
    }
    out_.Consume(n);
    written += n;
  }
  if (written) ctx_.metrics->bytes_out->Add(written);
}

void WsConnection::Flush() {
  if (closed_) return;
  if (overflow_) {
    SlowClose();
    return;
  }
  if (!write_waiting_) WriteSome();
  if (write_failed_) {
    Terminate("write failed");
    return;
  }
  if (closing_ && !shut_ && out_.empty()) {
    // Everything, our close frame included, is written: shut down the write
    // side and drain input until the peer closes (no RST over its data).
    shut_ = true;
    error_code ec;
    if (tls_ != nullptr) {
      std::string wire;
      tls_->Close(&wire);  // close_notify, best effort, never blocks
      socket_.write_some(asio::buffer(wire), ec);
    }
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }
  if (read_paused_ && !out_.behind() && !host_.input_paused()) {
    read_paused_ = false;
    ArmRead();
  }
}

void WsConnection::OnWritable(const error_code& ec) {
  write_waiting_ = false;
  if (closed_) return;
  if (ec) {
    Terminate("wait failed");
    return;
  }
  Flush();
}

void WsConnection::SlowClose() {
  ctx_.metrics->slow_closes->Add();
  VENT_LOG_DEBUG("closing slow client", "remote", remote(), "queued_bytes",
                 out_.queued());
  // Drop what is queued. Tell the client why only if no frame is half
  // written (a close frame after a partial frame would be garbage).
  bool partial = out_.partly_written() || write_waiting_;
  out_.Drop();
  host_.Release();
  if (!partial) {
    out_.AppendClose(4008, "slow client");
    WriteSome();  // one attempt, never waits
  }
  Terminate("slow client");
}

void WsConnection::CloseWith(uint16_t code, absl::string_view reason) {
  if (closing_ || closed_) return;
  // No more events or replies for this connection: its subs leave now.
  host_.Release();
  out_.AppendClose(code, reason);
  closing_ = true;
  close_deadline_ = absl::Now() + kCloseLinger;
  worker_.MarkDirty(this);
}

void WsConnection::CloseConnection(uint16_t ws_code, absl::string_view reason) {
  CloseWith(ws_code, reason);
}

void WsConnection::Terminate(const char* why) {
  if (closed_) return;
  closed_ = true;
  host_.Release();
  ctx_.metrics->connections->Add(-1);
  ctx_.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  error_code ec;
  if (tls_ != nullptr && !shut_ && !write_failed_ && !out_.partly_written()) {
    std::string wire;
    tls_->Close(&wire);  // close_notify, best effort, never blocks
    socket_.write_some(asio::buffer(wire), ec);
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  out_.Drop();  // the object may outlive this call (pending waits)
  socket_.close(ec);
  VENT_LOG_DEBUG("connection closed", "remote", remote(), "why", why);
  worker_.RemoveConnection(this);
}

void WsConnection::Shutdown() {
  if (closing_ || closed_) return;
  CloseWith(1001, "server shutting down");
  Flush();
}

void WsConnection::Defer(absl::AnyInvocable<void(DdpHost&) &&> fn) {
  std::weak_ptr<WsConnection> weak = weak_from_this();
  asio::post(worker_.io(), [weak, fn = std::move(fn)]() mutable {
    std::shared_ptr<WsConnection> self = weak.lock();
    if (self == nullptr || self->closing_ || self->closed_) return;
    std::move(fn)(self->host_);
    self->Flush();
  });
}

HostOutput::Deferrer WsConnection::MakeDeferrer() {
  return [weak = weak_from_this()](absl::AnyInvocable<void(DdpHost&) &&> fn) {
    if (std::shared_ptr<WsConnection> self = weak.lock()) {
      self->Defer(std::move(fn));  // posts; only reads immutable members
    }
  };
}

void WsConnection::OnSweep(absl::Time now) {
  if (closed_) return;
  // Idle: no buffer survives a sweep period empty.
  if (!write_waiting_) out_.ReleaseIfEmpty();
  if (parser_.buffered_bytes() == 0) parser_.ShrinkToFit();
  if (closing_) {
    if (now >= close_deadline_) Terminate("close timeout");
    return;
  }
  if (!host_.connected() && now >= handshake_deadline_) {
    ctx_.metrics->heartbeat_closes->Add();
    CloseWith(1008, "DDP connect timeout");
    return;
  }
  host_.OnTick(now);
}

}  // namespace vent::bridge
