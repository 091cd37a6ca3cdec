#include "server/subscription_hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace vent::server {

SubscriptionHub::SubscriptionHub(boost::asio::io_context& io) : io_(io) {}

void SubscriptionHub::Add(Listener* listener,
                          std::vector<std::string> channels) {
  boost::asio::post(io_,
                    [this, listener, channels = std::move(channels)]() mutable {
                      DoAdd(listener, std::move(channels));
                    });
}

void SubscriptionHub::Remove(Listener* listener,
                             absl::AnyInvocable<void() &&> removed) {
  boost::asio::post(io_,
                    [this, listener, removed = std::move(removed)]() mutable {
                      if (auto it = ids_.find(listener); it != ids_.end())
                        Drop(it->second, absl::OkStatus());
                      std::move(removed)();
                    });
}

void SubscriptionHub::DoAdd(Listener* listener,
                            std::vector<std::string> channels) {
  if (!shutdown_.ok()) {
    listener->OnClosed(shutdown_);
    return;
  }
  if (source_ == nullptr || !source_->connected()) {
    listener->OnClosed(absl::UnavailableError("redis is not connected; retry"));
    return;
  }
  std::sort(channels.begin(), channels.end());
  channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
  const uint64_t id = next_id_++;
  ids_[listener] = id;
  Entry& e = listeners_[id];
  e.listener = listener;
  e.channels = channels;
  for (const auto& ch : channels) {
    auto [c, fresh] = by_channel_.try_emplace(ch);
    if (fresh) c->second.history = HistorySizeOf(ch) > 0;
    c->second.ids.insert(id);
    source_->Subscribe(ch,
                       [this, id](absl::Status s) { OnAck(id, std::move(s)); });
  }
}

void SubscriptionHub::OnAck(uint64_t id, absl::Status s) {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;  // gone meanwhile
  if (!s.ok()) {
    Drop(id, s);
    return;
  }
  Entry& e = it->second;
  if (++e.acked == e.channels.size()) e.listener->OnReady();
}

void SubscriptionHub::Drop(uint64_t id, absl::Status why) {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  Entry e = std::move(it->second);
  listeners_.erase(it);
  ids_.erase(e.listener);
  for (const auto& ch : e.channels) {
    if (auto c = by_channel_.find(ch); c != by_channel_.end()) {
      c->second.ids.erase(id);
      if (c->second.ids.empty()) by_channel_.erase(c);
    }
    if (source_ != nullptr) source_->Unsubscribe(ch);
  }
  if (!why.ok()) e.listener->OnClosed(std::move(why));
}

void SubscriptionHub::OnMessage(const std::string& channel,
                                std::shared_ptr<const std::string> payload) {
  auto it = by_channel_.find(channel);
  if (it == by_channel_.end()) return;
  // Encoded once, shared by every listener (the payload is not copied).
  std::shared_ptr<const SharedEvent> ev;
  std::optional<redis::Envelope> env;
  if (it->second.history) env = redis::ParseEnvelope(*payload);
  if (env) {
    ev = EncodeSubscribeEvent(channel, std::move(payload), env->event,
                              env->offset, env->epoch, absl::Now());
  } else {
    ev = EncodeSubscribeEvent(channel, std::move(payload), absl::Now());
  }
  // OnEvent never re-enters the hub synchronously (Remove posts), so the set is
  // stable.
  for (uint64_t id : it->second.ids) {
    if (auto l = listeners_.find(id); l != listeners_.end())
      l->second.listener->OnEvent(ev);
  }
  if (budget_ != nullptr && budget_->over()) EvictSlowest();
}

void SubscriptionHub::ReadHistory(Listener* listener, size_t index,
                                  const std::string& channel, int64_t after,
                                  int64_t max) {
  auto it = ids_.find(listener);
  if (it == ids_.end()) return;
  if (history_ == nullptr) {
    listener->OnHistory(index, absl::UnavailableError("no history reader"));
    return;
  }
  // The listener's id (never reused) is the handle: an answer for a
  // listener dropped meanwhile finds nothing.
  history_->Read(channel, after, max,
                 [this, id = it->second,
                  index](absl::StatusOr<redis::HistoryState> st) mutable {
                   OnHistoryRead(id, index, std::move(st));
                 });
}

void SubscriptionHub::OnHistoryRead(uint64_t id, size_t index,
                                    absl::StatusOr<redis::HistoryState> state) {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  it->second.listener->OnHistory(index, std::move(state));
}

void SubscriptionHub::EvictSlowest() {
  const absl::Time now = absl::Now();
  while (budget_->over()) {
    uint64_t victim = 0;
    Listener::Backlog worst;
    for (const auto& [id, e] : listeners_) {
      Listener::Backlog b = e.listener->backlog();
      // The furthest behind; among equals, the one stalled the longest.
      if (b.bytes > worst.bytes ||
          (b.bytes > 0 && b.bytes == worst.bytes && b.since < worst.since)) {
        worst = b;
        victim = id;
      }
    }
    if (victim == 0) return;  // what is held belongs to calls already ending
    Drop(victim,
         absl::ResourceExhaustedError(absl::StrCat(
             "client reads too slowly: vent-server's memory for Subscribe "
             "backlogs is full (",
             budget_->max_bytes(),
             " bytes, --subscribe-memory) and this call was the furthest "
             "behind (",
             worst.bytes, " bytes queued, no progress for ",
             absl::FormatDuration(
                 absl::Trunc(now - worst.since, absl::Milliseconds(1))),
             "); re-subscribe to resume")));
  }
}

void SubscriptionHub::OnState(bool up) {
  if (up) return;
  CloseAll(
      absl::UnavailableError("redis connection lost; re-subscribe to resume"));
}

void SubscriptionHub::Shutdown(absl::Status why) {
  if (shutdown_.ok()) shutdown_ = why;
  CloseAll(std::move(why));
}

void SubscriptionHub::CloseAll(absl::Status why) {
  std::vector<uint64_t> ids;
  ids.reserve(listeners_.size());
  for (const auto& [id, e] : listeners_) ids.push_back(id);
  for (uint64_t id : ids) Drop(id, why);
}

}  // namespace vent::server
