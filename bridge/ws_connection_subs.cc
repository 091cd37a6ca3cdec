// WsConnection, second half: subscriptions (validation, access, registry),
// login/logout and methods. The first half (ws_connection.cc) is the I/O.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "boost/json/serialize.hpp"
#include "bridge/access.h"
#include "bridge/ws_connection.h"
#include "vent/base/log.h"
#include "vent/ddp/messages.h"

namespace vent::bridge {

namespace asio = boost::asio;

void WsConnection::FailSubscription(const std::string& id, int code,
                                    std::string reason) {
  if (auto it = subs_.find(id); it != subs_.end()) {
    if (it->second->registered) worker_.RemoveSubscription(it->second.get());
    subs_.erase(it);
  }
  ctx_.metrics->subs_refused->Add();
  Defer([this, id, code, reason = std::move(reason)] {
    session_.SubscriptionFailed(id, ddp::Error{code, reason, std::nullopt});
  });
}

void WsConnection::StartSubscription(const ddp::SubRequest& req) {
  if (closed_) return;
  const pub::Publication* pub = ctx_.catalog->Find(req.name);
  if (pub == nullptr) {
    FailSubscription(req.id, 404,
                     absl::StrCat("Subscription '", req.name, "' not found"));
    return;
  }
  // Params are validated before access is checked (400 before 403).
  auto params = pub->ValidateParams(req.args);
  if (!params.ok()) {
    VENT_LOG_DEBUG("sub refused: bad params", "pub", req.name, "detail",
                   params.status().message());
    FailSubscription(req.id, 400, "Match failed");
    return;
  }
  if (pub->needs_user() && user_id_.empty()) {
    FailSubscription(req.id, 403,
                     "You must be logged in to subscribe to this publication");
    return;
  }
  auto channels = pub->Channels(*params, user_id_);
  if (!channels.ok()) {
    bool denied = absl::IsPermissionDenied(channels.status());
    FailSubscription(
        req.id, denied ? 403 : 400,
        denied ? std::string(channels.status().message()) : "Match failed");
    return;
  }
  auto sub = std::make_unique<Subscription>();
  sub->conn = this;
  sub->id = req.id;
  sub->pub = pub;
  sub->generation = ++sub_generation_;
  sub->prefix = ddp::VentFramePrefix(req.rand, pub->name());
  if (transport_ == Transport::kSockJs)
    sub->sockjs_prefix = SockJsEscape(sub->prefix);
  for (std::string& c : *channels) {
    if (std::find(sub->channels.begin(), sub->channels.end(), c) ==
        sub->channels.end()) {
      sub->channels.push_back(std::move(c));
    }
  }
  sub->deadline = absl::Now() + ctx_.options.sub_timeout;
  Subscription* raw = sub.get();
  subs_[req.id] = std::move(sub);
  if (pub->auth() == pub::Auth::kAuthorizer) {
    AskAuthorizer(*raw, *params);
    return;
  }
  Register(*raw);
}

void WsConnection::Register(Subscription& sub) {
  sub.registered = true;
  worker_.AddSubscription(&sub);
  if (sub.acked == sub.channels.size()) {
    std::string id = sub.id;
    Defer([this, id] { OnSubscriptionAcked(id); });
  }
}

void WsConnection::AskAuthorizer(Subscription& sub,
                                 const boost::json::object& params) {
  if (ctx_.access == nullptr || !ctx_.access->has_authorizer()) {
    FailSubscription(sub.id, 503, "Authorizer unavailable");
    return;
  }
  auth::AuthorizeQuery q;
  q.user_id = user_id_;
  q.publication = sub.pub->name();
  q.params_json = boost::json::serialize(params);
  q.channels = sub.channels;
  q.connection = {{"remote", info_.remote},
                  {"origin", info_.origin},
                  {"user_agent", info_.user_agent}};
  if (!info_.forwarded_for.empty())
    q.connection.push_back({"x_forwarded_for", info_.forwarded_for});
  std::weak_ptr<WsConnection> weak = weak_from_this();
  asio::io_context& io = worker_.io();
  std::string id = sub.id;
  uint64_t generation = sub.generation;
  ctx_.access->Authorize(
      std::move(q),
      [weak, &io, id, generation](absl::StatusOr<auth::Decision> d) mutable {
        // gRPC thread: hop back to the connection's worker.
        asio::post(io, [weak, id, generation, d = std::move(d)]() mutable {
          if (auto self = weak.lock())
            self->OnAuthorized(id, generation, std::move(d));
        });
      });
}

void WsConnection::OnAuthorized(const std::string& id, uint64_t generation,
                                absl::StatusOr<auth::Decision> decision) {
  if (closed_) return;
  auto it = subs_.find(id);
  if (it == subs_.end() || it->second->generation != generation)
    return;  // unsubscribed
  if (!decision.ok()) {
    ctx_.metrics->authorize_error->Add();
    VENT_LOG_WARN("authorizer unavailable", "pub", it->second->pub->name(),
                  "error", decision.status().message());
    FailSubscription(id, 503, "Authorizer unavailable");
  } else if (!decision->allow) {
    ctx_.metrics->authorize_deny->Add();
    FailSubscription(
        id, 403, decision->reason.empty() ? "Access denied" : decision->reason);
  } else {
    ctx_.metrics->authorize_allow->Add();
    Register(*it->second);
  }
  Flush();
}

void WsConnection::RerunSubscriptions() {
  // After login/logout every subscription is evaluated again with the new
  // user (Meteor re-runs publications); each gets a new `ready` or a nosub.
  for (const std::string& id : session_.active_subscriptions()) {
    const ddp::SubRequest* req = session_.subscription(id);
    if (req == nullptr) continue;
    ddp::SubRequest copy = *req;
    StopSubscription(id);
    StartSubscription(copy);
  }
}

void WsConnection::OnSubscriptionAcked(const std::string& sub_id) {
  auto it = subs_.find(sub_id);
  if (it == subs_.end() || it->second->ready) return;
  it->second->ready = true;
  ctx_.metrics->subs_ready->Add();
  ctx_.metrics->subscriptions->Add(1);
  session_.SubscriptionReady(sub_id);
}

void WsConnection::StopSubscription(const std::string& id) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return;
  if (it->second->ready) ctx_.metrics->subscriptions->Add(-1);
  if (it->second->registered) worker_.RemoveSubscription(it->second.get());
  subs_.erase(it);
}

void WsConnection::CallMethod(const ddp::MethodCall& call) {
  std::string id = call.id;
  if (call.method == "login") {
    ddp::Error error{
        403, "You've been logged out by the server. Please log in again.",
        std::nullopt};
    absl::StatusOr<LoginResult> login =
        absl::UnauthenticatedError("no login configured");
    if (ctx_.access != nullptr)
      login = ctx_.access->Login(call.params, absl::Now(), &error);
    if (!login.ok()) {
      Defer(
          [this, id, error] { session_.MethodDone(id, std::nullopt, error); });
      return;
    }
    // The user is set now, so messages pipelined after `login` see it.
    user_id_ = login->user_id;
    boost::json::object result;
    result["id"] = login->user_id;
    result["token"] = call.params[0].as_object().at("resume");
    result["tokenExpires"] =
        boost::json::object{{"$date", absl::ToUnixMillis(login->expires)}};
    result["type"] = "resume";
    Defer([this, id, result = boost::json::value(std::move(result))] {
      session_.MethodDone(id, result, std::nullopt);
    });
    RerunSubscriptions();
    return;
  }
  if (call.method == "logout") {
    user_id_.clear();
    Defer([this, id] { session_.MethodDone(id, std::nullopt, std::nullopt); });
    RerunSubscriptions();
    return;
  }
  std::string method = call.method;
  Defer([this, id, method] {
    session_.MethodDone(
        id, std::nullopt,
        ddp::Error{404, absl::StrCat("Method '", method, "' not found"),
                   std::nullopt});
  });
}

}  // namespace vent::bridge
