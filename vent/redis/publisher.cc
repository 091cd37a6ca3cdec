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
      AppendPublish(intake_, channel, message);
      intake_done_.push_back(Pending{std::move(done), nullptr});
      schedule = !flush_posted_;
      flush_posted_ = true;
    }
    if (schedule) {
      asio::post(io(), [self = Self()] { self->Flush(); });
    }
  }

  void PublishBatch(std::vector<Publisher::Message> messages,
                    Publisher::BatchCallback done) {
    const size_t n = messages.size();
    absl::Status reject;
    if (n == 0) {
      asio::post(io(), [done = std::move(done)]() mutable {
        std::move(done)(std::vector<absl::StatusOr<int64_t>>());
      });
      return;
    }
    if (stopping_.load(std::memory_order_acquire)) {
      reject = absl::UnavailableError("redis publisher stopped");
    } else if (!connected()) {
      reject = absl::UnavailableError("redis not connected");
    } else if (pending_.fetch_add(n, std::memory_order_acq_rel) + n >
               options().max_pending) {
      pending_.fetch_sub(n, std::memory_order_acq_rel);
      reject = absl::ResourceExhaustedError("too many pending redis publishes");
    }
    if (!reject.ok()) {
      asio::post(io(), [done = std::move(done), reject, n]() mutable {
        std::move(done)(std::vector<absl::StatusOr<int64_t>>(n, reject));
      });
      return;
    }
    auto batch = std::make_shared<Batch>();
    batch->results.resize(n);
    batch->done = std::move(done);
    // Encoded outside the lock; appended to (or swapped into) the intake.
    size_t size = 0;
    for (const auto& m : messages)
      size += m.channel.size() + m.message.size() + 40;
    std::string bytes;
    bytes.reserve(size);
    for (const auto& m : messages) {
      AppendPublish(bytes, m.channel, m.message);
    }
    bool schedule;
    {
      absl::MutexLock lock(&mu_);
      if (intake_.empty()) {
        intake_.swap(bytes);
      } else {
        intake_.append(bytes);
      }
      intake_done_.push_back(Pending{nullptr, std::move(batch)});
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
  // A PublishBatch: its replies fill `results` in order; the last one runs
  // `done`.
  struct Batch {
    std::vector<absl::StatusOr<int64_t>> results;
    size_t next = 0;
    Publisher::BatchCallback done;
  };
  // One Publish, or one whole PublishBatch (`batch` set).
  struct Pending {
    Publisher::Callback done;
    std::shared_ptr<Batch> batch;
    size_t replies() const { return batch ? batch->results.size() : 1; }
  };
  struct InFlight {
    Publisher::Callback done;
    std::shared_ptr<Batch>
        batch;  // replies owed: batch->results.size() - batch->next
    Clock::time_point deadline;
  };

  std::shared_ptr<PublisherImpl> Self() {
    return std::static_pointer_cast<PublisherImpl>(shared_from_this());
  }

  // io thread: moves the intake into one write.
  void Flush() {
    std::string bytes;
    std::vector<Pending> dones;
    {
      absl::MutexLock lock(&mu_);
      flush_posted_ = false;
      bytes.swap(intake_);
      dones.swap(intake_done_);
    }
    if (dones.empty()) return;
    if (!session_up()) {
      for (auto& d : dones) {
        FailPending(InFlight{std::move(d.done), std::move(d.batch), {}},
                    absl::UnavailableError("redis not connected"));
      }
      return;
    }
    auto deadline =
        Clock::now() + absl::ToChronoNanoseconds(options().command_timeout);
    size_t replies = 0;
    for (auto& d : dones) {
      replies += d.replies();
      in_flight_.push_back({std::move(d.done), std::move(d.batch), deadline});
    }
    Write(std::move(bytes));
    Expect(replies);
  }

  void Complete(Publisher::Callback done, absl::StatusOr<int64_t> result) {
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    std::move(done)(std::move(result));
  }

  // Records one reply for the front entry; pops it when it is complete.
  void CompleteFront(absl::StatusOr<int64_t> result) {
    InFlight& f = in_flight_.front();
    if (!f.batch) {
      Publisher::Callback done = std::move(f.done);
      in_flight_.pop_front();
      Complete(std::move(done), std::move(result));
      return;
    }
    Batch& b = *f.batch;
    b.results[b.next++] = std::move(result);
    if (b.next < b.results.size()) return;
    std::shared_ptr<Batch> batch = std::move(f.batch);
    in_flight_.pop_front();
    FinishBatch(*batch);
  }

  void FinishBatch(Batch& b) {
    pending_.fetch_sub(b.results.size(), std::memory_order_acq_rel);
    std::move(b.done)(std::move(b.results));
  }

  // Fails whatever `f` still owes with `st`.
  void FailPending(InFlight f, const absl::Status& st) {
    if (!f.batch) {
      Complete(std::move(f.done), st);
      return;
    }
    Batch& b = *f.batch;
    while (b.next < b.results.size()) b.results[b.next++] = st;
    FinishBatch(b);
  }

  void OnUp() override {}

  absl::Status OnReply(ReplyPtr reply) override {
    if (in_flight_.empty()) {
      return absl::InternalError("redis sent a reply nobody asked for: " +
                                 DebugString(*reply));
    }
    Answered();
    switch (TypeOf(*reply)) {
      case ReplyType::kInteger:
        CompleteFront(IntegerOf(*reply));
        break;
      case ReplyType::kError:
        CompleteFront(ErrorReplyToStatus("PUBLISH", StringOf(*reply)));
        break;
      default:
        CompleteFront(absl::InternalError("unexpected PUBLISH reply: " +
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
      FailPending(std::move(f), st);
    }
    Flush();  // fails what was queued meanwhile
    MaybeFinishStop();
  }

  void FailAll(const absl::Status& st) {
    Flush();
    std::deque<InFlight> lost;
    lost.swap(in_flight_);
    for (auto& f : lost) FailPending(std::move(f), st);
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
  std::vector<Pending> intake_done_ ABSL_GUARDED_BY(mu_);
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

void Publisher::PublishBatch(std::vector<Message> messages,
                             BatchCallback done) {
  impl_->PublishBatch(std::move(messages), std::move(done));
}

bool Publisher::connected() const { return impl_->connected(); }
size_t Publisher::pending() const { return impl_->pending(); }
absl::Status Publisher::last_error() const { return impl_->last_error(); }

void Publisher::Stop(absl::AnyInvocable<void() &&> drained) {
  impl_->Stop(std::move(drained));
}

}  // namespace vent::redis
