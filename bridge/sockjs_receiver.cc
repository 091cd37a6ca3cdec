#include "bridge/sockjs_receiver.h"

#include <boost/asio/post.hpp>

#include "bridge/http_session.h"
#include "vent/base/check.h"
#include "vent/base/log.h"

namespace vent::bridge {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

bool WouldBlock(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Bytes a client may send on a receiving request's connection before its
// response ended (a pipelined next request); more is not HTTP we serve.
constexpr size_t kMaxLeftover = 16 * 1024;

}  // namespace

SockJsHttpReceiver::SockJsHttpReceiver(Worker& worker,
                                       asio::ip::tcp::socket socket,
                                       std::unique_ptr<tls::TlsSession> tls,
                                       ConnectionSlot slot,
                                       std::string leftover, Params params)
    : worker_(worker),
      ctx_(worker.ctx()),
      socket_(std::move(socket)),
      tls_(std::move(tls)),
      slot_(std::move(slot)),
      in_(std::move(leftover)),
      params_(std::move(params)),
      stall_timer_(worker.io()) {}

SockJsHttpReceiver::~SockJsHttpReceiver() = default;

void SockJsHttpReceiver::Start(std::shared_ptr<SockJsSession> session) {
  error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  std::string start = params_.head;
  if (!params_.prelude.empty()) {
    start += params_.chunked ? Chunk(params_.prelude) : params_.prelude;
  }
  Write(start);
  ArmRead();
  session_ = std::move(session);
  attached_ = true;
  // The session sends "o", queued messages or a close frame at once, or
  // waits (polling) until it has something.
  session_->Attach(this);
}

bool SockJsHttpReceiver::SendFrame(absl::string_view frame, bool last) {
  VENT_DCHECK(ready());
  std::string body = ReceiverFrame(params_.transport, frame);
  response_bytes_ += body.size();
  bool end = last || params_.transport == SockJsTransport::kXhrPolling ||
             response_bytes_ >=
                 static_cast<size_t>(ctx_.options.sockjs_response_limit);
  std::string wire = params_.chunked ? Chunk(body) : std::move(body);
  if (end && params_.chunked) wire.append(kLastChunk.data(), kLastChunk.size());
  Write(wire);
  if (end) ended_ = true;
  if (ended_ && !failed_ && !write_waiting_ && !done_) {
    // Not from inside the session's call: the next request on this
    // connection may attach to the same session.
    asio::post(worker_.io(), [self = shared_from_this()] { self->Finish(); });
  }
  bool still = !ended_ && !failed_;
  if (!still) attached_ = false;
  return still;
}

void SockJsHttpReceiver::Abandon() {
  attached_ = false;
  ended_ = true;
  session_.reset();
  Close();
}

void SockJsHttpReceiver::Write(absl::string_view plain) {
  if (done_) return;
  if (tls_ != nullptr) {
    std::string wire;
    if (!tls_->Encrypt(plain, &wire).ok()) {
      failed_ = true;
      asio::post(worker_.io(), [self = shared_from_this()] { self->Gone(); });
      return;
    }
    out_.append(wire);
  } else {
    out_.append(plain.data(), plain.size());
  }
  if (!write_waiting_) WriteSome();
}

void SockJsHttpReceiver::WriteSome() {
  uint64_t written = 0;
  while (!failed_ && out_off_ < out_.size()) {
    error_code ec;
    size_t n = socket_.write_some(
        asio::buffer(out_.data() + out_off_, out_.size() - out_off_), ec);
    if (WouldBlock(ec)) {
      write_waiting_ = true;
      ArmStall();
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const error_code& ec) {
                           self->OnWritable(ec);
                         });
      break;
    }
    if (ec) {
      // Reported from a handler, never from inside the session's call.
      failed_ = true;
      out_.clear();
      out_off_ = 0;
      asio::post(worker_.io(), [self = shared_from_this()] { self->Gone(); });
      return;
    }
    out_off_ += n;
    written += n;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  if (written) ctx_.metrics->bytes_out->Add(written);
}

void SockJsHttpReceiver::ArmStall() {
  absl::Duration stall =
      ctx_.options.heartbeat_interval + ctx_.options.heartbeat_timeout;
  if (stall <= absl::ZeroDuration()) stall = absl::Seconds(30);
  uint64_t generation = ++stall_generation_;
  stall_timer_.expires_after(absl::ToChronoMilliseconds(stall));
  stall_timer_.async_wait(
      [self = shared_from_this(), generation](const error_code& ec) {
        if (ec || generation != self->stall_generation_) return;
        if (self->write_waiting_) self->Gone();  // the client stopped reading
      });
}

void SockJsHttpReceiver::OnWritable(const error_code& ec) {
  write_waiting_ = false;
  if (done_) return;
  if (ec) {
    Gone();
    return;
  }
  WriteSome();
  if (write_waiting_ || done_ || failed_) return;
  if (ended_) {
    Finish();
  } else if (session_ != nullptr && attached_) {
    session_->OnReceiverReady(this);
  }
}

void SockJsHttpReceiver::ArmRead() {
  if (reading_ || done_) return;
  reading_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const error_code& ec) {
                       self->OnReadable(ec);
                     });
}

void SockJsHttpReceiver::OnReadable(const error_code& wait_ec) {
  reading_ = false;
  if (done_) return;
  if (wait_ec) {
    Gone();
    return;
  }
  error_code ec;
  size_t n = socket_.read_some(
      asio::buffer(worker_.rx_buffer(), worker_.rx_size()), ec);
  if (WouldBlock(ec)) {
    ArmRead();
    return;
  }
  if (ec) {
    Gone();  // EOF or reset: the client abandoned the request
    return;
  }
  absl::string_view bytes(worker_.rx_buffer(), n);
  if (tls_ != nullptr) {
    std::string plain;
    std::string wire;
    if (!tls_->Feed(bytes, &plain, &wire).ok() || tls_->peer_closed()) {
      Gone();
      return;
    }
    in_.append(plain);
    if (!wire.empty()) {
      out_.append(wire);
      if (!write_waiting_) WriteSome();
    }
  } else {
    in_.append(bytes.data(), bytes.size());
  }
  if (in_.size() > kMaxLeftover) {
    Gone();
    return;
  }
  if (!ended_) ArmRead();
}

void SockJsHttpReceiver::Finish() {
  if (done_) return;
  session_.reset();
  if (!params_.chunked || !params_.keep_alive) {
    Close();
    return;
  }
  // Keep-alive: the connection's next request (maybe already in in_).
  done_ = true;
  ++stall_generation_;
  stall_timer_.cancel();
  error_code ec;
  socket_.cancel(ec);  // the read watch
  StartHttpSession(worker_, std::move(socket_), std::move(slot_),
                   /*admin=*/false, std::move(tls_), std::move(in_));
}

void SockJsHttpReceiver::Gone() {
  if (done_) return;
  std::shared_ptr<SockJsSession> session = std::move(session_);
  bool was_attached = attached_;
  attached_ = false;
  ended_ = true;
  Close();
  if (session != nullptr && was_attached) session->OnReceiverAborted(this);
}

void SockJsHttpReceiver::Close() {
  if (done_) return;
  done_ = true;
  ++stall_generation_;
  stall_timer_.cancel();
  error_code ec;
  if (tls_ != nullptr && tls_->handshake_done()) {
    std::string wire;
    tls_->Close(&wire);  // close_notify, best effort, never blocks
    socket_.write_some(asio::buffer(wire), ec);
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace vent::bridge
