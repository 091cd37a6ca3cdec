// Graceful drain of the real vent-server binary on SIGTERM: not ready at once
// (/readyz 503, /livez 200), in-flight Emits and EmitStream calls finish and
// are answered truthfully (checked against an independent raw SUBSCRIBE), the
// process exits 0 within --shutdown-grace.
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/child_process_test_util.h"
#include "server/raw_subscriber_test_util.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class DrainTest : public BinaryFixture {
 protected:
  // Starts `n` unary Emits (keyed) without waiting; Wait() returns their
  // statuses.
  struct Unary {
    struct Call {
      grpc::ClientContext ctx;
      v1::EmitRequest req;
      v1::EmitResponse resp;
      grpc::Status status;
    };
    std::vector<std::unique_ptr<Call>> calls;
    std::mutex mu;
    size_t left = 0;
    std::promise<void> all;
    void Start(v1::Vent::Stub* stub, const std::string& channel, size_t n) {
      left = n;
      for (size_t i = 0; i < n; ++i) {
        auto c = std::make_unique<Call>();
        c->ctx.set_deadline(std::chrono::system_clock::now() +
                            std::chrono::seconds(30));
        c->req.mutable_event()->set_channel(channel);
        c->req.mutable_event()->set_json(absl::StrCat("{\"unary\":", i, "}"));
        c->req.mutable_event()->set_idempotency_key(absl::StrCat("u", i));
        Call* raw = c.get();
        calls.push_back(std::move(c));
        stub->async()->Emit(&raw->ctx, &raw->req, &raw->resp,
                            [this, raw](grpc::Status s) {
                              std::lock_guard l(mu);
                              raw->status = std::move(s);
                              if (--left == 0) all.set_value();
                            });
      }
    }
    bool Wait() {
      return all.get_future().wait_for(std::chrono::seconds(30)) ==
             std::future_status::ready;
    }
  };

  // An EmitStream that writes `n` events in messages of 100 and then waits
  // without half-closing (a client still "in the middle" of its stream).
  struct OpenStream {
    grpc::ClientContext ctx;
    v1::EmitStreamResponse resp;
    grpc::Status status;
    int64_t published = -1, maybe = -1;
    std::thread thread;
    void Start(v1::Vent::Stub* stub, const std::string& channel, int n) {
      thread = std::thread([this, stub, channel, n] {
        auto w = stub->EmitStream(&ctx, &resp);
        for (int i = 0; i < n;) {
          v1::EmitStreamRequest req;
          for (int k = 0; k < 100 && i < n; ++k, ++i) {
            v1::Event* e = req.add_events();
            e->set_channel(channel);
            e->set_json(absl::StrCat("{\"stream\":", i, "}"));
          }
          if (!w->Write(req)) break;
        }
        status = w->Finish();
        const auto& t = ctx.GetServerTrailingMetadata();
        auto get = [&](const char* k) {
          int64_t v = -1;
          if (auto it = t.find(k); it != t.end())
            (void)absl::SimpleAtoi(
                absl::string_view(it->second.data(), it->second.size()), &v);
          return v;
        };
        published = get("vent-published");
        maybe = get("vent-maybe-published");
      });
    }
    void Join() {
      if (thread.joinable()) thread.join();
    }
  };
};

// Redis holds its replies (CLIENT PAUSE WRITE) while 20 unary Emits and 1,000+
// stream events are in flight; SIGTERM arrives. Readiness drops at once; the
// pause ends within the grace, so every in-flight call is answered OK; the
// stream, still open at the cutoff, ends UNAVAILABLE saying how many of its
// events were published — exactly what Redis executed.
TEST_F(DrainTest, SigtermLetsInFlightCallsFinish) {
  StartBinary({"--shutdown-grace", "4s"});
  Collector seen(redis_->port(), "drain", "END");
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(redis_->Cli({"CLIENT", "PAUSE", "1500", "WRITE"}).ok());
  Unary unary;
  unary.Start(stub_.get(), "drain", 20);
  OpenStream stream;
  stream.Start(stub_.get(), "drain", 3000);
  // And one HTTP emit (keep-alive) in flight, plus an idle HTTP connection.
  const uint16_t hport = HttpEmitPort();
  ASSERT_GT(hport, 0);
  const std::string body = "{\"channel\":\"drain\",\"data\":{\"http\":1}}";
  std::string http_reply;
  std::thread http([&] {
    http_reply =
        HttpExchange(hport, absl::StrCat("POST /v1/emit HTTP/1.1\r\nHost: x\r\n"
                                         "Content-Type: application/json\r\n"
                                         "Content-Length: ",
                                         body.size(), "\r\n\r\n", body));
  });
  std::string idle_reply = "(not closed)";
  std::thread idle([&] { idle_reply = HttpExchange(hport, ""); });
  ASSERT_TRUE(WaitUntil([&] { return Metric("vent_inflight") >= 1021; },
                        absl::Seconds(10)));
  ASSERT_TRUE(WaitUntil([&] { return Metric("vent_http_connections") == 2; },
                        absl::Seconds(10)));

  const absl::Time sigterm = absl::Now();
  ASSERT_EQ(kill(child_.pid, SIGTERM), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return HttpGet(mport_, "/readyz").find("503") != std::string::npos;
      },
      absl::Seconds(1)));
  EXPECT_THAT(HttpGet(mport_, "/readyz"), HasSubstr("draining"));
  EXPECT_THAT(HttpGet(mport_, "/livez"), HasSubstr("200 OK"));

  ASSERT_TRUE(unary.Wait());
  for (auto& c : unary.calls) {
    EXPECT_TRUE(c->status.ok())
        << c->status.error_code() << " " << c->status.error_message();
  }
  stream.Join();
  http.join();
  idle.join();
  // The HTTP request in flight was answered (and its connection closed);
  // the idle one was closed without a reply.
  EXPECT_THAT(http_reply, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(http_reply, HasSubstr("Connection: close"));
  EXPECT_EQ(idle_reply, "");
  EXPECT_EQ(stream.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stream.status.error_message();
  EXPECT_THAT(stream.status.error_message(), HasSubstr("shutting down"));
  EXPECT_EQ(stream.published, 3000);
  EXPECT_EQ(stream.maybe, 0);
  EXPECT_THAT(stream.status.error_message(),
              HasSubstr("(3000 events were published)"));

  EXPECT_EQ(child_.Wait(absl::Seconds(10)), 0) << child_.err();
  const absl::Duration took = absl::Now() - sigterm;
  EXPECT_LT(took, absl::Seconds(4) + absl::Seconds(1));
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "drain", "END"}).ok());
  auto got = seen.Wait();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), 20u + 3000u + 1u);
  for (const auto& p : Collector::Count(*got))
    EXPECT_EQ(p.second, 1) << p.first;
  const std::string log = child_.err();
  EXPECT_THAT(log, HasSubstr("vent-server draining"));
  EXPECT_THAT(log, HasSubstr("vent-server stopped"));
}

// Redis sleeps through the whole grace: at the cutoff the unanswered
// publishes are answered DEADLINE_EXCEEDED "may have been published" (they
// were sent), nothing is answered UNAVAILABLE that Redis then executes, and
// the process still exits 0 in time.
TEST_F(DrainTest, SigtermWithStalledRedisAnswersTruthfully) {
  StartBinary({"--shutdown-grace", "2s", "--redis-command-timeout", "20s"});
  Collector seen(redis_->port(), "stall", "END");
  ASSERT_TRUE(seen.ok());
  const int64_t old_id = RedisClientId(*redis_, "vent-server");
  ASSERT_GT(old_id, 0);
  RedisStall stall(redis_.get());
  ASSERT_TRUE(stall.Start(absl::Seconds(4)));
  Unary unary;
  unary.Start(stub_.get(), "stall", 20);
  OpenStream stream;
  stream.Start(stub_.get(), "stall", 500);
  ASSERT_TRUE(WaitUntil([&] { return Metric("vent_inflight") >= 520; },
                        absl::Seconds(10)));
  const absl::Time sigterm = absl::Now();
  ASSERT_EQ(kill(child_.pid, SIGTERM), 0);
  ASSERT_TRUE(unary.Wait());
  stream.Join();
  EXPECT_EQ(child_.Wait(absl::Seconds(10)), 0) << child_.err();
  EXPECT_LT(absl::Now() - sigterm, absl::Seconds(2) + absl::Seconds(1));

  std::vector<std::string> unavailable;
  for (size_t i = 0; i < unary.calls.size(); ++i) {
    const grpc::Status& s = unary.calls[i]->status;
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      unavailable.push_back(absl::StrCat("{\"unary\":", i, "}"));
      continue;
    }
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("may have been published"));
  }
  EXPECT_EQ(stream.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << stream.status.error_message();
  EXPECT_EQ(stream.published, 0);
  EXPECT_EQ(stream.maybe, 500);

  ASSERT_TRUE(stall.Join());
  ASSERT_TRUE(WaitRedisClientGone(*redis_, old_id));
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "stall", "END"}).ok());
  auto got = seen.Wait();
  ASSERT_TRUE(got.has_value());
  auto counts = Collector::Count(*got);
  for (const auto& [payload, n] : counts) EXPECT_EQ(n, 1) << payload;
  for (const auto& p : unavailable) EXPECT_EQ(counts.count(p), 0u) << p;
  std::printf(
      "[ metric ] drained with Redis asleep: %zu of %zu unary "
      "UNAVAILABLE; Redis executed %zu events after waking\n",
      unavailable.size(), unary.calls.size(), got->size());
}

}  // namespace
}  // namespace vent::server::testing
