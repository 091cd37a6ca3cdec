// Internal: one byte stream to a Redis server — TCP, a Unix socket, or TLS
// over TCP (vent/tls's memory-BIO session driven over the Asio socket) — with
// the connection's write queue.
//
// One Stream per connection attempt; io thread only. Connect() resolves,
// connects and (for TLS) completes the handshake including certificate
// verification. Read() yields decrypted bytes. Write() queues plaintext:
// everything queued while a write is in flight goes out in the next single
// socket write (one TLS record per 16 KiB). A failed write is reported once
// through the error callback. Close() cancels everything; pending handlers
// then see a closed stream and do nothing.
#ifndef VENT_REDIS_STREAM_H_
#define VENT_REDIS_STREAM_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vent/redis/options.h"

namespace vent::tls {
class TlsClientContext;
class TlsSession;
}  // namespace vent::tls

namespace vent::redis::internal {

// Where one connection goes.
struct Address {
  std::string host;  // TCP (name or IP literal)
  uint16_t port = 0;
  std::string unix_path;  // set: a Unix socket instead of TCP
  // "host:port", "[::1]:port" or "unix:/path".
  std::string ToString() const;
  friend bool operator==(const Address& a, const Address& b) {
    return a.port == b.port && a.host == b.host && a.unix_path == b.unix_path;
  }
};

struct TlsSettings {
  std::shared_ptr<const tls::TlsClientContext> context;  // null: plaintext
  // Name verified against the certificate (and sent as SNI); empty = the
  // address's host.
  std::string server_name;
};

// The TLS settings of `options` (none without a rediss* endpoint). A TLS
// endpoint without options.tls gets the system's trusted roots; the error is
// that of loading them.
absl::StatusOr<TlsSettings> MakeTlsSettings(const Options& options);

class Stream : public std::enable_shared_from_this<Stream> {
 public:
  explicit Stream(boost::asio::io_context& io);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // UNAVAILABLE naming the address on resolve/connect/TLS failures (the TLS
  // reason, e.g. "certificate verify failed (self-signed certificate)").
  boost::asio::awaitable<absl::Status> Connect(const Address& address,
                                               const TlsSettings& tls);
  // Waits for plaintext and returns it (valid until the next Read). UNAVAILABLE
  // when the peer closed or the socket/TLS failed.
  boost::asio::awaitable<absl::StatusOr<absl::string_view>> Read();
  // Queues plaintext. No-op once closed or failed.
  void Write(absl::string_view bytes);
  void Write(std::string&& bytes);
  // Called (once, on the io thread) when a write fails; not after Close().
  void OnWriteError(absl::AnyInvocable<void(absl::Status)> f) {
    on_write_error_ = std::move(f);
  }
  void Close();
  bool closed() const { return closed_; }

  // Write accounting, in plaintext bytes, since the last ResetCounters():
  //   bytes_started(): handed to socket writes, finished or not;
  //   bytes_written(): accepted by the kernel. Exact over TCP and Unix
  //   sockets (including the written part of a failed write). Over TLS a
  //   write that the kernel accepted only partly counts whole (its records
  //   may have reached Redis): an upper bound of what Redis can have read.
  uint64_t bytes_started() const { return bytes_started_; }
  uint64_t bytes_written() const { return bytes_written_; }
  void ResetCounters() { bytes_started_ = bytes_written_ = 0; }
  bool writing() const { return writing_; }
  // Runs `f` once when no write is in flight any more (at once if none).
  void WhenIdle(absl::AnyInvocable<void()> f);

 private:
  boost::asio::awaitable<absl::Status> TlsHandshake();
  boost::asio::awaitable<boost::system::error_code> RawWrite(
      const std::string& bytes);
  boost::asio::awaitable<std::pair<boost::system::error_code, size_t>>
  RawReadSome(char* buf, size_t cap);
  void StartWrite();
  void Fail(absl::Status st);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket tcp_;
  boost::asio::local::stream_protocol::socket unix_;
  bool use_unix_ = false;
  std::unique_ptr<tls::TlsSession> tls_;
  std::string peer_;  // for messages
  bool closed_ = false;
  bool writing_ = false;
  std::string out_;    // queued plaintext
  std::string wire_;   // TLS bytes produced while reading, not yet sent
  std::string wbuf_;   // being written (plaintext or TLS records)
  std::string plain_;  // TLS: returned by Read()
  bool plain_pending_ = false;
  std::unique_ptr<char[]> rbuf_;
  absl::AnyInvocable<void(absl::Status)> on_write_error_;
  absl::AnyInvocable<void()> on_idle_;
  uint64_t bytes_started_ = 0;
  uint64_t bytes_written_ = 0;
  size_t wbuf_plain_ = 0;  // plaintext bytes in wbuf_
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_STREAM_H_
