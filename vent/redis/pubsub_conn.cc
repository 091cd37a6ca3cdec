#include "vent/redis/pubsub_conn.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <map>

#include "absl/strings/str_cat.h"
#include "vent/redis/cluster.h"

namespace vent::redis::internal {

namespace asio = boost::asio;

PubSubConn::PubSubConn(asio::io_context& io, Options options, std::string role,
                       bool sharded, bool per_slot, Owner* owner)
    : Connection(io, std::move(options), std::move(role)),
      sharded_(sharded),
      per_slot_(per_slot),
      owner_(owner) {}

void PubSubConn::Want(const std::string& name, bool want) {
  if (shut_down()) return;
  auto it = chans_.find(name);
  if (it == chans_.end()) {
    if (!want) return;
    it = chans_.emplace(name, Chan{}).first;
  }
  Chan& c = it->second;
  if (c.wanted != want) {
    c.wanted = want;
    wanted_ += want ? 1 : -1;
  }
  c.parked = false;
  MarkDirty(name, c);
}

bool PubSubConn::Confirmed(const std::string& name) const {
  auto it = chans_.find(name);
  return it != chans_.end() && it->second.wanted &&
         it->second.server_subscribed && it->second.op == Op::kNone;
}

void PubSubConn::Close() {
  owner_ = nullptr;
  Shutdown();
  chans_.clear();
  dirty_.clear();
  pending_.clear();
  wanted_ = 0;
}

void PubSubConn::MarkDirty(const std::string& name, Chan& c) {
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(name);
  }
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(
        io(),
        [self = std::static_pointer_cast<PubSubConn>(shared_from_this())] {
          self->flush_posted_ = false;
          self->Flush();
        });
  }
}

void PubSubConn::MaybeErase(const std::string& name) {
  auto it = chans_.find(name);
  if (it == chans_.end()) return;
  const Chan& c = it->second;
  if (!c.wanted && !c.server_subscribed && c.op == Op::kNone && !c.dirty) {
    chans_.erase(it);
  }
}

void PubSubConn::Flush() {
  if (!session_up()) return;  // OnUp marks every wanted channel again
  std::vector<std::string> dirty;
  dirty.swap(dirty_);
  std::vector<std::string> sub, unsub;
  for (std::string& name : dirty) {
    auto it = chans_.find(name);
    if (it == chans_.end()) continue;
    Chan& c = it->second;
    c.dirty = false;
    if (c.op != Op::kNone) continue;  // reconciled when its reply arrives
    if (c.wanted && !c.server_subscribed && !c.parked) {
      c.op = Op::kSub;
      sub.push_back(std::move(name));
    } else if (!c.wanted && c.server_subscribed) {
      c.op = Op::kUnsub;
      unsub.push_back(std::move(name));
    } else if (!c.wanted) {
      chans_.erase(it);
    }
  }
  Send(Op::kSub, std::move(sub));
  Send(Op::kUnsub, std::move(unsub));
}

void PubSubConn::Send(Op op, std::vector<std::string> names) {
  if (names.empty()) return;
  // Groups of channels that may share one command.
  std::vector<std::vector<std::string>> groups;
  if (per_slot_) {
    std::map<int, std::vector<std::string>> by_slot;
    for (std::string& n : names) by_slot[KeySlot(n)].push_back(std::move(n));
    for (auto& [slot, g] : by_slot) groups.push_back(std::move(g));
  } else {
    groups.push_back(std::move(names));
  }
  absl::string_view verb = op == Op::kSub
                               ? (sharded_ ? "SSUBSCRIBE" : "SUBSCRIBE")
                               : (sharded_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE");
  std::string bytes;
  std::vector<absl::string_view> args;
  size_t total = 0;
  for (std::vector<std::string>& g : groups) {
    for (size_t i = 0; i < g.size(); i += kMaxChannelsPerCommand) {
      size_t end = std::min(g.size(), i + kMaxChannelsPerCommand);
      Pending p{op, {}, 0};
      args.assign({verb});
      for (size_t j = i; j < end; ++j) {
        p.channels.push_back(g[j]);
      }
      for (const std::string& ch : p.channels) args.push_back(ch);
      AppendCommand(bytes, args);
      total += p.channels.size();
      pending_.push_back(std::move(p));
    }
  }
  Write(std::move(bytes));
  Expect(total);  // one confirmation per channel (or one error per command)
}

void PubSubConn::OnUp() {
  for (auto& [name, c] : chans_) {
    c.parked = false;
    if (c.wanted) MarkDirty(name, c);
  }
  if (owner_) owner_->OnConnState(this, true, absl::OkStatus());
}

absl::Status PubSubConn::OnReply(ReplyPtr reply) {
  const redisReply& r = *reply;
  if (TypeOf(r) == ReplyType::kError) return OnError(StringOf(r));
  if (TypeOf(r) != ReplyType::kArray || ArraySize(r) < 3 ||
      TypeOf(ElementOf(r, 0)) != ReplyType::kString) {
    return absl::InternalError("unexpected reply in pub/sub mode: " +
                               DebugString(r));
  }
  absl::string_view kind = StringOf(ElementOf(r, 0));
  if (kind == "message" || kind == "smessage") {
    if (owner_ && TypeOf(ElementOf(r, 2)) == ReplyType::kString) {
      owner_->OnMessage(std::string(StringOf(ElementOf(r, 1))),
                        StringOf(ElementOf(r, 2)));
    }
    return absl::OkStatus();
  }
  bool is_sub = kind == "subscribe" || kind == "ssubscribe";
  bool is_unsub = kind == "unsubscribe" || kind == "sunsubscribe";
  if (!is_sub && !is_unsub) return absl::OkStatus();  // e.g. pmessage
  OnConfirmation(is_sub, std::string(StringOf(ElementOf(r, 1))));
  return absl::OkStatus();
}

void PubSubConn::OnConfirmation(bool is_sub, const std::string& name) {
  const Op op = is_sub ? Op::kSub : Op::kUnsub;
  bool ours = !pending_.empty() && pending_.front().op == op &&
              pending_.front().channels[pending_.front().next] == name;
  auto it = chans_.find(name);
  if (!ours) {
    // Redis unsubscribed us on its own (the slot left this node).
    if (!is_sub && it != chans_.end() && it->second.op == Op::kNone &&
        it->second.server_subscribed) {
      Chan& c = it->second;
      c.server_subscribed = false;
      if (c.wanted) {
        c.parked = true;
        if (owner_) {
          owner_->OnLost(this, name,
                         absl::UnavailableError(absl::StrCat(
                             "redis ", address().ToString(),
                             " unsubscribed the channel (slot migrated?)")));
        }
      } else {
        MaybeErase(name);
      }
    }
    return;
  }
  Pending& p = pending_.front();
  if (++p.next == p.channels.size()) pending_.pop_front();
  Answered();
  if (it == chans_.end()) return;
  Chan& c = it->second;
  c.op = Op::kNone;
  c.server_subscribed = is_sub;
  if (is_sub) {
    if (c.wanted) {
      if (owner_) owner_->OnConfirmed(this, name);
    } else {
      MarkDirty(name, c);  // unsubscribe now
    }
  } else if (c.wanted && !c.parked) {
    MarkDirty(name, c);  // subscribe again
  } else {
    MaybeErase(name);
  }
}

absl::Status PubSubConn::OnError(absl::string_view message) {
  if (pending_.empty()) {
    return ErrorReplyToStatus("pub/sub", message);
  }
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  absl::string_view verb = p.op == Op::kSub
                               ? (sharded_ ? "SSUBSCRIBE" : "SUBSCRIBE")
                               : (sharded_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE");
  absl::Status st = ErrorReplyToStatus(
      absl::StrCat(verb, " at ", address().ToString()), message);
  if (!absl::IsUnavailable(st)) return st;  // drops the connection
  // Refused by cluster routing: nothing happened for these channels.
  for (size_t i = p.next; i < p.channels.size(); ++i) {
    Answered();
    const std::string& name = p.channels[i];
    auto it = chans_.find(name);
    if (it == chans_.end()) continue;
    Chan& c = it->second;
    c.op = Op::kNone;
    c.server_subscribed = false;
    if (c.wanted) {
      c.parked = true;
      if (owner_) owner_->OnLost(this, name, st);
    } else {
      MaybeErase(name);
    }
  }
  return absl::OkStatus();
}

void PubSubConn::OnDown(const absl::Status& why) {
  for (auto it = chans_.begin(); it != chans_.end();) {
    Chan& c = it->second;
    c.op = Op::kNone;
    c.server_subscribed = false;
    c.dirty = false;
    c.parked = false;
    if (!c.wanted) {
      chans_.erase(it++);
    } else {
      ++it;
    }
  }
  dirty_.clear();
  pending_.clear();
  if (owner_) owner_->OnConnState(this, false, why);
}

}  // namespace vent::redis::internal
