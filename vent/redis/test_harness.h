// Test-only helpers for Publisher/Subscriber integration tests: an io thread,
// a Sink that records what a Subscriber delivers, and blocking wrappers with
// deadlines (the test thread waits on futures/condition variables, never on
// fixed sleeps).
#ifndef VENT_REDIS_TEST_HARNESS_H_
#define VENT_REDIS_TEST_HARNESS_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "vent/redis/publisher.h"
#include "vent/redis/subscriber.h"

namespace vent::redis::testing {

using Clock = std::chrono::steady_clock;

// Messages and state changes seen by a Subscriber, readable from any thread.
class Sink {
 public:
  Subscriber::Handlers Handlers() {
    return {
        [this](const std::string& ch, std::shared_ptr<const std::string> p) {
          std::lock_guard l(mu_);
          messages_.emplace_back(ch, *p);
          cv_.notify_all();
        },
        [this](bool up) {
          std::lock_guard l(mu_);
          states_.push_back(up);
          cv_.notify_all();
        }};
  }
  // The next message, or nullopt after `wait`.
  std::optional<std::pair<std::string, std::string>> Next(
      std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, wait, [&] { return !messages_.empty(); })) {
      return std::nullopt;
    }
    auto m = messages_.front();
    messages_.pop_front();
    return m;
  }
  // Consumes state reports until one equals `up`.
  bool WaitState(bool up,
                 std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, wait, [&] {
      while (!states_.empty()) {
        bool s = states_.front();
        states_.pop_front();
        if (s == up) return true;
      }
      return false;
    });
  }
  void Clear() {
    std::lock_guard l(mu_);
    messages_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> messages_;
  std::deque<bool> states_;
};

class Harness {
 public:
  Harness() : thread_([this] { io_.run(); }) {}
  ~Harness() {
    subscriber.reset();
    publisher.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

  // Runs `f` on the io thread and waits for it.
  template <typename F>
  bool OnIo(F f, std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    return done.get_future().wait_for(wait) == std::future_status::ready;
  }

  Publisher& StartPublisher(Options o) {
    publisher = std::make_unique<Publisher>(io_, std::move(o));
    publisher->Start();
    return *publisher;
  }
  Subscriber& StartSubscriber(Options o) {
    subscriber =
        std::make_unique<Subscriber>(io_, std::move(o), sink.Handlers());
    subscriber->Start();
    return *subscriber;
  }

  absl::StatusOr<int64_t> Publish(
      const std::string& ch, const std::string& msg,
      std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    auto p = std::make_shared<std::promise<absl::StatusOr<int64_t>>>();
    auto f = p->get_future();
    publisher->Publish(ch, msg,
                       [p](absl::StatusOr<int64_t> r) { p->set_value(r); });
    if (f.wait_for(wait) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: publish callback never ran");
    }
    return f.get();
  }

  // Retries while the answer is UNAVAILABLE, until `wait` passes.
  absl::StatusOr<int64_t> PublishWhenUp(
      const std::string& ch, const std::string& msg,
      std::chrono::milliseconds wait = std::chrono::seconds(20)) {
    auto deadline = Clock::now() + wait;
    absl::StatusOr<int64_t> r = absl::UnavailableError("never tried");
    while (Clock::now() < deadline) {
      r = Publish(ch, msg);
      if (r.ok() || !absl::IsUnavailable(r.status())) return r;
      // One io turn plus a short pause between attempts (bounded by the
      // deadline): the publisher reconnects on its own.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return r;
  }

  absl::Status SubscribeAndWait(
      const std::string& ch,
      std::chrono::milliseconds wait = std::chrono::seconds(20)) {
    auto p = std::make_shared<std::promise<absl::Status>>();
    auto f = p->get_future();
    OnIo([&] {
      subscriber->Subscribe(ch, [p](absl::Status s) { p->set_value(s); });
    });
    if (f.wait_for(wait) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: no subscribe ack");
    }
    return f.get();
  }

  Sink sink;
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<Subscriber> subscriber;

 private:
  boost::asio::io_context io_;
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_{io_.get_executor()};
  std::thread thread_;
};

}  // namespace vent::redis::testing

#endif  // VENT_REDIS_TEST_HARNESS_H_
