#include "bridge/hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "vent/base/check.h"
#include "vent/base/log.h"

namespace vent::bridge {

namespace asio = boost::asio;

Hub::Hub(asio::io_context& io, redis::Options options, BridgeContext& ctx)
    : io_(io), ctx_(ctx) {
  redis::Subscriber::Handlers handlers;
  handlers.on_message = [this](const std::string& channel,
                               std::shared_ptr<const std::string> payload) {
    OnMessage(channel, std::move(payload));
  };
  handlers.on_state = [this](bool up) { OnState(up); };
  if (ctx_.catalog != nullptr && ctx_.catalog->has_history()) {
    redis::Options h = options;
    h.client_name = "vent-bridge-history";
    history_ = std::make_unique<redis::Publisher>(io_, std::move(h));
  }
  subscriber_ = std::make_unique<redis::Subscriber>(io_, std::move(options),
                                                    std::move(handlers));
}

Hub::~Hub() = default;

void Hub::SetListeners(std::vector<HubListener*> listeners) {
  listeners_ = std::move(listeners);
  pending_.resize(listeners_.size());
  pending_bytes_.assign(listeners_.size(), 0);
}

void Hub::Start() {
  subscriber_->Start();
  if (history_) history_->Start();
}

void Hub::Stop() {
  subscriber_->Stop();
  if (history_) history_->Stop([] {}, absl::ZeroDuration());
}

void Hub::Read(
    const std::string& channel, int64_t after, int64_t max,
    absl::AnyInvocable<void(absl::StatusOr<redis::HistoryState>) &&> done) {
  absl::StatusOr<redis::HistoryKeys> keys = redis::HistoryKeysFor(channel);
  if (history_ == nullptr || !keys.ok()) {
    std::move(done)(history_ == nullptr
                        ? absl::UnavailableError("no history connection")
                        : keys.status());
    return;
  }
  // The channel gets its epoch at the first read (a ready's position then
  // names it), expiring as the publication's history does.
  std::optional<pub::History> spec =
      ctx_.catalog ? ctx_.catalog->HistoryFor(channel) : std::nullopt;
  history_->Call(
      redis::HistoryReadCommand(*keys, after, max,
                                spec ? spec->ttl : absl::ZeroDuration(),
                                redis::NewEpoch()),
      channel,
      [done = std::move(done)](absl::StatusOr<redis::ReplyPtr> reply) mutable {
        if (!reply.ok()) {
          std::move(done)(reply.status());
          return;
        }
        std::move(done)(redis::ParseHistoryReadReply(**reply));
      });
}

void Hub::Subscribe(int worker, std::string channel, uint64_t generation) {
  asio::post(io_, [this, worker, channel = std::move(channel), generation]() {
    std::vector<int>& ws = workers_by_channel_[channel];
    if (std::find(ws.begin(), ws.end(), worker) == ws.end())
      ws.push_back(worker);
    ctx_.metrics->redis_channels->Set(
        static_cast<int64_t>(workers_by_channel_.size()));
    subscriber_->Subscribe(
        channel, [this, worker, channel, generation](absl::Status s) {
          listeners_[worker]->PostAck(channel, generation, std::move(s));
        });
  });
}

void Hub::Unsubscribe(int worker, std::string channel) {
  asio::post(io_, [this, worker, channel = std::move(channel)]() {
    auto it = workers_by_channel_.find(channel);
    if (it == workers_by_channel_.end()) return;
    std::vector<int>& ws = it->second;
    auto w = std::find(ws.begin(), ws.end(), worker);
    if (w == ws.end()) return;
    ws.erase(w);
    if (ws.empty()) workers_by_channel_.erase(it);
    ctx_.metrics->redis_channels->Set(
        static_cast<int64_t>(workers_by_channel_.size()));
    subscriber_->Unsubscribe(channel);
  });
}

void Hub::OnMessage(const std::string& channel,
                    std::shared_ptr<const std::string> payload) {
  VENT_DCHECK(io_.get_executor().running_in_this_thread());  // Redis thread
  ctx_.metrics->redis_messages->Add();
  auto it = workers_by_channel_.find(channel);
  if (it == workers_by_channel_.end()) return;
  const int64_t size =
      static_cast<int64_t>(payload->size() + channel.size()) + 64;
  for (int w : it->second) {
    int64_t queued = listeners_[w]->backlog().load(std::memory_order_relaxed) +
                     pending_bytes_[w];
    if (queued + size > ctx_.options.max_worker_backlog) {
      ctx_.metrics->redis_dropped->Add();
      continue;
    }
    if (!pending_[w]) pending_[w] = std::make_shared<MessageBatch>();
    pending_[w]->push_back(RedisMessage{channel, payload});
    pending_bytes_[w] += size;
  }
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    // Runs after the Subscriber's current read pass: one batch per pass.
    asio::post(io_, [this] { Flush(); });
  }
}

void Hub::Flush() {
  VENT_DCHECK(io_.get_executor().running_in_this_thread());
  flush_scheduled_ = false;
  for (size_t w = 0; w < pending_.size(); ++w) {
    if (!pending_[w]) continue;
    listeners_[w]->backlog().fetch_add(pending_bytes_[w],
                                       std::memory_order_relaxed);
    listeners_[w]->PostMessages(std::move(pending_[w]), pending_bytes_[w]);
    pending_[w] = nullptr;
    pending_bytes_[w] = 0;
  }
}

void Hub::OnState(bool up) {
  ctx_.redis_up.store(up);
  ctx_.metrics->redis_up->Set(up ? 1 : 0);
  for (HubListener* l : listeners_) l->PostRedisState(up);
  VENT_LOG_INFO(up ? "redis subscriber up" : "redis subscriber down",
                "channels", workers_by_channel_.size());
}

}  // namespace vent::bridge
