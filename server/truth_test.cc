// vent-server tells the truth about what it published (issue 18): with Redis
// stalled (DEBUG SLEEP: it reads nothing) under concurrent Emits and an
// EmitStream, every answer is checked against what an independent raw
// SUBSCRIBE saw Redis execute, and retries with the same idempotency keys
// publish nothing twice. Also: gRPC health for "" and vent.v1.Vent, /livez and
// /readyz, idempotency keys scoped by API key. Real redis-server, the server
// in-process, real gRPC clients.
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/child_process_test_util.h"
#include "server/raw_subscriber_test_util.h"
#include "server/server_test_util.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;

class TruthTest : public ServerFixture {
 protected:
  void SetUp() override {
    // DEBUG SLEEP stalls Redis; pub/sub output buffers are unlimited so the
    // raw subscriber is never dropped for lagging.
    auto r = vent::testing::RedisServer::Start(
        {"--enable-debug-command", "local", "--client-output-buffer-limit",
         "pubsub 0 0 0"});
    ASSERT_TRUE(r.ok()) << r.status();
    redis_ = std::move(*r);
  }

  // PUBLISH commands Redis has executed (INFO commandstats).
  int64_t PublishCalls() {
    auto info = redis_->Cli({"INFO", "commandstats"});
    if (!info.ok()) return -1;
    size_t at = info->find("cmdstat_publish:calls=");
    if (at == std::string::npos) return 0;
    absl::string_view rest = absl::string_view(*info).substr(at + 22);
    int64_t n = -1;
    (void)absl::SimpleAtoi(rest.substr(0, rest.find(',')), &n);
    return n;
  }

  static ServerConfig StallConfig() {
    ServerConfig c;
    c.redis_command_timeout = absl::Seconds(1);
    c.redis_connect_timeout = absl::Milliseconds(300);
    return c;
  }
};

std::string Payload(size_t i, size_t pad) {
  return absl::StrCat("{\"i\":", i, ",\"pad\":\"", std::string(pad, 'x'),
                      "\"}");
}

// Concurrent unary Emits, each with its own idempotency key, while Redis
// sleeps. 640 x 60 KiB is more than the kernel's socket buffers hold, so some
// PUBLISHes reach the socket (their reply is then lost when the command
// timeout drops the connection) and some never do.
TEST_F(TruthTest, StalledRedisUnaryEmitsAnswerTruthfully) {
  StartServer(StallConfig());
  const int64_t old_id = RedisClientId(*redis_, "vent-server");
  ASSERT_GT(old_id, 0);
  Collector seen(redis_->port(), "truth", "END");
  ASSERT_TRUE(seen.ok());
  RedisStall stall(redis_.get());
  ASSERT_TRUE(stall.Start(absl::Seconds(3)));

  constexpr size_t kN = 640;
  const size_t kPad = 60 * 1024;
  struct Call {
    grpc::ClientContext ctx;
    v1::EmitRequest req;
    v1::EmitResponse resp;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  std::mutex mu;
  size_t left = kN;
  std::promise<void> all;
  for (size_t i = 0; i < kN; ++i) {
    auto c = std::make_unique<Call>();
    c->ctx.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
    c->req.mutable_event()->set_channel("truth");
    c->req.mutable_event()->set_json(Payload(i, kPad));
    c->req.mutable_event()->set_idempotency_key(absl::StrCat("key-", i));
    Call* raw = c.get();
    calls.push_back(std::move(c));
    stub_->async()->Emit(&raw->ctx, &raw->req, &raw->resp,
                         [&, raw](grpc::Status s) {
                           std::lock_guard l(mu);
                           raw->status = std::move(s);
                           if (--left == 0) all.set_value();
                         });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(40)),
            std::future_status::ready);
  ASSERT_TRUE(stall.Join());
  ASSERT_TRUE(WaitRedisClientGone(*redis_, old_id));
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "truth", "END"}).ok());
  auto first = seen.Wait();
  ASSERT_TRUE(first.has_value());
  auto counts = Collector::Count(*first);

  size_t ok = 0, maybe = 0, unavailable = 0;
  for (size_t i = 0; i < kN; ++i) {
    const grpc::Status& s = calls[i]->status;
    const int times = counts[Payload(i, kPad)];
    EXPECT_LE(times, 1) << i;
    if (s.ok()) {
      ++ok;
      EXPECT_EQ(times, 1) << i << " answered OK, not executed";
    } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      ++unavailable;
      EXPECT_EQ(times, 0) << i << " answered UNAVAILABLE, executed: "
                          << s.error_message();
    } else {
      ASSERT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
          << i << ": " << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("may have been published"));
      EXPECT_THAT(s.error_message(),
                  HasSubstr("a retry with the same idempotency_key is "
                            "answered as a duplicate"));
      ++maybe;
    }
  }
  std::printf(
      "[ metric ] %zu OK, %zu may have been published, %zu UNAVAILABLE"
      "; Redis executed %zu\n",
      ok, maybe, unavailable, first->size());
  EXPECT_GT(maybe, 0u);
  EXPECT_GT(unavailable, 0u);

  // Retry every call that did not get OK, with its key: the "may have been
  // published" ones are duplicates, the UNAVAILABLE ones publish now.
  ASSERT_TRUE(
      WaitUntil([&] { return server_->redis_connected(); }, absl::Seconds(10)));
  Collector again(redis_->port(), "truth", "END2");
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < kN; ++i) {
    const grpc::Status& s = calls[i]->status;
    if (s.ok()) continue;
    v1::EmitResponse r;
    grpc::Status rs =
        Emit("truth", Payload(i, kPad), &r, "", absl::StrCat("key-", i));
    ASSERT_TRUE(rs.ok()) << i << ": " << rs.error_message();
    EXPECT_EQ(r.duplicate(),
              s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        << i;
  }
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "truth", "END2"}).ok());
  auto second = again.Wait();
  ASSERT_TRUE(second.has_value());
  auto counts2 = Collector::Count(*second);
  for (size_t i = 0; i < kN; ++i) {
    const grpc::Status& s = calls[i]->status;
    const int total = counts[Payload(i, kPad)] + counts2[Payload(i, kPad)];
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      EXPECT_LE(total, 1) << i;  // at most once, never twice
    } else {
      EXPECT_EQ(total, 1) << i;  // OK, or UNAVAILABLE then retried
    }
  }
}

constexpr int kStreamEvents = 20000;

// One EmitStream (events keyed) while Redis sleeps: the call ends
// DEADLINE_EXCEEDED; its counts (message and trailing metadata) bracket what
// Redis executed, in stream order; resending from the first unconfirmed event
// with the same keys publishes each event at most once.
TEST_F(TruthTest, StalledRedisEmitStreamCountsWhatRedisExecuted) {
  constexpr int kN = kStreamEvents;
  StartServer(StallConfig());
  const int64_t old_id = RedisClientId(*redis_, "vent-server");
  Collector seen(redis_->port(), "stream", "END");
  ASSERT_TRUE(seen.ok());
  const size_t kPad = 2000;
  // Writes events [from, to); half-closes when `to` is kN.
  auto write_events = [&](grpc::ClientWriter<v1::EmitStreamRequest>* w,
                          int from, int to = kStreamEvents) {
    for (int i = from; i < to;) {
      v1::EmitStreamRequest req;
      for (int k = 0; k < 100 && i < to; ++k, ++i) {
        v1::Event* e = req.add_events();
        e->set_channel("stream");
        e->set_json(Payload(static_cast<size_t>(i), kPad));
        e->set_idempotency_key(absl::StrCat("s-", i));
      }
      if (!w->Write(req)) return;
    }
    if (to == kN) w->WritesDone();
  };

  grpc::ClientContext ctx;
  v1::EmitStreamResponse resp;
  auto writer = stub_->EmitStream(&ctx, &resp);
  // The first 500 events go through; then Redis stalls mid-stream.
  const int64_t before = PublishCalls();
  write_events(writer.get(), 0, 500);
  ASSERT_TRUE(WaitUntil([&] { return PublishCalls() >= before + 500; },
                        absl::Seconds(10)));
  RedisStall stall(redis_.get());
  ASSERT_TRUE(stall.Start(absl::Seconds(3)));
  write_events(writer.get(), 500);
  grpc::Status s = writer->Finish();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("may have been published"));
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto get = [&](const char* k) {
    auto it = trailers.find(k);
    int64_t v = -1;
    if (it != trailers.end())
      EXPECT_TRUE(absl::SimpleAtoi(
          absl::string_view(it->second.data(), it->second.size()), &v));
    return v;
  };
  const int64_t published = get("vent-published");
  const int64_t maybe = get("vent-maybe-published");
  ASSERT_GE(published, 500);
  ASSERT_GT(maybe, 0);
  EXPECT_THAT(s.error_message(),
              HasSubstr(absl::StrCat("(", published, " events were published; ",
                                     maybe, " more were sent")));

  ASSERT_TRUE(stall.Join());
  ASSERT_TRUE(WaitRedisClientGone(*redis_, old_id));
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "stream", "END"}).ok());
  auto got = seen.Wait();
  ASSERT_TRUE(got.has_value());
  const int64_t executed = static_cast<int64_t>(got->size());
  std::printf(
      "[ metric ] stream: %lld published, %lld maybe; Redis executed "
      "%lld\n",
      static_cast<long long>(published), static_cast<long long>(maybe),
      static_cast<long long>(executed));
  EXPECT_GE(executed, published);
  EXPECT_LE(executed, published + maybe);
  for (int64_t i = 0; i < executed; ++i) {  // a prefix, in order
    ASSERT_EQ((*got)[static_cast<size_t>(i)],
              Payload(static_cast<size_t>(i), kPad))
        << i;
  }

  // Resend from the first unconfirmed event with the same keys.
  ASSERT_TRUE(
      WaitUntil([&] { return server_->redis_connected(); }, absl::Seconds(10)));
  Collector again(redis_->port(), "stream", "END2");
  grpc::ClientContext ctx2;
  v1::EmitStreamResponse resp2;
  auto writer2 = stub_->EmitStream(&ctx2, &resp2);
  write_events(writer2.get(), static_cast<int>(published));
  grpc::Status s2 = writer2->Finish();
  ASSERT_TRUE(s2.ok()) << s2.error_message();
  EXPECT_EQ(resp2.published(), kN - published - maybe);
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "stream", "END2"}).ok());
  auto got2 = again.Wait();
  ASSERT_TRUE(got2.has_value());
  ASSERT_EQ(static_cast<int64_t>(got2->size()), kN - published - maybe);
  for (size_t k = 0; k < got2->size(); ++k) {
    ASSERT_EQ((*got2)[k],
              Payload(static_cast<size_t>(published + maybe) + k, kPad));
  }
}

// grpc.health.v1 knows both "" and "vent.v1.Vent" and follows Redis; so do
// /readyz (and /healthz), while /livez stays 200.
TEST_F(TruthTest, HealthFollowsRedisForBothNames) {
  StartServer();
  ASSERT_TRUE(
      WaitUntil([&] { return HealthStatus("") == 1; }, absl::Seconds(5)));
  EXPECT_EQ(HealthStatus("vent.v1.Vent"), 1);
  EXPECT_EQ(HealthStatus("no.such.Service"), -1);  // NOT_FOUND
  const uint16_t mport = static_cast<uint16_t>(server_->metrics_port());
  EXPECT_THAT(HttpGet(mport, "/readyz"), HasSubstr("200 OK"));
  EXPECT_THAT(HttpGet(mport, "/healthz"), HasSubstr("200 OK"));
  EXPECT_THAT(HttpGet(mport, "/livez"), HasSubstr("200 OK"));

  ASSERT_TRUE(redis_->Stop().ok());
  ASSERT_TRUE(WaitUntil([&] { return HealthStatus("vent.v1.Vent") == 2; },
                        absl::Seconds(10)));
  EXPECT_EQ(HealthStatus(""), 2);
  std::string ready = HttpGet(mport, "/readyz");
  EXPECT_THAT(ready, HasSubstr("503"));
  EXPECT_THAT(ready, HasSubstr("redis unavailable"));
  EXPECT_THAT(HttpGet(mport, "/healthz"), HasSubstr("503"));
  EXPECT_THAT(HttpGet(mport, "/livez"), HasSubstr("200 OK"));

  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return HealthStatus("vent.v1.Vent") == 1; },
                        absl::Seconds(10)));
  EXPECT_EQ(HealthStatus(""), 1);
  EXPECT_THAT(HttpGet(mport, "/readyz"), HasSubstr("200 OK"));
}

// Two API keys using the same idempotency key (and channel) do not see each
// other's claims; the same API key does.
TEST_F(TruthTest, IdempotencyKeysAreScopedByApiKey) {
  ServerConfig c;
  c.api_keys = {"key-alpha", "key-beta"};
  StartServer(c);
  v1::EmitResponse a, b, a2, b2;
  ASSERT_TRUE(Emit("ch", "1", &a, "key-alpha", "same").ok());
  ASSERT_TRUE(Emit("ch", "2", &b, "key-beta", "same").ok());
  EXPECT_FALSE(a.duplicate());
  EXPECT_FALSE(b.duplicate());
  EXPECT_NE(a.id(), b.id());
  ASSERT_TRUE(Emit("ch", "3", &a2, "key-alpha", "same").ok());
  ASSERT_TRUE(Emit("ch", "4", &b2, "key-beta", "same").ok());
  EXPECT_TRUE(a2.duplicate());
  EXPECT_EQ(a2.id(), a.id());
  EXPECT_TRUE(b2.duplicate());
  EXPECT_EQ(b2.id(), b.id());
}

}  // namespace
}  // namespace vent::server::testing
