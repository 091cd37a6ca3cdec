#include "vent/tls/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"

namespace vent::tls {
namespace {

// The oldest queued OpenSSL error as text ("" when none); clears the queue.
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  std::string text;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    text = buf;
  }
  ERR_clear_error();
  return text;
}

// Largest plaintext handed to one SSL_write: one TLS record, so the write
// BIO never buffers more than a record before Drain() empties it.
constexpr size_t kWriteChunk = 16 * 1024;

}  // namespace

absl::StatusOr<std::shared_ptr<TlsServerContext>> TlsServerContext::Load(
    const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr)
    return absl::InternalError("TLS: cannot create a context");
  std::shared_ptr<TlsServerContext> out(new TlsServerContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections give their read/write record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS certificate \"", cert_file, "\": ", OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) !=
      1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key \"", key_file, "\": ", OpenSslError()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key \"", key_file, "\" does not match certificate \"",
                     cert_file, "\": ", OpenSslError()));
  }
  return out;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::shared_ptr<TlsClientContext>> TlsClientContext::Load(
    const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS client certificate and key go together (both or neither)");
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr)
    return absl::InternalError("TLS: cannot create a context");
  std::shared_ptr<TlsClientContext> out(new TlsClientContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS: cannot load the system's trusted roots: ", OpenSslError()));
    }
  } else if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) !=
             1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS CA file \"", ca_file, "\": ", OpenSslError()));
  }
  if (!cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS client certificate \"", cert_file, "\": ", OpenSslError()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) !=
        1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS client key \"", key_file, "\": ", OpenSslError()));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS client key \"", key_file, "\" does not match certificate \"",
          cert_file, "\": ", OpenSslError()));
    }
    out->has_client_cert_ = true;
  }
  return out;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

namespace {
SSL* NewMemorySsl(SSL_CTX* ctx) {
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio, -1);  // empty = "want more", not EOF
  BIO_set_mem_eof_return(wbio, -1);
  SSL_set_bio(ssl, rbio, wbio);  // ssl owns both
  return ssl;
}
}  // namespace

TlsSession::TlsSession(std::shared_ptr<const TlsServerContext> ctx)
    : ssl_(NewMemorySsl(ctx->native())) {
  ctx_ = std::move(ctx);
  SSL_set_accept_state(ssl_);
}

TlsSession::TlsSession(std::shared_ptr<const TlsClientContext> ctx,
                       const std::string& server_name)
    : ssl_(NewMemorySsl(ctx->native())), client_(true) {
  ctx_ = std::move(ctx);
  SSL_set_connect_state(ssl_);
  unsigned char ip[16];
  bool is_ip = inet_pton(AF_INET, server_name.c_str(), ip) == 1 ||
               inet_pton(AF_INET6, server_name.c_str(), ip) == 1;
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    SSL_set1_host(ssl_, server_name.c_str());
  }
}

void TlsSession::Start(std::string* wire) {
  ERR_clear_error();
  SSL_do_handshake(ssl_);  // WANT_READ: the ClientHello is in the write BIO
  ERR_clear_error();
  Drain(wire);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Drain(std::string* wire) {
  BIO* wbio = SSL_get_wbio(ssl_);
  size_t pending = BIO_ctrl_pending(wbio);
  if (pending == 0) return;
  size_t old = wire->size();
  wire->resize(old + pending);
  int n = BIO_read(wbio, wire->data() + old, static_cast<int>(pending));
  wire->resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
}

absl::Status TlsSession::Error(absl::string_view what, int ret) {
  int code = SSL_get_error(ssl_, ret);
  std::string reason = OpenSslError();
  if (reason.empty()) reason = absl::StrCat("SSL error ", code);
  long verify = client_ ? SSL_get_verify_result(ssl_) : X509_V_OK;
  if (verify != X509_V_OK) {
    // "certificate verify failed" alone does not say why.
    absl::StrAppend(&reason, " (", X509_verify_cert_error_string(verify), ")");
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", reason));
}

absl::Status TlsSession::Feed(absl::string_view cipher, std::string* plain,
                              std::string* wire) {
  if (peer_closed_) return absl::OkStatus();
  ERR_clear_error();
  BIO* rbio = SSL_get_rbio(ssl_);
  while (!cipher.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(cipher.size(), INT_MAX));
    int n = BIO_write(rbio, cipher.data(), chunk);
    if (n <= 0) return absl::ResourceExhaustedError("TLS: cannot buffer input");
    cipher.remove_prefix(static_cast<size_t>(n));
  }
  if (!handshake_done_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int code = SSL_get_error(ssl_, r);
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        Drain(wire);
        return absl::OkStatus();
      }
      absl::Status st = Error("TLS handshake failed", r);
      Drain(wire);  // the alert, if OpenSSL wrote one
      return st;
    }
    handshake_done_ = true;
  }
  for (;;) {
    size_t old = plain->size();
    plain->resize(old + kWriteChunk);
    int r = SSL_read(ssl_, plain->data() + old, static_cast<int>(kWriteChunk));
    plain->resize(old + (r > 0 ? static_cast<size_t>(r) : 0));
    if (r > 0) continue;
    int code = SSL_get_error(ssl_, r);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) break;
    if (code == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    absl::Status st = Error("TLS read failed", r);
    Drain(wire);
    return st;
  }
  Drain(wire);
  return absl::OkStatus();
}

absl::Status TlsSession::Encrypt(absl::string_view plain, std::string* wire) {
  if (!handshake_done_)
    return absl::FailedPreconditionError("TLS: handshake not done");
  ERR_clear_error();
  while (!plain.empty()) {
    int chunk = static_cast<int>(std::min(plain.size(), kWriteChunk));
    int r = SSL_write(ssl_, plain.data(), chunk);
    if (r <= 0) return Error("TLS write failed", r);
    plain.remove_prefix(static_cast<size_t>(r));
    Drain(wire);
  }
  return absl::OkStatus();
}

void TlsSession::Close(std::string* wire) {
  if (!handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
  Drain(wire);
}

}  // namespace vent::tls
