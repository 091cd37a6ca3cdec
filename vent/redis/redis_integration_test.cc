// Publisher/Subscriber against a real redis-server
// (vent::testing::RedisServer). The io_context runs on its own thread; the test
// thread waits on futures and condition variables with deadlines.
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/redis/publisher.h"
#include "vent/redis/resp.h"
#include "vent/redis/subscriber.h"
#include "vent/testing/redis_server.h"

namespace vent::redis {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(10);

// Messages and state changes seen by a Subscriber, readable from the test
// thread.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> messages;
  std::deque<bool> states;

  Subscriber::Handlers Handlers() {
    return {
        [this](const std::string& ch, std::shared_ptr<const std::string> p) {
          std::lock_guard l(mu);
          messages.emplace_back(ch, *p);
          cv.notify_all();
        },
        [this](bool up) {
          std::lock_guard l(mu);
          states.push_back(up);
          cv.notify_all();
        }};
  }
  // Pops the next message, or fails after the deadline.
  std::optional<std::pair<std::string, std::string>> Next() {
    std::unique_lock l(mu);
    if (!cv.wait_for(l, kWait, [&] { return !messages.empty(); }))
      return std::nullopt;
    auto m = messages.front();
    messages.pop_front();
    return m;
  }
  bool WaitState(bool up) {
    std::unique_lock l(mu);
    return cv.wait_for(l, kWait, [&] {
      while (!states.empty()) {
        bool s = states.front();
        states.pop_front();
        if (s == up) return true;
      }
      return false;
    });
  }
};

class RedisIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = testing::RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    subscriber_.reset();
    publisher_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  Options Opts() {
    Options o;
    o.endpoint = *ParseUrl(server_->url());
    o.backoff_initial = absl::Milliseconds(20);
    o.backoff_max = absl::Milliseconds(200);
    return o;
  }

  // Runs `f` on the io thread and waits for it.
  template <typename F>
  void OnIo(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    ASSERT_EQ(done.get_future().wait_for(kWait), std::future_status::ready);
  }

  Publisher& StartPublisher(Options o) {
    publisher_ = std::make_unique<Publisher>(io_, std::move(o));
    publisher_->Start();
    return *publisher_;
  }

  // Waits until a publish succeeds (the publisher reconnects on its own).
  absl::StatusOr<int64_t> PublishWhenUp(const std::string& ch,
                                        const std::string& msg) {
    auto deadline = Clock::now() + kWait;
    absl::StatusOr<int64_t> r = absl::UnavailableError("never tried");
    while (Clock::now() < deadline) {
      r = Publish(ch, msg);
      if (r.ok() || !absl::IsUnavailable(r.status())) return r;
      std::promise<void> p;  // one io turn between attempts
      asio::post(io_, [&] { p.set_value(); });
      p.get_future().wait();
    }
    return r;
  }

  absl::StatusOr<int64_t> Publish(const std::string& ch,
                                  const std::string& msg) {
    std::promise<absl::StatusOr<int64_t>> p;
    auto f = p.get_future();
    publisher_->Publish(ch, msg,
                        [&p](absl::StatusOr<int64_t> r) { p.set_value(r); });
    if (f.wait_for(kWait) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: publish callback never ran");
    }
    return f.get();
  }

  Subscriber& StartSubscriber(Options o) {
    subscriber_ =
        std::make_unique<Subscriber>(io_, std::move(o), sink_.Handlers());
    subscriber_->Start();
    return *subscriber_;
  }

  absl::Status SubscribeAndWait(const std::string& ch) {
    std::promise<absl::Status> p;
    auto f = p.get_future();
    OnIo([&] {
      subscriber_->Subscribe(ch, [&p](absl::Status s) { p.set_value(s); });
    });
    if (f.wait_for(kWait) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: no subscribe ack");
    }
    return f.get();
  }

  std::string NumSub(const std::string& ch) {
    auto out = server_->Cli({"PUBSUB", "NUMSUB", ch});
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : "";
  }

  std::unique_ptr<testing::RedisServer> server_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      work_{io_.get_executor()};
  std::thread thread_;
  Sink sink_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Subscriber> subscriber_;
};

TEST_F(RedisIntegration, RawSubscriberReceivesExactBytes) {
  // A plain socket in pub/sub mode: the wire bytes must be exactly Redis'.
  asio::io_context raw_io;
  asio::ip::tcp::socket sock(raw_io);
  sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  std::string sub = EncodeCommand({"SUBSCRIBE", "raw"});
  asio::write(sock, asio::buffer(sub));
  std::string confirm = "*3\r\n$9\r\nsubscribe\r\n$3\r\nraw\r\n:1\r\n";
  std::string got(confirm.size(), '\0');
  asio::read(sock, asio::buffer(got));
  ASSERT_EQ(got, confirm);

  StartPublisher(Opts());
  std::string payload("{\"a\":\"\xc3\xa9\"}\r\n\0end", 17);
  auto r = PublishWhenUp("raw", payload);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  std::string want = absl::StrCat("*3\r\n$7\r\nmessage\r\n$3\r\nraw\r\n$17\r\n",
                                  payload, "\r\n");
  std::string msg(want.size(), '\0');
  asio::read(sock, asio::buffer(msg));
  EXPECT_EQ(msg, want);
}

TEST_F(RedisIntegration, RedisCliPublishReachesSubscriber) {
  StartSubscriber(Opts());
  ASSERT_TRUE(sink_.WaitState(true));
  ASSERT_TRUE(SubscribeAndWait("cli").ok());
  auto out = server_->Cli({"PUBLISH", "cli", "hello from cli"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "1\n");
  auto m = sink_.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, "cli");
  EXPECT_EQ(m->second, "hello from cli");
}

TEST_F(RedisIntegration, TenThousandPipelinedPublishesAckedInOrder) {
  StartSubscriber(Opts());
  ASSERT_TRUE(SubscribeAndWait("bulk").ok());
  Publisher& pub = StartPublisher(Opts());
  ASSERT_TRUE(PublishWhenUp("bulk", "warmup").ok());
  ASSERT_TRUE(sink_.Next().has_value());

  constexpr int kN = 10000;
  std::vector<int> order;  // io thread only
  std::vector<absl::StatusOr<int64_t>> results;
  std::promise<void> all;
  for (int i = 0; i < kN; ++i) {
    pub.Publish("bulk", absl::StrCat("m", i),
                [&, i](absl::StatusOr<int64_t> r) {
                  order.push_back(i);
                  results.push_back(r);
                  if (static_cast<int>(order.size()) == kN) all.set_value();
                });
  }
  ASSERT_EQ(all.get_future().wait_for(kWait), std::future_status::ready);
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(order[i], i);
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    ASSERT_EQ(*results[i], 1);
  }
  for (int i = 0; i < kN; ++i) {
    auto m = sink_.Next();
    ASSERT_TRUE(m.has_value()) << i;
    ASSERT_EQ(m->second, absl::StrCat("m", i));
  }
  EXPECT_EQ(pub.pending(), 0u);
}

TEST_F(RedisIntegration, PublishRightAfterAckIsNeverLost) {
  StartSubscriber(Opts());
  StartPublisher(Opts());
  ASSERT_TRUE(PublishWhenUp("nobody", "x").ok());
  for (int i = 0; i < 50; ++i) {
    std::string ch = absl::StrCat("ack", i);
    std::promise<absl::StatusOr<int64_t>> published;
    OnIo([&] {
      subscriber_->Subscribe(ch, [&, ch](absl::Status s) {
        ASSERT_TRUE(s.ok()) << s;
        publisher_->Publish(
            ch, "right after ack",
            [&](absl::StatusOr<int64_t> r) { published.set_value(r); });
      });
    });
    auto f = published.get_future();
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready) << i;
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 1) << i;
    auto m = sink_.Next();
    ASSERT_TRUE(m.has_value()) << i;
    EXPECT_EQ(m->first, ch);
  }
  size_t count = 0;
  OnIo([&] { count = subscriber_->channel_count(); });
  EXPECT_EQ(count, 50u);
}

TEST_F(RedisIntegration, RefcountedSubscriptions) {
  StartSubscriber(Opts());
  StartPublisher(Opts());
  ASSERT_TRUE(SubscribeAndWait("rc").ok());
  ASSERT_TRUE(
      SubscribeAndWait("rc").ok());  // second: already confirmed, posted ack
  EXPECT_EQ(NumSub("rc"), "rc\n1\n");
  OnIo([&] { subscriber_->Unsubscribe("rc"); });
  auto r = PublishWhenUp("rc", "still here");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  auto m = sink_.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "still here");

  // Last unsubscribe; a SUBSCRIBE sent in a later turn is answered after the
  // UNSUBSCRIBE, so its ack proves Redis processed the unsubscribe.
  OnIo([&] { subscriber_->Unsubscribe("rc"); });
  ASSERT_TRUE(SubscribeAndWait("fence").ok());
  EXPECT_EQ(NumSub("rc"), "rc\n0\n");
  size_t count = 0;
  OnIo([&] {
    count = subscriber_->channel_count();
    subscriber_->Unsubscribe("never-subscribed");  // no-op
  });
  EXPECT_EQ(count, 1u);
}

TEST_F(RedisIntegration, UnsubscribeSubscribeRaceEndsSubscribed) {
  StartSubscriber(Opts());
  StartPublisher(Opts());
  ASSERT_TRUE(SubscribeAndWait("race").ok());
  std::promise<absl::Status> ack1, ack2;
  OnIo([&] {
    subscriber_->Unsubscribe("race");  // UNSUBSCRIBE queued
    subscriber_->Subscribe("race", [&](absl::Status s) { ack1.set_value(s); });
  });
  // Flush happened: now an UNSUBSCRIBE is in flight; flip again before the
  // reply.
  OnIo([&] {
    subscriber_->Unsubscribe("race");
    subscriber_->Subscribe("race", [&](absl::Status s) { ack2.set_value(s); });
  });
  auto f1 = ack1.get_future(), f2 = ack2.get_future();
  ASSERT_EQ(f1.wait_for(kWait), std::future_status::ready);
  ASSERT_EQ(f2.wait_for(kWait), std::future_status::ready);
  // The first wish was withdrawn before confirmation (CANCELLED) or confirmed.
  absl::Status s1 = f1.get();
  EXPECT_TRUE(s1.ok() || absl::IsCancelled(s1)) << s1;
  EXPECT_TRUE(f2.get().ok());
  ASSERT_TRUE(SubscribeAndWait("fence").ok());
  EXPECT_EQ(NumSub("race"), "race\n1\n");
  auto r = PublishWhenUp("race", "after race");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
  auto m = sink_.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->second, "after race");
}

TEST_F(RedisIntegration, RedisDownThenBackOnSamePort) {
  StartSubscriber(Opts());
  ASSERT_TRUE(sink_.WaitState(true));
  ASSERT_TRUE(SubscribeAndWait("a").ok());
  ASSERT_TRUE(SubscribeAndWait("b").ok());
  Publisher& pub = StartPublisher(Opts());
  ASSERT_TRUE(PublishWhenUp("a", "before").ok());
  ASSERT_TRUE(sink_.Next().has_value());

  ASSERT_TRUE(server_->Stop().ok());
  ASSERT_TRUE(sink_.WaitState(false));
  auto t0 = Clock::now();
  auto r = Publish("a", "while down");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
  EXPECT_FALSE(subscriber_->connected());

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(sink_.WaitState(true));
  EXPECT_TRUE(subscriber_->connected());
  EXPECT_EQ(NumSub("a"), "a\n1\n");
  EXPECT_EQ(NumSub("b"), "b\n1\n");
  auto r2 = PublishWhenUp("b", "after restart");
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(*r2, 1);
  EXPECT_TRUE(pub.connected());
  auto m = sink_.Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, "b");
  EXPECT_EQ(m->second, "after restart");
}

TEST_F(RedisIntegration, SubscriberKilledByRedisResubscribes) {
  StartSubscriber(Opts());
  ASSERT_TRUE(SubscribeAndWait("k").ok());
  ASSERT_TRUE(sink_.WaitState(true));
  ASSERT_TRUE(server_->Cli({"CLIENT", "KILL", "TYPE", "pubsub"}).ok());
  ASSERT_TRUE(sink_.WaitState(false));
  ASSERT_TRUE(sink_.WaitState(true));
  StartPublisher(Opts());
  auto r = PublishWhenUp("k", "again");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1);
}

TEST_F(RedisIntegration, StopFailsPendingAcksWithCancelled) {
  Options o = Opts();
  o.endpoint.port = testing::FreePort();  // nothing listens: acks must wait
  StartSubscriber(o);
  std::promise<absl::Status> ack;
  OnIo([&] {
    subscriber_->Subscribe("x", [&](absl::Status s) { ack.set_value(s); });
  });
  subscriber_->Stop();
  auto f = ack.get_future();
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_TRUE(absl::IsCancelled(f.get()));
}

TEST_F(RedisIntegration, StopDrainsInFlightPublishes) {
  Publisher& pub = StartPublisher(Opts());
  ASSERT_TRUE(PublishWhenUp("d", "x").ok());
  constexpr int kN = 1000;
  int ok = 0, done = 0;  // io thread
  for (int i = 0; i < kN; ++i) {
    pub.Publish("d", "m", [&](absl::StatusOr<int64_t> r) {
      ok += r.ok();
      ++done;
    });
  }
  std::promise<void> drained;
  pub.Stop([&]() { drained.set_value(); });
  ASSERT_EQ(drained.get_future().wait_for(kWait), std::future_status::ready);
  int got_ok = 0, got_done = 0;
  OnIo([&] { got_ok = ok, got_done = done; });
  EXPECT_EQ(got_done, kN);
  EXPECT_EQ(got_ok, kN);
  auto r = Publish("d", "after stop");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

TEST_F(RedisIntegration, ReplyTooLateIsDeadlineExceeded) {
  Options o = Opts();
  o.command_timeout = absl::Milliseconds(300);
  StartPublisher(o);
  ASSERT_TRUE(PublishWhenUp("t", "x").ok());
  ASSERT_TRUE(server_->Cli({"CLIENT", "PAUSE", "1000", "ALL"}).ok());
  auto r = Publish("t", "paused");
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  ASSERT_TRUE(server_->Cli({"CLIENT", "UNPAUSE"}).ok());
  EXPECT_TRUE(PublishWhenUp("t", "resumed").ok());
}

TEST_F(RedisIntegration, SelectDbAndClientName) {
  Options o = Opts();
  o.endpoint.db = 3;
  o.client_name = "vent-test-pub";
  StartPublisher(o);
  ASSERT_TRUE(PublishWhenUp("s", "x").ok());
  auto list = server_->Cli({"CLIENT", "LIST"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list,
              ::testing::ContainsRegex(
                  "db=3 .*name=vent-test-pub|name=vent-test-pub .*db=3"));
}

TEST_F(RedisIntegration, BadDbIsAClearError) {
  Options o = Opts();
  o.endpoint.db = 999;
  Publisher& pub = StartPublisher(o);
  auto r = Publish("s", "x");
  EXPECT_TRUE(absl::IsUnavailable(r.status()));
  auto deadline = Clock::now() + kWait;
  while (pub.last_error().ok() && Clock::now() < deadline) {
    std::promise<void> p;
    asio::post(io_, [&] { p.set_value(); });
    p.get_future().wait();
  }
  EXPECT_THAT(std::string(pub.last_error().message()), HasSubstr("SELECT 999"));
  EXPECT_THAT(std::string(pub.last_error().message()),
              HasSubstr("out of range"));
}

// Not a benchmark gate: prints the rate so regressions are visible in logs.
TEST_F(RedisIntegration, HundredThousandPublishesThroughput) {
  Publisher& pub = StartPublisher(Opts());
  ASSERT_TRUE(PublishWhenUp("tp", "x").ok());
  constexpr int kN = 100000;
  const std::string payload(100, 'p');
  int ok = 0, done = 0;  // io thread
  std::promise<void> all;
  auto t0 = Clock::now();
  for (int i = 0; i < kN; ++i) {
    pub.Publish("tp", payload, [&](absl::StatusOr<int64_t> r) {
      ok += r.ok();
      if (++done == kN) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  int got_ok = 0;
  OnIo([&] { got_ok = ok; });
  EXPECT_EQ(got_ok, kN);
  std::printf(
      "[ RATE     ] %d pipelined PUBLISH (100 B) in %.3f s = %.0f "
      "publishes/s\n",
      kN, secs, kN / secs);
}

class RedisAuth : public RedisIntegration {
 protected:
  absl::Status WaitError(Publisher& pub) {
    auto deadline = Clock::now() + kWait;
    while (pub.last_error().ok() && Clock::now() < deadline) {
      std::promise<void> p;
      asio::post(io_, [&] { p.set_value(); });
      p.get_future().wait();
    }
    return pub.last_error();
  }
};

TEST_F(RedisAuth, PasswordAndAclUser) {
  ASSERT_TRUE(server_->Cli({"CONFIG", "SET", "requirepass", "s3cret"}).ok());
  Options o = Opts();
  o.endpoint.password = "s3cret";
  StartPublisher(o);
  auto r = PublishWhenUp("p", "x");
  ASSERT_TRUE(r.ok()) << r.status();
  publisher_.reset();

  ASSERT_TRUE(server_
                  ->Cli({"-a", "s3cret", "--no-auth-warning", "ACL", "SETUSER",
                         "bob", "on", ">pw2", "~*", "&*", "+@all"})
                  .ok());
  auto ep = ParseUrl(
      absl::StrCat("redis://bob:pw2@127.0.0.1:", server_->port(), "/0"));
  ASSERT_TRUE(ep.ok());
  o.endpoint = *ep;
  StartPublisher(o);
  r = PublishWhenUp("p", "as bob");
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(RedisAuth, WrongOrMissingPasswordIsAClearError) {
  ASSERT_TRUE(server_->Cli({"CONFIG", "SET", "requirepass", "s3cret"}).ok());
  Options o = Opts();
  o.endpoint.password = "wrong";
  Publisher& pub = StartPublisher(o);
  absl::Status st = WaitError(pub);
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("AUTH"));
  EXPECT_THAT(std::string(st.message()), ::testing::Not(HasSubstr("wrong")));
  EXPECT_FALSE(pub.connected());
  EXPECT_TRUE(absl::IsUnavailable(Publish("p", "x").status()));
  publisher_.reset();

  o.endpoint.password.clear();
  Publisher& pub2 = StartPublisher(o);
  st = WaitError(pub2);
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("NOAUTH"));
}

}  // namespace
}  // namespace vent::redis
