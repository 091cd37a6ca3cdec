// Publisher's delivery contract against a real redis-server: a publish
// answered UNAVAILABLE was never executed by Redis, one answered OK was, and
// DEADLINE_EXCEEDED ("may have been published") is the only answer for
// commands that reached the socket without a reply. Checked with an
// independent raw SUBSCRIBE connection while Redis is stalled (DEBUG SLEEP,
// not reading its sockets) under a load larger than the kernel's socket
// buffers, and across Stop with a timeout.
#include "vent/redis/publisher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server/raw_subscriber_test_util.h"
#include "vent/testing/redis_server.h"

namespace vent::redis {
namespace {

namespace asio = boost::asio;
using server::testing::Collector;
using server::testing::RedisStall;
using Clock = std::chrono::steady_clock;

// Polls `cond` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& cond, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!cond()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class PublisherTruth : public ::testing::Test {
 protected:
  void SetUp() override {
    // DEBUG is needed to stall Redis; pub/sub output buffers unlimited so the
    // raw subscriber is never disconnected for lagging.
    auto s = testing::RedisServer::Start({"--enable-debug-command", "local",
                                          "--client-output-buffer-limit",
                                          "pubsub 0 0 0"});
    ASSERT_TRUE(s.ok()) << s.status();
    redis_ = std::move(*s);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    publisher_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  Options Opts() {
    Options o;
    o.endpoint = *ParseUrl(redis_->url());
    o.backoff_initial = absl::Milliseconds(20);
    o.backoff_max = absl::Milliseconds(100);
    o.connect_timeout = absl::Milliseconds(300);
    o.client_name = "truth-pub";
    return o;
  }

  void StartPublisher(Options o) {
    publisher_ = std::make_unique<Publisher>(io_, std::move(o));
    publisher_->Start();
    ASSERT_TRUE(
        WaitFor([&] { return publisher_->connected(); }, absl::Seconds(10)));
  }

  std::unique_ptr<testing::RedisServer> redis_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      work_{io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<Publisher> publisher_;
};

struct Results {
  std::mutex mu;
  std::vector<std::optional<absl::StatusOr<int64_t>>> r;
  std::promise<void> all;
  size_t left;
  explicit Results(size_t n) : r(n), left(n) {}
  Publisher::Callback At(size_t i) {
    return [this, i](absl::StatusOr<int64_t> v) {
      std::lock_guard l(mu);
      r[i] = std::move(v);
      if (--left == 0) all.set_value();
    };
  }
};

// Redis sleeps (reads nothing) while 48 MiB of publishes are queued: the
// kernel takes what fits in the socket buffers, the rest waits in the
// publisher. The command timeout drops the connection. Every answer must match
// what Redis then executed.
TEST_F(PublisherTruth, StalledRedisAnswersMatchWhatRedisExecuted) {
  Options o = Opts();
  o.command_timeout = absl::Milliseconds(800);
  StartPublisher(o);
  const int64_t old_id = server::testing::RedisClientId(*redis_, "truth-pub");
  ASSERT_GT(old_id, 0);
  Collector seen(redis_->port(), "truth", "END");
  ASSERT_TRUE(seen.ok());

  RedisStall stall(redis_.get());
  ASSERT_TRUE(stall.Start(absl::Seconds(3))) << "redis never stalled";

  constexpr size_t kN = 768;
  const std::string pad(64 * 1024, 'x');
  Results results(kN);
  for (size_t i = 0; i < kN; ++i) {
    publisher_->Publish("truth", absl::StrCat(i, ":", pad), results.At(i));
  }
  ASSERT_EQ(results.all.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  ASSERT_TRUE(stall.Join());
  // Redis has run whatever reached it once the old connection is gone.
  ASSERT_TRUE(server::testing::WaitRedisClientGone(*redis_, old_id));
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "truth", "END"}).ok());
  auto payloads = seen.Wait();
  ASSERT_TRUE(payloads.has_value());
  auto got = Collector::Count(*payloads);

  size_t ok = 0, maybe = 0, not_sent = 0;
  for (size_t i = 0; i < kN; ++i) {
    const auto& r = *results.r[i];
    int times = 0;
    if (auto it = got.find(absl::StrCat(i, ":", pad)); it != got.end())
      times = it->second;
    EXPECT_LE(times, 1) << i;
    if (r.ok()) {
      ++ok;
      EXPECT_EQ(times, 1) << i << " answered OK but not executed";
    } else if (absl::IsUnavailable(r.status())) {
      ++not_sent;
      EXPECT_EQ(times, 0) << i << " answered UNAVAILABLE but executed: "
                          << r.status();
      EXPECT_TRUE(
          absl::StrContains(r.status().message(), "nothing was published"))
          << r.status();
    } else {
      ASSERT_TRUE(absl::IsDeadlineExceeded(r.status())) << i << r.status();
      EXPECT_TRUE(
          absl::StrContains(r.status().message(), "may have been published"))
          << r.status();
      ++maybe;
    }
  }
  size_t executed = 0;
  for (const auto& [p, n] : got) executed += static_cast<size_t>(n);
  std::printf(
      "[ metric ] %zu OK, %zu may have been published, %zu not sent; "
      "Redis executed %zu\n",
      ok, maybe, not_sent, executed);
  // Both kinds of failure happened: some commands reached the socket, the
  // rest did not fit into the kernel's buffers.
  EXPECT_GT(maybe, 0u);
  EXPECT_GT(not_sent, 0u);
  EXPECT_EQ(ok + maybe + not_sent, kN);
}

// Stop with a timeout while Redis sleeps: the unanswered publishes (sent, in
// Redis's socket buffer) end DEADLINE_EXCEEDED at the timeout; Redis executes
// them when it wakes.
TEST_F(PublisherTruth, StopTimeoutAnswersSentPublishesAsMaybe) {
  StartPublisher(Opts());
  Collector seen(redis_->port(), "stop", "END");
  ASSERT_TRUE(seen.ok());
  RedisStall stall(redis_.get());
  ASSERT_TRUE(stall.Start(absl::Seconds(2))) << "redis never stalled";
  constexpr size_t kN = 20;
  Results results(kN);
  for (size_t i = 0; i < kN; ++i) {
    publisher_->Publish("stop", absl::StrCat("m", i), results.At(i));
  }
  std::promise<void> drained;
  auto start = Clock::now();
  publisher_->Stop([&] { drained.set_value(); }, absl::Milliseconds(300));
  ASSERT_EQ(drained.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
  ASSERT_EQ(results.all.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  for (size_t i = 0; i < kN; ++i) {
    const auto& r = *results.r[i];
    ASSERT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(),
                                  "stopped before redis answered"))
        << r.status();
  }
  std::promise<absl::StatusOr<int64_t>> after;
  publisher_->Publish("stop", "late",
                      [&](absl::StatusOr<int64_t> r) { after.set_value(r); });
  EXPECT_TRUE(absl::IsUnavailable(after.get_future().get().status()));
  ASSERT_TRUE(stall.Join());
  ASSERT_TRUE(redis_->Cli({"PUBLISH", "stop", "END"}).ok());
  auto payloads = seen.Wait();
  ASSERT_TRUE(payloads.has_value());
  auto got = Collector::Count(*payloads);
  for (size_t i = 0; i < kN; ++i) {
    EXPECT_EQ(got[absl::StrCat("m", i)], 1) << i;
  }
}

}  // namespace
}  // namespace vent::redis
