// AuthorizerClient against an in-process fake Authorizer (gRPC callback
// service on a kernel-chosen port). No sleeps: results are awaited with
// deadlines; cache expiry uses an injected clock.
#include "vent/auth/authorizer_client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "vent/auth/decision_cache.h"
#include "vent/testing/redis_server.h"  // FreePort
#include "vent/tls/test_cert.h"
#include "vent/v1/authorizer.grpc.pb.h"

namespace vent::auth {
namespace {

using Responder = std::function<grpc::Status(const v1::AuthorizeRequest&,
                                             v1::AuthorizeResponse*)>;
using AuthResponder = std::function<grpc::Status(const v1::AuthenticateRequest&,
                                                 v1::AuthenticateResponse*)>;

class FakeAuthorizer final : public v1::Authorizer::CallbackService {
 public:
  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* ctx,
                                      const v1::AuthorizeRequest* req,
                                      v1::AuthorizeResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_request_ = *req;
    auto md = ctx->client_metadata().find("authorization");
    last_authorization_ =
        md == ctx->client_metadata().end()
            ? ""
            : std::string(md->second.data(), md->second.size());
    if (hold_) {
      held_.push_back(reactor);  // answered in ReleaseHeld (after the deadline)
      return reactor;
    }
    reactor->Finish(responder_ ? responder_(*req, resp) : grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Authenticate(
      grpc::CallbackServerContext* ctx, const v1::AuthenticateRequest* req,
      v1::AuthenticateResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::MutexLock lock(&mu_);
    ++auth_calls_;
    last_auth_request_ = *req;
    if (hold_) {
      held_.push_back(reactor);
      return reactor;
    }
    reactor->Finish(auth_responder_
                        ? auth_responder_(*req, resp)
                        : grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
    return reactor;
  }
  void set_auth_responder(AuthResponder r) {
    absl::MutexLock lock(&mu_);
    auth_responder_ = std::move(r);
  }
  int auth_calls() {
    absl::MutexLock lock(&mu_);
    return auth_calls_;
  }
  v1::AuthenticateRequest last_auth_request() {
    absl::MutexLock lock(&mu_);
    return last_auth_request_;
  }

  void set_responder(Responder r) {
    absl::MutexLock lock(&mu_);
    responder_ = std::move(r);
  }
  void set_hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  void ReleaseHeld() {
    absl::MutexLock lock(&mu_);
    for (auto* r : held_)
      r->Finish(grpc::Status(grpc::StatusCode::ABORTED, "released"));
    held_.clear();
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // Waits until at least `n` calls arrived; false on timeout.
  bool WaitForCalls(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]()
                       ABSL_NO_THREAD_SAFETY_ANALYSIS { return calls_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  v1::AuthorizeRequest last_request() {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }
  std::string last_authorization() {
    absl::MutexLock lock(&mu_);
    return last_authorization_;
  }

 private:
  absl::Mutex mu_;
  Responder responder_;
  AuthResponder auth_responder_;
  int auth_calls_ = 0;
  v1::AuthenticateRequest last_auth_request_;
  bool hold_ = false;
  std::vector<grpc::ServerUnaryReactor*> held_;
  int calls_ = 0;
  v1::AuthorizeRequest last_request_;
  std::string last_authorization_;
};

Responder Answer(bool allow, std::string reason = "", int cache_seconds = 0) {
  return [=](const v1::AuthorizeRequest&, v1::AuthorizeResponse* resp) {
    resp->set_allow(allow);
    resp->set_reason(reason);
    resp->set_cache_seconds(cache_seconds);
    return grpc::Status::OK;
  };
}

// Runs one Authorize and waits (deadline) for `done`.
absl::StatusOr<Decision> Call(AuthorizerClient& client, AuthorizeQuery q,
                              absl::Duration wait = absl::Seconds(10)) {
  struct Box {
    absl::Notification done;
    absl::StatusOr<Decision> result;
    std::atomic<int> runs{0};
  };
  auto box = std::make_shared<Box>();
  client.Authorize(std::move(q), [box](absl::StatusOr<Decision> r) {
    if (box->runs.fetch_add(1) == 0) {
      box->result = std::move(r);
      box->done.Notify();
    }
  });
  if (!box->done.WaitForNotificationWithTimeout(wait)) {
    return absl::InternalError("done did not run before the test deadline");
  }
  EXPECT_EQ(box->runs.load(), 1);
  return box->result;
}

AuthorizeQuery Query(std::string user = "u1",
                     std::string params = R"({"threadId":"u1-t"})") {
  AuthorizeQuery q;
  q.user_id = std::move(user);
  q.publication = "threadMessage";
  q.params_json = std::move(params);
  q.channels = {"threads::u1-t::new_message"};
  q.connection = {{"remote_addr", "10.0.0.1:5555"},
                  {"origin", "https://app.example"}};
  return q;
}

class AuthorizerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                       &port_);
    b.RegisterService(&fake_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    fake_.set_responder(Answer(true));
  }
  void TearDown() override {
    fake_.ReleaseHeld();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }
  AuthorizerOptions Options() {
    AuthorizerOptions o;
    o.address = absl::StrCat("127.0.0.1:", port_);
    o.clock = [this] {
      absl::MutexLock lock(&clock_mu_);
      return now_;
    };
    return o;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&clock_mu_);
    now_ += d;
  }

  FakeAuthorizer fake_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex clock_mu_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

TEST_F(AuthorizerClientTest, AllowForwardsTheQuery) {
  AuthorizerOptions o = Options();
  o.api_key = "k3y";
  AuthorizerClient client(o);
  auto d = Call(client, Query());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allow);
  EXPECT_FALSE(d->from_cache);
  EXPECT_EQ(d->reason, "");
  v1::AuthorizeRequest seen = fake_.last_request();
  EXPECT_EQ(seen.user_id(), "u1");
  EXPECT_EQ(seen.publication(), "threadMessage");
  EXPECT_EQ(seen.params_json(), R"({"threadId":"u1-t"})");
  ASSERT_EQ(seen.channels_size(), 1);
  EXPECT_EQ(seen.channels(0), "threads::u1-t::new_message");
  EXPECT_EQ(seen.connection().at("remote_addr"), "10.0.0.1:5555");
  EXPECT_EQ(seen.connection().at("origin"), "https://app.example");
  EXPECT_EQ(fake_.last_authorization(), "Bearer k3y");
}

TEST_F(AuthorizerClientTest, DenyWithReason) {
  fake_.set_responder(Answer(false, "not your thread"));
  AuthorizerClient client(Options());
  auto d = Call(client, Query());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->allow);
  EXPECT_EQ(d->reason, "not your thread");
  EXPECT_EQ(fake_.last_authorization(), "");  // no api_key configured

  fake_.set_responder(Answer(false, ""));
  EXPECT_EQ(Call(client, Query("u2"))->reason, "Access denied");
  fake_.set_responder(Answer(false, std::string(5000, 'r')));
  EXPECT_EQ(Call(client, Query("u3"))->reason.size(), 1024u);
}

TEST_F(AuthorizerClientTest, DeadlineIsUnavailableNeverAllow) {
  fake_.set_hold(true);
  AuthorizerOptions o = Options();
  o.deadline = absl::Milliseconds(300);
  AuthorizerClient client(o);
  absl::Time start = absl::Now();
  auto d = Call(client, Query());
  absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(d.status().message(), "Authorizer unavailable");
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(300) + absl::Seconds(2));
  EXPECT_EQ(fake_.calls(), 1);
}

TEST(AuthorizerClientDown, BackendDownIsUnavailable) {
  AuthorizerOptions o;
  o.address = absl::StrCat("127.0.0.1:", vent::testing::FreePort());
  o.deadline = absl::Seconds(2);
  o.cache_ttl = absl::Seconds(60);
  AuthorizerClient client(o);
  for (int i = 0; i < 2; ++i) {  // errors are not cached
    absl::Time start = absl::Now();
    auto d = Call(client, Query());
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable) << d.status();
    EXPECT_EQ(d.status().message(), "Authorizer unavailable");
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  }
  EXPECT_EQ(client.cache_size(), 0u);
}

// TLS to the backend: verified against the configured roots; a server whose
// certificate those roots do not sign is "unavailable", never allowed.
TEST(AuthorizerClientTls, VerifiedAgainstConfiguredRoots) {
  auto cert = tls::MakeTestCert();
  auto other = tls::MakeTestCert();
  std::ifstream key_in(cert->key_file);
  std::stringstream key;
  key << key_in.rdbuf();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({key.str(), cert->cert_pem});
  FakeAuthorizer fake;
  fake.set_responder(Answer(true));
  int port = 0;
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
  b.RegisterService(&fake);
  auto server = b.BuildAndStart();
  ASSERT_NE(server, nullptr);

  AuthorizerOptions o;
  o.address = absl::StrCat("localhost:", port);
  o.deadline = absl::Seconds(5);
  o.tls = true;
  o.tls_roots_pem = cert->cert_pem;
  {
    AuthorizerClient client(o);
    auto d = Call(client, Query());
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allow);
  }
  o.tls_roots_pem = other->cert_pem;
  {
    AuthorizerClient client(o);
    auto d = Call(client, Query());
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().message(), "Authorizer unavailable");
  }
  o.tls = false;  // plaintext to a TLS server
  {
    AuthorizerClient client(o);
    EXPECT_FALSE(Call(client, Query()).ok());
  }
  EXPECT_EQ(fake.calls(), 1);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

TEST_F(AuthorizerClientTest, BackendErrorIsUnavailableAndNotCached) {
  fake_.set_responder(
      [](const v1::AuthorizeRequest&, v1::AuthorizeResponse* r) {
        r->set_allow(true);  // must be ignored: the status is an error
        return grpc::Status(grpc::StatusCode::INTERNAL, "db down");
      });
  AuthorizerOptions o = Options();
  o.cache_ttl = absl::Seconds(60);
  AuthorizerClient client(o);
  auto d = Call(client, Query());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(d.status().message(), "Authorizer unavailable");  // no "db down"
  fake_.set_responder(Answer(true));
  EXPECT_TRUE(Call(client, Query())->allow);
  EXPECT_EQ(fake_.calls(), 2);
}

TEST_F(AuthorizerClientTest, CacheHitSkipsTheServer) {
  fake_.set_responder(Answer(true, "", 30));
  AuthorizerClient client(Options());
  EXPECT_FALSE(Call(client, Query())->from_cache);
  auto again = Call(client, Query());
  EXPECT_TRUE(again->allow);
  EXPECT_TRUE(again->from_cache);
  EXPECT_EQ(fake_.calls(), 1);
  // Another params / user / publication is another key.
  Call(client, Query("u1", R"({"threadId":"u1-x"})"));
  Call(client, Query("u2"));
  AuthorizeQuery other = Query();
  other.publication = "other";
  Call(client, other);
  EXPECT_EQ(fake_.calls(), 4);
  // Denials are cached too.
  fake_.set_responder(Answer(false, "no", 30));
  EXPECT_FALSE(Call(client, Query("u9"))->allow);
  auto deny = Call(client, Query("u9"));
  EXPECT_TRUE(deny->from_cache);
  EXPECT_EQ(deny->reason, "no");
  EXPECT_EQ(fake_.calls(), 5);
}

TEST_F(AuthorizerClientTest, CacheSecondsHonoured) {
  fake_.set_responder(Answer(true, "", 5));
  AuthorizerClient client(Options());
  Call(client, Query());
  Advance(absl::Seconds(4));
  EXPECT_TRUE(Call(client, Query())->from_cache);
  Advance(absl::Seconds(1));
  EXPECT_FALSE(Call(client, Query())->from_cache);
  EXPECT_EQ(fake_.calls(), 2);
}

TEST_F(AuthorizerClientTest, DefaultTtlAndNoCache) {
  fake_.set_responder(Answer(true, "", 0));  // 0 = use options.cache_ttl
  AuthorizerClient uncached(Options());      // cache_ttl 0: no caching
  Call(uncached, Query());
  Call(uncached, Query());
  EXPECT_EQ(fake_.calls(), 2);

  AuthorizerOptions o = Options();
  o.cache_ttl = absl::Seconds(10);
  AuthorizerClient cached(o);
  Call(cached, Query());
  Advance(absl::Seconds(9));
  EXPECT_TRUE(Call(cached, Query())->from_cache);
  Advance(absl::Seconds(1));
  EXPECT_FALSE(Call(cached, Query())->from_cache);
  EXPECT_EQ(fake_.calls(), 4);

  fake_.set_responder(Answer(true, "", -1));  // negative: never cache
  Call(cached, Query("u5"));
  EXPECT_FALSE(Call(cached, Query("u5"))->from_cache);
  EXPECT_EQ(fake_.calls(), 6);
}

TEST_F(AuthorizerClientTest, DestructorCompletesCallsInFlight) {
  fake_.set_hold(true);
  AuthorizerOptions o = Options();
  o.deadline = absl::Seconds(60);
  auto client = std::make_unique<AuthorizerClient>(o);
  absl::Notification done;
  absl::StatusOr<Decision> result;
  client->Authorize(Query(), [&](absl::StatusOr<Decision> r) {
    result = std::move(r);
    done.Notify();
  });
  // Wait until the server holds the call, then destroy the client.
  ASSERT_TRUE(fake_.WaitForCalls(1, absl::Seconds(10)));
  absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
}

// Destroying the client right after `done` must not let the channel die on a
// gRPC callback thread (that aborts in gRPC 1.51; grpc/grpc#32584).
TEST_F(AuthorizerClientTest, DestroyRightAfterDone) {
  for (int i = 0; i < 40; ++i) {
    fake_.set_responder(i % 2 == 0
                            ? Answer(true)
                            : Responder([](const v1::AuthorizeRequest&,
                                           v1::AuthorizeResponse*) {
                                return grpc::Status(
                                    grpc::StatusCode::UNAUTHENTICATED, "k");
                              }));
    auto client = std::make_unique<AuthorizerClient>(Options());
    auto d = Call(*client, Query());
    EXPECT_EQ(d.ok(), i % 2 == 0) << d.status();
    client.reset();
  }
}

TEST_F(AuthorizerClientTest, ManyConcurrentCallsCompleteOnce) {
  fake_.set_responder(
      [](const v1::AuthorizeRequest& q, v1::AuthorizeResponse* r) {
        r->set_allow(q.user_id().size() % 2 == 0);
        return grpc::Status::OK;
      });
  AuthorizerClient client(Options());
  constexpr int kThreads = 4, kPerThread = 100;
  std::atomic<int> done{0}, wrong{0};
  absl::Notification all;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string user(1 + (t + i) % 3, 'u');
        bool want = user.size() % 2 == 0;
        client.Authorize(Query(user, absl::StrCat("{\"i\":", i, "}")),
                         [&, want](absl::StatusOr<Decision> d) {
                           if (!d.ok() || d->allow != want) ++wrong;
                           if (++done == kThreads * kPerThread) all.Notify();
                         });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
}

// Runs one Authenticate and waits (deadline) for `done`.
absl::StatusOr<Identity> Auth(AuthorizerClient& client, std::string token,
                              absl::Duration wait = absl::Seconds(10)) {
  struct Box {
    absl::Notification done;
    absl::StatusOr<Identity> result;
    std::atomic<int> runs{0};
  };
  auto box = std::make_shared<Box>();
  AuthenticateQuery q;
  q.token = std::move(token);
  q.connection = {{"remote", "10.0.0.1:5555"}, {"origin", "https://a.example"}};
  client.Authenticate(std::move(q), [box](absl::StatusOr<Identity> r) {
    if (box->runs.fetch_add(1) == 0) {
      box->result = std::move(r);
      box->done.Notify();
    }
  });
  if (!box->done.WaitForNotificationWithTimeout(wait)) {
    return absl::InternalError("done did not run before the test deadline");
  }
  EXPECT_EQ(box->runs.load(), 1);
  return box->result;
}

AuthResponder User(std::string user, int64_t expires_ms,
                   int cache_seconds = 0) {
  return [=](const v1::AuthenticateRequest&, v1::AuthenticateResponse* r) {
    r->set_user_id(user);
    r->set_expires_at_ms(expires_ms);
    r->set_cache_seconds(cache_seconds);
    return grpc::Status::OK;
  };
}

TEST_F(AuthorizerClientTest, AuthenticateForwardsTokenAndMetadata) {
  AuthorizerOptions o = Options();
  o.api_key = "k3y";
  AuthorizerClient client(o);
  fake_.set_auth_responder(User("u42", 1'800'000'000'000));
  auto id = Auth(client, "tok-1");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->user_id, "u42");
  EXPECT_EQ(id->expires_at, absl::FromUnixMillis(1'800'000'000'000));
  EXPECT_FALSE(id->from_cache);
  v1::AuthenticateRequest seen = fake_.last_auth_request();
  EXPECT_EQ(seen.token(), "tok-1");
  EXPECT_EQ(seen.connection().at("remote"), "10.0.0.1:5555");
  EXPECT_EQ(seen.connection().at("origin"), "https://a.example");
}

TEST_F(AuthorizerClientTest, AuthenticateRefusals) {
  AuthorizerClient client(Options());
  using R = v1::AuthenticateResponse;
  for (auto [refusal, want] :
       {std::pair{R::UNKNOWN_TOKEN, Identity::Refusal::kUnknownToken},
        std::pair{R::EXPIRED, Identity::Refusal::kExpired},
        std::pair{R::FORBIDDEN, Identity::Refusal::kForbidden}}) {
    fake_.set_auth_responder(
        [refusal = refusal](const v1::AuthenticateRequest&, R* r) {
          r->set_refusal(refusal);
          return grpc::Status::OK;
        });
    auto id = Auth(client, "t");
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->user_id, "");
    EXPECT_EQ(id->refusal, want);
  }
  // An empty answer is a refusal, never a login.
  fake_.set_auth_responder(
      [](const v1::AuthenticateRequest&, R*) { return grpc::Status::OK; });
  auto id = Auth(client, "t");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->user_id, "");
  EXPECT_EQ(id->refusal, Identity::Refusal::kUnknownToken);
}

TEST_F(AuthorizerClientTest, AuthenticateFailuresAreErrors) {
  AuthorizerClient client(Options());
  // Not implemented by the backend.
  auto id = Auth(client, "t");
  EXPECT_TRUE(absl::IsUnavailable(id.status())) << id.status();
  // A user without an expiry is not a login.
  fake_.set_auth_responder(User("u1", 0, 60));
  id = Auth(client, "t");
  EXPECT_TRUE(absl::IsInternal(id.status())) << id.status();
  EXPECT_EQ(client.identity_cache_size(), 0u);
  // Backend error.
  fake_.set_auth_responder(
      [](const v1::AuthenticateRequest&, v1::AuthenticateResponse*) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "db down");
      });
  id = Auth(client, "t");
  EXPECT_TRUE(absl::IsUnavailable(id.status())) << id.status();
  EXPECT_EQ(id.status().message(), "Authorizer unavailable");
}

TEST_F(AuthorizerClientTest, AuthenticateDeadlineIsAnError) {
  AuthorizerOptions o = Options();
  o.deadline = absl::Milliseconds(200);
  AuthorizerClient client(o);
  fake_.set_hold(true);
  auto id = Auth(client, "t");
  EXPECT_TRUE(absl::IsDeadlineExceeded(id.status())) << id.status();
}

TEST_F(AuthorizerClientTest, AuthenticateCacheByTokenNeverPastExpiry) {
  AuthorizerClient client(Options());
  // Valid for 30 more seconds, cacheable for 60: cached for 30.
  int64_t exp = absl::ToUnixMillis(now_ + absl::Seconds(30));
  fake_.set_auth_responder(User("u1", exp, 60));
  ASSERT_TRUE(Auth(client, "a").ok());
  EXPECT_EQ(client.identity_cache_size(), 1u);
  auto hit = Auth(client, "a");
  ASSERT_TRUE(hit.ok());
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(hit->user_id, "u1");
  EXPECT_EQ(fake_.auth_calls(), 1);
  // Another token is another key.
  ASSERT_TRUE(Auth(client, "b").ok());
  EXPECT_EQ(fake_.auth_calls(), 2);
  Advance(absl::Seconds(31));
  auto miss = Auth(client, "a");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->from_cache);
  EXPECT_EQ(fake_.auth_calls(), 3);
  // Negative cache_seconds: never cached.
  fake_.set_auth_responder(User("u1", exp + 3'600'000, -1));
  ASSERT_TRUE(Auth(client, "c").ok());
  ASSERT_TRUE(Auth(client, "c").ok());
  EXPECT_EQ(fake_.auth_calls(), 5);
}

TEST(IdentityCache, KeyIsTheTokenHash) {
  EXPECT_EQ(IdentityCache::Key("a").size(), 32u);
  EXPECT_NE(IdentityCache::Key("a"), IdentityCache::Key("b"));
  EXPECT_EQ(absl::BytesToHexString(IdentityCache::Key("a")),
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
}

TEST(DecisionCache, EvictsOldestAndExpires) {
  DecisionCache cache(2);
  absl::Time t = absl::FromUnixSeconds(100);
  Decision allow{true, "", false};
  cache.Insert(DecisionCache::Key("a", "p", "{}"), allow, t + absl::Seconds(10),
               t);
  cache.Insert(DecisionCache::Key("b", "p", "{}"), allow, t + absl::Seconds(10),
               t);
  cache.Insert(DecisionCache::Key("a", "p", "{}"), allow, t + absl::Seconds(10),
               t);  // refresh a
  cache.Insert(DecisionCache::Key("c", "p", "{}"), allow, t + absl::Seconds(10),
               t);  // evicts b
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Lookup(DecisionCache::Key("a", "p", "{}"), t));
  EXPECT_FALSE(cache.Lookup(DecisionCache::Key("b", "p", "{}"), t));
  EXPECT_TRUE(cache.Lookup(DecisionCache::Key("c", "p", "{}"), t));
  EXPECT_FALSE(
      cache.Lookup(DecisionCache::Key("c", "p", "{}"), t + absl::Seconds(10)));
  EXPECT_EQ(cache.size(), 1u);
  // Keys are unambiguous.
  EXPECT_NE(DecisionCache::Key("ab", "c", ""),
            DecisionCache::Key("a", "bc", ""));
  DecisionCache off(0);
  off.Insert("k", allow, t + absl::Seconds(1), t);
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace vent::auth
