#include "vent/redis/publisher.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "vent/redis/connection.h"

namespace vent::redis {
namespace internal {

namespace asio = boost::asio;

class PublisherImpl final : public Connection {
 public:
  PublisherImpl(asio::io_context& io, Options options)
      : Connection(io, std::move(options), "publisher") {}

  void Publish(std::string channel, std::string message,
               Publisher::Callback done) {
    absl::Status reject;
    if (stopping_.load(std::memory_order_acquire)) {
      reject = absl::UnavailableError("redis publisher stopped");
    } else if (!connected()) {
      reject = absl::UnavailableError("redis not connected");
    } else if (pending_.fetch_add(1, std::memory_order_acq_rel) >=
               options().max_pending) {
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      reject = absl::ResourceExhaustedError("too many pending redis publishes");
    }
    if (!reject.ok()) {
      asio::post(io(), [done = std::move(done), reject]() mutable {
        std::move(done)(reject);
      });
      return;
    }
    bool schedule;
    {
      absl::MutexLock lock(&mu_);
      AppendCommand(intake_, {"PUBLISH", channel, message});
      intake_done_.push_back(std::move(done));
      schedule = !flush_posted_;
      flush_posted_ = true;
    }
    if (schedule) {
      asio::post(io(), [self = Self()] { self->Flush(); });
    }
  }

  size_t pending() const { return pending_.load(std::memory_order_acquire); }

  void Stop(absl::AnyInvocable<void() &&> drained) {
    stopping_.store(true, std::memory_order_release);
    asio::post(io(), [self = Self(), drained = std::move(drained)]() mutable {
      self->drained_.push_back(std::move(drained));
      self->Flush();
      self->MaybeFinishStop();
    });
  }

  // From ~Publisher: stop without waiting for replies.
  void Abandon() {
    stopping_.store(true, std::memory_order_release);
    asio::post(io(), [self = Self()] {
      self->FailAll(absl::UnavailableError("redis publisher destroyed"));
      self->Shutdown();
    });
  }

 private:
  struct InFlight {
    Publisher::Callback done;
    Clock::time_point deadline;
  };

  std::shared_ptr<PublisherImpl> Self() {
    return std::static_pointer_cast<PublisherImpl>(shared_from_this());
  }

  // io thread: moves the intake into one write.
  void Flush() {
    std::string bytes;
    std::vector<Publisher::Callback> dones;
    {
      absl::MutexLock lock(&mu_);
      flush_posted_ = false;
      bytes.swap(intake_);
      dones.swap(intake_done_);
    }
    if (dones.empty()) return;
    if (!session_up()) {
      for (auto& d : dones)
        Complete(std::move(d), absl::UnavailableError("redis not connected"));
      return;
    }
    auto deadline =
        Clock::now() + absl::ToChronoNanoseconds(options().command_timeout);
    for (auto& d : dones) in_flight_.push_back({std::move(d), deadline});
    Write(bytes);
    Expect(dones.size());
  }

  void Complete(Publisher::Callback done, absl::StatusOr<int64_t> result) {
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    std::move(done)(std::move(result));
  }

  void OnUp() override {}

  absl::Status OnReply(ReplyPtr reply) override {
    if (in_flight_.empty()) {
      return absl::InternalError("redis sent a reply nobody asked for: " +
                                 DebugString(*reply));
    }
    Answered();
    Publisher::Callback done = std::move(in_flight_.front().done);
    in_flight_.pop_front();
    switch (TypeOf(*reply)) {
      case ReplyType::kInteger:
        Complete(std::move(done), IntegerOf(*reply));
        break;
      case ReplyType::kError:
        Complete(std::move(done),
                 ErrorReplyToStatus("PUBLISH", StringOf(*reply)));
        break;
      default:
        Complete(std::move(done),
                 absl::InternalError("unexpected PUBLISH reply: " +
                                     DebugString(*reply)));
    }
    MaybeFinishStop();
    return absl::OkStatus();
  }

  void OnDown(const absl::Status& why) override {
    auto now = Clock::now();
    std::deque<InFlight> lost;
    lost.swap(in_flight_);
    for (auto& f : lost) {
      absl::Status st = absl::IsDeadlineExceeded(why) && f.deadline <= now
                            ? why
                            : absl::UnavailableError(
                                  "redis connection lost before the reply: " +
                                  std::string(why.message()));
      Complete(std::move(f.done), st);
    }
    Flush();  // fails what was queued meanwhile
    MaybeFinishStop();
  }

  void FailAll(const absl::Status& st) {
    Flush();
    std::deque<InFlight> lost;
    lost.swap(in_flight_);
    for (auto& f : lost) Complete(std::move(f.done), st);
  }

  void MaybeFinishStop() {
    if (!stopping_.load(std::memory_order_acquire) || drained_.empty()) return;
    if (session_up() && !in_flight_.empty()) return;
    FailAll(absl::UnavailableError("redis publisher stopped"));
    Shutdown();
    std::vector<absl::AnyInvocable<void() &&>> drained;
    drained.swap(drained_);
    for (auto& d : drained) {
      asio::post(io(), std::move(d));
    }
  }

  std::atomic<bool> stopping_{false};
  std::atomic<size_t> pending_{0};
  absl::Mutex mu_;
  std::string intake_ ABSL_GUARDED_BY(mu_);
  std::vector<Publisher::Callback> intake_done_ ABSL_GUARDED_BY(mu_);
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;
  // io thread only.
  std::deque<InFlight> in_flight_;
  std::vector<absl::AnyInvocable<void() &&>> drained_;
};

}  // namespace internal

Publisher::Publisher(boost::asio::io_context& io, Options options)
    : impl_(std::make_shared<internal::PublisherImpl>(io, std::move(options))) {
}

Publisher::~Publisher() { impl_->Abandon(); }

void Publisher::Start() { impl_->Start(); }

void Publisher::Publish(std::string channel, std::string message,
                        Callback done) {
  impl_->Publish(std::move(channel), std::move(message), std::move(done));
}

bool Publisher::connected() const { return impl_->connected(); }
size_t Publisher::pending() const { return impl_->pending(); }
absl::Status Publisher::last_error() const { return impl_->last_error(); }

void Publisher::Stop(absl::AnyInvocable<void() &&> drained) {
  impl_->Stop(std::move(drained));
}

}  // namespace vent::redis
