// TLS for vent-bridge without I/O: OpenSSL over memory BIOs, so the caller
// keeps its own sockets, buffers and event loop (the bridge writes without
// blocking and reads into a shared per-worker buffer; Asio's ssl::stream
// would impose its own buffers and one async operation at a time).
//
//   TlsServerContext: the certificate chain and private key (PEM files),
//     TLS 1.2 minimum. Immutable after Load(); shared by every worker thread
//     (SSL_CTX is thread-safe for creating sessions).
//   TlsSession: one connection's server side. Ciphertext in via Feed(),
//     plaintext out via Encrypt(); every byte that must go to the peer
//     (handshake, records, alerts, close_notify) is appended to the caller's
//     `wire` string, which the caller writes to the socket in order.
//     Not thread-safe: one owner (the connection's worker thread).
#ifndef VENT_TLS_TLS_H_
#define VENT_TLS_TLS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace vent::tls {

class TlsServerContext {
 public:
  // Loads a PEM certificate chain (leaf first) and its PEM private key;
  // fails with a message naming the file when either is unreadable, invalid
  // or the key does not match the certificate.
  static absl::StatusOr<std::shared_ptr<TlsServerContext>> Load(
      const std::string& cert_file, const std::string& key_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  SSL_CTX* native() const { return ctx_; }

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

class TlsSession {
 public:
  // Keeps `ctx` alive for the session's lifetime.
  explicit TlsSession(std::shared_ptr<const TlsServerContext> ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Consumes ciphertext from the peer: decrypted application bytes are
  // appended to `*plain`, bytes for the peer to `*wire`. Returns an error
  // (with OpenSSL's reason) on a failed handshake or a corrupt record; an
  // alert for the peer may then be in `*wire`. After the peer's
  // close_notify, peer_closed() is true and later input is ignored.
  absl::Status Feed(absl::string_view cipher, std::string* plain,
                    std::string* wire);

  // Encrypts `plain` (any size) into TLS records appended to `*wire`.
  // Only after handshake_done(); before that it is an error.
  absl::Status Encrypt(absl::string_view plain, std::string* wire);

  // Appends a close_notify alert to `*wire` (best effort).
  void Close(std::string* wire);

  bool handshake_done() const { return handshake_done_; }
  bool peer_closed() const { return peer_closed_; }

 private:
  void Drain(std::string* wire);
  absl::Status Error(absl::string_view what, int ret);

  std::shared_ptr<const TlsServerContext> ctx_;
  SSL* ssl_;
  bool handshake_done_ = false;
  bool peer_closed_ = false;
};

}  // namespace vent::tls

#endif  // VENT_TLS_TLS_H_
