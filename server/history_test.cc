// Subscribe with history (docs/history.md): a real redis-server, the service
// in-process with a publications config, real gRPC clients. Events of
// history channels arrive unwrapped with their positions; a consumer that
// resumes from its last position gets exactly what it missed (also with
// emits running during its restarts); window exceeded, lost history (DEL,
// FLUSHALL, a Redis restart without persistence, ttl) and future positions
// are answered recovered = false, then live events flow; bad positions are
// INVALID_ARGUMENT.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server_test_util.h"
#include "vent/pub/catalog.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPublications[] = R"(
hist:
  params: { id: { type: string } }
  channels: ["h::{id}"]
  auth: public
  history: { size: 50, ttl: 10m }
small:
  params: { id: { type: string } }
  channels: ["w::{id}"]
  auth: public
  history: { size: 5, ttl: 10m }
brief:
  params: { id: { type: string } }
  channels: ["t::{id}"]
  auth: public
  history: { size: 50, ttl: 1s }
resume:
  channels: ["r::s"]
  auth: public
  history: { size: 5000, ttl: 10m }
big:
  channels: ["big"]
  auth: public
  history: { size: 3000, ttl: 10m }
plain:
  params: { id: { type: string } }
  channels: ["p::{id}"]
  auth: public
)";

v1::Position Pos(const std::string& channel, int64_t offset,
                 const std::string& epoch) {
  v1::Position p;
  p.set_channel(channel);
  p.set_offset(offset);
  p.set_epoch(epoch);
  return p;
}

// One Subscribe call, read synchronously (every read bounded by the call's
// 60 s deadline).
class Call {
 public:
  Call(v1::Vent::Stub* stub, const std::vector<std::string>& channels,
       const std::vector<v1::Position>& since = {},
       std::chrono::seconds deadline = std::chrono::seconds(60)) {
    ctx_.set_deadline(std::chrono::system_clock::now() + deadline);
    v1::SubscribeRequest req;
    for (const auto& c : channels) req.add_channels(c);
    for (const auto& p : since) *req.add_since() = p;
    reader_ = stub->Subscribe(&ctx_, req);
  }
  ~Call() {
    if (finished_) return;
    ctx_.TryCancel();
    Finish();
  }
  bool Read(v1::SubscribeResponse* m) { return reader_->Read(m); }
  v1::SubscribeResponse Ready() {
    v1::SubscribeResponse m;
    EXPECT_TRUE(reader_->Read(&m));
    EXPECT_TRUE(m.ready());
    return m;
  }
  v1::Event Next() {
    v1::SubscribeResponse m;
    EXPECT_TRUE(reader_->Read(&m));
    EXPECT_FALSE(m.ready());
    return m.event();
  }
  grpc::Status Finish() {
    v1::SubscribeResponse m;
    while (reader_->Read(&m)) {
    }
    finished_ = true;
    return reader_->Finish();
  }

 private:
  bool finished_ = false;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
};

class HistoryTest : public ServerFixture {
 protected:
  void Start(ServerConfig config = {}) {
    auto catalog = pub::Catalog::FromYaml(YAML::Load(kPublications));
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    config.catalog = *catalog;
    StartServer(std::move(config));
  }
  void EmitN(const std::string& channel, int from, int to) {
    for (int i = from; i <= to; ++i) {
      v1::EmitResponse r;
      ASSERT_TRUE(Emit(channel, absl::StrCat("{\"n\":", i, "}"), &r).ok());
    }
  }
  static std::string Json(int n) { return absl::StrCat("{\"n\":", n, "}"); }
};

TEST_F(HistoryTest, LiveEventsAreUnwrappedWithTheirPositions) {
  Start();
  Call call(stub_.get(), {"h::a", "p::a", "h::a"});
  v1::SubscribeResponse ready = call.Ready();
  // Only the history channel. No event yet, but an epoch already: a
  // consumer that stores this position learns if the history is lost
  // before its first event.
  ASSERT_EQ(ready.starts_size(), 1);
  EXPECT_EQ(ready.starts(0).position().channel(), "h::a");
  EXPECT_EQ(ready.starts(0).position().offset(), 0);
  const std::string start_epoch = ready.starts(0).position().epoch();
  EXPECT_EQ(start_epoch.size(), 21u);
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_EQ(ready.starts(0).reason(), "");
  EmitN("h::a", 1, 3);
  std::string epoch;
  for (int i = 1; i <= 3; ++i) {
    v1::Event e = call.Next();
    EXPECT_EQ(e.channel(), "h::a");
    EXPECT_EQ(e.json(), Json(i));  // the event, not the envelope
    EXPECT_EQ(e.offset(), i);
    if (i == 1) epoch = e.epoch();
    EXPECT_EQ(e.epoch(), epoch);
  }
  EXPECT_EQ(epoch, start_epoch);
  // Redis holds the envelope (raw subscribers see it).
  auto raw = redis_->Cli({"XLEN", absl::StrCat("vent:{h::a}:h:h::a")});
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(*raw, "3\n");
  // A channel without history: as before, no position.
  EmitN("p::a", 7, 7);
  v1::Event plain = call.Next();
  EXPECT_EQ(plain.json(), Json(7));
  EXPECT_EQ(plain.offset(), 0);
  EXPECT_EQ(plain.epoch(), "");
  // A raw PUBLISH on the history channel: delivered, no position.
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "h::a", "{\"raw\":1}"}).ok());
  v1::Event r = call.Next();
  EXPECT_EQ(r.json(), "{\"raw\":1}");
  EXPECT_EQ(r.offset(), 0);
  // And the next history event continues the offsets.
  EmitN("h::a", 4, 4);
  v1::Event e4 = call.Next();
  EXPECT_EQ(e4.offset(), 4);
  EXPECT_EQ(e4.json(), Json(4));
}

TEST_F(HistoryTest, ReadyOfACallWithoutHistoryIsUnchanged) {
  Start();
  Call call(stub_.get(), {"p::a"});
  v1::SubscribeResponse ready = call.Ready();
  EXPECT_EQ(ready.ByteSizeLong(), 2u);  // {ready: true}
}

TEST_F(HistoryTest, ResumeGetsExactlyTheMissedEventsThenLive) {
  Start();
  std::string epoch;
  {
    Call call(stub_.get(), {"h::r"});
    call.Ready();
    EmitN("h::r", 1, 5);
    for (int i = 1; i <= 5; ++i) epoch = call.Next().epoch();
  }  // the consumer stops after processing offset 5
  EmitN("h::r", 6, 25);
  Call call(stub_.get(), {"h::r"}, {Pos("h::r", 5, epoch)});
  v1::SubscribeResponse ready = call.Ready();
  ASSERT_EQ(ready.starts_size(), 1);
  EXPECT_TRUE(ready.starts(0).recovered());
  EXPECT_EQ(ready.starts(0).reason(), "");
  EXPECT_EQ(ready.starts(0).position().offset(), 5);
  EXPECT_EQ(ready.starts(0).position().epoch(), epoch);
  for (int i = 6; i <= 25; ++i) {
    v1::Event e = call.Next();
    EXPECT_EQ(e.offset(), i);
    EXPECT_EQ(e.json(), Json(i));
    EXPECT_EQ(e.epoch(), epoch);
  }
  EmitN("h::r", 26, 27);
  EXPECT_EQ(call.Next().offset(), 26);
  EXPECT_EQ(call.Next().offset(), 27);
  // "Nothing seen yet" (offset 0, epoch ""): the whole history.
  Call all(stub_.get(), {"h::r"}, {Pos("h::r", 0, "")});
  ready = all.Ready();
  EXPECT_TRUE(ready.starts(0).recovered());
  for (int i = 1; i <= 27; ++i) EXPECT_EQ(all.Next().offset(), i);
  // Up to date: recovered, nothing replayed, live next.
  Call same(stub_.get(), {"h::r"}, {Pos("h::r", 27, epoch)});
  EXPECT_TRUE(same.Ready().starts(0).recovered());
  EmitN("h::r", 28, 28);
  EXPECT_EQ(same.Next().offset(), 28);
}

// A consumer restarted many times while events keep being emitted: it
// processes every event exactly once, in order.
TEST_F(HistoryTest, RestartsWhileEmittingLoseAndRepeatNothing) {
  Start();
  constexpr int kEvents = 2000;
  std::atomic<bool> emit_failed{false};
  std::thread emitter([&] {
    for (int i = 1; i <= kEvents; ++i) {
      v1::EmitResponse r;
      if (!Emit("r::s", Json(i), &r).ok()) emit_failed = true;
    }
  });
  std::vector<int64_t> processed;
  std::string epoch;
  int64_t offset = 0;
  int restarts = 0;
  while (offset < kEvents && restarts < 200) {
    ++restarts;
    std::vector<v1::Position> since;
    if (restarts > 1) since.push_back(Pos("r::s", offset, epoch));
    Call call(stub_.get(), {"r::s"}, since);
    v1::SubscribeResponse ready = call.Ready();
    ASSERT_EQ(ready.starts_size(), 1);
    if (restarts == 1) {
      // Started before or while the emitter runs: from where it stands.
      offset = ready.starts(0).position().offset();
      epoch = ready.starts(0).position().epoch();
      for (int64_t i = 1; i <= offset; ++i) processed.push_back(i);
    } else {
      ASSERT_TRUE(ready.starts(0).recovered()) << ready.starts(0).reason();
    }
    // Process a few events, then "crash".
    for (int n = 0; n < 25 && offset < kEvents; ++n) {
      v1::Event e = call.Next();
      ASSERT_EQ(e.offset(), offset + 1);
      ASSERT_EQ(e.json(), Json(static_cast<int>(e.offset())));
      offset = e.offset();
      epoch = e.epoch();
      processed.push_back(offset);
    }
  }
  emitter.join();
  EXPECT_FALSE(emit_failed);
  ASSERT_EQ(processed.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) ASSERT_EQ(processed[i], i + 1);
  EXPECT_GT(restarts, 10);
}

TEST_F(HistoryTest, WindowExceededIsNotRecoveredThenLive) {
  Start();
  EmitN("w::a", 1, 2);
  std::string epoch;
  {
    Call c(stub_.get(), {"w::a"}, {Pos("w::a", 0, "")});
    EXPECT_TRUE(c.Ready().starts(0).recovered());
    c.Next();
    epoch = c.Next().epoch();
  }
  EmitN("w::a", 3, 12);  // 10 missed, the history keeps 5
  Call call(stub_.get(), {"w::a"}, {Pos("w::a", 2, epoch)});
  v1::SubscribeResponse ready = call.Ready();
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_THAT(ready.starts(0).reason(), HasSubstr("window exceeded"));
  EXPECT_EQ(ready.starts(0).position().offset(), 12);  // from here on
  EmitN("w::a", 13, 13);
  v1::Event e = call.Next();  // nothing partial was replayed
  EXPECT_EQ(e.offset(), 13);
  EXPECT_EQ(e.json(), Json(13));
  // At the window's edge (offsets 9..13 kept, position 8): recovered.
  Call edge(stub_.get(), {"w::a"}, {Pos("w::a", 8, epoch)});
  EXPECT_TRUE(edge.Ready().starts(0).recovered());
  for (int i = 9; i <= 13; ++i) EXPECT_EQ(edge.Next().offset(), i);
}

TEST_F(HistoryTest, LostHistoryIsEpochChangedThenLive) {
  Start();
  auto seen = [&](const std::string& ch) {
    Call c(stub_.get(), {ch});
    c.Ready();
    EmitN(ch, 1, 3);
    v1::Event e;
    for (int i = 0; i < 3; ++i) e = c.Next();
    return Pos(ch, e.offset(), e.epoch());
  };
  const v1::Position a = seen("h::del");
  const v1::Position b = seen("h::flush");
  // DEL of the channel's keys: no history any more.
  ASSERT_TRUE(
      redis_->Cli({"DEL", "vent:{h::del}:m:h::del", "vent:{h::del}:h:h::del"})
          .ok());
  {
    Call call(stub_.get(), {"h::del"}, {a});
    v1::SubscribeResponse ready = call.Ready();
    EXPECT_FALSE(ready.starts(0).recovered());
    EXPECT_THAT(ready.starts(0).reason(), HasSubstr("epoch changed"));
    EXPECT_EQ(ready.starts(0).position().offset(), 0);
    EmitN("h::del", 4, 4);
    v1::Event e = call.Next();
    EXPECT_EQ(e.offset(), 1);  // a new epoch starts at 1
    EXPECT_NE(e.epoch(), a.epoch());
    EXPECT_GT(e.epoch(), a.epoch());
  }
  // FLUSHALL, then events published again before the consumer comes back:
  // a new epoch with events, still not recovered.
  ASSERT_TRUE(redis_->Cli({"FLUSHALL"}).ok());
  EmitN("h::flush", 10, 11);
  Call call(stub_.get(), {"h::flush"}, {b});
  v1::SubscribeResponse ready = call.Ready();
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_THAT(ready.starts(0).reason(), HasSubstr("epoch changed"));
  EXPECT_EQ(ready.starts(0).position().offset(), 2);
  EmitN("h::flush", 12, 12);
  v1::Event e = call.Next();
  EXPECT_EQ(e.offset(), 3);
  EXPECT_EQ(e.json(), Json(12));
}

TEST_F(HistoryTest, RedisRestartWithoutPersistenceIsEpochChanged) {
  Start();
  v1::Position p;
  {
    Call c(stub_.get(), {"h::x"}, {}, std::chrono::seconds(20));
    c.Ready();
    EmitN("h::x", 1, 2);
    c.Next();
    v1::Event e = c.Next();
    p = Pos("h::x", e.offset(), e.epoch());
    ASSERT_TRUE(redis_->Restart().ok());  // no RDB, no AOF: all lost
    // The open call ends UNAVAILABLE (it may have missed events).
    EXPECT_EQ(c.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  ASSERT_TRUE(
      WaitUntil([&] { return server_->redis_connected(); }, absl::Seconds(20)));
  auto open = [&]() -> std::unique_ptr<Call> {
    // Until the history connection is back too, calls end UNAVAILABLE.
    for (int i = 0; i < 200; ++i) {
      auto c = std::make_unique<Call>(
          stub_.get(), std::vector<std::string>{"h::x"},
          std::vector<v1::Position>{p}, std::chrono::seconds(20));
      v1::SubscribeResponse m;
      if (c->Read(&m)) return c;
      EXPECT_EQ(c->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // backoff
    }
    return nullptr;
  };
  std::unique_ptr<Call> call = open();
  ASSERT_NE(call, nullptr);
  EmitN("h::x", 3, 3);
  SCOPED_TRACE("the live event after the restart");
  v1::Event e = call->Next();
  EXPECT_EQ(e.offset(), 1);
  EXPECT_NE(e.epoch(), p.epoch());
  EXPECT_EQ(e.json(), Json(3));
  Call again(stub_.get(), {"h::x"}, {p}, std::chrono::seconds(20));
  v1::SubscribeResponse ready = again.Ready();
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_THAT(ready.starts(0).reason(), HasSubstr("epoch changed"));
  EXPECT_EQ(ready.starts(0).position().offset(), 1);
  EXPECT_EQ(ready.starts(0).position().epoch(), e.epoch());
}

TEST_F(HistoryTest, TtlPassedIsEpochChanged) {
  Start();
  v1::Position p;
  {
    Call c(stub_.get(), {"t::a"});
    c.Ready();
    EmitN("t::a", 1, 1);
    v1::Event e = c.Next();
    p = Pos("t::a", e.offset(), e.epoch());
  }
  // The history's keys expire 1 s after the last event.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto n = redis_->Cli({"EXISTS", "vent:{t::a}:m:t::a"});
        return n.ok() && *n == "0\n";
      },
      absl::Seconds(20)));
  Call call(stub_.get(), {"t::a"}, {p});
  v1::SubscribeResponse ready = call.Ready();
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_THAT(ready.starts(0).reason(), HasSubstr("epoch changed"));
  EmitN("t::a", 2, 2);
  EXPECT_EQ(call.Next().json(), Json(2));
}

// A consumer that saw no event, only ready's start position, is told too
// when a whole epoch came and went while it was away.
TEST_F(HistoryTest, AnEpochThatCameAndWentWhileAwayIsNotRecovered) {
  Start();
  v1::Position start;
  {
    Call c(stub_.get(), {"t::q"});
    start = c.Ready().starts(0).position();
  }
  ASSERT_EQ(start.offset(), 0);
  ASSERT_FALSE(start.epoch().empty());
  EmitN("t::q", 1, 1);  // in the start's epoch, or a first one of its own
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto n = redis_->Cli({"EXISTS", "vent:{t::q}:m:t::q"});
        return n.ok() && *n == "0\n";
      },
      absl::Seconds(20)));
  EmitN("t::q", 2, 2);  // a new epoch, from offset 1
  Call call(stub_.get(), {"t::q"}, {start});
  v1::SubscribeResponse ready = call.Ready();
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_THAT(ready.starts(0).reason(), HasSubstr("epoch changed"));
  EXPECT_EQ(ready.starts(0).position().offset(), 1);
}

TEST_F(HistoryTest, FuturePositionsAndChannelsWithoutHistory) {
  Start();
  EmitN("h::f", 1, 2);
  std::string epoch;
  {
    Call c(stub_.get(), {"h::f"});
    epoch = c.Ready().starts(0).position().epoch();
  }
  Call call(stub_.get(), {"h::f", "p::f"},
            {Pos("h::f", 9, epoch), Pos("p::f", 3, "whatever")});
  v1::SubscribeResponse ready = call.Ready();
  ASSERT_EQ(ready.starts_size(), 2);
  EXPECT_EQ(ready.starts(0).position().channel(), "h::f");
  EXPECT_FALSE(ready.starts(0).recovered());
  EXPECT_THAT(ready.starts(0).reason(), HasSubstr("future"));
  EXPECT_EQ(ready.starts(0).position().offset(), 2);
  EXPECT_EQ(ready.starts(1).position().channel(), "p::f");
  EXPECT_FALSE(ready.starts(1).recovered());
  EXPECT_THAT(ready.starts(1).reason(), HasSubstr("keeps no history"));
  // An epoch that sorts after the channel's: also from the future.
  Call later(stub_.get(), {"h::f"}, {Pos("h::f", 1, "~")});
  EXPECT_THAT(later.Ready().starts(0).reason(), HasSubstr("future"));
  EmitN("h::f", 3, 3);
  EXPECT_EQ(call.Next().offset(), 3);
  EXPECT_EQ(later.Next().offset(), 3);
}

TEST_F(HistoryTest, BadPositionsAreInvalidArgument) {
  Start();
  const std::string long_epoch(65, 'e');
  struct Case {
    std::vector<v1::Position> since;
    std::string message;
  } cases[] = {
      {{Pos("h::z", 1, "e")},
       "since[0].channel: \"h::z\" is not one of the call's channels"},
      {{Pos("h::b", 1, "e"), Pos("h::b", 2, "e")},
       "since[1].channel: \"h::b\" has more than one position"},
      {{Pos("h::b", -1, "e")},
       "since[0].offset: -1 is negative (offsets are 1, 2, 3...; 0 with "
       "epoch \"\" for nothing seen yet)"},
      {{Pos("h::b", 1, long_epoch)},
       "since[0].epoch: 65 bytes is over the 64-byte limit (use the epoch "
       "Subscribe delivered)"},
      {{Pos("h::b", 4, "")},
       "since[0].epoch: required with an offset (use the epoch Subscribe "
       "delivered with it; offset 0 and epoch \"\" for nothing seen yet)"},
  };
  for (const Case& c : cases) {
    Call call(stub_.get(), {"h::b", "p::b"}, c.since);
    grpc::Status s = call.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), c.message);
  }
  // Nothing else was affected.
  Call ok(stub_.get(), {"h::b"});
  ok.Ready();
  EmitN("h::b", 1, 1);
  EXPECT_EQ(ok.Next().offset(), 1);
}

// A replay larger than the call's queue bounds is delivered whole (it is
// bounded by the history's size); live events behind it keep their bounds.
TEST_F(HistoryTest, ReplayIsBoundedByTheHistoryNotTheQueue) {
  ServerConfig config;
  config.subscribe_queue = 100;
  config.subscribe_queue_bytes = 16 << 10;
  Start(config);
  {
    v1::EmitBatchRequest req;
    for (int i = 1; i <= 2500; ++i) {
      v1::Event* e = req.add_events();
      e->set_channel("big");
      e->set_json(Json(i));
    }
    grpc::ClientContext ctx;
    v1::EmitBatchResponse resp;
    ASSERT_TRUE(stub_->EmitBatch(&ctx, req, &resp).ok());
  }
  Call call(stub_.get(), {"big"}, {Pos("big", 0, "")});
  EXPECT_TRUE(call.Ready().starts(0).recovered());
  for (int i = 1; i <= 2500; ++i) {
    v1::Event e = call.Next();
    ASSERT_EQ(e.offset(), i);
  }
  EmitN("big", 2501, 2501);
  EXPECT_EQ(call.Next().offset(), 2501);
}

}  // namespace
}  // namespace vent::server::testing
