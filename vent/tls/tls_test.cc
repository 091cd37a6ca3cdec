#include "vent/tls/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <string>

#include "gtest/gtest.h"
#include "vent/tls/test_cert.h"

namespace vent::tls {
namespace {

// An OpenSSL client over memory BIOs that trusts only the test certificate
// and checks the host name, talking to a TlsSession by shuttling bytes.
class Client {
 public:
  explicit Client(const TestCert& cert, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_, max_version);
    BIO* bio = BIO_new_mem_buf(cert.cert_pem.data(),
                               static_cast<int>(cert.cert_pem.size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), x);
    X509_free(x);
    BIO_free(bio);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set1_host(ssl_, "localhost");
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(ssl_);
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // Bytes the client wants to send now.
  std::string Out() {
    std::string s;
    char buf[4096];
    int n;
    while ((n = BIO_read(SSL_get_wbio(ssl_), buf, sizeof(buf))) > 0)
      s.append(buf, n);
    return s;
  }
  void In(const std::string& bytes) {
    BIO_write(SSL_get_rbio(ssl_), bytes.data(), static_cast<int>(bytes.size()));
  }
  bool Handshake() { return SSL_do_handshake(ssl_) == 1; }
  void Write(const std::string& s) {
    ASSERT_EQ(SSL_write(ssl_, s.data(), static_cast<int>(s.size())),
              static_cast<int>(s.size()));
  }
  std::string Read() {
    std::string s;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof(buf))) > 0) s.append(buf, n);
    return s;
  }
  void Shutdown() { SSL_shutdown(ssl_); }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = MakeTestCert();
    auto ctx = TlsServerContext::Load(cert_->cert_file, cert_->key_file);
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    ctx_ = *ctx;
  }

  // Runs the handshake to completion; false if it did not finish.
  bool Connect(Client& c, TlsSession& s) {
    for (int i = 0; i < 10; ++i) {
      bool done = c.Handshake();
      std::string to_server = c.Out();
      std::string plain, wire;
      if (!to_server.empty()) {
        if (!s.Feed(to_server, &plain, &wire).ok()) return false;
        EXPECT_TRUE(plain.empty());
        c.In(wire);
      }
      if (done && s.handshake_done()) return true;
    }
    return false;
  }

  std::unique_ptr<TestCert> cert_;
  std::shared_ptr<TlsServerContext> ctx_;
};

TEST_F(TlsTest, HandshakeAndDataBothWays) {
  Client c(*cert_);
  TlsSession s(ctx_);
  ASSERT_TRUE(Connect(c, s));

  c.Write("GET /websocket HTTP/1.1\r\n\r\n");
  std::string plain, wire;
  ASSERT_TRUE(s.Feed(c.Out(), &plain, &wire).ok());
  EXPECT_EQ(plain, "GET /websocket HTTP/1.1\r\n\r\n");

  std::string big(100 * 1000, 'x');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);
  wire.clear();
  ASSERT_TRUE(s.Encrypt(big, &wire).ok());
  EXPECT_GT(wire.size(), big.size());  // records add overhead
  c.In(wire);
  EXPECT_EQ(c.Read(), big);
}

TEST_F(TlsTest, InputSplitIntoSingleBytesStillDecrypts) {
  Client c(*cert_);
  TlsSession s(ctx_);
  ASSERT_TRUE(Connect(c, s));
  c.Write("hello");
  std::string cipher = c.Out();
  std::string plain, wire;
  for (char ch : cipher)
    ASSERT_TRUE(s.Feed(std::string(1, ch), &plain, &wire).ok());
  EXPECT_EQ(plain, "hello");
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortIsAnError) {
  TlsSession s(ctx_);
  std::string plain, wire;
  absl::Status st = s.Feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &plain, &wire);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("TLS handshake failed"), std::string::npos) << st;
  EXPECT_TRUE(plain.empty());
  EXPECT_FALSE(s.handshake_done());
}

TEST_F(TlsTest, CorruptRecordAfterHandshakeIsAnError) {
  Client c(*cert_);
  TlsSession s(ctx_);
  ASSERT_TRUE(Connect(c, s));
  c.Write("hello");
  std::string cipher = c.Out();
  cipher[cipher.size() - 3] ^= 0x55;  // breaks the record's authentication tag
  std::string plain, wire;
  absl::Status st = s.Feed(cipher, &plain, &wire);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsTest, PeerCloseNotifyIsSeen) {
  Client c(*cert_);
  TlsSession s(ctx_);
  ASSERT_TRUE(Connect(c, s));
  c.Shutdown();
  std::string plain, wire;
  ASSERT_TRUE(s.Feed(c.Out(), &plain, &wire).ok());
  EXPECT_TRUE(s.peer_closed());
  // Later input is ignored.
  EXPECT_TRUE(s.Feed("garbage", &plain, &wire).ok());
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsTest, ServerCloseNotifyReachesClient) {
  Client c(*cert_);
  TlsSession s(ctx_);
  ASSERT_TRUE(Connect(c, s));
  std::string wire;
  s.Close(&wire);
  ASSERT_FALSE(wire.empty());
  c.In(wire);
  EXPECT_EQ(c.Read(), "");
}

TEST_F(TlsTest, EncryptBeforeHandshakeFails) {
  TlsSession s(ctx_);
  std::string wire;
  EXPECT_EQ(s.Encrypt("x", &wire).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TlsTest, OldProtocolVersionRefused) {
  Client c(*cert_, TLS1_1_VERSION);
  TlsSession s(ctx_);
  EXPECT_FALSE(Connect(c, s));
  EXPECT_FALSE(s.handshake_done());
}

TEST(TlsContextTest, MissingFilesAndMismatchedKeyAreClearErrors) {
  auto a = MakeTestCert();
  auto b = MakeTestCert();
  auto missing = TlsServerContext::Load("/nonexistent/cert.pem", a->key_file);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/cert.pem"),
            std::string::npos);
  auto bad_key = TlsServerContext::Load(a->cert_file, "/nonexistent/key.pem");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("/nonexistent/key.pem"),
            std::string::npos);
  auto mismatch = TlsServerContext::Load(a->cert_file, b->key_file);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("mismatch"), std::string::npos)
      << mismatch.status();
  // A key file given as the certificate.
  auto swapped = TlsServerContext::Load(a->key_file, a->key_file);
  EXPECT_FALSE(swapped.ok());
}

}  // namespace
}  // namespace vent::tls
