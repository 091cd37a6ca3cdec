#include "vent/ddp/session.h"

#include <algorithm>
#include <utility>

#include "vent/base/check.h"
#include "vent/ddp/random_id.h"

namespace vent::ddp {
namespace {

constexpr uint16_t kNormalClosure = 1000;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

Session::Session(SessionOptions options, SessionHost* host)
    : options_(std::move(options)),
      codec_options_{options_.max_json_depth, options_.max_offending_echo},
      host_(host) {}

bool Session::heartbeat_enabled() const {
  return version_ != "pre1" &&
         options_.heartbeat_interval > absl::ZeroDuration();
}

void Session::Send(std::string frame) {
  if (state_ == State::kClosed) return;
  host_->Send(std::move(frame));
}

void Session::CloseWith(uint16_t code, std::string reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  subs_.clear();
  pending_methods_.clear();
  next_heartbeat_check_ = absl::InfiniteFuture();
  ping_deadline_ = absl::InfiniteFuture();
  host_->Close(code, std::move(reason));
}

void Session::SendError(absl::string_view reason,
                        const boost::json::value* offending) {
  Send(WriteError(reason, offending, options_.max_offending_echo));
}

void Session::OnMessage(absl::string_view text, absl::Time now) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kConnected) {
    // Any inbound message proves the client alive (heartbeat).
    seen_message_ = true;
    ping_deadline_ = absl::InfiniteFuture();
  }
  ParseResult parsed = ParseClientMessage(text, codec_options_);
  if (ErrorReply* reply = std::get_if<ErrorReply>(&parsed)) {
    Send(std::move(reply->frame));
    return;
  }
  ClientMessage& msg = std::get<ClientMessage>(parsed);
  if (const auto* connect = std::get_if<ConnectMessage>(&msg.body)) {
    if (state_ == State::kConnected) {
      SendError("Already connected", &msg.raw);
    } else {
      HandleConnect(*connect, now);
    }
    return;
  }
  if (state_ != State::kConnected) {
    SendError("Must connect first", &msg.raw);
    return;
  }
  const bool pre1 = version_ == "pre1";
  std::visit(
      Overloaded{
          [&](ConnectMessage&) {},
          [&](PingMessage& ping) {
            if (pre1) {
              SendError("Bad request", &msg.raw);
            } else {
              Send(WritePong(ping.id));
            }
          },
          [&](PongMessage&) {
            if (pre1) SendError("Bad request", &msg.raw);
          },
          [&](SubMessage& sub) { HandleSub(std::move(sub)); },
          [&](UnsubMessage& unsub) { HandleUnsub(unsub); },
          [&](MethodMessage& method) { HandleMethod(std::move(method)); },
          [&](MalformedMessage& bad) { SendError(bad.reason, &msg.raw); },
          [&](UnknownMessage&) { SendError("Bad request", &msg.raw); },
      },
      msg.body);
}

void Session::HandleConnect(const ConnectMessage& connect, absl::Time now) {
  // The only transitions: kAwaitingConnect -> kConnected | kClosed.
  VENT_DCHECK(state_ == State::kAwaitingConnect);
  VersionDecision decision = NegotiateVersion(connect);
  if (!decision.accepted) {
    Send(WriteFailed(decision.version));
    CloseWith(kNormalClosure, "DDP version negotiation failed");
    return;
  }
  state_ = State::kConnected;
  version_ = std::move(decision.version);
  session_id_ = RandomId();
  Send(WriteConnected(session_id_));
  if (heartbeat_enabled()) {
    seen_message_ = false;
    ping_deadline_ = absl::InfiniteFuture();
    next_heartbeat_check_ = now + options_.heartbeat_interval;
  }
}

void Session::HandleSub(SubMessage sub) {
  VENT_DCHECK(state_ == State::kConnected);
  if (subs_.contains(sub.id)) return;  // subs are idempotent (reconnects)
  const boost::json::string* rand =
      sub.params.empty() ? nullptr : sub.params[0].if_string();
  if (rand == nullptr || rand->empty() || rand->size() > kMaxRandLength) {
    const Error error = MakeError(400, "Match failed");
    Send(WriteNosub(sub.id, &error));
    return;
  }
  if (subs_.size() >= options_.max_subscriptions) {
    const Error error = MakeError(429, "Too many subscriptions");
    Send(WriteNosub(sub.id, &error));
    return;
  }
  SubRequest request;
  request.id = std::move(sub.id);
  request.name = std::move(sub.name);
  request.rand = std::string(rand->data(), rand->size());
  request.args.reserve(sub.params.size() - 1);
  for (size_t i = 1; i < sub.params.size(); ++i) {
    request.args.push_back(std::move(sub.params[i]));
  }
  request.since = std::move(sub.since);
  subs_.emplace(request.id, ActiveSub{next_sub_seq_++, request});
  VENT_DCHECK(subs_.size() <= options_.max_subscriptions);
  // `request` is a local copy: the host may fail the sub synchronously.
  host_->StartSubscription(request);
}

void Session::HandleUnsub(const UnsubMessage& unsub) {
  VENT_DCHECK(state_ == State::kConnected);
  if (!unsub.id.has_value()) {
    Send(WriteNosub(std::nullopt));
    return;
  }
  const std::string& id = *unsub.id;
  if (subs_.erase(id) > 0) host_->StopSubscription(id);
  Send(WriteNosub(id));
}

void Session::HandleMethod(MethodMessage method) {
  VENT_DCHECK(state_ == State::kConnected);
  ++pending_methods_[method.id];
  MethodCall call{std::move(method.id), std::move(method.method),
                  std::move(method.params)};
  host_->CallMethod(call);
}

void Session::OnTick(absl::Time now) {
  if (state_ != State::kConnected || !heartbeat_enabled()) return;
  if (now >= ping_deadline_) {
    CloseWith(kNormalClosure, "heartbeat timeout");
    return;
  }
  if (now < next_heartbeat_check_) return;
  if (!seen_message_ && ping_deadline_ == absl::InfiniteFuture()) {
    Send(WritePing(std::nullopt));
    ping_deadline_ = now + options_.heartbeat_timeout;
  }
  seen_message_ = false;
  next_heartbeat_check_ += options_.heartbeat_interval;
  if (next_heartbeat_check_ <= now) {
    next_heartbeat_check_ = now + options_.heartbeat_interval;
  }
}

absl::Time Session::NextDeadline() const {
  if (state_ != State::kConnected || !heartbeat_enabled()) {
    return absl::InfiniteFuture();
  }
  return std::min(next_heartbeat_check_, ping_deadline_);
}

void Session::SubscriptionReady(const std::string& id,
                                std::optional<bool> recovered,
                                absl::string_view positions_json) {
  if (state_ != State::kConnected || !subs_.contains(id)) return;
  Send(WriteReady({id}, recovered, positions_json));
}

void Session::SubscriptionFailed(const std::string& id, const Error& error) {
  if (state_ != State::kConnected || subs_.erase(id) == 0) return;
  Send(WriteNosub(id, &error));
}

void Session::MethodDone(const std::string& id,
                         std::optional<boost::json::value> result,
                         std::optional<Error> error) {
  if (state_ != State::kConnected) return;
  auto it = pending_methods_.find(id);
  if (it == pending_methods_.end()) return;
  VENT_DCHECK(it->second > 0);
  if (--it->second == 0) pending_methods_.erase(it);
  if (error.has_value()) {
    // Meteor: an error result is sent before the write fence fires.
    Send(WriteResult(id, nullptr, &*error));
    Send(WriteUpdated({id}));
  } else {
    // Meteor without pending writes: the fence fires first.
    Send(WriteUpdated({id}));
    Send(WriteResult(id, result.has_value() ? &*result : nullptr, nullptr));
  }
}

bool Session::is_active(const std::string& sub_id) const {
  return subs_.contains(sub_id);
}

std::vector<std::string> Session::active_subscriptions() const {
  std::vector<std::pair<uint64_t, std::string>> ordered;
  ordered.reserve(subs_.size());
  for (const auto& [id, sub] : subs_) ordered.emplace_back(sub.seq, id);
  std::sort(ordered.begin(), ordered.end());
  std::vector<std::string> ids;
  ids.reserve(ordered.size());
  for (auto& [seq, id] : ordered) ids.push_back(std::move(id));
  return ids;
}

const SubRequest* Session::subscription(const std::string& sub_id) const {
  auto it = subs_.find(sub_id);
  return it == subs_.end() ? nullptr : &it->second.request;
}

}  // namespace vent::ddp
