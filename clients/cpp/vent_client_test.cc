// Integration tests of vent::Client against the real binaries: a private
// redis-server, bin/vent-server and bin/vent-bridge (config/vent.yaml), with a
// raw Redis subscriber and a Meteor-like DDP client (node) as witnesses.
#include "clients/cpp/vent_client.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "clients/cpp/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/testing/redis_server.h"

namespace vent {
namespace {

using client_testing::BinPath;
using client_testing::Http200;
using client_testing::Process;
using client_testing::RawSubscriber;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Duration kStart = absl::Seconds(20);

class VentClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("NODE_PATH", VENT_SOURCE_DIR "/node_modules", /*overwrite=*/0);
    auto redis = testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
    grpc_port_ = testing::FreePort();
    uint16_t metrics_port = testing::FreePort();
    auto server = Process::Start({BinPath("vent-server"), "--listen",
                                  absl::StrCat("127.0.0.1:", grpc_port_),
                                  "--redis", redis_->url(), "--metrics-listen",
                                  absl::StrCat("127.0.0.1:", metrics_port),
                                  "--http-listen", "", "--log-level", "warn"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_TRUE(client_testing::WaitUntil(
        [&] { return Http200(metrics_port, "/healthz"); }, kStart))
        << server_->Stderr();
    bridge_port_ = testing::FreePort();
    auto bridge = Process::Start(
        {BinPath("vent-bridge"), "--listen",
         absl::StrCat("127.0.0.1:", bridge_port_), "--redis", redis_->url(),
         "--config", absl::StrCat(VENT_SOURCE_DIR, "/config/vent.yaml"),
         "--workers", "1", "--log-level", "warn"});
    ASSERT_TRUE(bridge.ok()) << bridge.status();
    bridge_ = bridge->release();
    ASSERT_TRUE(client_testing::WaitUntil(
        [&] { return Http200(bridge_port_, "/healthz"); }, kStart))
        << bridge_->Stderr();
  }
  static void TearDownTestSuite() {
    delete bridge_;
    delete server_;
    delete redis_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    auto c =
        Client::Connect({.address = absl::StrCat("127.0.0.1:", grpc_port_)});
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  static testing::RedisServer* redis_;
  static Process* server_;
  static Process* bridge_;
  static uint16_t grpc_port_;
  static uint16_t bridge_port_;
  std::unique_ptr<Client> client_;
};

testing::RedisServer* VentClientTest::redis_ = nullptr;
Process* VentClientTest::server_ = nullptr;
Process* VentClientTest::bridge_ = nullptr;
uint16_t VentClientTest::grpc_port_ = 0;
uint16_t VentClientTest::bridge_port_ = 0;

TEST_F(VentClientTest, EmitReachesRedisAndDdpClientByteExact) {
  const std::string channel = "threads::t1::new_message";
  auto sub = RawSubscriber::Connect(redis_->port(), {channel});
  ASSERT_TRUE(sub.ok()) << sub.status();
  auto ddp = Process::Start(
      {"node",
       absl::StrCat(VENT_SOURCE_DIR, "/clients/cpp/testdata/ddp_listen.js"),
       absl::StrCat("ws://127.0.0.1:", bridge_port_, "/websocket"),
       "threadMessage", R"({"threadId":"t1"})", "1"});
  ASSERT_TRUE(ddp.ok()) << ddp.status();
  auto ready = (*ddp)->ReadLine(kStart);
  ASSERT_TRUE(ready.has_value()) << (*ddp)->Stderr();
  ASSERT_THAT(*ready, StartsWith("READY "));
  std::string rand = ready->substr(6);

  // Spacing and key order must survive to Redis; the publication projects
  // `message` (fields: [message]).
  const std::string json = R"({"message": "h\u00e9llo \"C++\"",  "secret":1})";
  auto r = client_->Emit(channel, json);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id.size(), 26u);
  EXPECT_EQ(r->receivers, 2);  // the bridge and our raw subscriber
  EXPECT_FALSE(r->duplicate);

  auto m = (*sub)->Next(absl::Seconds(10));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->channel, channel);
  EXPECT_EQ(m->payload, json);

  auto frame = (*ddp)->ReadLine(kStart);
  ASSERT_TRUE(frame.has_value()) << (*ddp)->Stderr();
  EXPECT_EQ(*frame, absl::StrCat(
                        R"({"msg":"changed","__vent":"1","id":")", rand,
                        R"(.threadMessage","e":{"message":"héllo \"C++\""}})"));
  EXPECT_EQ((*ddp)->Wait(absl::Seconds(10)), 0) << (*ddp)->Stderr();
}

TEST_F(VentClientTest, IdempotencyKeyMarksDuplicate) {
  auto a = client_->Emit("idem::x", "{}", {.idempotency_key = "k-1"});
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = client_->Emit("idem::x", "{}", {.idempotency_key = "k-1"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(a->duplicate);
  EXPECT_TRUE(b->duplicate);
  EXPECT_EQ(a->id, b->id);
}

TEST_F(VentClientTest, BatchAndStreamArriveInOrder) {
  auto sub = RawSubscriber::Connect(redis_->port(), {"order::a"});
  ASSERT_TRUE(sub.ok()) << sub.status();
  std::vector<Event> batch;
  for (int i = 0; i < 50; ++i)
    batch.push_back({"order::a", absl::StrCat("[", i, "]"), ""});
  auto results = client_->EmitBatch(batch);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 50u);
  EXPECT_EQ((*results)[0].receivers, 1);

  auto stream = client_->OpenEmitStream();
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 50; i < 2050; ++i) {
    ASSERT_TRUE((*stream)->Write("order::a", absl::StrCat("[", i, "]")).ok());
  }
  EXPECT_EQ((*stream)->written(), 2000);
  auto done = (*stream)->Finish();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->published, 2000);
  EXPECT_EQ(done->receivers, 2000);
  for (int i = 0; i < 2050; ++i) {
    auto m = (*sub)->Next(absl::Seconds(10));
    ASSERT_TRUE(m.ok()) << "message " << i << ": " << m.status();
    ASSERT_EQ(m->payload, absl::StrCat("[", i, "]"));
  }
}

TEST_F(VentClientTest, ErrorsCarryServerCodeAndMessage) {
  auto bad = client_->Emit("x", "{nope");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("event.json: not valid JSON"));

  auto empty = client_->Emit("", "{}");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(),
              HasSubstr("event.channel: must not be empty"));

  auto batch = client_->EmitBatch({{"a", "1", ""}, {"a", "[", ""}});
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(batch.status().message(), HasSubstr("events[1]"));

  auto stream = client_->OpenEmitStream();
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE((*stream)->Write("s", "1").ok());
  (void)(*stream)->Write("s", "not json");  // may or may not see the break yet
  auto done = (*stream)->Finish();
  EXPECT_EQ(done.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(done.status().message(),
              HasSubstr("1 events before it were published"));
}

TEST_F(VentClientTest, UnreachableServerIsUnavailable) {
  auto c = Client::Connect(
      {.address = absl::StrCat("127.0.0.1:", testing::FreePort()),
       .default_deadline = absl::Seconds(5)});
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Emit("a", "{}");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_FALSE(r.status().message().empty());
  EXPECT_EQ(Client::Connect({.address = ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VentClientTest, SubscribeSeesRedisCliPublishAndCancels) {
  absl::Mutex mu;
  std::vector<ReceivedEvent> got;
  absl::Status final_status;
  bool done = false;
  auto sub = client_->Subscribe(
      {"listen::a", "listen::b"},
      [&](const ReceivedEvent& e) {
        absl::MutexLock lock(&mu);
        got.push_back(e);
      },
      [&](const absl::Status& s) {
        absl::MutexLock lock(&mu);
        final_status = s;
        done = true;
      });
  ASSERT_TRUE(sub.ok()) << sub.status();
  // Subscribe returned: the subscription is active in Redis.
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "listen::b", "{\"raw\": [1, 2]}"}).ok());
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "listen::a", "\"x\""}).ok());
  {
    absl::MutexLock lock(&mu);
    auto two = [&]() { return got.size() >= 2; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&two), absl::Seconds(10)));
    EXPECT_EQ(got[0].channel, "listen::b");
    EXPECT_EQ(got[0].json, "{\"raw\": [1, 2]}");
    EXPECT_EQ(got[1].channel, "listen::a");
    EXPECT_EQ(got[1].json, "\"x\"");
    EXPECT_LT(absl::Now() - got[0].received_at, absl::Seconds(30));
  }
  (*sub)->Cancel();
  absl::Status s;
  ASSERT_TRUE((*sub)->WaitFor(absl::Seconds(5), &s));
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(done);
  EXPECT_EQ(final_status.code(), absl::StatusCode::kCancelled);
}

TEST_F(VentClientTest, CancelFromInsideTheCallbackDoesNotDeadlock) {
  absl::Notification first;
  std::unique_ptr<Subscription>* self = nullptr;
  absl::Mutex mu;
  int calls = 0;
  auto sub = client_->Subscribe({"cancel::me"}, [&](const ReceivedEvent&) {
    absl::MutexLock lock(&mu);
    ++calls;
    (*self)->Cancel();  // on the reader thread: must not join itself
    if (!first.HasBeenNotified()) first.Notify();
  });
  ASSERT_TRUE(sub.ok()) << sub.status();
  self = &*sub;
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "cancel::me", "1"}).ok());
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::Status s;
  ASSERT_TRUE((*sub)->WaitFor(absl::Seconds(5), &s));
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  sub->reset();  // joins the finished reader thread
  absl::MutexLock lock(&mu);
  EXPECT_EQ(calls, 1);
}

TEST_F(VentClientTest, OneClientManyThreads) {
  auto sub = RawSubscriber::Connect(redis_->port(), {"threads::many"});
  ASSERT_TRUE(sub.ok()) << sub.status();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (client_->Emit("threads::many", absl::StrCat("[", t, ",", i, "]"))
                .ok())
          ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 800);
  for (int i = 0; i < 800; ++i) {
    auto m = (*sub)->Next(absl::Seconds(10));
    ASSERT_TRUE(m.ok()) << "message " << i << ": " << m.status();
  }
}

TEST_F(VentClientTest, SubscribeRefusalIsReturned) {
  auto sub = client_->Subscribe({}, [](const ReceivedEvent&) {});
  EXPECT_EQ(sub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sub.status().message(), HasSubstr("at least one channel"));
}

TEST(VentClientAuthTest, ApiKeyIsSentAsBearer) {
  auto redis = testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  uint16_t port = testing::FreePort();
  uint16_t mport = testing::FreePort();
  auto server = Process::Start({BinPath("vent-server"), "--listen",
                                absl::StrCat("127.0.0.1:", port), "--redis",
                                (*redis)->url(), "--metrics-listen",
                                absl::StrCat("127.0.0.1:", mport), "--api-keys",
                                "k-all,k-threads=threads::", "--http-listen",
                                "", "--log-level", "warn"});
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(client_testing::WaitUntil(
      [&] { return Http200(mport, "/healthz"); }, kStart))
      << (*server)->Stderr();
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  auto none = Client::Connect({.address = addr});
  auto r = (*none)->Emit("threads::1", "{}");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr("missing API key"));

  auto scoped = Client::Connect({.address = addr, .api_key = "k-threads"});
  EXPECT_TRUE((*scoped)->Emit("threads::1", "{}").ok());
  auto denied = (*scoped)->Emit("admin::1", "{}");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  auto sub = (*scoped)->Subscribe({"admin::1"}, [](const ReceivedEvent&) {});
  EXPECT_EQ(sub.status().code(), absl::StatusCode::kPermissionDenied);

  auto all = Client::Connect({.address = addr, .api_key = "k-all"});
  EXPECT_TRUE((*all)->Emit("admin::1", "{}").ok());
}

}  // namespace
}  // namespace vent
