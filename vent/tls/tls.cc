#include "vent/tls/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstring>

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

// Largest plaintext handed to one SSL_write (one TLS record), and the
// plaintext taken per SSL_read.
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

// The BIO callbacks (a friend of TlsSession, for Io).
struct TlsIoAccess {
  static int Read(BIO* b, char* data, int len) {
    BIO_clear_retry_flags(b);
    auto* io = static_cast<TlsSession::Io*>(BIO_get_data(b));
    if (io->in.empty()) {
      BIO_set_retry_read(b);  // "want more", not EOF
      return -1;
    }
    size_t n = std::min(io->in.size(), static_cast<size_t>(std::max(len, 0)));
    std::memcpy(data, io->in.data(), n);
    io->in.remove_prefix(n);
    return static_cast<int>(n);
  }
  static int Write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    auto* io = static_cast<TlsSession::Io*>(BIO_get_data(b));
    if (io->out == nullptr || len < 0) {
      BIO_set_retry_write(b);  // outside a call: nowhere to put it
      return -1;
    }
    io->out->append(data, static_cast<size_t>(len));
    return len;
  }
  static long Ctrl(BIO* b, int cmd, long, void*) {
    auto* io = static_cast<TlsSession::Io*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(io->in.size());
      default:
        return 0;  // WPENDING: nothing held; everything else unsupported
    }
  }
  static int Create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
};

namespace {

const BIO_METHOD* IoMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "vent-tls-io");
    BIO_meth_set_read(m, TlsIoAccess::Read);
    BIO_meth_set_write(m, TlsIoAccess::Write);
    BIO_meth_set_ctrl(m, TlsIoAccess::Ctrl);
    BIO_meth_set_create(m, TlsIoAccess::Create);
    return m;
  }();
  return method;
}

SSL* NewSsl(SSL_CTX* ctx, void* io) {
  SSL* ssl = SSL_new(ctx);
  BIO* bio = BIO_new(IoMethod());
  BIO_set_data(bio, io);
  SSL_set_bio(ssl, bio, bio);  // one BIO both ways; ssl owns it
  return ssl;
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<const TlsServerContext> ctx)
    : ssl_(NewSsl(ctx->native(), &io_)) {
  ctx_ = std::move(ctx);
  SSL_set_accept_state(ssl_);
}

TlsSession::TlsSession(std::shared_ptr<const TlsClientContext> ctx,
                       const std::string& server_name)
    : ssl_(NewSsl(ctx->native(), &io_)), client_(true) {
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
  Begin({}, wire);
  ERR_clear_error();
  SSL_do_handshake(ssl_);  // WANT_READ: the ClientHello is in `wire`
  ERR_clear_error();
  End();
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Begin(absl::string_view in, std::string* out) {
  if (unread_.empty()) {
    io_.in = in;
  } else {
    unread_.append(in.data(), in.size());
    io_.in = unread_;
  }
  io_.out = out;
}

void TlsSession::End() {
  io_.out = nullptr;
  if (io_.in.empty()) {
    std::string().swap(unread_);
  } else if (io_.in.data() < unread_.data() ||
             io_.in.data() >= unread_.data() + unread_.size()) {
    unread_.assign(io_.in.data(), io_.in.size());
  } else {
    unread_.erase(0, static_cast<size_t>(io_.in.data() - unread_.data()));
  }
  io_.in = {};
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
  Begin(cipher, wire);
  absl::Status st = FeedBody(plain);
  End();
  return st;
}

absl::Status TlsSession::FeedBody(std::string* plain) {
  if (!handshake_done_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int code = SSL_get_error(ssl_, r);
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        return absl::OkStatus();
      }
      return Error("TLS handshake failed", r);  // the alert is in `wire`
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
      io_.in = {};  // input after close_notify is ignored
      break;
    }
    return Error("TLS read failed", r);
  }
  return absl::OkStatus();
}

absl::Status TlsSession::Encrypt(absl::string_view plain, std::string* wire) {
  if (!handshake_done_)
    return absl::FailedPreconditionError("TLS: handshake not done");
  ERR_clear_error();
  Begin({}, wire);
  absl::Status st;
  while (!plain.empty()) {
    int chunk = static_cast<int>(std::min(plain.size(), kWriteChunk));
    int r = SSL_write(ssl_, plain.data(), chunk);
    if (r <= 0) {
      st = Error("TLS write failed", r);
      break;
    }
    plain.remove_prefix(static_cast<size_t>(r));
  }
  End();
  return st;
}

void TlsSession::Close(std::string* wire) {
  if (!handshake_done_) return;
  ERR_clear_error();
  Begin({}, wire);
  SSL_shutdown(ssl_);
  ERR_clear_error();
  End();
}

}  // namespace vent::tls
