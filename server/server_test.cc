// Integration tests: a real redis-server, the service in-process, real gRPC
// clients and an independent raw Redis subscriber.
#include <algorithm>
#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/raw_subscriber_test_util.h"
#include "server/server_test_util.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ServerTest : public ServerFixture {};

TEST_F(ServerTest, EmitPublishesExactBytes) {
  StartServer();
  RawSubscriber sub(redis_->port(), {"threads::t1::new_message"});
  ASSERT_TRUE(sub.ok());
  const std::string json = "{ \"message\" : \"h\\u00e9llo\",\n \"n\": 1.50 }";
  v1::EmitResponse resp;
  grpc::Status s = Emit("threads::t1::new_message", json, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.receivers(), 1);
  EXPECT_EQ(resp.id().size(), 26u);
  EXPECT_FALSE(resp.duplicate());
  auto m = sub.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->channel, "threads::t1::new_message");
  EXPECT_EQ(m->payload, json);
}

TEST_F(ServerTest, EmitStructDataAsCompactJson) {
  StartServer();
  RawSubscriber sub(redis_->port(), {"c"});
  ASSERT_TRUE(sub.ok());
  v1::EmitRequest req;
  req.mutable_event()->set_channel("c");
  (*req.mutable_event()->mutable_data()->mutable_fields())["a"]
      .set_string_value("b");
  grpc::ClientContext ctx;
  v1::EmitResponse resp;
  ASSERT_TRUE(stub_->Emit(&ctx, req, &resp).ok());
  auto m = sub.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload, "{\"a\":\"b\"}");
}

TEST_F(ServerTest, EmitBatchArrivesCompleteAndInOrder) {
  StartServer();
  RawSubscriber sub(redis_->port(), {"batch"});
  ASSERT_TRUE(sub.ok());
  v1::EmitBatchRequest req;
  for (int i = 0; i < 1000; ++i) {
    auto* e = req.add_events();
    e->set_channel("batch");
    e->set_json(absl::StrCat("{\"i\":", i, "}"));
  }
  grpc::ClientContext ctx;
  v1::EmitBatchResponse resp;
  grpc::Status s = stub_->EmitBatch(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.results_size(), 1000);
  for (const auto& r : resp.results()) {
    EXPECT_EQ(r.receivers(), 1);
    EXPECT_EQ(r.id().size(), 26u);
  }
  for (int i = 0; i < 1000; ++i) {
    auto m = sub.Next();
    ASSERT_TRUE(m.has_value()) << i;
    ASSERT_EQ(m->payload, absl::StrCat("{\"i\":", i, "}"));
  }
}

TEST_F(ServerTest, EmitBatchRefusesWholeBatchOnOneBadEvent) {
  StartServer();
  v1::EmitBatchRequest req;
  for (int i = 0; i < 5; ++i) {
    auto* e = req.add_events();
    e->set_channel("c");
    e->set_json(i == 3 ? "{\"a\":1,}" : "{}");
  }
  grpc::ClientContext ctx;
  v1::EmitBatchResponse resp;
  grpc::Status s = stub_->EmitBatch(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              StartsWith("events[3].json: not valid JSON at offset 7"));
  grpc::ClientContext ctx2;
  v1::EmitBatchRequest empty;
  EXPECT_EQ(stub_->EmitBatch(&ctx2, empty, &resp).error_message(),
            "events: empty batch");
}

TEST_F(ServerTest, EmitStreamOf100kArrivesComplete) {
  StartServer();
  constexpr int kEvents = 100000;
  RawSubscriber sub(redis_->port(), {"stream"});
  ASSERT_TRUE(sub.ok());
  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  std::thread reader([&] {
    for (int i = 0; i < kEvents; ++i) {
      auto m = sub.Next();
      if (!m) return;
      if (m->payload != absl::StrCat("{\"i\":", i, "}")) in_order = false;
      received.fetch_add(1);
    }
  });
  absl::Time start = absl::Now();
  grpc::ClientContext ctx;
  v1::EmitStreamResponse resp;
  auto writer = stub_->EmitStream(&ctx, &resp);
  // Messages of 1..300 events (varying, so batches of every size cross the
  // flow-control window), in stream order.
  int i = 0;
  for (int m = 0; i < kEvents; ++m) {
    v1::EmitStreamRequest req;
    const int n = std::min(1 + (m * 37) % 300, kEvents - i);
    for (int k = 0; k < n; ++k, ++i) {
      v1::Event* e = req.add_events();
      e->set_channel("stream");
      e->set_json(absl::StrCat("{\"i\":", i, "}"));
    }
    ASSERT_TRUE(writer->Write(req)) << i;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  absl::Duration took = absl::Now() - start;
  reader.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.published(), kEvents);
  EXPECT_EQ(resp.receivers(), kEvents);
  EXPECT_EQ(received.load(), kEvents);
  EXPECT_TRUE(in_order.load());
  std::printf("[ metric ] EmitStream %d events in %s: %.0f events/s\n", kEvents,
              absl::FormatDuration(took).c_str(),
              kEvents / absl::ToDoubleSeconds(took));
}

TEST_F(ServerTest, EmitStreamStopsAtFirstBadEvent) {
  StartServer();
  RawSubscriber sub(redis_->port(), {"c"});
  ASSERT_TRUE(sub.ok());
  grpc::ClientContext ctx;
  v1::EmitStreamResponse resp;
  auto writer = stub_->EmitStream(&ctx, &resp);
  auto add = [](v1::EmitStreamRequest& r, const std::string& ch,
                const std::string& json) {
    v1::Event* e = r.add_events();
    e->set_channel(ch);
    e->set_json(json);
  };
  v1::EmitStreamRequest first, second;
  add(first, "c", "1");
  add(first, "c", "2");
  add(second, "c", "3");
  add(second, "", "4");   // events[3]
  add(second, "c", "5");  // after the bad one: not published
  writer->Write(first);
  writer->Write(second);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "events[3].channel: must not be empty (3 events before it were "
            "published)");
  for (const char* want : {"1", "2", "3"}) {
    auto m = sub.Next();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->payload, want);
  }
  // "5" must not have been published: a marker emitted now is next.
  v1::EmitResponse r;
  ASSERT_TRUE(Emit("c", "\"marker\"", &r).ok());
  auto m = sub.Next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "\"marker\"");
}

// Clients built against the old proto stream EmitRequest messages; field 1
// (`Event event`) has the same encoding as EmitStreamRequest's `repeated
// Event events`, so each is read as a batch of one.
TEST_F(ServerTest, EmitStreamAcceptsOldStyleEmitRequestMessages) {
  StartServer();
  constexpr int kEvents = 2000;
  RawSubscriber sub(redis_->port(), {"old"});
  ASSERT_TRUE(sub.ok());
  grpc::ClientContext ctx;
  v1::EmitStreamResponse resp;
  const grpc::internal::RpcMethod method(
      "/vent.v1.Vent/EmitStream", grpc::internal::RpcMethod::CLIENT_STREAMING);
  std::unique_ptr<grpc::ClientWriter<v1::EmitRequest>> writer(
      grpc::internal::ClientWriterFactory<v1::EmitRequest>::Create(
          channel_.get(), method, &ctx, &resp));
  v1::EmitRequest req;
  req.mutable_event()->set_channel("old");
  for (int i = 0; i < kEvents; ++i) {
    req.mutable_event()->set_json(absl::StrCat(i));
    ASSERT_TRUE(writer->Write(req)) << i;
  }
  req.mutable_event()->set_json("{bad");
  writer->Write(req);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      s.error_message(),
      absl::StrCat("events[", kEvents,
                   "].json: not valid JSON at offset 1: ", "syntax error (",
                   kEvents, " events before it were published)"))
      << s.error_message();
  for (int i = 0; i < kEvents; ++i) {
    auto m = sub.Next();
    ASSERT_TRUE(m) << i;
    ASSERT_EQ(m->payload, absl::StrCat(i));
  }
}

TEST_F(ServerTest, EmitStreamMessageLimitAndIdempotencyKeys) {
  ServerConfig config;
  config.max_batch = 3;
  StartServer(config);
  RawSubscriber sub(redis_->port(), {"k"});
  ASSERT_TRUE(sub.ok());
  {
    // Keyed events in one message: the repeated key is published once.
    grpc::ClientContext ctx;
    v1::EmitStreamResponse resp;
    auto writer = stub_->EmitStream(&ctx, &resp);
    v1::EmitStreamRequest req;
    for (const char* json : {"1", "2", "3"}) {
      v1::Event* e = req.add_events();
      e->set_channel("k");
      e->set_json(json);
      e->set_idempotency_key(std::string(json) == "3" ? "other" : "same");
    }
    ASSERT_TRUE(writer->Write(req));
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.published(), 2);
    for (const char* want : {"1", "3"}) {
      auto m = sub.Next();
      ASSERT_TRUE(m);
      EXPECT_EQ(m->payload, want);
    }
  }
  grpc::ClientContext ctx;
  v1::EmitStreamResponse resp;
  auto writer = stub_->EmitStream(&ctx, &resp);
  v1::EmitStreamRequest req;
  for (int i = 0; i < 4; ++i) {
    v1::Event* e = req.add_events();
    e->set_channel("k");
    e->set_json("1");
  }
  writer->Write(req);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "events[0]: a message of 4 events is over the 3-event limit "
            "(--max-batch) "
            "(0 events before it were published)");
}

TEST_F(ServerTest, SubscribeStreamsRedisCliPublishByteExact) {
  StartServer();
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.add_channels("news::a");
  req.add_channels("news::b");
  auto reader = stub_->Subscribe(&ctx, req);
  v1::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.ready());
  EXPECT_FALSE(msg.has_event());
  const std::string payload = "{\"x\": [1, 2]  }";
  auto out = redis_->Cli({"PUBLISH", "news::b", payload});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "1\n");  // vent-server's subscriber connection
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.event().channel(), "news::b");
  EXPECT_EQ(msg.event().json(), payload);
  EXPECT_TRUE(msg.event().id().empty());
  EXPECT_GT(msg.event().emitted_at().seconds(), 0);
  // And what Emit publishes.
  v1::EmitResponse er;
  ASSERT_TRUE(Emit("news::a", "[true]", &er).ok());
  EXPECT_EQ(er.receivers(), 1);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.event().channel(), "news::a");
  EXPECT_EQ(msg.event().json(), "[true]");
  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Cancel released the channel: Redis has no subscriber left on it.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto n = redis_->Cli({"PUBSUB", "NUMSUB", "news::a"});
        return n.ok() && *n == "news::a\n0\n";
      },
      absl::Seconds(10)));
}

TEST_F(ServerTest, SubscribeValidation) {
  StartServer();
  struct Case {
    std::vector<std::string> channels;
    std::string message;
  } cases[] = {
      {{}, "channels: at least one channel is required"},
      {{"ok", ""}, "channels[1]: must not be empty"},
      {{"a\nb"},
       "channels[0]: control character U+000A at byte 1 is not allowed"},
  };
  for (const auto& c : cases) {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    for (const auto& ch : c.channels) req.add_channels(ch);
    auto reader = stub_->Subscribe(&ctx, req);
    v1::SubscribeResponse msg;
    EXPECT_FALSE(reader->Read(&msg));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), c.message);
  }
}

TEST_F(ServerTest, InvalidEmitsGetCodeAndMessage) {
  ServerConfig config;
  config.max_payload = 200;
  StartServer(config);
  struct Case {
    std::string channel, json, message;
  } cases[] = {
      {"", "{}", "event.channel: must not be empty"},
      {std::string(1025, 'c'), "{}",
       "event.channel: 1025 bytes is over the 1024-byte limit (--max-channel)"},
      {"a\x01", "{}",
       "event.channel: control character U+0001 at byte 1 is not allowed"},
      {"c", "", "event: no payload (set json or data)"},
      {"c", "{\"a\":", "event.json: not valid JSON at offset 5: "},
      {"c", std::string(201, '1'),
       "event.json: 201 bytes is over the 200-byte limit (--max-payload)"},
      {"c", std::string(65, '[') + std::string(65, ']'),
       "event.json: nesting deeper than 64 levels"},
  };
  for (const auto& c : cases) {
    v1::EmitResponse resp;
    grpc::Status s = Emit(c.channel, c.json, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_THAT(s.error_message(), StartsWith(c.message));
  }
  v1::EmitResponse resp;
  grpc::Status s = Emit("c", "1", &resp, "", std::string(129, 'k'));
  EXPECT_EQ(s.error_message(),
            "event.idempotency_key: 129 bytes is over the 128-byte limit");
}

TEST_F(ServerTest, IdempotencyKeyPublishesOnce) {
  StartServer();
  RawSubscriber sub(redis_->port(), {"idem"});
  ASSERT_TRUE(sub.ok());
  v1::EmitResponse first, second, other_channel;
  ASSERT_TRUE(Emit("idem", "1", &first, "", "key-1").ok());
  ASSERT_TRUE(Emit("idem", "2", &second, "", "key-1").ok());
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(second.id(), first.id());
  EXPECT_EQ(second.receivers(), 1);
  ASSERT_TRUE(Emit("idem", "3", &other_channel, "", "").ok());
  EXPECT_EQ(sub.Next()->payload, "1");
  EXPECT_EQ(sub.Next()->payload, "3");  // "2" was never published
}

TEST_F(ServerTest, InflightLimitGivesResourceExhausted) {
  ServerConfig config;
  config.max_inflight = 1;
  StartServer(config);
  v1::EmitBatchRequest req;
  for (int i = 0; i < 2; ++i) {
    req.add_events()->set_channel("c");
    req.mutable_events(i)->set_json("1");
  }
  grpc::ClientContext ctx;
  v1::EmitBatchResponse resp;
  grpc::Status s = stub_->EmitBatch(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max-inflight"));
  v1::EmitResponse one;
  EXPECT_TRUE(Emit("c", "1", &one).ok());  // one fits
}

// A stream whose next message does not fit --max-inflight waits for its own
// events in flight instead of failing; a message larger than the whole limit
// (nothing of its own in flight to wait for) still fails.
TEST_F(ServerTest, EmitStreamWaitsForInflightRoom) {
  ServerConfig config;
  config.max_inflight = 8;
  StartServer(config);
  RawSubscriber sub(redis_->port(), {"w"});
  ASSERT_TRUE(sub.ok());
  {
    grpc::ClientContext ctx;
    v1::EmitStreamResponse resp;
    auto writer = stub_->EmitStream(&ctx, &resp);
    int i = 0;
    for (int m = 0; m < 40; ++m) {
      v1::EmitStreamRequest req;
      for (int k = 0; k < 5; ++k, ++i) {
        v1::Event* e = req.add_events();
        e->set_channel("w");
        e->set_json(absl::StrCat(i));
      }
      ASSERT_TRUE(writer->Write(req)) << m;
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.published(), 200);
  }
  for (int i = 0; i < 200; ++i) {
    auto m = sub.Next();
    ASSERT_TRUE(m.has_value()) << i;
    EXPECT_EQ(m->payload, absl::StrCat(i));
  }
  grpc::ClientContext ctx;
  v1::EmitStreamResponse resp;
  auto writer = stub_->EmitStream(&ctx, &resp);
  v1::EmitStreamRequest big;
  for (int k = 0; k < 9; ++k) {
    big.add_events()->set_channel("w");
    big.mutable_events(k)->set_json("1");
  }
  writer->Write(big);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("--max-inflight"));
}

TEST_F(ServerTest, MaxBatch) {
  ServerConfig config;
  config.max_batch = 3;
  StartServer(config);
  v1::EmitBatchRequest req;
  for (int i = 0; i < 4; ++i) {
    req.add_events()->set_channel("c");
    req.mutable_events(i)->set_json("1");
  }
  grpc::ClientContext ctx;
  v1::EmitBatchResponse resp;
  grpc::Status s = stub_->EmitBatch(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "events: 4 events is over the 3-event limit (--max-batch)");
}

TEST_F(ServerTest, ApiKeys) {
  ServerConfig config;
  config.api_keys = {"full-key", "scoped-key=threads::|users::"};
  StartServer(config);
  v1::EmitResponse resp;
  grpc::Status s = Emit("threads::1", "1", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("missing API key"));
  s = Emit("threads::1", "1", &resp, "wrong");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "unknown API key");
  EXPECT_TRUE(Emit("admin::1", "1", &resp, "full-key").ok());
  EXPECT_TRUE(Emit("users::9", "1", &resp, "scoped-key").ok());
  s = Emit("admin::1", "1", &resp, "scoped-key");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("may not use channel \"admin::1\""));
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr("scoped-key")));
  // Subscribe is scoped the same way.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer scoped-key");
  v1::SubscribeRequest req;
  req.add_channels("threads::1");
  req.add_channels("admin::1");
  auto reader = stub_->Subscribe(&ctx, req);
  v1::SubscribeResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), StartsWith("channels[1]: API key"));
}

TEST_F(ServerTest, RedisDownThenUp) {
  StartServer();
  EXPECT_EQ(HealthStatus(), 1);
  grpc::ClientContext sub_ctx;
  v1::SubscribeRequest sreq;
  sreq.add_channels("x");
  auto reader = stub_->Subscribe(&sub_ctx, sreq);
  v1::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.ready());

  ASSERT_TRUE(redis_->Stop().ok());
  grpc::Status last;
  EXPECT_TRUE(WaitUntil(
      [&] {
        v1::EmitResponse r;
        last = Emit("x", "1", &r);
        return last.error_code() == grpc::StatusCode::UNAVAILABLE;
      },
      absl::Seconds(10)))
      << last.error_message();
  EXPECT_THAT(last.error_message(), HasSubstr("redis"));
  EXPECT_TRUE(
      WaitUntil([&] { return HealthStatus() == 2; }, absl::Seconds(10)));
  // The active Subscribe ended with UNAVAILABLE.
  while (reader->Read(&msg)) {
  }
  grpc::Status ss = reader->Finish();
  EXPECT_EQ(ss.error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(WaitUntil(
      [&] {
        v1::EmitResponse r;
        return Emit("x", "1", &r).ok();
      },
      absl::Seconds(15)));
  EXPECT_TRUE(
      WaitUntil([&] { return HealthStatus() == 1; }, absl::Seconds(10)));
}

TEST_F(ServerTest, SlowSubscriberEndsWithResourceExhausted) {
  ServerConfig config;
  config.subscribe_queue = 4;
  StartServer(config);
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.add_channels("flood");
  auto reader = stub_->Subscribe(&ctx, req);
  v1::SubscribeResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.ready());
  // Big events that the client does not read fill the transport windows, then
  // the queue.
  std::string big = "\"" + std::string(60000, 'x') + "\"";
  v1::EmitBatchRequest batch;
  for (int i = 0; i < 200; ++i) {
    batch.add_events()->set_channel("flood");
    batch.mutable_events(i)->set_json(big);
  }
  grpc::ClientContext bctx;
  v1::EmitBatchResponse bresp;
  ASSERT_TRUE(stub_->EmitBatch(&bctx, batch, &bresp).ok());
  int read = 0;
  while (reader->Read(&msg)) ++read;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("reads too slowly"));
  EXPECT_LT(read, 200);
}

}  // namespace
}  // namespace vent::server::testing
