#include "vent/redis/stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "vent/tls/tls.h"

namespace vent::redis::internal {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadSize = 64 * 1024;

}  // namespace

std::string Address::ToString() const {
  if (!unix_path.empty()) return absl::StrCat("unix:", unix_path);
  bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

absl::StatusOr<TlsSettings> MakeTlsSettings(const Options& options) {
  TlsSettings out;
  if (!options.endpoint.tls) return out;
  out.server_name = options.tls_server_name;
  out.context = options.tls;
  if (out.context == nullptr) {
    auto ctx = tls::TlsClientContext::Load("", "", "");
    if (!ctx.ok()) return ctx.status();
    out.context = *std::move(ctx);
  }
  return out;
}

Stream::Stream(asio::io_context& io)
    : io_(io), resolver_(io), tcp_(io), unix_(io) {}

Stream::~Stream() = default;

asio::awaitable<absl::Status> Stream::Connect(const Address& address,
                                              const TlsSettings& tls) {
  peer_ = address.ToString();
  if (!address.unix_path.empty()) {
    use_unix_ = true;
    boost::system::error_code ec;
    std::tie(ec) = co_await unix_.async_connect(
        asio::local::stream_protocol::endpoint(address.unix_path), kUseTuple);
    if (closed_) co_return absl::CancelledError("closed");
    if (ec) {
      co_return absl::UnavailableError(
          absl::StrCat("cannot connect to ", peer_, ": ", ec.message()));
    }
  } else {
    auto [rec, results] = co_await resolver_.async_resolve(
        address.host, std::to_string(address.port), kUseTuple);
    if (closed_) co_return absl::CancelledError("closed");
    if (rec) {
      co_return absl::UnavailableError(
          absl::StrCat("cannot resolve ", address.host, ": ", rec.message()));
    }
    auto [cec, peer] = co_await asio::async_connect(tcp_, results, kUseTuple);
    if (closed_) co_return absl::CancelledError("closed");
    if (cec) {
      co_return absl::UnavailableError(
          absl::StrCat("cannot connect to ", peer_, ": ", cec.message()));
    }
    boost::system::error_code ignored;
    tcp_.set_option(tcp::no_delay(true), ignored);
  }
  if (tls.context != nullptr) {
    tls_ = std::make_unique<tls::TlsSession>(
        tls.context, tls.server_name.empty() ? address.host : tls.server_name);
    co_return co_await TlsHandshake();
  }
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> Stream::TlsHandshake() {
  std::string wire;
  tls_->Start(&wire);
  if (!rbuf_) rbuf_.reset(new char[kReadSize]);
  while (!tls_->handshake_done()) {
    if (!wire.empty()) {
      boost::system::error_code ec = co_await RawWrite(wire);
      if (closed_) co_return absl::CancelledError("closed");
      if (ec) {
        co_return absl::UnavailableError(absl::StrCat(
            "TLS handshake with ", peer_, ": write: ", ec.message()));
      }
      wire.clear();
    }
    auto [ec, n] = co_await RawReadSome(rbuf_.get(), kReadSize);
    if (closed_) co_return absl::CancelledError("closed");
    if (ec) {
      co_return absl::UnavailableError(absl::StrCat(
          "TLS handshake with ", peer_, ": ",
          ec == asio::error::eof
              ? std::string(
                    "connection closed by the server (does it speak TLS? does "
                    "it want a client certificate?)")
              : ec.message()));
    }
    absl::Status st =
        tls_->Feed(absl::string_view(rbuf_.get(), n), &plain_, &wire);
    if (!st.ok()) {
      if (!wire.empty()) co_await RawWrite(wire);  // the alert, best effort
      co_return absl::UnavailableError(
          absl::StrCat("TLS with ", peer_, ": ", st.message()));
    }
  }
  plain_pending_ = !plain_.empty();
  if (!wire.empty()) {
    boost::system::error_code ec = co_await RawWrite(wire);
    if (ec) {
      co_return absl::UnavailableError(absl::StrCat(
          "TLS handshake with ", peer_, ": write: ", ec.message()));
    }
  }
  co_return absl::OkStatus();
}

asio::awaitable<boost::system::error_code> Stream::RawWrite(
    const std::string& bytes) {
  boost::system::error_code ec;
  if (use_unix_) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(unix_, asio::buffer(bytes), kUseTuple);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(tcp_, asio::buffer(bytes), kUseTuple);
  }
  co_return ec;
}

asio::awaitable<std::pair<boost::system::error_code, size_t>>
Stream::RawReadSome(char* buf, size_t cap) {
  boost::system::error_code ec;
  size_t n = 0;
  if (use_unix_) {
    std::tie(ec, n) =
        co_await unix_.async_read_some(asio::buffer(buf, cap), kUseTuple);
  } else {
    std::tie(ec, n) =
        co_await tcp_.async_read_some(asio::buffer(buf, cap), kUseTuple);
  }
  co_return std::make_pair(ec, n);
}

asio::awaitable<absl::StatusOr<absl::string_view>> Stream::Read() {
  if (!rbuf_) rbuf_.reset(new char[kReadSize]);
  if (plain_pending_) {  // arrived with the end of the TLS handshake
    plain_pending_ = false;
    co_return absl::string_view(plain_);
  }
  plain_.clear();
  for (;;) {
    if (tls_ && tls_->peer_closed()) {
      co_return absl::UnavailableError("connection closed by redis (TLS)");
    }
    auto [ec, n] = co_await RawReadSome(rbuf_.get(), kReadSize);
    if (closed_) co_return absl::CancelledError("closed");
    if (ec) {
      co_return absl::UnavailableError(
          ec == asio::error::eof ? std::string("connection closed by redis")
                                 : absl::StrCat("read: ", ec.message()));
    }
    if (!tls_) co_return absl::string_view(rbuf_.get(), n);
    size_t before = wire_.size();
    absl::Status st =
        tls_->Feed(absl::string_view(rbuf_.get(), n), &plain_, &wire_);
    if (!st.ok()) co_return absl::UnavailableError(st.message());
    if (wire_.size() != before) StartWrite();  // e.g. a key update answer
    if (!plain_.empty()) co_return absl::string_view(plain_);
  }
}

void Stream::Write(absl::string_view bytes) {
  if (closed_) return;
  out_.append(bytes.data(), bytes.size());
  StartWrite();
}

void Stream::Write(std::string&& bytes) {
  if (closed_) return;
  if (out_.empty()) {
    out_.swap(bytes);
  } else {
    out_.append(bytes);
  }
  StartWrite();
}

void Stream::StartWrite() {
  if (writing_ || closed_ || (out_.empty() && wire_.empty())) return;
  wbuf_plain_ = out_.size();
  bytes_started_ += wbuf_plain_;
  if (tls_) {
    wbuf_.swap(wire_);
    wire_.clear();
    if (!out_.empty()) {
      absl::Status st = tls_->Encrypt(out_, &wbuf_);
      out_.clear();
      if (!st.ok()) {
        Fail(absl::UnavailableError(st.message()));
        return;
      }
    }
  } else {
    wbuf_.swap(out_);
    out_.clear();
  }
  writing_ = true;
  auto done = [self = shared_from_this()](boost::system::error_code ec,
                                          size_t n) {
    // Plain: exact. TLS: a partly accepted write counts whole (see header).
    if (!self->tls_) {
      self->bytes_written_ += n;
    } else if (n > 0) {
      self->bytes_written_ += self->wbuf_plain_;
    }
    self->writing_ = false;
    self->wbuf_.clear();
    if (self->closed_) {
      if (auto f = std::move(self->on_idle_)) {
        self->on_idle_ = nullptr;
        f();
      }
      return;
    }
    if (ec) {
      self->Fail(absl::UnavailableError(absl::StrCat("write: ", ec.message())));
      return;
    }
    self->StartWrite();
  };
  if (use_unix_) {
    asio::async_write(unix_, asio::buffer(wbuf_), std::move(done));
  } else {
    asio::async_write(tcp_, asio::buffer(wbuf_), std::move(done));
  }
}

void Stream::WhenIdle(absl::AnyInvocable<void()> f) {
  if (!writing_) {
    f();
    return;
  }
  on_idle_ = std::move(f);
}

void Stream::Fail(absl::Status st) {
  if (closed_) return;
  auto f = std::move(on_write_error_);
  on_write_error_ = nullptr;
  if (f) f(std::move(st));
}

void Stream::Close() {
  if (closed_) return;
  closed_ = true;
  on_write_error_ = nullptr;
  resolver_.cancel();
  boost::system::error_code ignored;
  tcp_.close(ignored);
  unix_.close(ignored);
  out_.clear();
  wire_.clear();
}

}  // namespace vent::redis::internal
