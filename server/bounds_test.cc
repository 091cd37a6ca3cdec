// What bad or slow clients cost the real vent-server binary (issue 18):
// non-reading Subscribe calls are bounded in bytes (shared payloads, per-call
// and total budgets) and in number; malformed protobuf gets INVALID_ARGUMENT
// naming the field (not gRPC's empty UNIMPLEMENTED), the documented `data`
// nesting is exact, and a flood of bad requests writes a bounded number of
// log lines; two authorization headers are refused.
#include <atomic>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server/child_process_test_util.h"
#include "server/raw_subscriber_test_util.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class BoundsTest : public BinaryFixture {
 protected:
  // One unary call with raw request bytes; the reply's bytes in *reply.
  grpc::Status RawUnary(const std::string& method, const std::string& bytes,
                        std::string* reply = nullptr,
                        const std::vector<std::string>& auth = {}) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    for (const auto& a : auth) ctx.AddMetadata("authorization", a);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer req(&slice, 1);
    grpc::ByteBuffer resp;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp,
                      [&](grpc::Status s) { done.set_value(s); });
    grpc::Status s = done.get_future().get();
    if (reply != nullptr && s.ok()) {
      std::vector<grpc::Slice> slices;
      (void)resp.Dump(&slices);
      reply->clear();
      for (auto& sl : slices)
        reply->append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    }
    return s;
  }
};

// Serializes `m` with `placeholder` in it, then swaps those bytes for `raw`
// (same length): the generated serializer would refuse invalid UTF-8.
std::string Corrupt(const google::protobuf::Message& m,
                    const std::string& placeholder, const std::string& raw) {
  std::string bytes = m.SerializeAsString();
  size_t at = bytes.find(placeholder);
  EXPECT_NE(at, std::string::npos);
  bytes.replace(at, placeholder.size(), raw);
  return bytes;
}

google::protobuf::Struct Nested(int depth) {
  google::protobuf::Struct root;
  google::protobuf::Struct* s = &root;
  for (int i = 1; i < depth; ++i)
    s = (*s->mutable_fields())["k"].mutable_struct_value();
  return root;
}

TEST_F(BoundsTest, MalformedProtobufIsInvalidArgumentNamingTheField) {
  StartBinary({});
  v1::EmitRequest emit;
  emit.mutable_event()->set_channel("ab@@");
  emit.mutable_event()->set_json("{}");
  grpc::Status s = RawUnary("/vent.v1.Vent/Emit",
                            Corrupt(emit, "ab@@", std::string("ab\xc3\x28")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.channel: not valid UTF-8 at byte 2");

  emit.mutable_event()->set_channel("c");
  emit.mutable_event()->set_idempotency_key("@");
  s = RawUnary("/vent.v1.Vent/Emit",
               Corrupt(emit, "\x32\x01@", "\x32\x01\xff"));
  EXPECT_EQ(s.error_message(),
            "event.idempotency_key: not valid UTF-8 at byte 0");

  v1::EmitBatchRequest batch;
  batch.add_events()->set_channel("a");
  batch.mutable_events(0)->set_json("1");
  batch.add_events()->set_channel("b");
  batch.mutable_events(1)->set_json("\"@\"");
  s = RawUnary("/vent.v1.Vent/EmitBatch",
               Corrupt(batch, "\"@\"", std::string("\"\xfe\"")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "events[1].json: not valid UTF-8 at byte 1");

  // Server streaming: the status comes at the end of the (empty) stream.
  v1::SubscribeRequest sub;
  sub.add_channels("x@");
  {
    grpc::ClientContext ctx;
    const grpc::internal::RpcMethod method(
        "/vent.v1.Vent/Subscribe", grpc::internal::RpcMethod::SERVER_STREAMING);
    grpc::Slice slice(Corrupt(sub, "x@", std::string("x\x80")));
    grpc::ByteBuffer req(&slice, 1);
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            channel_.get(), method, &ctx, req));
    grpc::ByteBuffer m;
    EXPECT_FALSE(reader->Read(&m));
    s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "channels[0]: not valid UTF-8 at byte 1");
  }
  // Client streaming: the index counts events across the stream.
  {
    grpc::ClientContext ctx;
    grpc::ByteBuffer resp;
    const grpc::internal::RpcMethod method(
        "/vent.v1.Vent/EmitStream",
        grpc::internal::RpcMethod::CLIENT_STREAMING);
    std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
        grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
            channel_.get(), method, &ctx, &resp));
    v1::EmitStreamRequest good, bad;
    for (int i = 0; i < 3; ++i) {
      auto* e = good.add_events();
      e->set_channel("s");
      e->set_json("1");
    }
    bad.add_events()->set_channel("s");
    bad.mutable_events(0)->set_json("2");
    bad.add_events()->set_channel("s@");
    bad.mutable_events(1)->set_json("3");
    grpc::Slice g(good.SerializeAsString());
    grpc::Slice b(Corrupt(bad, "s@", std::string("s\xc0")));
    writer->Write(grpc::ByteBuffer(&g, 1));
    writer->Write(grpc::ByteBuffer(&b, 1));
    writer->WritesDone();
    s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "events[4].channel: not valid UTF-8 at byte 1 (3 events before "
              "it were published)");
  }
  EXPECT_EQ(Metric("vent_malformed_requests_total{rpc=\"Emit\"}"), 2);
  EXPECT_EQ(Metric("vent_malformed_requests_total{rpc=\"EmitBatch\"}"), 1);
  EXPECT_EQ(Metric("vent_malformed_requests_total{rpc=\"Subscribe\"}"), 1);
  EXPECT_EQ(Metric("vent_malformed_requests_total{rpc=\"EmitStream\"}"), 1);
}

// `data` nesting: 64 levels (the documented limit) is published, 65 is
// refused by the JSON check, far deeper by the parser; all INVALID_ARGUMENT
// naming event.data.
TEST_F(BoundsTest, DataNestingLimitIsExact) {
  StartBinary({});
  RawSubscriber sub(redis_->port(), {"deep"});
  ASSERT_TRUE(sub.ok());
  v1::EmitRequest req;
  req.mutable_event()->set_channel("deep");
  *req.mutable_event()->mutable_data() = Nested(64);
  grpc::ClientContext ctx;
  v1::EmitResponse resp;
  grpc::Status s = stub_->Emit(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  auto m = sub.Next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload.substr(0, 5), "{\"k\":");
  EXPECT_EQ(std::count(m->payload.begin(), m->payload.end(), '{'), 64);

  for (int depth : {65, 66, 100, 1000}) {
    *req.mutable_event()->mutable_data() = Nested(depth);
    grpc::ClientContext c;
    s = stub_->Emit(&c, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << depth;
    EXPECT_THAT(s.error_message(),
                StartsWith("event.data: nesting deeper than 64 levels"))
        << depth;
  }
}

// 4,000 bad requests (half unauthenticated, half authenticated with invalid
// UTF-8) write a bounded number of log lines, and all are counted.
TEST_F(BoundsTest, FloodOfBadRequestsWritesBoundedLog) {
  StartBinary({"--api-keys", "key-one"});
  v1::EmitRequest emit;
  emit.mutable_event()->set_channel("ab@@");
  emit.mutable_event()->set_json("{}");
  const std::string bad = Corrupt(emit, "ab@@", std::string("ab\xc3\x28"));
  const std::string log_before = child_.err();
  constexpr int kEach = 2000;
  for (int i = 0; i < kEach; ++i) {
    grpc::Status s = RawUnary("/vent.v1.Vent/Emit", bad);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    s = RawUnary("/vent.v1.Vent/Emit", bad, nullptr, {"Bearer key-one"});
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(Metric("vent_malformed_requests_total{rpc=\"Emit\"}"), kEach);
  EXPECT_EQ(Metric("vent_auth_refusals_total{reason=\"missing_key\"}"), kEach);
  const std::string log = child_.err().substr(log_before.size());
  const auto lines = absl::StrSplit(log, '\n', absl::SkipEmpty());
  const size_t n = std::distance(lines.begin(), lines.end());
  EXPECT_LE(n, 6u) << log;
  EXPECT_THAT(log, HasSubstr("malformed request refused"));
  std::printf("[ metric ] %d bad requests wrote %zu log lines (%zu bytes)\n",
              2 * kEach, n, log.size());
}

TEST_F(BoundsTest, TwoAuthorizationHeadersAreRefused) {
  StartBinary({"--api-keys", "key-one,key-two"});
  v1::EmitRequest emit;
  emit.mutable_event()->set_channel("c");
  emit.mutable_event()->set_json("1");
  grpc::Status s = RawUnary("/vent.v1.Vent/Emit", emit.SerializeAsString(),
                            nullptr, {"Bearer key-one", "Bearer key-two"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("more than one authorization"));
  s = RawUnary("/vent.v1.Vent/Emit", emit.SerializeAsString(), nullptr,
               {"Bearer key-one"});
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// 30 Subscribe calls that never read and 1,000 events of 64 KiB: memory stays
// within the documented bound (the payloads are shared, each call is bounded
// in bytes, all of them together too), the slow calls end
// RESOURCE_EXHAUSTED, a healthy reader gets every event, and a call over
// --max-subscribers is refused.
TEST_F(BoundsTest, SlowSubscribersAreBoundedInBytesAndNumber) {
  // Per call 2 MiB, 32 MiB in all: the 30 stalled calls (60 MiB if each got
  // its share) pass the total, so both limits end calls.
  StartBinary({"--max-subscribers", "31", "--subscribe-queue-bytes", "2MiB",
               "--subscribe-memory", "32MiB"});
  struct Sub {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader;
  };
  v1::SubscribeRequest req;
  req.add_channels("big");
  std::vector<std::unique_ptr<Sub>> slow;
  for (int i = 0; i < 30; ++i) {
    auto s = std::make_unique<Sub>();
    s->reader = stub_->Subscribe(&s->ctx, req);
    v1::SubscribeResponse ready;
    ASSERT_TRUE(s->reader->Read(&ready));  // then never reads again
    ASSERT_TRUE(ready.ready());
    slow.push_back(std::move(s));
  }
  constexpr int kEvents = 1000;
  const std::string pad(64 * 1024 - 64, 'x');
  // A reader that keeps up (the publisher below waits for it), on its own
  // connection.
  auto healthy_channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                grpc::InsecureChannelCredentials(), [] {
                                  grpc::ChannelArguments a;
                                  a.SetInt("grpc.channel_id", 2);  // not shared
                                  return a;
                                }());
  auto healthy_stub = v1::Vent::NewStub(healthy_channel);
  std::atomic<int> healthy_n{0};
  std::promise<int> healthy_got;
  std::promise<void> healthy_ready;
  std::thread healthy([&] {
    grpc::ClientContext ctx;
    auto reader = healthy_stub->Subscribe(&ctx, req);
    v1::SubscribeResponse m;
    int n = 0;
    bool ready = false;
    while (reader->Read(&m)) {
      if (m.ready()) {
        ready = true;
        healthy_ready.set_value();
        continue;
      }
      healthy_n.store(++n);
      if (n == kEvents) break;
    }
    if (!ready) healthy_ready.set_value();
    if (n < kEvents) {
      grpc::Status st = reader->Finish();
      ADD_FAILURE() << "healthy reader ended after " << n
                    << " events: " << st.error_code() << " "
                    << st.error_message();
      healthy_n.store(kEvents + 1);  // unblocks the publisher
    } else {
      ctx.TryCancel();
      reader->Finish();
    }
    healthy_got.set_value(n);
  });
  ASSERT_EQ(healthy_ready.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(Metric("vent_subscribe_active"), 31);
  {  // the 32nd
    grpc::ClientContext ctx;
    auto reader = stub_->Subscribe(&ctx, req);
    v1::SubscribeResponse m;
    EXPECT_FALSE(reader->Read(&m));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(), HasSubstr("--max-subscribers"));
  }

  const int64_t rss_before = ProcStatusBytes("VmRSS");
  for (int i = 0; i < kEvents;) {
    v1::EmitBatchRequest batch;
    for (int k = 0; k < 10; ++k, ++i) {
      auto* e = batch.add_events();
      e->set_channel("big");
      e->set_json(absl::StrCat("{\"i\":", i, ",\"p\":\"", pad, "\"}"));
    }
    grpc::ClientContext ctx;
    v1::EmitBatchResponse resp;
    grpc::Status s = stub_->EmitBatch(&ctx, batch, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(
        WaitUntil([&] { return healthy_n.load() >= i; }, absl::Seconds(10)));
  }
  auto got = healthy_got.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(got.get(), kEvents);
  healthy.join();
  const int64_t peak = ProcStatusBytes("VmHWM");
  const double growth_mib = static_cast<double>(peak - rss_before) / (1 << 20);
  std::printf(
      "[ metric ] RSS %.1f MiB before, peak %.1f MiB (+%.1f MiB) with "
      "30 non-reading subscribers x 1000 x 64 KiB events\n",
      rss_before / 1048576.0, peak / 1048576.0, growth_mib);
  // server/README.md "Subscribe memory": subscribe-memory (32 MiB) + one
  // event per open call (31 x 64 KiB) + gRPC's buffers; the bound asserted
  // leaves room for allocator slack and the EmitBatch requests themselves.
  EXPECT_LT(growth_mib, 96.0);

  // Each slow call ended RESOURCE_EXHAUSTED after the events it held.
  int by_call_limit = 0, by_total = 0;
  for (auto& s : slow) {
    v1::SubscribeResponse m;
    int n = 0;
    while (s->reader->Read(&m)) ++n;
    grpc::Status st = s->reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr("reads too slowly"));
    by_call_limit +=
        absl::StrContains(st.error_message(), "--subscribe-queue-bytes");
    by_total += absl::StrContains(st.error_message(), "--subscribe-memory");
    EXPECT_LT(n, kEvents);
  }
  std::printf(
      "[ metric ] slow calls ended by --subscribe-queue-bytes: %d, "
      "by --subscribe-memory: %d\n",
      by_call_limit, by_total);
  EXPECT_EQ(Metric("vent_subscribe_overflows_total"), 30);
}

}  // namespace
}  // namespace vent::server::testing
