#include "vent/redis/connection.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "vent/base/log.h"
#include "vent/redis/address_source.h"
#include "vent/redis/backoff.h"
#include "vent/redis/cluster.h"
#include "vent/redis/exchange.h"
#include "vent/tls/tls.h"

namespace vent::redis::internal {
namespace {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

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
  if (absl::StartsWith(message, "MOVED ") ||
      absl::StartsWith(message, "ASK ")) {
    // Nothing was executed: the node does not own the slot.
    absl::Status st = absl::UnavailableError(msg);
    st.SetPayload(kRedirectPayload, absl::Cord(message));
    return st;
  }
  if (absl::StartsWith(message, "CLUSTERDOWN") ||
      absl::StartsWith(message, "TRYAGAIN")) {
    return absl::UnavailableError(msg);  // refused, nothing executed
  }
  return absl::FailedPreconditionError(msg);
}

Connection::Connection(asio::io_context& io, Options options, std::string role)
    : io_(io),
      options_(std::move(options)),
      role_(std::move(role)),
      connect_timer_(io),
      backoff_timer_(io),
      deadline_timer_(io) {
  absl::StatusOr<TlsSettings> tls = MakeTlsSettings(options_);
  if (tls.ok()) {
    tls_ = *std::move(tls);
  } else {
    tls_error_ = tls.status();
  }
}

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

void Connection::Reconnect(absl::Status why) {
  asio::post(io_, [self = shared_from_this(), why = std::move(why)] {
    if (self->session_up_) {
      self->Drop(why);
    } else if (self->in_backoff_) {
      self->backoff_timer_.cancel();  // news (e.g. a new master): try now
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

void Connection::LogFailure(absl::string_view msg, const absl::Status& why) {
  int64_t skipped = 0;
  if (!log_limiter_.Allow(absl::StrCat(msg, " ", why.ToString()), absl::Now(),
                          &skipped)) {
    return;
  }
  if (skipped > 0) {
    VENT_LOG_WARN(msg, "role", role_, "endpoint", options_.endpoint.Redacted(),
                  "address", address_.ToString(), "error", why.ToString(),
                  "repeated", skipped);
  } else {
    VENT_LOG_WARN(msg, "role", role_, "endpoint", options_.endpoint.Redacted(),
                  "address", address_.ToString(), "error", why.ToString());
  }
}

asio::awaitable<void> Connection::Run() {
  ReconnectPolicy policy(options_.backoff_initial, options_.backoff_max,
                         options_.backoff_reset_after);
  while (!shutdown_) {
    absl::Status st = co_await ConnectOnce();
    if (shutdown_) break;
    if (st.ok()) {
      if (settle_due_) {  // never: a cut write completes before any reconnect
        settle_due_ = false;
        OnWritesSettled();
      }
      ++session_;
      stream_->ResetCounters();  // the handshake does not count
      session_stream_ = stream_;
      session_up_ = true;
      connected_.store(true, std::memory_order_release);
      SetLastError(absl::OkStatus());
      up_since_ = absl::Now();
      policy.SessionUp(up_since_);
      int64_t skipped = 0;
      // After short sessions (a flapping server) "connected" is limited too.
      const bool news = log_limiter_.Allow("connected", up_since_, &skipped);
      if (news || last_session_healthy_) {
        VENT_LOG_INFO("redis connected", "role", role_, "endpoint",
                      options_.endpoint.Redacted(), "address",
                      address_.ToString());
      }
      OnUp();
      if (session_up_) co_await ReadLoop(session_);
      if (shutdown_) break;
      last_session_healthy_ =
          absl::Now() - up_since_ >= options_.backoff_reset_after;
    } else {
      SetLastError(st);
      LogFailure("redis connect failed", st);
      if (options_.address_source) options_.address_source->Failed(address_);
    }
    backoff_timer_.expires_after(ToChrono(policy.NextDelay(absl::Now())));
    in_backoff_ = true;
    co_await backoff_timer_.async_wait(kUseTuple);
    in_backoff_ = false;
  }
}

asio::awaitable<absl::Status> Connection::ConnectOnce() {
  const uint64_t attempt = ++attempt_;
  attempt_timed_out_ = false;
  if (stream_) stream_->Close();
  stream_ = std::make_shared<Stream>(io_);
  std::shared_ptr<Stream> stream = stream_;
  reader_ = RespReader();
  owed_.clear();
  if (!tls_error_.ok()) co_return absl::UnavailableError(tls_error_.message());
  // Discovery (a Sentinel, a Cluster node) comes first and is not part of the
  // connect timeout: each query is bounded by it on its own.
  if (options_.address_source) {
    absl::StatusOr<Address> a = co_await options_.address_source->Next();
    if (stream->closed()) co_return absl::CancelledError("closed");
    if (!a.ok()) co_return a.status();
    address_ = *std::move(a);
  } else {
    const Endpoint& ep = options_.endpoint;
    address_ = Address{ep.host, ep.port, ep.unix_path};
  }
  connect_timer_.expires_after(ToChrono(options_.connect_timeout));
  connect_timer_.async_wait(
      [self = shared_from_this(), attempt](boost::system::error_code ec) {
        if (ec || attempt != self->attempt_) return;
        self->attempt_timed_out_ = true;
        if (self->stream_) self->stream_->Close();
      });
  absl::Status st = co_await Handshake();
  ++attempt_;  // a timeout handler already queued must not touch this stream
  connect_timer_.cancel();
  if (attempt_timed_out_) {
    st = absl::DeadlineExceededError(
        absl::StrCat("connect + handshake with ", address_.ToString(),
                     " did not finish within ",
                     absl::FormatDuration(options_.connect_timeout)));
  }
  if (!st.ok() && stream_) stream_->Close();
  co_return st;
}

asio::awaitable<absl::Status> Connection::Handshake() {
  const Endpoint& ep = options_.endpoint;
  std::shared_ptr<Stream> stream = stream_;
  absl::Status st = co_await stream->Connect(address_, tls_);
  if (!st.ok()) co_return st;

  // One pipelined write; PING last so a server that needs a password we do
  // not have fails here with NOAUTH instead of on the first command.
  std::vector<Command> cmds;
  std::vector<std::string> what;
  if (!ep.password.empty()) {
    if (ep.username.empty()) {
      cmds.push_back({"AUTH", ep.password});
    } else {
      cmds.push_back({"AUTH", ep.username, ep.password});
    }
    what.push_back("AUTH");
  }
  if (ep.db != 0) {
    std::string db = std::to_string(ep.db);
    cmds.push_back({"SELECT", db});
    what.push_back(absl::StrCat("SELECT ", db));
  }
  if (!options_.client_name.empty()) {
    cmds.push_back({"CLIENT", "SETNAME", options_.client_name});
    what.push_back("CLIENT SETNAME");
  }
  const bool check_role =
      options_.address_source && options_.address_source->require_master();
  if (check_role) {
    cmds.push_back({"ROLE"});
    what.push_back("ROLE");
  }
  cmds.push_back({"PING"});
  what.push_back("PING");

  std::vector<ReplyPtr> replies;
  st = co_await RoundTrip(*stream, reader_, cmds, &replies);
  if (!st.ok()) {
    // With TLS 1.3 a server that wants a client certificate refuses it
    // after our side of the handshake is done: the first command fails.
    const bool hint = tls_.context != nullptr &&
                      !tls_.context->has_client_cert() &&
                      !absl::StrContains(st.message(), "certificate required");
    co_return absl::UnavailableError(absl::StrCat(
        "handshake with ", address_.ToString(), ": ", st.message(),
        hint ? " (over TLS: does the server require a client certificate? "
               "see --redis-tls-cert)"
             : ""));
  }
  for (size_t i = 0; i < replies.size(); ++i) {
    const redisReply& r = *replies[i];
    if (TypeOf(r) == ReplyType::kError) {
      co_return ErrorReplyToStatus(
          absl::StrCat(what[i], " at ", address_.ToString()), StringOf(r));
    }
    if (what[i] == "ROLE") {
      absl::string_view role =
          TypeOf(r) == ReplyType::kArray && ArraySize(r) > 0 &&
                  TypeOf(ElementOf(r, 0)) == ReplyType::kString
              ? StringOf(ElementOf(r, 0))
              : absl::string_view("?");
      if (role != "master") {
        co_return absl::UnavailableError(
            absl::StrCat(address_.ToString(), " is not a master (ROLE: ", role,
                         "); a failover is probably under way"));
      }
    }
  }
  co_return absl::OkStatus();
}

asio::awaitable<void> Connection::ReadLoop(uint64_t session) {
  std::shared_ptr<Stream> stream = stream_;
  stream->OnWriteError([self = shared_from_this(), session](absl::Status st) {
    if (self->session_ == session) self->Drop(std::move(st));
  });
  while (session_ == session && session_up_) {
    absl::StatusOr<absl::string_view> got = co_await stream->Read();
    if (session_ != session || !session_up_) co_return;
    if (!got.ok()) {
      Drop(got.status());
      co_return;
    }
    reader_.Feed(got->data(), got->size());
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
  stream_->Write(bytes);
}

void Connection::Write(std::string&& bytes) {
  if (!session_up_) return;
  stream_->Write(std::move(bytes));
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
  // After a healthy stretch a disconnect is news: always logged.
  if (absl::Now() - up_since_ >= options_.backoff_reset_after) {
    log_limiter_.Clear();
  }
  LogFailure("redis disconnected", why);
  if (stream_) stream_->Close();
  deadline_timer_.cancel();
  owed_.clear();
  if (options_.address_source) options_.address_source->Failed(address_);
  settle_due_ = true;
  OnDown(why);
  MaybeSettle();
}

void Connection::MaybeSettle() {
  if (!settle_due_) return;
  if (session_stream_ && session_stream_->writing()) {
    session_stream_->WhenIdle(
        [self = shared_from_this(), s = session_stream_.get()] {
          if (self->session_stream_.get() == s) self->MaybeSettle();
        });
    return;
  }
  settle_due_ = false;
  OnWritesSettled();
}

void Connection::Shutdown() {
  if (shutdown_) return;
  shutdown_ = true;
  bool was_up = session_up_;
  session_up_ = false;
  connected_.store(false, std::memory_order_release);
  if (stream_) stream_->Close();
  connect_timer_.cancel();
  backoff_timer_.cancel();
  deadline_timer_.cancel();
  owed_.clear();
  if (was_up) {
    VENT_LOG_INFO("redis connection closed", "role", role_, "endpoint",
                  options_.endpoint.Redacted(), "address", address_.ToString());
    settle_due_ = true;
  }
  MaybeSettle();
}

}  // namespace vent::redis::internal
