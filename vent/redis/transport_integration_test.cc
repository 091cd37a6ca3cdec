// rediss:// (TLS with verification, mutual TLS, restarts), unix://, sharded
// pub/sub on a single server, and the reconnect pacing and log limiting of
// the connection layer — against real redis-server processes (and, for the
// misbehaving-server cases, a fake server on a loopback port).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/redis/backoff.h"
#include "vent/redis/test_harness.h"
#include "vent/redis/url.h"
#include "vent/testing/redis_server.h"
#include "vent/testing/test_pki.h"
#include "vent/tls/tls.h"

namespace vent::redis {
namespace {

using testing::Clock;
using testing::Harness;
using ::testing::HasSubstr;
constexpr auto kWait = std::chrono::seconds(10);

std::shared_ptr<tls::TlsClientContext> Ctx(const std::string& ca,
                                           const std::string& cert = "",
                                           const std::string& key = "") {
  auto c = tls::TlsClientContext::Load(ca, cert, key);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : nullptr;
}

Options Fast(Options o) {
  o.backoff_initial = absl::Milliseconds(20);
  o.backoff_max = absl::Milliseconds(200);
  return o;
}

// Polls `f` (a status getter) until it is an error containing `what`.
template <typename F>
std::string WaitForError(F f, const std::string& what) {
  auto deadline = Clock::now() + kWait;
  std::string last;
  while (Clock::now() < deadline) {
    absl::Status st = f();
    last = st.ToString();
    if (!st.ok() && absl::StrContains(last, what)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "timed out; last: " + last;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = vent::testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }
  void StartRedis(bool auth_clients) {
    vent::testing::RedisServer::Config c;
    c.tls = pki_.get();
    c.tls_auth_clients = auth_clients;
    auto s = vent::testing::RedisServer::Start(c);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  Options Tls(std::shared_ptr<tls::TlsClientContext> ctx) {
    Options o;
    o.endpoint =
        *ParseUrl(absl::StrCat("rediss://127.0.0.1:", server_->tls_port()));
    o.tls = std::move(ctx);
    return Fast(o);
  }

  std::unique_ptr<vent::testing::TestPki> pki_;
  std::unique_ptr<vent::testing::RedisServer> server_;
};

TEST_F(TlsTest, PublishAndSubscribeWithTrustedCa) {
  StartRedis(false);
  Harness h;
  h.StartSubscriber(Tls(Ctx(pki_->ca_file)));
  ASSERT_TRUE(h.SubscribeAndWait("tls").ok());
  h.StartPublisher(Tls(Ctx(pki_->ca_file)));
  auto r = h.PublishWhenUp("tls", "over tls");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "over tls");
  // The server sees TLS clients only on its TLS port (CLIENT LIST laddr).
  auto list = server_->Cli({"CLIENT", "LIST"});
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, HasSubstr(absl::StrCat(":", server_->tls_port())));
}

TEST_F(TlsTest, UntrustedCertificateIsRefusedWithAClearError) {
  StartRedis(false);
  Harness h;
  Publisher& pub = h.StartPublisher(Tls(Ctx(pki_->other_ca_file)));
  std::string err = WaitForError([&] { return pub.last_error(); },
                                 "certificate verify failed");
  EXPECT_THAT(err, HasSubstr("certificate verify failed"));
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", server_->tls_port())));
  EXPECT_FALSE(pub.connected());
  auto r = h.Publish("x", "y");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

TEST_F(TlsTest, ServerNameIsVerified) {
  StartRedis(false);
  Harness h;
  Options good = Tls(Ctx(pki_->ca_file));
  good.tls_server_name = "localhost";  // connect by IP, verify the DNS name
  h.StartPublisher(good);
  ASSERT_TRUE(h.PublishWhenUp("n", "x").ok());

  Harness bad;
  Options o = Tls(Ctx(pki_->ca_file));
  o.tls_server_name = "redis.example.com";
  Publisher& pub = bad.StartPublisher(o);
  std::string err =
      WaitForError([&] { return pub.last_error(); }, "hostname mismatch");
  EXPECT_THAT(err, HasSubstr("hostname mismatch"));
}

TEST_F(TlsTest, MutualTls) {
  StartRedis(true);
  Harness without;
  Publisher& pub = without.StartPublisher(Tls(Ctx(pki_->ca_file)));
  std::string err = WaitForError([&] { return pub.last_error(); }, "TLS");
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", server_->tls_port())));
  EXPECT_FALSE(pub.connected());

  Harness with;
  with.StartSubscriber(
      Tls(Ctx(pki_->ca_file, pki_->client_cert, pki_->client_key)));
  ASSERT_TRUE(with.SubscribeAndWait("mtls").ok());
  with.StartPublisher(
      Tls(Ctx(pki_->ca_file, pki_->client_cert, pki_->client_key)));
  ASSERT_TRUE(with.PublishWhenUp("mtls", "mutual").ok());
  auto m = with.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "mutual");
}

TEST_F(TlsTest, ReconnectsAfterRedisRestart) {
  StartRedis(false);
  Harness h;
  h.StartSubscriber(Tls(Ctx(pki_->ca_file)));
  ASSERT_TRUE(h.SubscribeAndWait("r").ok());
  ASSERT_TRUE(h.sink.WaitState(true));
  h.StartPublisher(Tls(Ctx(pki_->ca_file)));
  ASSERT_TRUE(h.PublishWhenUp("r", "before").ok());
  ASSERT_TRUE(h.sink.Next().has_value());
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(h.sink.WaitState(false));
  ASSERT_TRUE(h.sink.WaitState(true));  // resubscribed over TLS
  auto r = h.PublishWhenUp("r", "after");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "after");
}

TEST_F(TlsTest, PlainClientOnTlsPortFailsClearly) {
  StartRedis(false);
  Harness h;
  Options o;
  o.endpoint =
      *ParseUrl(absl::StrCat("redis://127.0.0.1:", server_->tls_port()));
  o.connect_timeout = absl::Milliseconds(500);
  Publisher& pub = h.StartPublisher(Fast(o));
  std::string err =
      WaitForError([&] { return pub.last_error(); },
                   absl::StrCat("127.0.0.1:", server_->tls_port()));
  EXPECT_THAT(err, HasSubstr(absl::StrCat("127.0.0.1:", server_->tls_port())));
  EXPECT_FALSE(pub.connected());
}

TEST(UnixSocket, PublishSubscribeAndDb) {
  vent::testing::RedisServer::Config c;
  c.unix_socket = true;
  auto s = vent::testing::RedisServer::Start(c);
  ASSERT_TRUE(s.ok()) << s.status();
  Harness h;
  Options o;
  o.endpoint = *ParseUrl(absl::StrCat("unix://", (*s)->unix_path(), "?db=2"));
  o.client_name = "vent-unix";
  h.StartSubscriber(Fast(o));
  ASSERT_TRUE(h.SubscribeAndWait("u").ok());
  h.StartPublisher(Fast(o));
  auto r = h.PublishWhenUp("u", "over a unix socket");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "over a unix socket");
  auto list = (*s)->Cli({"CLIENT", "LIST"});
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, ::testing::ContainsRegex(
                         "db=2 .*name=vent-unix|name=vent-unix .*db=2"));
}

TEST(UnixSocket, MissingSocketIsAClearError) {
  Harness h;
  Options o;
  o.endpoint = *ParseUrl("unix:///nonexistent/redis.sock");
  Publisher& pub = h.StartPublisher(Fast(o));
  std::string err = WaitForError([&] { return pub.last_error(); },
                                 "unix:/nonexistent/redis.sock");
  EXPECT_THAT(err, HasSubstr("No such file"));
}

TEST(ShardedSingleServer, SpublishAndSsubscribeInteroperate) {
  auto s = vent::testing::RedisServer::Start();
  ASSERT_TRUE(s.ok()) << s.status();
  Harness h;
  Options o;
  o.endpoint = *ParseUrl((*s)->url());
  o.pubsub = PubSubMode::kSharded;
  h.StartSubscriber(Fast(o));
  ASSERT_TRUE(h.SubscribeAndWait("s1").ok());
  ASSERT_TRUE(h.SubscribeAndWait("s2").ok());
  auto numsub = (*s)->Cli({"PUBSUB", "SHARDNUMSUB", "s1", "s2"});
  ASSERT_TRUE(numsub.ok());
  EXPECT_EQ(*numsub, "s1\n1\ns2\n1\n");
  auto cli = (*s)->Cli({"SPUBLISH", "s2", "from redis-cli"});
  ASSERT_TRUE(cli.ok());
  auto m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, "s2");
  EXPECT_EQ(m->second, "from redis-cli");
  h.StartPublisher(Fast(o));
  auto r = h.PublishWhenUp("s1", "spublish");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  m = h.sink.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "spublish");
  // A classic PUBLISH does not reach a sharded subscriber (documented).
  auto classic = (*s)->Cli({"PUBLISH", "s1", "classic"});
  ASSERT_TRUE(classic.ok());
  EXPECT_EQ(*classic, "0\n");
}

// ---------------------------------------------------------------- a fake
// server that accepts, answers the handshake's PING (or not), then closes.

class FakeRedis {
 public:
  explicit FakeRedis(bool answer_handshake) : answer_(answer_handshake) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeRedis() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  size_t accepted() {
    std::lock_guard l(mu_);
    return times_.size();
  }
  std::vector<Clock::time_point> times() {
    std::lock_guard l(mu_);
    return times_;
  }
  // Waits until `n` connections were accepted.
  bool WaitAccepted(size_t n, std::chrono::seconds wait) {
    auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
      if (accepted() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      {
        std::lock_guard l(mu_);
        times_.push_back(Clock::now());
      }
      if (answer_) {
        // The handshake is one write ending with PING; answer it, then hang
        // up: "accepts, then misbehaves".
        std::string got;
        char buf[512];
        while (!absl::StrContains(got, "PING\r\n")) {
          pollfd q{c, POLLIN, 0};
          if (poll(&q, 1, 1000) <= 0) break;
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          got.append(buf, static_cast<size_t>(n));
        }
        const char kPong[] = "+PONG\r\n";
        (void)!write(c, kPong, sizeof kPong - 1);
      }
      close(c);
    }
  }

  const bool answer_;
  int fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Clock::time_point> times_;
  std::thread thread_;
};

// Regression (issue 10): the backoff used to reset on every handshake, so a
// Redis that accepts and then drops the connection got ~12 reconnects/s.
// Now a session must stay up backoff_reset_after before the backoff starts
// over: the delays keep doubling, so 6 connections take at least
// 50+100+200+400+800 ms (the lower jitter bounds). Before, at most 5 x 100.
TEST(Reconnect, ShortSessionsDoNotResetTheBackoff) {
  FakeRedis fake(/*answer_handshake=*/true);
  Harness h;
  Options o;
  o.endpoint = *ParseUrl(absl::StrCat("redis://127.0.0.1:", fake.port()));
  o.backoff_initial = absl::Milliseconds(100);
  o.backoff_max = absl::Seconds(2);
  h.StartPublisher(o);
  ASSERT_TRUE(fake.WaitAccepted(6, std::chrono::seconds(20)));
  auto t = fake.times();
  EXPECT_GE(t[5] - t[0], std::chrono::milliseconds(1550));
}

TEST(ReconnectPolicy, ResetsOnlyAfterAHealthySession) {
  const absl::Duration ms = absl::Milliseconds(1);
  ReconnectPolicy p(100 * ms, 1000 * ms, 10000 * ms);
  absl::Time t = absl::UnixEpoch();
  // Failed attempts: 100, 200, 400 (each in [d/2, d]).
  for (int d : {100, 200, 400}) {
    absl::Duration got = p.NextDelay(t);
    EXPECT_GE(got, d / 2 * ms);
    EXPECT_LE(got, d * ms);
  }
  // A 1 s session is too short: the next delay keeps growing (800).
  p.SessionUp(t);
  absl::Duration got = p.NextDelay(t + absl::Seconds(1));
  EXPECT_GE(got, 400 * ms);
  // Capped at 1000.
  p.SessionUp(t);
  got = p.NextDelay(t + absl::Seconds(1));
  EXPECT_GE(got, 500 * ms);
  EXPECT_LE(got, 1000 * ms);
  // A 10 s session counts as healthy: back to 100.
  p.SessionUp(t);
  got = p.NextDelay(t + absl::Seconds(10));
  EXPECT_LE(got, 100 * ms);
}

// Captures what is written to fd 2 (vent::log's sink) while alive.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    saved_ = dup(2);
    char tmpl[] = "/tmp/vent-stderr-XXXXXX";
    fd_ = mkstemp(tmpl);
    path_ = tmpl;
    dup2(fd_, 2);
  }
  ~StderrCapture() {
    Restore();
    unlink(path_.c_str());
  }
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    close(fd_);
    saved_ = -1;
  }
  std::string Text() {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  int Count(absl::string_view needle) {
    int n = 0;
    for (absl::string_view line : absl::StrSplit(Text(), '\n')) {
      n += absl::StrContains(line, needle);
    }
    return n;
  }

 private:
  int saved_ = -1;
  int fd_ = -1;
  std::string path_;
};

TEST(Reconnect, RepeatedFailuresAreLoggedOnce) {
  StderrCapture cap;
  {
    FakeRedis fake(/*answer_handshake=*/false);  // hangs up mid-handshake
    Harness h;
    Options o;
    o.endpoint = *ParseUrl(absl::StrCat("redis://127.0.0.1:", fake.port()));
    o.backoff_initial = absl::Milliseconds(1);
    o.backoff_max = absl::Milliseconds(4);
    h.StartPublisher(o);
    ASSERT_TRUE(fake.WaitAccepted(30, std::chrono::seconds(20)));
  }
  cap.Restore();
  std::string text = cap.Text();
  // One line per distinct cause (the peer's FIN or RST, depending on
  // timing), not one per attempt.
  EXPECT_GE(cap.Count("msg=\"redis connect failed\""), 1) << text;
  EXPECT_LE(cap.Count("msg=\"redis connect failed\""), 2) << text;
  EXPECT_THAT(text, HasSubstr("handshake with 127.0.0.1:"));
}

TEST(Reconnect, FlappingSessionsAreLoggedOnce) {
  StderrCapture cap;
  {
    FakeRedis fake(/*answer_handshake=*/true);
    Harness h;
    Options o;
    o.endpoint = *ParseUrl(absl::StrCat("redis://127.0.0.1:", fake.port()));
    o.backoff_initial = absl::Milliseconds(1);
    o.backoff_max = absl::Milliseconds(4);
    h.StartPublisher(o);
    ASSERT_TRUE(fake.WaitAccepted(30, std::chrono::seconds(20)));
  }
  cap.Restore();
  std::string text = cap.Text();
  EXPECT_EQ(cap.Count("msg=\"redis disconnected\""), 1) << text;
  EXPECT_EQ(cap.Count("msg=\"redis connected\""), 1) << text;
  EXPECT_THAT(text, HasSubstr(absl::StrCat("address=127.0.0.1:")));
}

}  // namespace
}  // namespace vent::redis
