// Internal: one Redis connection that reconnects forever, shared by
// Publisher and Subscriber (which derive from it).
//
// Session lifecycle (everything below runs on the io thread):
//   address (the endpoint, or options.address_source: Sentinel's master, a
//   Cluster node) + connect (TCP, Unix socket, or TLS with verification) +
//   AUTH [user] password + SELECT db + CLIENT SETNAME [+ ROLE must be master],
//   all bounded by options.connect_timeout  -> OnUp()
//   replies -> OnReply() until the socket fails, a reply is late
//   (command_timeout) or someone calls Drop()/Reconnect()  -> OnDown(reason)
//   -> ReconnectPolicy delay (backoff with jitter that starts over only after
//   a session stayed up backoff_reset_after) -> next session.
// Shutdown() ends the loop for good; OnDown is not called after it.
//
// Logging: one line per state change naming the endpoint, the address and
// the cause; a cause that repeats is logged at most once a minute (with the
// count skipped), so a Redis that stays down or keeps dropping us does not
// flood the log.
//
// Lifetime: created with std::make_shared; every pending handler holds a
// shared_ptr, so the object outlives its asynchronous operations.
// Thread-safety: Start(), Reconnect(), connected(), last_error() are
// thread-safe; the rest is io-thread only.
#ifndef VENT_REDIS_CONNECTION_H_
#define VENT_REDIS_CONNECTION_H_

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "vent/redis/log_limiter.h"
#include "vent/redis/options.h"
#include "vent/redis/resp.h"
#include "vent/redis/stream.h"

namespace vent::redis::internal {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(boost::asio::io_context& io, Options options, std::string role);
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Thread-safe. Starts the connect/reconnect loop (once; later calls no-op).
  void Start();
  // Thread-safe. Drops the current session (if any) with `why` and
  // reconnects after the usual delay; between attempts, cuts the backoff
  // short and tries at once (e.g. Sentinel announced a new master).
  void Reconnect(absl::Status why);
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  // The last connect/session error (OK before any); thread-safe.
  absl::Status last_error() const;
  // The address of the current (or last) session; io thread.
  const Address& address() const { return address_; }

 protected:
  // Handshake done; the session is up. May call Write().
  virtual void OnUp() = 0;
  // One complete reply. Returning an error drops the session.
  virtual absl::Status OnReply(ReplyPtr reply) = 0;
  // The session that was up is gone (`why` says why). Not called after
  // Shutdown().
  virtual void OnDown(const absl::Status& why) = 0;

  // Queues bytes for the socket; everything queued while a write is in flight
  // goes out in the next single write. No-op when the session is not up.
  void Write(absl::string_view bytes);
  // Same; takes the buffer over instead of copying when nothing is queued.
  void Write(std::string&& bytes);
  // Declares that `n` replies are now owed; if the oldest owed reply is not
  // answered within command_timeout, the session is dropped with
  // DEADLINE_EXCEEDED. Answered() marks one owed reply as received.
  void Expect(size_t n);
  void Answered();
  // Closes the session (if up) and reconnects after a backoff.
  void Drop(absl::Status why);
  // Closes for good. Idempotent.
  void Shutdown();

  bool session_up() const { return session_up_; }
  bool shut_down() const { return shutdown_; }
  const Options& options() const { return options_; }
  boost::asio::io_context& io() { return io_; }
  // Session counter; changes on every new session.
  uint64_t session() const { return session_; }
  const std::string& role() const { return role_; }
  // Write accounting of the current session, from 0 at each session start;
  // kept after the session ends until the next one is up.
  //   bytes_written(): bytes the kernel accepted (exact, including the
  //     written part of a write that failed or was cut by a drop; over TLS an
  //     upper bound, see Stream). A command whose last byte lies beyond it
  //     cannot have been executed by Redis.
  //   bytes_started(): bytes handed to writes, finished or not
  //     (>= bytes_written()).
  uint64_t bytes_written() const {
    return session_stream_ ? session_stream_->bytes_written() : 0;
  }
  uint64_t bytes_started() const {
    return session_stream_ ? session_stream_->bytes_started() : 0;
  }
  // Called once per session, after it went down (after OnDown) or was shut
  // down, as soon as no write of it is in flight: bytes_written() is final.
  // May run inside Drop()/Shutdown() or from a later write completion.
  virtual void OnWritesSettled() {}

 private:
  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<absl::Status> ConnectOnce();
  boost::asio::awaitable<absl::Status> Handshake();
  boost::asio::awaitable<void> ReadLoop(uint64_t session);
  void ArmDeadline();
  // Runs OnWritesSettled when due and no write of the session is in flight.
  void MaybeSettle();
  void SetLastError(const absl::Status& s);
  // Logs `msg` at WARN unless the same cause was logged within a minute.
  void LogFailure(absl::string_view msg, const absl::Status& why);

  boost::asio::io_context& io_;
  const Options options_;
  const std::string role_;  // "publisher" / "subscriber" for logs
  std::atomic<bool> started_{false};
  std::atomic<bool> connected_{false};
  mutable absl::Mutex mu_;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);

  // io thread only.
  std::shared_ptr<Stream> stream_;          // the current attempt / session
  std::shared_ptr<Stream> session_stream_;  // the last session's
  bool settle_due_ = false;  // the session is over; OnWritesSettled not run
  TlsSettings tls_;
  absl::Status tls_error_;  // the default TLS context could not be made
  Address address_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer backoff_timer_;
  boost::asio::steady_timer deadline_timer_;
  RespReader reader_;
  LogLimiter log_limiter_;
  bool session_up_ = false;
  bool shutdown_ = false;
  bool deadline_armed_ = false;
  bool in_backoff_ = false;  // Run() waits on backoff_timer_
  bool last_session_healthy_ = true;
  uint64_t session_ = 0;
  uint64_t attempt_ = 0;
  bool attempt_timed_out_ = false;
  absl::Time up_since_;
  struct Owed {
    size_t n;
    Clock::time_point deadline;
  };
  std::deque<Owed> owed_;
};

// Maps a Redis -ERR reply to a status carrying Redis' message: WRONGPASS,
// NOAUTH, NOPERM -> PERMISSION_DENIED; MOVED, ASK, CLUSTERDOWN, TRYAGAIN ->
// UNAVAILABLE with a redirect payload (see cluster.h RedirectOf); others
// FAILED_PRECONDITION.
absl::Status ErrorReplyToStatus(absl::string_view context,
                                absl::string_view message);

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_CONNECTION_H_
