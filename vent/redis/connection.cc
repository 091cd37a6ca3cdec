#include "vent/redis/connection.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "vent/base/log.h"
#include "vent/redis/backoff.h"

namespace vent::redis::internal {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadSize = 64 * 1024;

std::chrono::nanoseconds ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

}  // namespace

absl::Status ErrorReplyToStatus(absl::string_view context,
                                absl::string_view message) {
  std::string msg = absl::StrCat("redis ", context, " failed: ", message);
  if (absl::StartsWith(message, "WRONGPASS") ||
      absl::StartsWith(message, "NOAUTH") ||
      absl::StartsWith(message, "NOPERM") ||
      absl::StrContains(message, "invalid password")) {
    return absl::PermissionDeniedError(msg);
  }
  return absl::FailedPreconditionError(msg);
}

Connection::Connection(asio::io_context& io, Options options, std::string role)
    : io_(io),
      options_(std::move(options)),
      role_(std::move(role)),
      resolver_(io),
      socket_(io),
      connect_timer_(io),
      backoff_timer_(io),
      deadline_timer_(io) {}

Connection::~Connection() = default;

void Connection::Start() {
  if (started_.exchange(true)) return;
  asio::co_spawn(io_, Run(), [self = shared_from_this()](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      VENT_LOG_ERROR("redis connection loop died", "role", self->role_, "error",
                     ex.what());
    }
  });
}

absl::Status Connection::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

void Connection::SetLastError(const absl::Status& s) {
  absl::MutexLock lock(&mu_);
  last_error_ = s;
}

asio::awaitable<void> Connection::Run() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  while (!shutdown_) {
    absl::Status st = co_await ConnectOnce();
    if (shutdown_) break;
    if (st.ok()) {
      backoff.Reset();
      if (settle_due_) {  // never: a cut write completes before any reconnect
        settle_due_ = false;
        OnWritesSettled();
      }
      ++session_;
      bytes_started_ = 0;
      bytes_written_ = 0;
      session_up_ = true;
      connected_.store(true, std::memory_order_release);
      SetLastError(absl::OkStatus());
      VENT_LOG_INFO("redis connected", "role", role_, "endpoint",
                    options_.endpoint.Redacted());
      OnUp();
      if (session_up_) co_await ReadLoop(session_);
      if (shutdown_) break;
    } else {
      SetLastError(st);
      VENT_LOG_WARN("redis connect failed", "role", role_, "endpoint",
                    options_.endpoint.Redacted(), "error", st.ToString());
    }
    backoff_timer_.expires_after(ToChrono(backoff.Next()));
    co_await backoff_timer_.async_wait(kUseTuple);
  }
}

asio::awaitable<absl::Status> Connection::ConnectOnce() {
  const uint64_t attempt = ++attempt_;
  attempt_timed_out_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  socket_ = tcp::socket(io_);
  reader_ = RespReader();
  out_.clear();
  owed_.clear();
  connect_timer_.expires_after(ToChrono(options_.connect_timeout));
  connect_timer_.async_wait(
      [self = shared_from_this(), attempt](boost::system::error_code ec) {
        if (ec || attempt != self->attempt_) return;
        self->attempt_timed_out_ = true;
        self->resolver_.cancel();
        boost::system::error_code ig;
        self->socket_.close(ig);
      });
  absl::Status st = co_await Handshake();
  ++attempt_;  // a timeout handler already queued must not touch this socket
  connect_timer_.cancel();
  if (attempt_timed_out_) {
    st = absl::DeadlineExceededError(
        absl::StrCat("connect + handshake did not finish within ",
                     absl::FormatDuration(options_.connect_timeout)));
  }
  if (!st.ok()) socket_.close(ignored);
  co_return st;
}

asio::awaitable<absl::Status> Connection::Handshake() {
  const Endpoint& ep = options_.endpoint;
  auto [rec, results] = co_await resolver_.async_resolve(
      ep.host, std::to_string(ep.port), kUseTuple);
  if (rec) {
    co_return absl::UnavailableError(
        absl::StrCat("cannot resolve ", ep.host, ": ", rec.message()));
  }
  auto [cec, peer] = co_await asio::async_connect(socket_, results, kUseTuple);
  if (cec) {
    co_return absl::UnavailableError(absl::StrCat(
        "cannot connect to ", ep.host, ":", ep.port, ": ", cec.message()));
  }
  socket_.set_option(tcp::no_delay(true), cec);

  // One pipelined write; PING last so a server that needs a password we do
  // not have fails here with NOAUTH instead of on the first command.
  std::string cmds;
  std::vector<std::string> what;
  if (!ep.password.empty()) {
    if (ep.username.empty()) {
      AppendCommand(cmds, {"AUTH", ep.password});
    } else {
      AppendCommand(cmds, {"AUTH", ep.username, ep.password});
    }
    what.push_back("AUTH");
  }
  std::string db = std::to_string(ep.db);
  if (ep.db != 0) {
    AppendCommand(cmds, {"SELECT", db});
    what.push_back(absl::StrCat("SELECT ", db));
  }
  if (!options_.client_name.empty()) {
    AppendCommand(cmds, {"CLIENT", "SETNAME", options_.client_name});
    what.push_back("CLIENT SETNAME");
  }
  AppendCommand(cmds, {"PING"});
  what.push_back("PING");

  auto [wec, wn] =
      co_await asio::async_write(socket_, asio::buffer(cmds), kUseTuple);
  if (wec)
    co_return absl::UnavailableError(
        absl::StrCat("handshake write: ", wec.message()));

  absl::Status first_error;
  std::array<char, 4096> buf;
  size_t got = 0;
  while (got < what.size()) {
    auto [ec, n] =
        co_await socket_.async_read_some(asio::buffer(buf), kUseTuple);
    if (ec) {
      co_return absl::UnavailableError(
          absl::StrCat("connection closed during handshake (", what[got],
                       "): ", ec.message()));
    }
    reader_.Feed(buf.data(), n);
    while (got < what.size()) {
      absl::StatusOr<ReplyPtr> r = reader_.Next();
      if (!r.ok()) co_return r.status();
      if (*r == nullptr) break;
      if (TypeOf(**r) == ReplyType::kError && first_error.ok()) {
        first_error = ErrorReplyToStatus(what[got], StringOf(**r));
      }
      ++got;
    }
  }
  co_return first_error;
}

asio::awaitable<void> Connection::ReadLoop(uint64_t session) {
  std::unique_ptr<char[]> buf(new char[kReadSize]);
  while (session_ == session && session_up_) {
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(buf.get(), kReadSize), kUseTuple);
    if (session_ != session || !session_up_) co_return;
    if (ec) {
      Drop(absl::UnavailableError(
          ec == asio::error::eof ? std::string("connection closed by redis")
                                 : absl::StrCat("read: ", ec.message())));
      co_return;
    }
    reader_.Feed(buf.get(), n);
    for (;;) {
      absl::StatusOr<ReplyPtr> r = reader_.Next();
      if (!r.ok()) {
        Drop(r.status());
        co_return;
      }
      if (*r == nullptr) break;
      absl::Status st = OnReply(*std::move(r));
      if (session_ != session || !session_up_) co_return;
      if (!st.ok()) {
        Drop(st);
        co_return;
      }
    }
  }
}

void Connection::Write(absl::string_view bytes) {
  if (!session_up_) return;
  out_.append(bytes.data(), bytes.size());
  StartWrite();
}

void Connection::Write(std::string&& bytes) {
  if (!session_up_) return;
  if (out_.empty()) {
    out_.swap(bytes);
  } else {
    out_.append(bytes);
  }
  StartWrite();
}

void Connection::StartWrite() {
  if (writing_ || out_.empty() || !session_up_) return;
  wbuf_.swap(out_);
  out_.clear();
  bytes_started_ += wbuf_.size();
  writing_ = true;
  asio::async_write(socket_, asio::buffer(wbuf_),
                    [self = shared_from_this(), s = session_](
                        boost::system::error_code ec, size_t n) {
                      self->writing_ = false;
                      self->wbuf_.clear();
                      if (s != self->session_) return;
                      self->bytes_written_ += n;  // also the part of a failure
                      if (!self->session_up_) {   // dropped while writing
                        self->MaybeSettle();
                        return;
                      }
                      if (ec) {
                        self->Drop(absl::UnavailableError(
                            absl::StrCat("write: ", ec.message())));
                        return;
                      }
                      self->StartWrite();
                    });
}

void Connection::Expect(size_t n) {
  if (n == 0 || !session_up_) return;
  owed_.push_back({n, Clock::now() + ToChrono(options_.command_timeout)});
  ArmDeadline();
}

void Connection::Answered() {
  if (owed_.empty()) return;
  if (--owed_.front().n == 0) owed_.pop_front();
}

void Connection::ArmDeadline() {
  if (deadline_armed_ || owed_.empty() || !session_up_) return;
  deadline_armed_ = true;
  deadline_timer_.expires_at(owed_.front().deadline);
  deadline_timer_.async_wait(
      [self = shared_from_this(), s = session_](boost::system::error_code) {
        self->deadline_armed_ = false;
        if (!self->session_up_) return;
        if (s == self->session_ && !self->owed_.empty() &&
            self->owed_.front().deadline <= Clock::now()) {
          self->Drop(absl::DeadlineExceededError(absl::StrCat(
              "no reply from redis within ",
              absl::FormatDuration(self->options_.command_timeout))));
          return;
        }
        self->ArmDeadline();
      });
}

void Connection::Drop(absl::Status why) {
  if (!session_up_) return;
  session_up_ = false;
  connected_.store(false, std::memory_order_release);
  SetLastError(why);
  VENT_LOG_WARN("redis disconnected", "role", role_, "endpoint",
                options_.endpoint.Redacted(), "reason", why.ToString());
  boost::system::error_code ignored;
  socket_.close(ignored);
  deadline_timer_.cancel();
  owed_.clear();
  out_.clear();
  settle_due_ = true;
  OnDown(why);
  MaybeSettle();
}

void Connection::MaybeSettle() {
  if (!settle_due_ || writing_) return;
  settle_due_ = false;
  OnWritesSettled();
}

void Connection::Shutdown() {
  if (shutdown_) return;
  shutdown_ = true;
  bool was_up = session_up_;
  session_up_ = false;
  connected_.store(false, std::memory_order_release);
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  connect_timer_.cancel();
  backoff_timer_.cancel();
  deadline_timer_.cancel();
  owed_.clear();
  out_.clear();
  if (was_up) {
    VENT_LOG_INFO("redis connection closed", "role", role_, "endpoint",
                  options_.endpoint.Redacted());
    settle_due_ = true;
  }
  MaybeSettle();
}

}  // namespace vent::redis::internal
