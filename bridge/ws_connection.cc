#include "bridge/ws_connection.h"

#include <array>
#include <boost/asio/post.hpp>

#include "absl/strings/match.h"
#include "boost/json/serialize.hpp"
#include "bridge/access.h"
#include "bridge/ip_limiter.h"
#include "vent/base/log.h"
#include "vent/ddp/codec.h"
#include "vent/ws/frame.h"
#include "vent/ws/sockjs.h"

namespace vent::bridge {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

ddp::SessionOptions MakeSessionOptions(const BridgeOptions& o) {
  ddp::SessionOptions s;
  s.heartbeat_interval = o.heartbeat_interval;
  s.heartbeat_timeout = o.heartbeat_timeout;
  s.max_subscriptions = static_cast<size_t>(o.max_subscriptions);
  return s;
}

bool WouldBlock(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

constexpr size_t kReadsPerWake = 16;  // fairness between connections
constexpr size_t kKeepBufferBytes = 16 * 1024;
// More queued than this: the connection is behind (--max-worker-outgoing).
constexpr size_t kBehindBytes = 64 * 1024;
constexpr absl::Duration kCloseLinger = absl::Seconds(2);

}  // namespace

// The text of `s` as it appears inside a SockJS JSON string (no quotes).
std::string SockJsEscape(absl::string_view s) {
  std::string tmp;
  std::array<absl::string_view, 1> one = {s};
  ws::AppendArrayFrame(tmp, one);  // a["<escaped>"]
  return tmp.substr(3, tmp.size() - 5);
}

ConnectionSlot::~ConnectionSlot() {
  if (ctx_ == nullptr) return;
  ctx_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (!ip_.empty() && ctx_->ip_limiter != nullptr)
    ctx_->ip_limiter->Release(ip_);
}

WsConnection::WsConnection(Worker& worker, asio::ip::tcp::socket socket,
                           std::unique_ptr<tls::TlsSession> tls,
                           Transport transport, ConnectionSlot slot,
                           ConnectionInfo info)
    : worker_(worker),
      ctx_(worker.ctx()),
      socket_(std::move(socket)),
      tls_(std::move(tls)),
      transport_(transport),
      slot_(std::move(slot)),
      info_(std::move(info)),
      parser_(static_cast<size_t>(ctx_.options.max_message)),
      session_(MakeSessionOptions(ctx_.options), this, absl::Now()),
      handshake_deadline_(absl::Now() + ctx_.options.handshake_timeout) {
  user_id_ = info_.user_id;
}

WsConnection::~WsConnection() = default;

void WsConnection::Start(std::string initial_out, std::string leftover) {
  error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  ctx_.metrics->connections->Add(1);
  ctx_.metrics->connections_total->Add();
  ctx_.ws_connections.fetch_add(1, std::memory_order_relaxed);
  out_ = std::move(initial_out);
  if (!leftover.empty()) {
    std::vector<ws::Message> msgs;
    auto err = parser_.Feed(leftover, &msgs);
    for (ws::Message& m : msgs) {
      if (closed_ || closing_) break;
      HandleMessage(m);
    }
    if (err && !closing_) {
      ctx_.metrics->protocol_closes->Add();
      CloseWith(err->close_code, err->reason);
    }
  }
  Flush();
  if (!closed_) ArmRead();
}

void WsConnection::ArmRead() {
  if (reading_ || closed_) return;
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
  std::vector<ws::Message> msgs;
  for (size_t i = 0; i < kReadsPerWake && !closed_ && !closing_; ++i) {
    error_code ec;
    size_t n = socket_.read_some(
        asio::buffer(worker_.rx_buffer(), worker_.rx_size()), ec);
    if (WouldBlock(ec)) break;
    if (ec) {
      Terminate(ec == asio::error::eof ? "peer closed" : "read failed");
      return;
    }
    absl::string_view bytes(worker_.rx_buffer(), n);
    if (tls_ != nullptr) {
      // Decrypted bytes go to a per-thread buffer (no per-connection one).
      static thread_local std::string plain;
      plain.clear();
      absl::Status st = tls_->Feed(bytes, &plain, &tls_out_);
      if (!st.ok()) {
        ctx_.NoteTlsFailure(info_.remote, st.message());
        Terminate("tls error");
        return;
      }
      if (tls_->peer_closed()) {
        Terminate("peer closed");
        return;
      }
      if (tls_out_.size() > tls_off_) worker_.MarkDirty(this);
      bytes = plain;
    }
    msgs.clear();
    auto err = parser_.Feed(bytes, &msgs);
    for (ws::Message& m : msgs) {
      if (closed_ || closing_) break;
      HandleMessage(m);
    }
    if (closed_) return;
    if (err && !closing_) {
      ctx_.metrics->protocol_closes->Add();
      VENT_LOG_DEBUG("websocket protocol error", "remote", info_.remote, "code",
                     err->close_code, "reason", err->reason);
      CloseWith(err->close_code, err->reason);
    }
    if (n < worker_.rx_size()) break;
  }
  if (closed_) return;
  if (parser_.buffered_bytes() == 0) parser_.ShrinkToFit();
  Flush();
  if (!closed_) ArmRead();
}

void WsConnection::HandleMessage(ws::Message& msg) {
  switch (msg.kind) {
    case ws::Message::Kind::kText:
      HandleText(msg.payload);
      break;
    case ws::Message::Kind::kBinary:
      break;  // Meteor ignores binary frames.
    case ws::Message::Kind::kPing:
      ws::AppendFrame(out_, ws::Opcode::kPong, msg.payload);
      worker_.MarkDirty(this);
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
    session_.OnMessage(text, now);
    return;
  }
  auto msgs = ws::ParseClientFrame(text);
  if (!msgs.ok()) {
    CloseWith(3000, "Broken framing.");
    return;
  }
  for (const std::string& m : *msgs) {
    if (closed_ || closing_) return;
    session_.OnMessage(m, now);
  }
}

void WsConnection::QueueText(absl::string_view payload) {
  if (transport_ == Transport::kRaw) {
    ws::AppendFrame(out_, ws::Opcode::kText, payload);
  } else {
    std::string framed;
    std::array<absl::string_view, 1> one = {payload};
    ws::AppendArrayFrame(framed, one);
    ws::AppendFrame(out_, ws::Opcode::kText, framed);
  }
  CheckBudget();
}

void WsConnection::QueueVent(const Subscription& sub, Transformed& t) {
  if (closed_ || closing_ || overflow_) return;
  const std::string& e = *t.e;
  if (transport_ == Transport::kRaw) {
    ws::AppendFrameHeader(out_, ws::Opcode::kText,
                          sub.prefix.size() + e.size() + 1);
    out_.append(sub.prefix);
    out_.append(e);
    out_.push_back('}');
  } else {
    if (!t.sockjs_ready) {
      t.sockjs_e = SockJsEscape(e);
      t.sockjs_ready = true;
    }
    ws::AppendTextFrameParts(out_,
                             {"a[\"", sub.sockjs_prefix, t.sockjs_e, "}\"]"});
  }
  CheckBudget();
}

bool WsConnection::OverBudget() const {
  size_t queued = Queued();
  if (queued > static_cast<size_t>(ctx_.options.max_outgoing)) return true;
  return queued > kBehindBytes &&
         worker_.outgoing() > ctx_.options.max_worker_outgoing;
}

void WsConnection::CheckBudget() {
  worker_.MarkDirty(this);
  Account();
  if (!OverBudget()) return;
  // Over budget only if the socket does not take the bytes now: a big burst
  // to a client that reads is not a slow client. Never terminates here (we
  // may be inside a fan-out pass); AfterFanOut() acts on the flags.
  if (!write_waiting_) WriteSome();
  if (OverBudget()) overflow_ = true;
}

void WsConnection::AfterFanOut() {
  if (closed_) return;
  if (overflow_) {
    ctx_.metrics->slow_closes->Add();
    VENT_LOG_DEBUG("closing slow client", "remote", info_.remote,
                   "queued_bytes", Queued());
    // Drop what is queued. Tell the client why only if no frame is half
    // written (a close frame after a partial frame would be garbage) and,
    // over TLS, no record is still queued (records cannot be dropped: the
    // next one would fail the peer's sequence check).
    bool partial = out_off_ > 0 || write_waiting_ || tls_off_ < tls_out_.size();
    out_.clear();
    out_off_ = 0;
    if (!partial) {
      ws::AppendClose(out_, 4008, "slow client");
      std::string wire;
      if (tls_ != nullptr && tls_->Encrypt(out_, &wire).ok()) out_.swap(wire);
      error_code ec;
      socket_.write_some(asio::buffer(out_), ec);
      out_.clear();
    }
    Terminate("slow client");
    return;
  }
  Flush();
}

bool WsConnection::WriteSome() {
  if (tls_ != nullptr && out_off_ < out_.size()) {
    // Everything queued becomes TLS records at once: plaintext is never
    // half-sent, so out_ is free again.
    absl::Status st =
        tls_->Encrypt(absl::string_view(out_).substr(out_off_), &tls_out_);
    ReleaseSent(out_, out_off_ = out_.size());
    if (!st.ok()) {
      write_failed_ = true;
      return false;
    }
  }
  std::string& wire = tls_ != nullptr ? tls_out_ : out_;
  size_t& off = tls_ != nullptr ? tls_off_ : out_off_;
  uint64_t written = 0;
  bool ok = true;
  while (off < wire.size()) {
    error_code ec;
    size_t n = socket_.write_some(
        asio::buffer(wire.data() + off, wire.size() - off), ec);
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
      ok = false;
      break;
    }
    off += n;
    written += n;
  }
  if (written) ctx_.metrics->bytes_out->Add(written);
  ReleaseSent(wire, off);
  Account();
  return ok;
}

// Drops the sent prefix [0, off) of `buf` when that is cheap or worth it;
// gives big buffers back once empty.
void WsConnection::ReleaseSent(std::string& buf, size_t& off) {
  if (off == buf.size()) {
    buf.clear();
    off = 0;
    if (buf.capacity() > kKeepBufferBytes) std::string().swap(buf);
  } else if (off > kKeepBufferBytes && off * 2 > buf.size()) {
    buf.erase(0, off);
    off = 0;
  }
}

void WsConnection::Flush() {
  if (closed_) return;
  if (overflow_) {
    AfterFanOut();
    return;
  }
  if (write_failed_) {
    Terminate("write failed");
    return;
  }
  if (write_waiting_) return;
  if (!WriteSome()) {
    Terminate("write failed");
    return;
  }
  if (closing_ && Queued() == 0) Terminate("closed");
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

void WsConnection::CloseWith(uint16_t code, absl::string_view reason) {
  if (closing_ || closed_) return;
  if (transport_ == Transport::kSockJs) {
    ws::AppendFrame(out_, ws::Opcode::kText, ws::CloseFrame(code, reason));
  }
  ws::AppendClose(out_, code, reason);
  closing_ = true;
  close_deadline_ = absl::Now() + kCloseLinger;
  worker_.MarkDirty(this);
}

void WsConnection::Terminate(const char* why) {
  if (closed_) return;
  closed_ = true;
  int64_t ready = 0;
  for (auto& [id, sub] : subs_) {
    if (sub->ready) ++ready;
    if (sub->registered) worker_.RemoveSubscription(sub.get());
  }
  subs_.clear();
  ctx_.metrics->subscriptions->Add(-ready);
  ctx_.metrics->connections->Add(-1);
  ctx_.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  error_code ec;
  if (tls_ != nullptr && !write_failed_ && tls_off_ == tls_out_.size()) {
    std::string wire;
    tls_->Close(&wire);  // close_notify, best effort, never blocks
    socket_.write_some(asio::buffer(wire), ec);
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  // Queued bytes are dropped now (the object may outlive this call).
  std::string().swap(out_);
  std::string().swap(tls_out_);
  out_off_ = tls_off_ = 0;
  Account();
  socket_.close(ec);
  VENT_LOG_DEBUG("connection closed", "remote", info_.remote, "why", why);
  worker_.RemoveConnection(this);
}

void WsConnection::Shutdown() {
  CloseWith(1001, "server shutting down");
  Flush();
}

void WsConnection::OnSweep(absl::Time now) {
  if (closed_) return;
  if (closing_) {
    if (now >= close_deadline_) Terminate("close timeout");
    return;
  }
  if (!session_.connected() && now >= handshake_deadline_) {
    ctx_.metrics->heartbeat_closes->Add();
    CloseWith(1008, "DDP connect timeout");
    return;
  }
  if (now >= session_.NextDeadline()) session_.OnTick(now);
  if (closing_ || closed_) return;
  std::vector<std::string> expired;
  for (auto& [id, sub] : subs_) {
    if (!sub->ready && now >= sub->deadline) expired.push_back(id);
  }
  for (const std::string& id : expired) {
    FailSubscription(id, 503, "Redis is unavailable, try again later");
  }
}

void WsConnection::Send(std::string frame) {
  if (closed_ || closing_) return;
  if (absl::StartsWith(frame, "{\"msg\":\"error\""))
    ctx_.metrics->ddp_errors->Add();
  QueueText(frame);
}

void WsConnection::Close(uint16_t ws_code, std::string reason) {
  // The session closes for a missed heartbeat (it had negotiated a version)
  // or a failed version negotiation (it had not).
  if (!session_.version().empty()) ctx_.metrics->heartbeat_closes->Add();
  CloseWith(ws_code, reason);
}

}  // namespace vent::bridge
