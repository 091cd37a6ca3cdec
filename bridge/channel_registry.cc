#include "bridge/channel_registry.h"

#include <algorithm>

#include "vent/base/check.h"
#include "vent/redis/history.h"

namespace vent::bridge {

ChannelRegistry::~ChannelRegistry() {
  // Connections release their subscriptions before the worker goes away.
  VENT_DCHECK(subs_.empty());
}

bool ChannelRegistry::Add(Subscription* sub) {
  VENT_DCHECK(!notifying_);
  VENT_DCHECK(!sub->registered && !sub->ready);
  VENT_DCHECK(sub->owner != nullptr && sub->sink != nullptr);
  sub->registered = true;
  sub->acked = 0;
  subs_.insert(sub);
  for (const std::string& channel : sub->channels) {
    ChannelState& st = channels_[channel];
    st.subs.push_back(sub);
    if (st.subs.size() == 1) {
      st.generation = next_generation_++;
      st.confirmed = false;
      redis_->Subscribe(channel, st.generation);
    } else if (st.confirmed) {
      ++sub->acked;
    }
  }
  return redis_up_ && sub->acked == sub->channels.size();
}

void ChannelRegistry::Remove(Subscription* sub) {
  VENT_DCHECK(!notifying_);
  VENT_DCHECK(sub->registered);
  sub->registered = false;
  subs_.erase(sub);
  for (const std::string& channel : sub->channels) {
    auto it = channels_.find(channel);
    VENT_DCHECK(it != channels_.end());
    if (it == channels_.end()) continue;
    std::vector<Subscription*>& subs = it->second.subs;
    auto pos = std::find(subs.begin(), subs.end(), sub);
    VENT_DCHECK(pos != subs.end());
    if (pos != subs.end()) {
      // Order within a channel does not matter: swap-and-pop.
      *pos = subs.back();
      subs.pop_back();
    }
    if (subs.empty()) {
      channels_.erase(it);
      redis_->Unsubscribe(channel);
    }
  }
}

void ChannelRegistry::OnAck(const std::string& channel, uint64_t generation,
                            const absl::Status& status) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || it->second.generation != generation ||
      it->second.confirmed) {
    return;  // stale: the channel was dropped (and maybe re-added) since
  }
  // CANCELLED: the Redis client is stopping; the subscriptions time out.
  if (!status.ok()) return;
  it->second.confirmed = true;
  std::vector<Subscription*> complete;
  for (Subscription* sub : it->second.subs) {
    if (sub->ready) continue;
    ++sub->acked;
    VENT_DCHECK(sub->acked <= sub->channels.size());
    if (sub->acked == sub->channels.size()) complete.push_back(sub);
  }
  if (redis_up_) NotifyComplete(complete);
}

void ChannelRegistry::SetRedisUp(bool up) {
  if (up == redis_up_) return;
  redis_up_ = up;
  if (!up) return;
  std::vector<Subscription*> gap;
  std::vector<Subscription*> complete;
  for (Subscription* sub : subs_) {
    if (sub->ready) {
      gap.push_back(sub);
    } else if (sub->acked == sub->channels.size()) {
      complete.push_back(sub);
    }
  }
  notifying_ = true;
  for (Subscription* sub : gap) sub->owner->OnSubscriptionGap(*sub);
  notifying_ = false;
  NotifyComplete(complete);
}

void ChannelRegistry::NotifyComplete(const std::vector<Subscription*>& subs) {
  notifying_ = true;
  for (Subscription* sub : subs) {
    VENT_DCHECK(sub->registered && !sub->ready);
    sub->owner->OnSubscriptionAcked(*sub);
  }
  notifying_ = false;
}

uint64_t ChannelRegistry::Deliver(absl::string_view channel,
                                  const std::string& payload,
                                  std::vector<Transformed>& cache) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return 0;
  cache.clear();
  uint64_t delivered = 0;
  for (Subscription* sub : it->second.subs) {
    if (!sub->ready && !sub->capturing) continue;
    Transformed* t = nullptr;
    for (Transformed& c : cache) {
      if (c.pub == sub->pub) {
        t = &c;
        break;
      }
    }
    if (t == nullptr) {
      t = &cache.emplace_back();
      t->pub = sub->pub;
      t->channel = channel;
      std::optional<redis::Envelope> env;
      if (sub->pub->history()) env = redis::ParseEnvelope(payload);
      if (env) {
        t->offset = env->offset;
        t->epoch = std::string(env->epoch);
        t->e = sub->pub->Transform(env->event);
      } else {
        t->e = sub->pub->Transform(payload);
      }
    }
    if (!t->e) continue;
    if (!sub->ready) {
      notifying_ = true;
      sub->owner->OnCapture(*sub, *t);
      notifying_ = false;
      continue;
    }
    if (t->offset > 0 && !sub->sent_offset.empty() && !FreshForSub(*sub, *t)) {
      continue;  // already sent by the recovery
    }
    sub->sink->QueueVent(*sub, *t);
    ++delivered;
  }
  return delivered;
}

bool ChannelRegistry::FreshForSub(Subscription& sub, const Transformed& t) {
  size_t ci = 0;
  while (ci < sub.channels.size() && sub.channels[ci] != t.channel) ++ci;
  if (ci >= sub.sent_offset.size()) return true;
  // Not after the last sent: already sent, or from an epoch that was lost
  // (a stale event still in flight).
  if (!redis::PositionBefore(sub.sent_epoch[ci], sub.sent_offset[ci], t.epoch,
                             t.offset)) {
    return false;
  }
  sub.sent_epoch[ci] = t.epoch;
  sub.sent_offset[ci] = t.offset;
  return true;
}

size_t ChannelRegistry::subscriptions_on(absl::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.subs.size();
}

}  // namespace vent::bridge
