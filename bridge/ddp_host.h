// DdpHost: everything one DDP connection means above the transport — the
// DDP session, its Vent subscriptions, login/logout/token expiry and
// authorizer questions — with no socket, no thread and no clock of its own.
// The transport (WsConnection) feeds it inbound DDP messages and sweep ticks
// and gives it a HostOutput; the worker's ChannelRegistry calls it back when
// Redis confirms channels. The randomized model test
// (ddp_host_model_test.cc) drives this class against a reference model.
//
// Subscription lifecycle (one owner: this class):
//  * A sub id has at most one Subscription at a time (`subs_`), and the
//    Session's set of active ids equals subs_'s keys at every return from a
//    public method (checked with VENT_DCHECK).
//  * Everything the client is told about a sub (ready / nosub) is decided
//    synchronously, in inbound order, except three deferred answers: the
//    Redis ack (registry -> OnSubscriptionAcked with the Subscription itself),
//    the authorizer's answer and the deadlines of the sweep. The authorizer's
//    answer carries (id, generation) and is ignored unless that exact
//    Subscription is still waiting for it.
//  * A sub receives events only after its `ready` and never after its
//    `nosub`; a removed Subscription is out of the registry before anything
//    else happens on the connection.
//  * login/logout/expiry re-run every active sub with the new user (Meteor's
//    behaviour): a sub whose channels and access are unchanged moves to a new
//    Subscription that is registered before the old one is removed, so no
//    channel is unsubscribed in between and it is ready again at once.
//
// Delivery collection (vent/pub/README.md): `added` for document "i" goes
// right before the first `ready` of a sub id, `removed` right before the
// nosub that ends it (unsub, refusal on re-run, authorizer deny); the
// document survives re-runs that keep the sub. Nothing is sent on close.
//
// Asynchronous login (--login authorizer): while a `login` waits for the
// backend, no later inbound message of the connection is processed (Meteor:
// messages pipelined after `login` see its result). They wait in order in a
// queue of at most 4 x --max-message bytes (past it: close 1008); the
// transport stops reading meanwhile (input_paused()). The answer is a
// deferred callback carrying the login's generation, ignored unless that
// login is still the one waiting; it is processed, then the queue. At
// --authorizer-timeout the login is refused (403) and a late answer is
// ignored; the queue then drains in a deferred callback (OnTick processes
// no client message). A failure is never a login.
//
// History publications (docs/history.md): when every channel of the sub is
// confirmed, live events are captured (not sent) while the history of each
// channel is read; then the missed events after the client's `since`
// position are sent, then the captured ones not already sent, then `ready`
// with `recovered` (when a position was given) and the channels' positions.
// A read answer carries (id, generation, round) like the authorizer's.
//
// Login expiry: a session logged in with a token is logged out when the
// token expires (exp + the verifier's leeway): subs re-run, `auth: user`
// ones end with nosub 403 "Your session has expired. Please log in again.".
//
// Threading: the connection's worker thread only.
#ifndef VENT_BRIDGE_DDP_HOST_H_
#define VENT_BRIDGE_DDP_HOST_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "boost/json/object.hpp"
#include "bridge/access.h"
#include "bridge/channel_registry.h"
#include "bridge/context.h"
#include "bridge/history_reader.h"
#include "bridge/subscription.h"
#include "vent/ddp/session.h"

namespace vent::bridge {

class DdpHost;

// Who is on the other end (for the authorizer and logs).
struct ConnectionInfo {
  std::string user_id;  // from a token given at connect time, if any
  absl::Time user_expires = absl::InfiniteFuture();  // that token's logout time
  std::string remote;                                // ip:port
  std::string origin;
  std::string user_agent;
  std::string forwarded_for;
};

// What DdpHost needs from its transport.
class HostOutput {
 public:
  virtual ~HostOutput() = default;
  // One DDP message for the client.
  virtual void SendMessage(absl::string_view message) = 0;
  // Close the connection after what is queued (DDP `failed`, heartbeat
  // timeout). Called at most once.
  virtual void CloseConnection(uint16_t ws_code, absl::string_view reason) = 0;
  // Runs `fn` later on the connection's thread if the connection (and so
  // the host) still exists by then; drops it otherwise. Connection thread.
  virtual void Defer(absl::AnyInvocable<void(DdpHost&) &&> fn) = 0;
  // A handle that does what Defer does, callable from any thread at any
  // time — also after the connection is gone (then `fn` is dropped). For
  // answers that arrive on other threads (authorizer, login).
  using Deferrer = std::function<void(absl::AnyInvocable<void(DdpHost&) &&>)>;
  virtual Deferrer MakeDeferrer() = 0;
  // A message queued behind a login is about to be processed (the model
  // checker mirrors its own bookkeeping here; transports ignore it).
  virtual void OnQueuedMessage() {}
};

class DdpHost : public ddp::SessionHost, public SubscriptionOwner {
 public:
  struct Deps {
    BridgeContext* ctx;         // options, catalog, metrics, access
    ChannelRegistry* registry;  // the worker's
    HostOutput* output;         // the transport
    VentSink* sink;             // where Vent frames go (the transport)
    bool sockjs = false;        // subscriptions need SockJS-escaped prefixes
  };

  DdpHost(Deps deps, ConnectionInfo info);
  // Releases everything (as Release()).
  ~DdpHost() override;
  DdpHost(const DdpHost&) = delete;
  DdpHost& operator=(const DdpHost&) = delete;

  // One inbound DDP message (one WS text message / SockJS array element).
  void OnMessage(absl::string_view text, absl::Time now);
  // Periodic: heartbeats, sub deadlines (nosub 503), login expiry.
  void OnTick(absl::Time now);
  // The connection is gone: every subscription leaves the registry and the
  // gauges; nothing is sent any more. Idempotent.
  void Release();

  bool connected() const { return session_.connected(); }
  // A login waits for its answer: the transport should stop reading (what
  // it still feeds to OnMessage is queued).
  bool input_paused() const { return login_.has_value() || !inbound_.empty(); }
  const ddp::Session& session() const { return session_; }
  const std::string& user_id() const { return user_id_; }
  const ConnectionInfo& info() const { return info_; }
  size_t subscription_count() const { return subs_.size(); }
  // The current Subscription of `id`, or nullptr (tests).
  const Subscription* subscription(const std::string& id) const;

  // SubscriptionOwner (registry callbacks).
  void OnSubscriptionAcked(Subscription& sub) override;
  void OnSubscriptionGap(Subscription& sub) override;
  void OnCapture(Subscription& sub, const Transformed& t) override;

  // ddp::SessionHost.
  void Send(std::string frame) override;
  void Close(uint16_t ws_code, std::string reason) override;
  void StartSubscription(const ddp::SubRequest& req) override;
  void StopSubscription(const std::string& id) override;
  void CallMethod(const ddp::MethodCall& call) override;

 private:
  // Why subscriptions are re-run.
  enum class Rerun { kLogin, kLogout, kExpired };

  // Validates and checks access; on success returns a new, unregistered
  // Subscription (or one waiting for the authorizer, `*ask_authorizer`).
  // On failure fills *code / *reason and returns nullptr.
  std::unique_ptr<Subscription> Build(const ddp::SubRequest& req, int* code,
                                      std::string* reason,
                                      boost::json::object* params,
                                      bool use_since = true);
  // Ends sub `id` with nosub {code, reason}. `id` is taken by value: callers
  // pass the failing Subscription's own id, which this destroys.
  void Fail(std::string id, int code, std::string reason);
  // Registers `sub` (already in subs_) and sends `ready` if complete.
  void Register(Subscription& sub);
  // Removes a sub from the registry and the gauges (not from subs_).
  void Unregister(Subscription& sub);
  // Sends `ready`: with `recovered` when the sub carried a position (false
  // for a publication without history), and `positions_json` for history.
  void MarkReady(Subscription& sub, std::optional<bool> recovered,
                 absl::string_view positions_json = {});
  // Delivery collection: `removed` for the sub's document if the client
  // holds it (sent before the nosub that ends the sub).
  void RemoveDocument(Subscription& sub);
  void AskAuthorizer(Subscription& sub, const boost::json::object& params);
  void OnAuthorized(const std::string& id, uint64_t generation,
                    absl::StatusOr<auth::Decision> decision);
  void Login(const ddp::MethodCall& call, absl::Time now);
  void FinishLogin(const std::string& method_id, const std::string& token,
                   LoginOutcome outcome);
  void OnLoginAnswer(uint64_t generation, LoginOutcome outcome);
  // Feeds queued inbound messages to the session until one pauses it again.
  void DrainInbound();
  ConnectionMeta Meta() const;
  void RerunSubscriptions(Rerun why);
  // Every channel is confirmed: ready, or (history) start recovering.
  void OnComplete(Subscription& sub);
  // History (ddp_host_history.cc).
  absl::Status ParseSince(const ddp::SubRequest& req, Subscription& sub);
  void BeginRecovery(Subscription& sub);
  void OnHistoryRead(const std::string& id, uint64_t generation, int round,
                     size_t channel, absl::StatusOr<redis::HistoryState> state);
  void FinishRecovery(Subscription& sub);
  void SendHistoryEvent(Subscription& sub, size_t channel, int64_t offset,
                        const std::string& epoch, const std::string& e);
  void CheckConsistency() const;

  Deps deps_;
  BridgeContext& ctx_;
  ConnectionInfo info_;
  ddp::Session session_;
  absl::flat_hash_map<std::string, std::unique_ptr<Subscription>> subs_;
  std::string user_id_;                               // empty = logged out
  absl::Time user_expires_ = absl::InfiniteFuture();  // logout at
  absl::Time now_ = absl::UnixEpoch();  // of the message / tick being handled
  Rerun rerun_reason_ = Rerun::kLogin;  // while re-running: why
  bool rerunning_ = false;
  uint64_t next_generation_ = 1;
  bool released_ = false;
  // The login waiting for the backend, and the messages that came after it.
  struct PendingLogin {
    std::string method_id;
    std::string token;
    uint64_t generation;
    absl::Time deadline;
  };
  std::optional<PendingLogin> login_;
  // A list, not a deque: an empty std::deque allocates ~600 bytes, and
  // almost every connection keeps this empty for its whole life.
  std::list<std::string> inbound_;
  size_t inbound_bytes_ = 0;
  bool draining_ = false;  // inside DrainInbound
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_DDP_HOST_H_
