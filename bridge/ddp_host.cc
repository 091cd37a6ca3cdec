#include "bridge/ddp_host.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "vent/base/check.h"
#include "vent/base/json_write.h"
#include "vent/base/log.h"
#include "vent/ddp/messages.h"
#include "vent/ws/sockjs.h"

namespace vent::bridge {
namespace {

ddp::SessionOptions MakeSessionOptions(const BridgeOptions& o) {
  ddp::SessionOptions s;
  s.heartbeat_interval = o.heartbeat_interval;
  s.heartbeat_timeout = o.heartbeat_timeout;
  s.max_subscriptions = static_cast<size_t>(o.max_subscriptions);
  return s;
}

constexpr char kRedisUnavailable[] = "Redis is unavailable, try again later";

// Delivery collection (vent/pub/README.md): the frame prefix is
// kCollectionHead + "<collection>" + kCollectionTail, so `added` and
// `removed` for the same document are derived from it.
constexpr absl::string_view kCollectionHead =
    "{\"msg\":\"changed\",\"collection\":";
constexpr absl::string_view kCollectionTail =
    ",\"id\":\"i\",\"fields\":{\"e\":";

std::string CollectionPrefix(absl::string_view rand, absl::string_view pub) {
  std::string out(kCollectionHead.data(), kCollectionHead.size());
  AppendJsonString(&out, absl::StrCat("__vent.", rand, ".", pub));
  out.append(kCollectionTail.data(), kCollectionTail.size());
  return out;
}

// The quoted collection name inside a CollectionPrefix().
absl::string_view QuotedCollection(absl::string_view prefix) {
  return prefix.substr(
      kCollectionHead.size(),
      prefix.size() - kCollectionHead.size() - kCollectionTail.size());
}
constexpr char kNeedsLogin[] =
    "You must be logged in to subscribe to this publication";

}  // namespace

DdpHost::DdpHost(Deps deps, ConnectionInfo info)
    : deps_(deps),
      ctx_(*deps.ctx),
      info_(std::move(info)),
      session_(MakeSessionOptions(ctx_.options), this),
      user_id_(info_.user_id),
      user_expires_(info_.user_id.empty() ? absl::InfiniteFuture()
                                          : info_.user_expires) {}

DdpHost::~DdpHost() { Release(); }

void DdpHost::Release() {
  if (released_) return;
  released_ = true;
  for (auto& [id, sub] : subs_) Unregister(*sub);
  subs_.clear();
  login_.reset();
  inbound_.clear();
  inbound_bytes_ = 0;
}

const Subscription* DdpHost::subscription(const std::string& id) const {
  auto it = subs_.find(id);
  return it == subs_.end() ? nullptr : it->second.get();
}

void DdpHost::OnMessage(absl::string_view text, absl::Time now) {
  if (released_) return;
  now_ = now;
  if (login_.has_value() || !inbound_.empty()) {
    // Behind a login that waits for its answer (see the header comment).
    inbound_bytes_ += text.size();
    if (inbound_bytes_ > 4 * static_cast<size_t>(std::max<int64_t>(
                                 ctx_.options.max_message, 1))) {
      ctx_.metrics->protocol_closes->Add();
      for (auto& [id, sub] : subs_) Unregister(*sub);
      subs_.clear();
      login_.reset();
      inbound_.clear();
      inbound_bytes_ = 0;
      deps_.output->CloseConnection(
          1008, "too many messages while a login is pending");
      return;
    }
    inbound_.emplace_back(text);
    return;
  }
  session_.OnMessage(text, now);
  CheckConsistency();
}

void DdpHost::DrainInbound() {
  if (draining_) return;
  draining_ = true;
  while (!released_ && !login_.has_value() && !inbound_.empty() &&
         session_.state() != ddp::Session::State::kClosed) {
    std::string text = std::move(inbound_.front());
    inbound_.pop_front();
    inbound_bytes_ -= text.size();
    deps_.output->OnQueuedMessage();
    session_.OnMessage(text, now_);
  }
  draining_ = false;
}

void DdpHost::OnTick(absl::Time now) {
  if (released_) return;
  now_ = now;
  if (login_.has_value() && now >= login_->deadline) {
    // The backend did not answer in time: refused; a late answer is stale.
    ctx_.metrics->login_error->Add();
    PendingLogin p = std::move(*login_);
    login_.reset();
    FinishLogin(p.method_id, p.token,
                LoginOutcome{absl::DeadlineExceededError("login timed out"),
                             ddp::Error{403, kLoggedOutReason, std::nullopt}});
    deps_.output->Defer([](DdpHost& host) {
      host.DrainInbound();
      host.CheckConsistency();
    });
  }
  if (now >= session_.NextDeadline()) session_.OnTick(now);
  if (released_ || !session_.connected()) return;
  if (!user_id_.empty() && now >= user_expires_) {
    VENT_LOG_DEBUG("login expired", "remote", info_.remote, "user", user_id_);
    ctx_.metrics->login_expired->Add();
    user_id_.clear();
    user_expires_ = absl::InfiniteFuture();
    RerunSubscriptions(Rerun::kExpired);
  }
  // Subscriptions still waiting for Redis past their deadline: nosub 503.
  std::vector<std::string> expired;
  for (auto& [id, sub] : subs_) {
    if (sub->registered && !sub->ready && now >= sub->deadline) {
      expired.push_back(id);
    }
  }
  for (const std::string& id : expired) Fail(id, 503, kRedisUnavailable);
  CheckConsistency();
}

// --- ddp::SessionHost -------------------------------------------------------

void DdpHost::Send(std::string frame) {
  if (released_) return;
  if (absl::StartsWith(frame, "{\"msg\":\"error\"")) {
    ctx_.metrics->ddp_errors->Add();
  }
  deps_.output->SendMessage(frame);
}

void DdpHost::Close(uint16_t ws_code, std::string reason) {
  // The session closes for a missed heartbeat (it had negotiated a version)
  // or a failed version negotiation (it had not). Its subs are gone.
  if (!session_.version().empty()) ctx_.metrics->heartbeat_closes->Add();
  for (auto& [id, sub] : subs_) Unregister(*sub);
  subs_.clear();
  deps_.output->CloseConnection(ws_code, reason);
}

void DdpHost::StartSubscription(const ddp::SubRequest& req) {
  VENT_DCHECK(!subs_.contains(req.id));  // the session ignores active ids
  int code = 0;
  std::string reason;
  boost::json::object params;
  std::unique_ptr<Subscription> sub = Build(req, &code, &reason, &params);
  if (sub == nullptr) {
    // Not in subs_: tell the session directly (it forgets the id).
    ctx_.metrics->subs_refused->Add();
    session_.SubscriptionFailed(req.id, ddp::Error{code, reason, std::nullopt});
    return;
  }
  Subscription& s = *sub;
  subs_[req.id] = std::move(sub);
  if (s.pub->auth() == pub::Auth::kAuthorizer) {
    AskAuthorizer(s, params);
  } else {
    Register(s);
  }
}

void DdpHost::StopSubscription(const std::string& id) {
  auto it = subs_.find(id);
  VENT_DCHECK(it != subs_.end());
  if (it == subs_.end()) return;
  Unregister(*it->second);
  RemoveDocument(*it->second);  // before the session's nosub
  subs_.erase(it);
}

void DdpHost::CallMethod(const ddp::MethodCall& call) {
  if (call.method == "login") {
    Login(call, now_);
    return;
  }
  if (call.method == "logout") {
    bool was = !user_id_.empty();
    user_id_.clear();
    user_expires_ = absl::InfiniteFuture();
    session_.MethodDone(call.id, std::nullopt, std::nullopt);
    if (was) RerunSubscriptions(Rerun::kLogout);
    return;
  }
  session_.MethodDone(
      call.id, std::nullopt,
      ddp::Error{404, absl::StrCat("Method '", call.method, "' not found"),
                 std::nullopt});
}

ConnectionMeta DdpHost::Meta() const {
  ConnectionMeta m = {{"remote", info_.remote},
                      {"origin", info_.origin},
                      {"user_agent", info_.user_agent}};
  if (!info_.forwarded_for.empty()) {
    m.push_back({"x_forwarded_for", info_.forwarded_for});
  }
  return m;
}

void DdpHost::Login(const ddp::MethodCall& call, absl::Time now) {
  const boost::json::object* opts =
      call.params.size() == 1 ? call.params[0].if_object() : nullptr;
  const boost::json::value* resume =
      opts != nullptr ? opts->if_contains("resume") : nullptr;
  std::string token = resume != nullptr && resume->is_string()
                          ? std::string(resume->get_string())
                          : std::string();
  if (ctx_.access == nullptr) {
    ctx_.metrics->login_refused->Add();
    FinishLogin(call.id, token,
                LoginOutcome{absl::UnauthenticatedError("no login configured"),
                             ddp::Error{403, kLoggedOutReason, std::nullopt}});
    return;
  }
  uint64_t generation = next_generation_++;
  std::optional<LoginOutcome> now_outcome = ctx_.access->Login(
      call.params, now, Meta(),
      [defer = deps_.output->MakeDeferrer(),
       generation](LoginOutcome outcome) mutable {
        // Any thread: hop back to the connection's thread.
        defer(
            [generation, outcome = std::move(outcome)](DdpHost& host) mutable {
              host.OnLoginAnswer(generation, std::move(outcome));
            });
      });
  if (now_outcome.has_value()) {
    FinishLogin(call.id, token, *std::move(now_outcome));
    return;
  }
  login_ = PendingLogin{call.id, std::move(token), generation,
                        now + ctx_.options.authorizer_timeout};
}

void DdpHost::OnLoginAnswer(uint64_t generation, LoginOutcome outcome) {
  if (released_ || !login_.has_value() || login_->generation != generation) {
    return;  // stale: timed out, or the connection closed
  }
  PendingLogin p = std::move(*login_);
  login_.reset();
  FinishLogin(p.method_id, p.token, std::move(outcome));
  DrainInbound();
  CheckConsistency();
}

void DdpHost::FinishLogin(const std::string& method_id,
                          const std::string& token, LoginOutcome outcome) {
  if (!outcome.result.ok()) {
    // Meteor keeps the previous login when a login attempt fails.
    session_.MethodDone(method_id, std::nullopt, outcome.error);
    return;
  }
  const LoginResult& login = *outcome.result;
  user_id_ = login.user_id;
  user_expires_ = login.valid_until;
  boost::json::object result;
  result["id"] = login.user_id;
  result["token"] = token;
  result["tokenExpires"] =
      boost::json::object{{"$date", absl::ToUnixMillis(login.expires)}};
  result["type"] = "resume";
  session_.MethodDone(method_id, boost::json::value(std::move(result)),
                      std::nullopt);
  RerunSubscriptions(Rerun::kLogin);
}

// --- subscriptions ----------------------------------------------------------

std::unique_ptr<Subscription> DdpHost::Build(const ddp::SubRequest& req,
                                             int* code, std::string* reason,
                                             boost::json::object* params,
                                             bool use_since) {
  const pub::Publication* pub = ctx_.catalog->Find(req.name);
  if (pub == nullptr) {
    *code = 404;
    *reason = absl::StrCat("Subscription '", req.name, "' not found");
    return nullptr;
  }
  // Params are validated before access is checked (400 before 403).
  auto checked = pub->ValidateParams(req.args);
  if (!checked.ok()) {
    VENT_LOG_DEBUG("sub refused: bad params", "pub", req.name, "detail",
                   checked.status().message());
    *code = 400;
    *reason = "Match failed";
    return nullptr;
  }
  if (pub->needs_user() && user_id_.empty()) {
    *code = 403;
    *reason = rerunning_ && rerun_reason_ == Rerun::kExpired ? kExpiredReason
                                                             : kNeedsLogin;
    return nullptr;
  }
  auto channels = pub->Channels(*checked, user_id_);
  if (!channels.ok()) {
    bool denied = absl::IsPermissionDenied(channels.status());
    *code = denied ? 403 : 400;
    *reason =
        denied ? std::string(channels.status().message()) : "Match failed";
    return nullptr;
  }
  auto sub = std::make_unique<Subscription>();
  sub->owner = this;
  sub->sink = deps_.sink;
  sub->id = req.id;
  sub->generation = next_generation_++;
  sub->pub = pub;
  if (pub->delivery() == pub::Delivery::kCollection) {
    sub->prefix = CollectionPrefix(req.rand, pub->name());
    sub->suffix = "}}";
  } else {
    sub->prefix = ddp::VentFramePrefix(req.rand, pub->name());
  }
  if (deps_.sockjs) sub->sockjs_prefix = ws::SockJsEscape(sub->prefix);
  sub->channels = std::move(*channels);
  if (absl::Status st =
          use_since ? ParseSince(req, *sub) : ParseSince({}, *sub);
      !st.ok()) {
    *code = 400;
    *reason = std::string(st.message());
    return nullptr;
  }
  *params = std::move(*checked);
  return sub;
}

void DdpHost::Fail(std::string id, int code, std::string reason) {
  auto it = subs_.find(id);
  VENT_DCHECK(it != subs_.end());
  if (it == subs_.end()) return;
  Unregister(*it->second);
  RemoveDocument(*it->second);
  subs_.erase(it);
  ctx_.metrics->subs_refused->Add();
  session_.SubscriptionFailed(
      id, ddp::Error{code, std::move(reason), std::nullopt});
}

void DdpHost::RemoveDocument(Subscription& sub) {
  if (!sub.doc_added) return;
  sub.doc_added = false;
  Send(absl::StrCat("{\"msg\":\"removed\",\"collection\":",
                    QuotedCollection(sub.prefix), ",\"id\":\"i\"}"));
}

void DdpHost::Register(Subscription& sub) {
  sub.deadline = now_ + ctx_.options.sub_timeout;
  if (deps_.registry->Add(&sub)) OnComplete(sub);
}

void DdpHost::OnComplete(Subscription& sub) {
  if (sub.recovery != nullptr) {
    BeginRecovery(sub);  // again after a Redis gap during the recovery
  } else {
    // A position given for a publication without history: nothing could be
    // recovered; say so (the client refetches if it must).
    MarkReady(sub, sub.since_given ? std::optional<bool>(false) : std::nullopt);
  }
}

void DdpHost::Unregister(Subscription& sub) {
  if (sub.registered) deps_.registry->Remove(&sub);
  if (sub.ready) {
    ctx_.metrics->subscriptions->Add(-1);
    sub.ready = false;
  }
}

void DdpHost::MarkReady(Subscription& sub, std::optional<bool> recovered,
                        absl::string_view positions_json) {
  VENT_DCHECK(!sub.ready && sub.registered);
  sub.ready = true;
  ctx_.metrics->subs_ready->Add();
  ctx_.metrics->subscriptions->Add(1);
  if (sub.pub->delivery() == pub::Delivery::kCollection && !sub.doc_added) {
    // The document the events change exists before `ready` (Meteor sends a
    // publication's initial documents before its ready).
    sub.doc_added = true;
    Send(absl::StrCat(
        "{\"msg\":\"added\",\"collection\":", QuotedCollection(sub.prefix),
        ",\"id\":\"i\",\"fields\":{}}"));
  }
  session_.SubscriptionReady(sub.id, recovered, positions_json);
}

void DdpHost::OnSubscriptionAcked(Subscription& sub) {
  VENT_DCHECK(sub.owner == this);
  VENT_DCHECK(subscription(sub.id) == &sub);
  if (released_) return;
  OnComplete(sub);
}

void DdpHost::OnSubscriptionGap(Subscription& sub) {
  VENT_DCHECK(subscription(sub.id) == &sub && sub.ready);
  if (released_) return;
  ctx_.metrics->subs_gap->Add();
  session_.SubscriptionReady(sub.id, /*recovered=*/false);
}

void DdpHost::AskAuthorizer(Subscription& sub,
                            const boost::json::object& params) {
  const Authenticator* access = ctx_.access;
  if (access == nullptr || !access->has_authorizer()) {
    Fail(sub.id, 503, "Authorizer unavailable");
    return;
  }
  auth::AuthorizeQuery q;
  q.user_id = user_id_;
  q.publication = sub.pub->name();
  q.params_json = JsonText(params);
  q.channels = sub.channels;
  q.connection = Meta();
  access->Authorize(
      std::move(q),
      [defer = deps_.output->MakeDeferrer(), id = sub.id,
       generation = sub.generation](absl::StatusOr<auth::Decision> d) mutable {
        // Any thread: hop back to the connection's thread.
        defer([id = std::move(id), generation,
               d = std::move(d)](DdpHost& host) mutable {
          host.OnAuthorized(id, generation, std::move(d));
        });
      });
}

void DdpHost::OnAuthorized(const std::string& id, uint64_t generation,
                           absl::StatusOr<auth::Decision> decision) {
  if (released_) return;
  auto it = subs_.find(id);
  // Stale: the sub was stopped, failed or re-run since the question.
  if (it == subs_.end() || it->second->generation != generation) return;
  Subscription& sub = *it->second;
  VENT_DCHECK(!sub.registered);
  if (!decision.ok()) {
    ctx_.metrics->authorize_error->Add();
    VENT_LOG_WARN("authorizer unavailable", "pub", sub.pub->name(), "error",
                  decision.status().message());
    Fail(id, 503, "Authorizer unavailable");
  } else if (!decision->allow) {
    ctx_.metrics->authorize_deny->Add();
    Fail(id, 403,
         decision->reason.empty() ? "Access denied" : decision->reason);
  } else {
    ctx_.metrics->authorize_allow->Add();
    Register(sub);
  }
  CheckConsistency();
}

void DdpHost::RerunSubscriptions(Rerun why) {
  // Meteor re-runs every publication after the user changes; each sub gets
  // `ready` again or a nosub.
  rerunning_ = true;
  rerun_reason_ = why;
  for (const std::string& id : session_.active_subscriptions()) {
    const ddp::SubRequest* req = session_.subscription(id);
    auto it = subs_.find(id);
    VENT_DCHECK(req != nullptr && it != subs_.end());
    if (req == nullptr || it == subs_.end()) continue;
    std::unique_ptr<Subscription> old = std::move(it->second);
    int code = 0;
    std::string reason;
    boost::json::object params;
    ddp::SubRequest copy = *req;
    // The client's `since` was used by the first run; a re-run starts from
    // the current positions (the old sub delivered everything until now).
    std::unique_ptr<Subscription> fresh =
        Build(copy, &code, &reason, &params, /*use_since=*/false);
    if (fresh == nullptr) {
      Unregister(*old);
      RemoveDocument(*old);
      subs_.erase(it);
      ctx_.metrics->subs_refused->Add();
      session_.SubscriptionFailed(id, ddp::Error{code, reason, std::nullopt});
      continue;
    }
    Subscription& s = *fresh;
    // Same id, rand and publication: the client's document stays.
    s.doc_added = old->doc_added;
    it->second = std::move(fresh);
    if (s.pub->auth() == pub::Auth::kAuthorizer) {
      Unregister(*old);
      AskAuthorizer(s, params);
    } else {
      // Register the new one first: shared channels stay subscribed (and
      // confirmed), so an unchanged sub is ready again at once.
      Register(s);
      Unregister(*old);
    }
  }
  rerunning_ = false;
}

void DdpHost::CheckConsistency() const {
#if VENT_DCHECK_IS_ON
  if (released_ || session_.state() == ddp::Session::State::kClosed) {
    VENT_DCHECK(subs_.empty() || released_);
    return;
  }
  VENT_DCHECK(session_.subscription_count() == subs_.size());
  for (const auto& [id, sub] : subs_) {
    VENT_DCHECK(session_.is_active(id));
    VENT_DCHECK(sub->id == id && sub->owner == this);
    VENT_DCHECK(!sub->ready || sub->registered);
  }
#endif
}

}  // namespace vent::bridge
