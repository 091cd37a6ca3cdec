#include "vent/redis/publisher.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "vent/redis/cluster_publisher.h"
#include "vent/redis/connection.h"
#include "vent/redis/history.h"
#include "vent/redis/topology.h"

namespace vent::redis {
namespace internal {

namespace asio = boost::asio;

class PublisherImpl final : public Connection {
 public:
  PublisherImpl(asio::io_context& io, Options options)
      : Connection(io, std::move(options), "publisher"), stop_timer_(io) {}

  void Publish(std::string channel, std::string message,
               Publisher::Callback done,
               const std::optional<HistorySpec>& history) {
    absl::Status reject;
    std::optional<HistoryKeys> keys;
    if (history) {
      absl::StatusOr<HistoryKeys> k = HistoryKeysFor(channel);
      if (!k.ok()) {
        asio::post(io(), [done = std::move(done), st = k.status()]() mutable {
          std::move(done)(st);
        });
        return;
      }
      keys = std::move(*k);
    }
    if (stopping_.load(std::memory_order_acquire)) {
      reject = absl::UnavailableError(
          "redis publisher stopped; nothing was published");
    } else if (!connected()) {
      reject =
          absl::UnavailableError("redis not connected; nothing was published");
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
      const size_t before = intake_.size();
      if (keys) {
        AppendHistoryPublish(intake_, channel, *keys, message, *history,
                             sharded_, NewEpoch());
      } else {
        AppendPublish(intake_, channel, message, sharded_);
      }
      intake_done_.push_back(
          Pending{std::move(done), nullptr, intake_.size() - before, {}});
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
      reject = absl::UnavailableError(
          "redis publisher stopped; nothing was published");
    } else if (!connected()) {
      reject =
          absl::UnavailableError("redis not connected; nothing was published");
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
    // History channels without usable keys fail the whole batch before
    // anything is sent (the caller validates channels first).
    std::vector<std::optional<HistoryKeys>> keys(n);
    for (size_t i = 0; i < n; ++i) {
      if (!messages[i].history) continue;
      absl::StatusOr<HistoryKeys> k = HistoryKeysFor(messages[i].channel);
      if (!k.ok()) {
        pending_.fetch_sub(n, std::memory_order_acq_rel);
        asio::post(
            io(), [done = std::move(done), st = k.status(), n]() mutable {
              std::move(done)(std::vector<absl::StatusOr<int64_t>>(n, st));
            });
        return;
      }
      keys[i] = std::move(*k);
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
    for (size_t i = 0; i < n; ++i) {
      const auto& m = messages[i];
      if (keys[i]) {
        AppendHistoryPublish(bytes, m.channel, *keys[i], m.message, *m.history,
                             sharded_, NewEpoch());
      } else {
        AppendPublish(bytes, m.channel, m.message, sharded_);
      }
    }
    bool schedule;
    const size_t batch_bytes = bytes.size();
    {
      absl::MutexLock lock(&mu_);
      if (intake_.empty()) {
        intake_.swap(bytes);
      } else {
        intake_.append(bytes);
      }
      intake_done_.push_back(
          Pending{nullptr, std::move(batch), batch_bytes, {}});
      schedule = !flush_posted_;
      flush_posted_ = true;
    }
    if (schedule) {
      asio::post(io(), [self = Self()] { self->Flush(); });
    }
  }

  void Call(std::vector<std::string> args, Publisher::CallCallback done) {
    absl::Status reject;
    if (stopping_.load(std::memory_order_acquire)) {
      reject = absl::UnavailableError("redis publisher stopped");
    } else if (!connected()) {
      reject = absl::UnavailableError("redis not connected");
    } else if (pending_.fetch_add(1, std::memory_order_acq_rel) >=
               options().max_pending) {
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      reject = absl::ResourceExhaustedError("too many pending redis commands");
    }
    if (!reject.ok()) {
      asio::post(io(), [done = std::move(done), reject]() mutable {
        std::move(done)(reject);
      });
      return;
    }
    std::vector<absl::string_view> views(args.begin(), args.end());
    bool schedule;
    {
      absl::MutexLock lock(&mu_);
      const size_t before = intake_.size();
      AppendCommand(intake_, views);
      Pending p;
      p.call = std::move(done);
      p.bytes = intake_.size() - before;
      intake_done_.push_back(std::move(p));
      schedule = !flush_posted_;
      flush_posted_ = true;
    }
    if (schedule) {
      asio::post(io(), [self = Self()] { self->Flush(); });
    }
  }

  size_t pending() const { return pending_.load(std::memory_order_acquire); }

  void Stop(absl::AnyInvocable<void() &&> drained, absl::Duration timeout) {
    stopping_.store(true, std::memory_order_release);
    asio::post(
        io(), [self = Self(), drained = std::move(drained), timeout]() mutable {
          self->drained_.push_back(std::move(drained));
          if (timeout != absl::InfiniteDuration() && !self->stop_timer_armed_) {
            self->stop_timer_armed_ = true;
            self->stop_timer_.expires_after(absl::ToChronoNanoseconds(
                std::max(timeout, absl::ZeroDuration())));
            self->stop_timer_.async_wait([self](boost::system::error_code ec) {
              if (ec || self->shut_down()) return;
              self->FailAll("vent-server stopped before redis answered");
              self->MaybeFinishStop();
            });
          }
          self->Flush();
          self->MaybeFinishStop();
        });
  }

  // From ~Publisher: stop without waiting for replies.
  void Abandon() {
    stopping_.store(true, std::memory_order_release);
    asio::post(io(), [self = Self()] {
      self->FailAll("redis publisher destroyed");
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
  // One Publish, or one whole PublishBatch (`batch` set), and the size of
  // its encoded commands.
  struct Pending {
    Publisher::Callback done;
    std::shared_ptr<Batch> batch;
    size_t bytes = 0;
    Publisher::CallCallback call;  // set: a Call (done and batch unset)
    size_t replies() const { return batch ? batch->results.size() : 1; }
  };
  struct InFlight {
    Publisher::Callback done;
    std::shared_ptr<Batch>
        batch;  // replies owed: batch->results.size() - batch->next
    // Session byte offset just past its commands: sent to the socket iff
    // end <= bytes_started().
    uint64_t end = 0;
    Publisher::CallCallback call;  // set: a Call
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
        FailPending(
            InFlight{std::move(d.done), std::move(d.batch), 0,
                     std::move(d.call)},
            absl::UnavailableError(
                "redis not connected; the PUBLISH was not sent, nothing was "
                "published"));
      }
      return;
    }
    size_t replies = 0;
    for (auto& d : dones) {
      replies += d.replies();
      written_ += d.bytes;
      in_flight_.push_back(
          {std::move(d.done), std::move(d.batch), written_, std::move(d.call)});
    }
    Write(std::move(bytes));
    Expect(replies);
  }

  // Unanswered publishes of a session that is over (or being given up) wait
  // in unsettled_ until the connection's write accounting is final
  // (OnWritesSettled), then fail: DEADLINE_EXCEEDED when all their bytes
  // reached the kernel (Redis may have executed them), else UNAVAILABLE (it
  // cannot have: Redis runs only complete commands).
  void Unsettle(std::deque<InFlight> lost, absl::string_view why) {
    if (lost.empty()) return;
    if (unsettled_.empty()) unsettled_why_ = std::string(why);
    for (auto& f : lost) unsettled_.push_back(std::move(f));
  }

  void OnWritesSettled() override {
    const uint64_t written = bytes_written();
    std::deque<InFlight> lost;
    lost.swap(unsettled_);
    for (auto& f : lost) {
      absl::Status st = f.end <= written
                            ? absl::DeadlineExceededError(absl::StrCat(
                                  unsettled_why_,
                                  "; the PUBLISH had been sent, so it may "
                                  "have been published"))
                            : absl::UnavailableError(absl::StrCat(
                                  unsettled_why_,
                                  "; the PUBLISH was not (completely) sent, "
                                  "nothing was published"));
      FailPending(std::move(f), st);
    }
    MaybeFinishStop();
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
    if (f.call) {
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      std::move(f.call)(st);
      return;
    }
    if (!f.batch) {
      Complete(std::move(f.done), st);
      return;
    }
    Batch& b = *f.batch;
    while (b.next < b.results.size()) b.results[b.next++] = st;
    FinishBatch(b);
  }

  void OnUp() override { written_ = 0; }

  absl::Status OnReply(ReplyPtr reply) override {
    if (in_flight_.empty()) {
      return absl::InternalError("redis sent a reply nobody asked for: " +
                                 DebugString(*reply));
    }
    Answered();
    if (in_flight_.front().call) {
      Publisher::CallCallback call = std::move(in_flight_.front().call);
      in_flight_.pop_front();
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      if (TypeOf(*reply) == ReplyType::kError) {
        std::move(call)(ErrorReplyToStatus("command", StringOf(*reply)));
      } else {
        std::move(call)(std::move(reply));
      }
      MaybeFinishStop();
      return absl::OkStatus();
    }
    switch (TypeOf(*reply)) {
      case ReplyType::kInteger:
        CompleteFront(IntegerOf(*reply));
        break;
      case ReplyType::kArray: {
        // A history publish: [offset, epoch, receivers].
        absl::StatusOr<HistoryPublishReply> h =
            ParseHistoryPublishReply(*reply);
        if (h.ok()) {
          CompleteFront(h->receivers);
        } else {
          CompleteFront(h.status());
        }
        break;
      }
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
    std::string reason =
        absl::IsDeadlineExceeded(why)
            ? std::string(why.message())
            : absl::StrCat("redis connection lost (", why.message(), ")");
    std::deque<InFlight> lost;
    lost.swap(in_flight_);
    Unsettle(std::move(lost), reason);  // settled right after OnDown
    Flush();  // fails what was queued meanwhile (not sent)
    MaybeFinishStop();
  }

  // Gives up on every accepted publish: the intake was never sent
  // (UNAVAILABLE); in-flight ones are settled after the caller's Shutdown().
  void FailAll(absl::string_view why) {
    std::vector<Pending> queued;
    {
      absl::MutexLock lock(&mu_);
      intake_.clear();
      queued.swap(intake_done_);
    }
    for (auto& d : queued) {
      FailPending(
          InFlight{std::move(d.done), std::move(d.batch), 0, std::move(d.call)},
          absl::UnavailableError(absl::StrCat(
              why, "; the PUBLISH was not sent, nothing was published")));
    }
    std::deque<InFlight> lost;
    lost.swap(in_flight_);
    Unsettle(std::move(lost), why);
  }

  void MaybeFinishStop() {
    if (!stopping_.load(std::memory_order_acquire) || drained_.empty()) return;
    if (!shut_down()) {
      if (session_up()) Flush();  // a Publish that raced with Stop
      if (session_up() && !in_flight_.empty()) return;
      FailAll("redis publisher stopped");
      stop_timer_.cancel();
      Shutdown();  // may settle (and re-enter) at once
    }
    if (!unsettled_.empty()) return;  // OnWritesSettled calls again
    std::vector<absl::AnyInvocable<void() &&>> drained;
    drained.swap(drained_);
    for (auto& d : drained) {
      asio::post(io(), std::move(d));
    }
  }

  const bool sharded_ = options().pubsub == PubSubMode::kSharded;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> pending_{0};
  absl::Mutex mu_;
  std::string intake_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> intake_done_ ABSL_GUARDED_BY(mu_);
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;
  // io thread only.
  std::deque<InFlight> in_flight_;
  uint64_t written_ = 0;            // bytes passed to Write() this session
  std::deque<InFlight> unsettled_;  // see Unsettle
  std::string unsettled_why_;
  std::vector<absl::AnyInvocable<void() &&>> drained_;
  asio::steady_timer stop_timer_;
  bool stop_timer_armed_ = false;
};

}  // namespace internal

Publisher::Publisher(boost::asio::io_context& io, Options options) {
  if (internal::IsShardedCluster(options)) {
    cluster_ =
        std::make_shared<internal::ClusterPublisher>(io, std::move(options));
    return;
  }
  topology_ =
      std::make_unique<internal::SingleTopology>(io, &options, "publisher");
  impl_ = std::make_shared<internal::PublisherImpl>(io, std::move(options));
  topology_->Attach(impl_);
}

Publisher::~Publisher() {
  if (cluster_) {
    cluster_->Abandon();
    return;
  }
  topology_->Stop();
  impl_->Abandon();
}

void Publisher::Start() {
  if (cluster_) return cluster_->Start();
  topology_->Start();
  impl_->Start();
}

void Publisher::Publish(std::string channel, std::string message, Callback done,
                        std::optional<HistorySpec> history) {
  if (cluster_) {
    return cluster_->Publish(std::move(channel), std::move(message),
                             std::move(done), std::move(history));
  }
  impl_->Publish(std::move(channel), std::move(message), std::move(done),
                 history);
}

void Publisher::Call(std::vector<std::string> args, std::string routing_channel,
                     CallCallback done) {
  if (cluster_) {
    return cluster_->Call(std::move(args), std::move(routing_channel),
                          std::move(done));
  }
  impl_->Call(std::move(args), std::move(done));
}

void Publisher::PublishBatch(std::vector<Message> messages,
                             BatchCallback done) {
  if (cluster_) {
    return cluster_->PublishBatch(std::move(messages), std::move(done));
  }
  impl_->PublishBatch(std::move(messages), std::move(done));
}

bool Publisher::connected() const {
  return cluster_ ? cluster_->connected() : impl_->connected();
}
size_t Publisher::pending() const {
  return cluster_ ? cluster_->pending() : impl_->pending();
}
absl::Status Publisher::last_error() const {
  return cluster_ ? cluster_->last_error() : impl_->last_error();
}

void Publisher::Stop(absl::AnyInvocable<void() &&> drained,
                     absl::Duration timeout) {
  if (cluster_) return cluster_->Stop(std::move(drained), timeout);
  topology_->Stop();
  impl_->Stop(std::move(drained), timeout);
}

}  // namespace vent::redis
