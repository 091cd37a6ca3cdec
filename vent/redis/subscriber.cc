#include "vent/redis/subscriber.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "vent/redis/connection.h"

namespace vent::redis {
namespace internal {

namespace asio = boost::asio;
using AckFn = absl::AnyInvocable<void(absl::Status) &&>;

class SubscriberImpl final : public Connection {
 public:
  static constexpr size_t kMaxChannelsPerCommand = 512;

  SubscriberImpl(asio::io_context& io, Options options,
                 Subscriber::Handlers handlers)
      : Connection(io, std::move(options), "subscriber"),
        handlers_(std::move(handlers)) {}

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  size_t channel_count() const { return wanted_; }

  void Subscribe(const std::string& name, AckFn on_ack) {
    if (stopped_) {
      asio::post(io(), [f = std::move(on_ack)]() mutable {
        std::move(f)(absl::CancelledError("redis subscriber stopped"));
      });
      return;
    }
    Chan& c = chans_[name];
    Mutate(c, [](Chan& c) { ++c.refs; });
    if (Confirmed(c)) {
      asio::post(io(), [f = std::move(on_ack)]() mutable {
        std::move(f)(absl::OkStatus());
      });
      return;
    }
    c.waiters.push_back(std::move(on_ack));
    MarkDirty(name, c);
  }

  void Unsubscribe(const std::string& name) {
    auto it = chans_.find(name);
    if (it == chans_.end() || it->second.refs == 0) return;
    Chan& c = it->second;
    Mutate(c, [](Chan& c) { --c.refs; });
    if (c.refs > 0) return;
    std::vector<AckFn> cancelled;
    cancelled.swap(c.waiters);
    if (c.op == Op::kNone && !c.server_subscribed) {
      chans_.erase(it);
    } else {
      MarkDirty(name, c);
    }
    for (auto& f : cancelled) {
      asio::post(io(), [f = std::move(f)]() mutable {
        std::move(f)(
            absl::CancelledError("unsubscribed before redis confirmed"));
      });
    }
  }

  void Stop() {
    asio::post(io(), [self = Self()] { self->StopOnIo(); });
  }

 private:
  enum class Op { kNone, kSub, kUnsub };
  struct Chan {
    int refs = 0;
    bool server_subscribed = false;  // per the replies processed this session
    Op op = Op::kNone;               // at most one command in flight
    bool dirty = false;              // listed in dirty_
    std::vector<AckFn> waiters;
  };

  std::shared_ptr<SubscriberImpl> Self() {
    return std::static_pointer_cast<SubscriberImpl>(shared_from_this());
  }

  static bool Confirmed(const Chan& c) {
    return c.server_subscribed && c.op == Op::kNone;
  }
  static bool Unconfirmed(const Chan& c) { return c.refs > 0 && !Confirmed(c); }

  // Applies `f` to `c`, keeping the wanted_/unconfirmed_ counters exact.
  template <typename F>
  void Mutate(Chan& c, F f) {
    unconfirmed_ -= Unconfirmed(c);
    wanted_ -= c.refs > 0;
    f(c);
    unconfirmed_ += Unconfirmed(c);
    wanted_ += c.refs > 0;
  }

  void MarkDirty(const std::string& name, Chan& c) {
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(name);
    }
    if (!flush_posted_) {
      flush_posted_ = true;
      asio::post(io(), [self = Self()] {
        self->flush_posted_ = false;
        self->Flush();
      });
    }
  }

  // Sends SUBSCRIBE/UNSUBSCRIBE for every dirty channel without a command in
  // flight, batched.
  void Flush() {
    if (!session_up() || stopped_) return;
    std::vector<std::string> dirty;
    dirty.swap(dirty_);
    std::vector<std::string> sub, unsub;
    for (std::string& name : dirty) {
      auto it = chans_.find(name);
      if (it == chans_.end()) continue;
      Chan& c = it->second;
      c.dirty = false;
      if (c.op != Op::kNone) continue;  // reconciled when its reply arrives
      if (c.refs > 0 && !c.server_subscribed) {
        Mutate(c, [](Chan& c) { c.op = Op::kSub; });
        sub.push_back(std::move(name));
      } else if (c.refs == 0 && c.server_subscribed) {
        Mutate(c, [](Chan& c) { c.op = Op::kUnsub; });
        unsub.push_back(std::move(name));
      } else if (c.refs == 0) {
        chans_.erase(it);
      }
    }
    Send("SUBSCRIBE", sub);
    Send("UNSUBSCRIBE", unsub);
  }

  void Send(absl::string_view command, const std::vector<std::string>& names) {
    std::string bytes;
    std::vector<absl::string_view> args;
    for (size_t i = 0; i < names.size(); i += kMaxChannelsPerCommand) {
      size_t end = std::min(names.size(), i + kMaxChannelsPerCommand);
      args.assign({command});
      for (size_t j = i; j < end; ++j) args.push_back(names[j]);
      AppendCommand(bytes, args);
    }
    if (bytes.empty()) return;
    Write(bytes);
    Expect(names.size());  // one confirmation per channel
  }

  void OnUp() override {
    for (auto& [name, c] : chans_) {
      if (c.refs > 0) MarkDirty(name, c);
    }
    Flush();
    MaybeReportUp();
  }

  absl::Status OnReply(ReplyPtr reply) override {
    const redisReply& r = *reply;
    if (TypeOf(r) == ReplyType::kError) {
      return ErrorReplyToStatus("SUBSCRIBE/UNSUBSCRIBE", StringOf(r));
    }
    if (TypeOf(r) != ReplyType::kArray || ArraySize(r) < 3 ||
        TypeOf(ElementOf(r, 0)) != ReplyType::kString) {
      return absl::InternalError("unexpected reply in pub/sub mode: " +
                                 DebugString(r));
    }
    absl::string_view kind = StringOf(ElementOf(r, 0));
    std::string name(StringOf(ElementOf(r, 1)));
    if (kind == "message") {
      auto it = chans_.find(name);
      if (it == chans_.end() || it->second.refs == 0 || stopped_)
        return absl::OkStatus();
      absl::string_view payload = StringOf(ElementOf(r, 2));
      if (handlers_.on_message) {
        handlers_.on_message(name,
                             std::make_shared<const std::string>(payload));
      }
      return absl::OkStatus();
    }
    if (kind != "subscribe" && kind != "unsubscribe") {
      return absl::OkStatus();  // e.g. pmessage from elsewhere: ignore
    }
    Answered();
    auto it = chans_.find(name);
    if (it == chans_.end()) {
      return absl::InternalError("redis confirmed an unknown channel: " +
                                 DebugString(r));
    }
    Chan& c = it->second;
    std::vector<AckFn> acks;
    if (kind == "subscribe") {
      Mutate(c, [](Chan& c) {
        c.op = Op::kNone;
        c.server_subscribed = true;
      });
      if (c.refs > 0) {
        acks.swap(c.waiters);
      } else {
        MarkDirty(name, c);
      }
    } else {
      Mutate(c, [](Chan& c) {
        c.op = Op::kNone;
        c.server_subscribed = false;
      });
      if (c.refs > 0) {
        MarkDirty(name, c);
      } else {
        chans_.erase(it);
      }
    }
    // `c` may be invalid from here on (callbacks can re-enter).
    for (auto& f : acks) std::move(f)(absl::OkStatus());
    MaybeReportUp();
    return absl::OkStatus();
  }

  void OnDown(const absl::Status&) override {
    for (auto it = chans_.begin(); it != chans_.end();) {
      Chan& c = it->second;
      Mutate(c, [](Chan& c) {
        c.op = Op::kNone;
        c.server_subscribed = false;
        c.dirty = false;
      });
      if (c.refs == 0) {
        chans_.erase(it++);
      } else {
        ++it;
      }
    }
    dirty_.clear();
    ReportState(false);
  }

  void MaybeReportUp() {
    if (session_up() && unconfirmed_ == 0 && !ready()) ReportState(true);
  }

  void ReportState(bool up) {
    if (ready() == up || stopped_) return;
    ready_.store(up, std::memory_order_release);
    if (handlers_.on_state) handlers_.on_state(up);
  }

  void StopOnIo() {
    if (stopped_) return;
    stopped_ = true;
    ready_.store(false, std::memory_order_release);
    std::vector<AckFn> cancelled;
    for (auto& [name, c] : chans_) {
      for (auto& f : c.waiters) cancelled.push_back(std::move(f));
      c.waiters.clear();
    }
    chans_.clear();
    dirty_.clear();
    wanted_ = unconfirmed_ = 0;
    Shutdown();
    for (auto& f : cancelled)
      std::move(f)(absl::CancelledError("redis subscriber stopped"));
    handlers_ = {};  // releases whatever the handlers captured
  }

  Subscriber::Handlers handlers_;
  std::atomic<bool> ready_{false};
  // io thread only.
  bool stopped_ = false;
  bool flush_posted_ = false;
  absl::flat_hash_map<std::string, Chan> chans_;
  std::vector<std::string> dirty_;
  size_t wanted_ = 0;       // channels with refs > 0
  size_t unconfirmed_ = 0;  // of those, not confirmed subscribed
};

}  // namespace internal

Subscriber::Subscriber(boost::asio::io_context& io, Options options,
                       Handlers handlers)
    : impl_(std::make_shared<internal::SubscriberImpl>(io, std::move(options),
                                                       std::move(handlers))) {}

Subscriber::~Subscriber() { impl_->Stop(); }

void Subscriber::Start() { impl_->Start(); }
void Subscriber::Stop() { impl_->Stop(); }

void Subscriber::Subscribe(const std::string& channel,
                           absl::AnyInvocable<void(absl::Status) &&> on_ack) {
  impl_->Subscribe(channel, std::move(on_ack));
}

void Subscriber::Unsubscribe(const std::string& channel) {
  impl_->Unsubscribe(channel);
}
bool Subscriber::connected() const { return impl_->ready(); }
absl::Status Subscriber::last_error() const { return impl_->last_error(); }
size_t Subscriber::channel_count() const { return impl_->channel_count(); }

}  // namespace vent::redis
