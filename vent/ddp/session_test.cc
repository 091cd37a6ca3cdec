#include "vent/ddp/session.h"

#include <functional>
#include <string>
#include <vector>

#include "boost/json/parse.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/ddp/random_id.h"

namespace vent::ddp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class FakeHost : public SessionHost {
 public:
  void Send(std::string frame) override {
    EXPECT_FALSE(closed) << "sent after close: " << frame;
    sent.push_back(std::move(frame));
  }
  void Close(uint16_t ws_code, std::string reason) override {
    EXPECT_FALSE(closed) << "closed twice";
    closed = true;
    close_code = ws_code;
    close_reason = std::move(reason);
  }
  void StartSubscription(const SubRequest& req) override {
    started.push_back(req);
    if (on_start) on_start(req);
  }
  void StopSubscription(const std::string& id) override {
    stopped.push_back(id);
  }
  void CallMethod(const MethodCall& call) override { calls.push_back(call); }

  // Returns and clears the frames sent so far.
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    out.swap(sent);
    return out;
  }

  std::vector<std::string> sent;
  bool closed = false;
  uint16_t close_code = 0;
  std::string close_reason;
  std::vector<SubRequest> started;
  std::vector<std::string> stopped;
  std::vector<MethodCall> calls;
  std::function<void(const SubRequest&)> on_start;
};

constexpr char kConnect[] =
    R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})";
const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

class SessionTest : public ::testing::Test {
 protected:
  explicit SessionTest(SessionOptions options = {})
      : session_(options, &host_) {}

  void Connect(absl::string_view text = kConnect) {
    session_.OnMessage(text, now_);
    ASSERT_TRUE(session_.connected());
    host_.Take();
  }
  std::vector<std::string> Feed(absl::string_view text) {
    session_.OnMessage(text, now_);
    return host_.Take();
  }
  void Sub(const std::string& id, const std::string& rand = "r1") {
    session_.OnMessage(R"({"msg":"sub","id":")" + id +
                           R"(","name":"pub","params":[")" + rand + R"("]})",
                       now_);
  }
  // Advances the fake clock to t and ticks if a deadline is due.
  void AdvanceTo(absl::Time t) {
    while (session_.NextDeadline() <= t) {
      now_ = session_.NextDeadline();
      session_.OnTick(now_);
    }
    now_ = t;
  }

  FakeHost host_;
  absl::Time now_ = kT0;
  Session session_;
};

// ---- handshake ----

TEST_F(SessionTest, ConnectSendsConnectedWithRandomId) {
  session_.OnMessage(kConnect, now_);
  ASSERT_TRUE(session_.connected());
  EXPECT_EQ(session_.version(), "1");
  const std::string& sid = session_.session_id();
  ASSERT_EQ(sid.size(), 17u);
  EXPECT_EQ(sid.find_first_not_of(std::string(kRandomIdAlphabet)),
            std::string::npos);
  EXPECT_THAT(host_.Take(),
              ElementsAre(R"({"msg":"connected","session":")" + sid + R"("})"));
}

TEST_F(SessionTest, SessionFieldIsIgnored) {
  Feed(
      R"({"msg":"connect","session":"N7ghTzKq4pAoYwE3x","version":"1","support":["1"]})");
  EXPECT_TRUE(session_.connected());
  EXPECT_NE(session_.session_id(), "N7ghTzKq4pAoYwE3x");
}

TEST_F(SessionTest, Pre2Accepted) {
  Feed(R"({"msg":"connect","version":"pre2","support":["pre2"]})");
  EXPECT_TRUE(session_.connected());
  EXPECT_EQ(session_.version(), "pre2");
}

TEST_F(SessionTest, VersionMismatchFailsAndCloses) {
  EXPECT_THAT(
      Feed(R"({"msg":"connect","version":"pre1","support":["1","pre1"]})"),
      ElementsAre(R"({"msg":"failed","version":"1"})"));
  EXPECT_TRUE(host_.closed);
  EXPECT_EQ(host_.close_code, 1000);
  EXPECT_EQ(session_.state(), Session::State::kClosed);
  // Everything after failed is dropped.
  EXPECT_THAT(Feed(kConnect), IsEmpty());
  EXPECT_THAT(Feed(R"({"msg":"ping"})"), IsEmpty());
}

TEST_F(SessionTest, UnknownVersionFailsWithOne) {
  EXPECT_THAT(Feed(R"({"msg":"connect","version":"2","support":["2"]})"),
              ElementsAre(R"({"msg":"failed","version":"1"})"));
  EXPECT_TRUE(host_.closed);
}

TEST_F(SessionTest, NegotiatedVersionSuggested) {
  EXPECT_THAT(Feed(R"({"msg":"connect","version":"1","support":["pre2","1"]})"),
              ElementsAre(R"({"msg":"failed","version":"pre2"})"));
}

TEST_F(SessionTest, BadConnectFails) {
  EXPECT_THAT(Feed(R"({"msg":"connect","version":1,"support":["1"]})"),
              ElementsAre(R"({"msg":"failed","version":"1"})"));
  EXPECT_TRUE(host_.closed);
}

TEST_F(SessionTest, PipelinedSubBeforeConnectedIsHonoured) {
  session_.OnMessage(kConnect, now_);
  session_.OnMessage(
      R"({"msg":"method","id":"1","method":"login","params":[{"resume":"t"}]})",
      now_);
  Sub("s1", "rand1");
  ASSERT_EQ(host_.sent.size(), 1u);
  EXPECT_THAT(host_.sent[0], ::testing::StartsWith(R"({"msg":"connected")"));
  ASSERT_EQ(host_.calls.size(), 1u);
  ASSERT_EQ(host_.started.size(), 1u);
  EXPECT_EQ(host_.started[0].rand, "rand1");
  session_.SubscriptionReady("s1");
  EXPECT_EQ(host_.sent.back(), R"({"msg":"ready","subs":["s1"]})");
}

// ---- bad input (docs/protocol.md "Bad input"), byte-exact ----

TEST_F(SessionTest, BadInputBeforeConnect) {
  EXPECT_THAT(Feed("{oops"),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_THAT(Feed("5"),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_THAT(
      Feed("{}"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":{}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"ping"})"),
      ElementsAre(
          R"({"msg":"error","reason":"Must connect first","offendingMessage":{"msg":"ping"}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"sub","id":5})"),
      ElementsAre(
          R"({"msg":"error","reason":"Must connect first","offendingMessage":{"msg":"sub","id":5}})"));
  EXPECT_FALSE(host_.closed);
  EXPECT_FALSE(session_.connected());
}

TEST_F(SessionTest, BadInputAfterConnect) {
  Connect();
  EXPECT_THAT(Feed("{oops"),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_THAT(Feed("5"),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_THAT(Feed(R"("x")"),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_THAT(Feed("null"),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_THAT(
      Feed("{}"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":{}})"));
  EXPECT_THAT(
      Feed("[1]"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":[1]})"));
  EXPECT_THAT(
      Feed(R"({"foo":1})"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":{"foo":1}})"));
  EXPECT_THAT(
      Feed(kConnect),
      ElementsAre(
          std::string(
              R"({"msg":"error","reason":"Already connected","offendingMessage":)") +
          kConnect + "}"));
  EXPECT_THAT(
      Feed(R"({"msg":"foo"})"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"foo"}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"sub","id":1,"name":"n"})"),
      ElementsAre(
          R"({"msg":"error","reason":"Malformed subscription","offendingMessage":{"msg":"sub","id":1,"name":"n"}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"sub","id":"a","name":"n","params":{}})"),
      ElementsAre(
          R"({"msg":"error","reason":"Malformed subscription","offendingMessage":{"msg":"sub","id":"a","name":"n","params":{}}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"method","id":1,"method":"m"})"),
      ElementsAre(
          R"({"msg":"error","reason":"Malformed method invocation","offendingMessage":{"msg":"method","id":1,"method":"m"}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"method","id":"1","method":"m","params":5})"),
      ElementsAre(
          R"({"msg":"error","reason":"Malformed method invocation","offendingMessage":{"msg":"method","id":"1","method":"m","params":5}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"method","id":"1","method":"m","randomSeed":5})"),
      ElementsAre(
          R"({"msg":"error","reason":"Malformed method invocation","offendingMessage":{"msg":"method","id":"1","method":"m","randomSeed":5}})"));
  EXPECT_THAT(Feed(R"({"msg":"unsub"})"), ElementsAre(R"({"msg":"nosub"})"));
  EXPECT_THAT(
      Feed(R"({"msg":"unsub","id":5})"),
      ElementsAre(
          R"({"msg":"error","reason":"Malformed unsubscription","offendingMessage":{"msg":"unsub","id":5}})"));
  // Never wedged: the session still works.
  EXPECT_THAT(Feed(R"({"msg":"ping","id":"p"})"),
              ElementsAre(R"({"msg":"pong","id":"p"})"));
  EXPECT_THAT(host_.started, IsEmpty());
  EXPECT_THAT(host_.calls, IsEmpty());
  EXPECT_FALSE(host_.closed);
}

TEST_F(SessionTest, DepthLimitIsBadRequest) {
  Connect();
  const std::string deep =
      R"({"msg":"method","id":"1","method":"m","params":)" +
      std::string(70, '[') + std::string(70, ']') + "}";
  EXPECT_THAT(Feed(deep),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
  EXPECT_FALSE(host_.closed);
}

TEST_F(SessionTest, LargeOffendingMessageNotEchoed) {
  Connect();
  const std::string big =
      R"({"msg":"foo","pad":")" + std::string(1100, 'x') + R"("})";
  EXPECT_THAT(Feed(big),
              ElementsAre(R"({"msg":"error","reason":"Bad request"})"));
}

// ---- ping / pong ----

TEST_F(SessionTest, PingAnswered) {
  Connect();
  EXPECT_THAT(Feed(R"({"msg":"ping","id":"abc"})"),
              ElementsAre(R"({"msg":"pong","id":"abc"})"));
  EXPECT_THAT(Feed(R"({"msg":"ping"})"), ElementsAre(R"({"msg":"pong"})"));
  EXPECT_THAT(Feed(R"({"msg":"ping","id":7})"),
              ElementsAre(R"({"msg":"pong"})"));
  EXPECT_THAT(Feed(R"({"msg":"pong"})"), IsEmpty());
}

TEST_F(SessionTest, Pre1PingIsBadRequestAndNoHeartbeat) {
  Connect(R"({"msg":"connect","version":"pre1","support":["pre1"]})");
  EXPECT_EQ(session_.version(), "pre1");
  EXPECT_THAT(
      Feed(R"({"msg":"ping"})"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"ping"}})"));
  EXPECT_THAT(
      Feed(R"({"msg":"pong"})"),
      ElementsAre(
          R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"pong"}})"));
  EXPECT_EQ(session_.NextDeadline(), absl::InfiniteFuture());
}

// ---- heartbeat ----

TEST_F(SessionTest, NoDeadlineBeforeConnect) {
  EXPECT_EQ(session_.NextDeadline(), absl::InfiniteFuture());
}

TEST_F(SessionTest, PingAfterIntervalOfSilence) {
  Connect();
  EXPECT_EQ(session_.NextDeadline(), kT0 + absl::Seconds(15));
  AdvanceTo(kT0 + absl::Seconds(15) - absl::Milliseconds(1));
  EXPECT_THAT(host_.Take(), IsEmpty());
  AdvanceTo(kT0 + absl::Seconds(15));
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
  EXPECT_EQ(session_.NextDeadline(), kT0 + absl::Seconds(30));
}

TEST_F(SessionTest, CloseAfterTimeout) {
  Connect();
  AdvanceTo(kT0 + absl::Seconds(15));
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
  AdvanceTo(kT0 + absl::Seconds(30) - absl::Milliseconds(1));
  EXPECT_FALSE(host_.closed);
  AdvanceTo(kT0 + absl::Seconds(30));
  EXPECT_TRUE(host_.closed);
  EXPECT_EQ(host_.close_code, 1000);
  EXPECT_EQ(host_.close_reason, "heartbeat timeout");
  EXPECT_THAT(host_.Take(), IsEmpty());
  EXPECT_EQ(session_.NextDeadline(), absl::InfiniteFuture());
  EXPECT_THAT(Feed(R"({"msg":"ping"})"), IsEmpty());
}

TEST_F(SessionTest, PongCancelsTimeout) {
  Connect();
  AdvanceTo(kT0 + absl::Seconds(15));
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
  now_ = kT0 + absl::Seconds(20);
  EXPECT_THAT(Feed(R"({"msg":"pong"})"), IsEmpty());
  AdvanceTo(kT0 + absl::Seconds(44));
  EXPECT_FALSE(host_.closed);
  // Tick at 30 saw the pong: no ping. Tick at 45 after silence: ping.
  EXPECT_THAT(host_.Take(), IsEmpty());
  AdvanceTo(kT0 + absl::Seconds(45));
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
}

TEST_F(SessionTest, AnyMessageCancelsTimeout) {
  Connect();
  AdvanceTo(kT0 + absl::Seconds(15));
  host_.Take();
  now_ = kT0 + absl::Seconds(16);
  Feed("{oops");  // even malformed input proves liveness
  AdvanceTo(kT0 + absl::Seconds(40));
  EXPECT_FALSE(host_.closed);
}

TEST_F(SessionTest, NoPingWhileClientTalks) {
  Connect();
  for (int s = 1; s <= 120; ++s) {
    AdvanceTo(kT0 + absl::Seconds(s));
    Feed(R"({"msg":"sub","id":"x","name":"p","params":["r"]})");  // ignored
                                                                  // after first
  }
  EXPECT_FALSE(host_.closed);
  host_.Take();
  // The last message (t=120) arrived after the tick at 120, so the tick at
  // 135 still counts it; the first silent interval ends at 150.
  AdvanceTo(kT0 + absl::Seconds(149));
  EXPECT_THAT(host_.Take(), IsEmpty());
  AdvanceTo(kT0 + absl::Seconds(150));
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
}

TEST_F(SessionTest, OutgoingTrafficDoesNotSuppressPing) {
  Connect();
  Sub("s1");
  for (int i = 0; i < 5; ++i) session_.SubscriptionReady("s1");
  host_.Take();
  AdvanceTo(kT0 + absl::Seconds(30));  // the sub message was seen at tick 15
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
}

TEST_F(SessionTest, HeartbeatDisabled) {
  FakeHost host;
  Session session(SessionOptions{.heartbeat_interval = absl::ZeroDuration()},
                  &host);
  session.OnMessage(kConnect, kT0);
  EXPECT_EQ(session.NextDeadline(), absl::InfiniteFuture());
  session.OnTick(kT0 + absl::Hours(1));
  EXPECT_EQ(host.sent.size(), 1u);
  EXPECT_FALSE(host.closed);
}

TEST_F(SessionTest, CustomIntervals) {
  FakeHost host;
  Session session(SessionOptions{.heartbeat_interval = absl::Milliseconds(100),
                                 .heartbeat_timeout = absl::Milliseconds(50)},
                  &host);
  session.OnMessage(kConnect, kT0);
  session.OnTick(kT0 + absl::Milliseconds(100));
  EXPECT_EQ(host.sent.back(), R"({"msg":"ping"})");
  EXPECT_EQ(session.NextDeadline(), kT0 + absl::Milliseconds(150));
  session.OnTick(kT0 + absl::Milliseconds(150));
  EXPECT_TRUE(host.closed);
}

TEST_F(SessionTest, LateTickDoesNotBurst) {
  Connect();
  session_.OnTick(kT0 + absl::Seconds(100));
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ping"})"));
  EXPECT_EQ(session_.NextDeadline(), kT0 + absl::Seconds(115));
}

// ---- subscriptions ----

TEST_F(SessionTest, SubReadyUnsubNosub) {
  Connect();
  EXPECT_THAT(
      Feed(
          R"({"msg":"sub","id":"a7","name":"threadMessage","params":["kJ",{"threadId":"t1"}]})"),
      IsEmpty());
  ASSERT_EQ(host_.started.size(), 1u);
  EXPECT_EQ(host_.started[0].id, "a7");
  EXPECT_EQ(host_.started[0].name, "threadMessage");
  EXPECT_EQ(host_.started[0].rand, "kJ");
  EXPECT_EQ(host_.started[0].args,
            boost::json::parse(R"([{"threadId":"t1"}])").as_array());
  EXPECT_TRUE(session_.is_active("a7"));
  ASSERT_NE(session_.subscription("a7"), nullptr);
  EXPECT_EQ(session_.subscription("a7")->rand, "kJ");
  session_.SubscriptionReady("a7");
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ready","subs":["a7"]})"));
  EXPECT_THAT(Feed(R"({"msg":"unsub","id":"a7"})"),
              ElementsAre(R"({"msg":"nosub","id":"a7"})"));
  EXPECT_THAT(host_.stopped, ElementsAre("a7"));
  EXPECT_FALSE(session_.is_active("a7"));
  EXPECT_EQ(session_.subscription_count(), 0u);
}

TEST_F(SessionTest, ReadyAfterUnsubSuppressed) {
  Connect();
  Sub("s1");
  Feed(R"({"msg":"unsub","id":"s1"})");
  session_.SubscriptionReady("s1");
  session_.SubscriptionFailed("s1", MakeError(500, "Internal server error"));
  EXPECT_THAT(host_.Take(), IsEmpty());
}

TEST_F(SessionTest, UnsubUnknownIdStillNosub) {
  Connect();
  EXPECT_THAT(Feed(R"({"msg":"unsub","id":"never"})"),
              ElementsAre(R"({"msg":"nosub","id":"never"})"));
  EXPECT_THAT(host_.stopped, IsEmpty());
}

TEST_F(SessionTest, DuplicateSubIgnored) {
  Connect();
  Sub("s1");
  EXPECT_THAT(Feed(R"({"msg":"sub","id":"s1","name":"pub","params":["r9"]})"),
              IsEmpty());
  EXPECT_EQ(host_.started.size(), 1u);
  EXPECT_EQ(session_.subscription_count(), 1u);
}

TEST_F(SessionTest, ResubAfterUnsubStartsAgain) {
  Connect();
  Sub("s1");
  Feed(R"({"msg":"unsub","id":"s1"})");
  Sub("s1");
  EXPECT_EQ(host_.started.size(), 2u);
  session_.SubscriptionReady("s1");
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"ready","subs":["s1"]})"));
}

TEST_F(SessionTest, SubscriptionFailedSendsNosubWithErrorAndForgets) {
  Connect();
  Sub("s1");
  session_.SubscriptionFailed("s1",
                              MakeError(404, "Subscription 'pub' not found"));
  EXPECT_THAT(
      host_.Take(),
      ElementsAre(
          R"({"msg":"nosub","id":"s1","error":{"isClientSafe":true,"error":404,"reason":"Subscription 'pub' not found","message":"Subscription 'pub' not found [404]","errorType":"Meteor.Error"}})"));
  EXPECT_FALSE(session_.is_active("s1"));
  session_.SubscriptionReady("s1");
  EXPECT_THAT(host_.Take(), IsEmpty());
  // unsub afterwards: nosub again, but no StopSubscription.
  EXPECT_THAT(Feed(R"({"msg":"unsub","id":"s1"})"),
              ElementsAre(R"({"msg":"nosub","id":"s1"})"));
  EXPECT_THAT(host_.stopped, IsEmpty());
}

TEST_F(SessionTest, HostMayFailSynchronously) {
  Connect();
  host_.on_start = [&](const SubRequest& req) {
    session_.SubscriptionFailed(
        req.id, MakeError(404, "Subscription '" + req.name + "' not found"));
  };
  Sub("s1");
  ASSERT_EQ(host_.sent.size(), 1u);
  EXPECT_THAT(host_.sent[0],
              ::testing::StartsWith(R"({"msg":"nosub","id":"s1","error":{)"));
  EXPECT_FALSE(session_.is_active("s1"));
}

TEST_F(SessionTest, RandValidation) {
  Connect();
  const std::string match_failed =
      R"("error":{"isClientSafe":true,"error":400,"reason":"Match failed","message":"Match failed [400]","errorType":"Meteor.Error"}})";
  EXPECT_THAT(Feed(R"({"msg":"sub","id":"a","name":"p"})"),
              ElementsAre(R"({"msg":"nosub","id":"a",)" + match_failed));
  EXPECT_THAT(Feed(R"({"msg":"sub","id":"b","name":"p","params":[""]})"),
              ElementsAre(R"({"msg":"nosub","id":"b",)" + match_failed));
  EXPECT_THAT(Feed(R"({"msg":"sub","id":"c","name":"p","params":[5]})"),
              ElementsAre(R"({"msg":"nosub","id":"c",)" + match_failed));
  EXPECT_THAT(Feed(R"({"msg":"sub","id":"d","name":"p","params":[")" +
                   std::string(129, 'r') + R"("]})"),
              ElementsAre(R"({"msg":"nosub","id":"d",)" + match_failed));
  EXPECT_THAT(Feed(R"({"msg":"sub","id":"e","name":"p","params":[")" +
                   std::string(128, 'r') + R"("]})"),
              IsEmpty());
  EXPECT_EQ(host_.started.size(), 1u);
}

TEST_F(SessionTest, SubscriptionLimit) {
  FakeHost host;
  Session session(SessionOptions{.max_subscriptions = 2}, &host);
  session.OnMessage(kConnect, kT0);
  host.Take();
  for (const char* id : {"a", "b", "c"}) {
    session.OnMessage(std::string(R"({"msg":"sub","id":")") + id +
                          R"(","name":"p","params":["r"]})",
                      kT0);
  }
  EXPECT_THAT(
      host.Take(),
      ElementsAre(
          R"({"msg":"nosub","id":"c","error":{"isClientSafe":true,"error":429,"reason":"Too many subscriptions","message":"Too many subscriptions [429]","errorType":"Meteor.Error"}})"));
  EXPECT_EQ(host.started.size(), 2u);
  EXPECT_FALSE(host.closed);
  // Freeing a slot allows a new sub.
  session.OnMessage(R"({"msg":"unsub","id":"a"})", kT0);
  session.OnMessage(R"({"msg":"sub","id":"c","name":"p","params":["r"]})", kT0);
  EXPECT_EQ(host.started.size(), 3u);
  EXPECT_EQ(session.subscription_count(), 2u);
}

TEST_F(SessionTest, ActiveSubscriptionsInStartOrder) {
  Connect();
  for (const char* id : {"z", "a", "m", "b"}) Sub(id);
  Feed(R"({"msg":"unsub","id":"m"})");
  EXPECT_THAT(session_.active_subscriptions(), ElementsAre("z", "a", "b"));
}

TEST_F(SessionTest, RepeatedReadyAllowed) {
  Connect();
  Sub("s1");
  session_.SubscriptionReady("s1");
  session_.SubscriptionReady("s1");
  EXPECT_EQ(host_.Take().size(), 2u);
}

// ---- methods ----

TEST_F(SessionTest, MethodResultSendsUpdatedThenResult) {
  Connect();
  EXPECT_THAT(
      Feed(
          R"({"msg":"method","id":"1","method":"login","params":[{"resume":"tok"}],"randomSeed":"s"})"),
      IsEmpty());
  ASSERT_EQ(host_.calls.size(), 1u);
  EXPECT_EQ(host_.calls[0].id, "1");
  EXPECT_EQ(host_.calls[0].method, "login");
  EXPECT_EQ(host_.calls[0].params,
            boost::json::parse(R"([{"resume":"tok"}])").as_array());
  session_.MethodDone("1", boost::json::parse(R"({"id":"u1","token":"tok"})"),
                      std::nullopt);
  EXPECT_THAT(
      host_.Take(),
      ElementsAre(
          R"({"msg":"updated","methods":["1"]})",
          R"({"msg":"result","id":"1","result":{"id":"u1","token":"tok"}})"));
}

TEST_F(SessionTest, MethodWithoutResult) {
  Connect();
  Feed(R"({"msg":"method","id":"2","method":"logout"})");
  EXPECT_TRUE(host_.calls[0].params.empty());
  session_.MethodDone("2", std::nullopt, std::nullopt);
  EXPECT_THAT(host_.Take(), ElementsAre(R"({"msg":"updated","methods":["2"]})",
                                        R"({"msg":"result","id":"2"})"));
}

TEST_F(SessionTest, MethodErrorSendsResultThenUpdated) {
  Connect();
  Feed(R"({"msg":"method","id":"3","method":"x"})");
  session_.MethodDone("3", std::nullopt,
                      MakeError(404, "Method 'x' not found"));
  EXPECT_THAT(
      host_.Take(),
      ElementsAre(
          R"({"msg":"result","id":"3","error":{"isClientSafe":true,"error":404,"reason":"Method 'x' not found","message":"Method 'x' not found [404]","errorType":"Meteor.Error"}})",
          R"({"msg":"updated","methods":["3"]})"));
}

TEST_F(SessionTest, DuplicateAndUnknownMethodDoneIgnored) {
  Connect();
  Feed(R"({"msg":"method","id":"1","method":"m"})");
  session_.MethodDone("1", std::nullopt, std::nullopt);
  host_.Take();
  session_.MethodDone("1", std::nullopt, std::nullopt);
  session_.MethodDone("nope", std::nullopt, std::nullopt);
  EXPECT_THAT(host_.Take(), IsEmpty());
}

TEST_F(SessionTest, SameMethodIdTwiceGetsTwoResults) {
  Connect();
  Feed(R"({"msg":"method","id":"1","method":"m"})");
  Feed(R"({"msg":"method","id":"1","method":"m"})");
  session_.MethodDone("1", std::nullopt, std::nullopt);
  session_.MethodDone("1", std::nullopt, std::nullopt);
  session_.MethodDone("1", std::nullopt, std::nullopt);
  EXPECT_EQ(host_.Take().size(), 4u);
}

TEST_F(SessionTest, NothingSentAfterClose) {
  Connect();
  Sub("s1");
  Feed(R"({"msg":"method","id":"1","method":"m"})");
  AdvanceTo(kT0 + absl::Seconds(60));
  ASSERT_TRUE(host_.closed);
  host_.Take();
  session_.SubscriptionReady("s1");
  session_.MethodDone("1", std::nullopt, std::nullopt);
  EXPECT_THAT(host_.Take(), IsEmpty());
  EXPECT_EQ(session_.subscription_count(), 0u);
}

}  // namespace
}  // namespace vent::ddp
