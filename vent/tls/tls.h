// TLS for vent-bridge without I/O: OpenSSL over memory BIOs, so the caller
// keeps its own sockets, buffers and event loop (the bridge writes without
// blocking and reads into a shared per-worker buffer; Asio's ssl::stream
// would impose its own buffers and one async operation at a time).
//
//   TlsServerContext: the certificate chain and private key (PEM files),
//     TLS 1.2 minimum. Immutable after Load(); shared by every worker thread
//     (SSL_CTX is thread-safe for creating sessions).
//   TlsClientContext: the client side (vent/redis's rediss://): trusted roots
//     (a PEM file, or the system's), an optional client certificate, TLS 1.2
//     minimum, peer verification always on. Immutable after Load(); shared.
//   TlsSession: one connection's server or client side. Ciphertext in via
//     Feed(),
//     plaintext out via Encrypt(); every byte that must go to the peer
//     (handshake, records, alerts, close_notify) is appended to the caller's
//     `wire` string, which the caller writes to the socket in order.
//     Not thread-safe: one owner (the connection's worker thread).
//
// Memory: OpenSSL reads and writes through a BIO of our own that holds no
// buffer (it reads from the bytes given to Feed and appends to the caller's
// `wire`), instead of a pair of memory BIOs whose buffers would stay
// allocated at their high-water mark for the connection's life; with
// SSL_MODE_RELEASE_BUFFERS an idle session holds no record buffer either.
// What remains per session is OpenSSL's own state (BENCHMARKS.md,
// "Memory per connection").
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

class TlsClientContext {
 public:
  // `ca_file`: PEM file of trusted roots; empty = the system's default roots.
  // `cert_file` + `key_file` (both or neither): the client certificate chain
  // and key, for servers that require one. Errors name the file and reason.
  static absl::StatusOr<std::shared_ptr<TlsClientContext>> Load(
      const std::string& ca_file, const std::string& cert_file,
      const std::string& key_file);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  bool has_client_cert() const { return has_client_cert_; }

 private:
  explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  bool has_client_cert_ = false;
};

class TlsSession {
 public:
  // Server side. Keeps `ctx` alive for the session's lifetime.
  explicit TlsSession(std::shared_ptr<const TlsServerContext> ctx);
  // Client side: the peer's certificate must chain to the context's roots and
  // name `server_name` (a DNS name, sent as SNI too, or an IP address, which
  // must be in the certificate's IP SANs). Call Start() first.
  TlsSession(std::shared_ptr<const TlsClientContext> ctx,
             const std::string& server_name);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Client side: appends the ClientHello to `*wire`.
  void Start(std::string* wire);

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
  friend struct TlsIoAccess;  // the BIO's callbacks (tls.cc)

  // The BIO's view of the current call: input not yet read by OpenSSL,
  // and where its output goes (null outside Feed/Encrypt/Close/Start).
  struct Io {
    absl::string_view in;
    std::string* out = nullptr;
  };
  // Points the BIO at `in` / `out` for the current call.
  void Begin(absl::string_view in, std::string* out);
  // Keeps input OpenSSL did not read yet (normally none) for the next Feed.
  void End();
  // Feed's work between Begin and End.
  absl::Status FeedBody(std::string* plain);
  absl::Status Error(absl::string_view what, int ret);

  std::shared_ptr<const void> ctx_;  // the server or client context
  Io io_;
  std::string unread_;  // input left over by the last Feed (normally empty)
  SSL* ssl_;
  bool client_ = false;
  bool handshake_done_ = false;
  bool peer_closed_ = false;
};

}  // namespace vent::tls

#endif  // VENT_TLS_TLS_H_
