// The per-connection DDP state machine, with no I/O: the bridge feeds it
// inbound text messages and clock ticks, and it answers through a SessionHost.
//
// States and transitions:
//   kAwaitingConnect -> kConnected  on a good `connect`
//   kAwaitingConnect -> kClosed     on a bad `connect` (`failed` is sent)
//   kConnected       -> kClosed     on a heartbeat timeout
//
// Behaviour (docs/protocol.md, "Handshake", "Heartbeats", "Subscriptions",
// "Bad input" and "Limits"):
//  * Handshake: versions "1", "pre2", "pre1"; `failed` then host->Close for
//    anything else; everything after that is dropped. Messages pipelined
//    behind `connect` are handled in order as the host feeds them.
//  * Heartbeat (not for pre1, disabled by heartbeat_interval == 0): every
//    interval after `connected`, if no inbound message arrived since the
//    previous tick and no ping is outstanding, send {"msg":"ping"} and arm
//    heartbeat_timeout; ANY inbound message (even a malformed one) cancels
//    it; expiry -> host->Close(1000, "heartbeat timeout").
//  * `ping` is answered at once ({"msg":"pong"[,"id"]}); on pre1 sessions
//    ping/pong are "Bad request" as in Meteor.
//  * `sub`: an id that is already active is ignored. params[0] (the Vent
//    rand) must be a non-empty string of at most kMaxRandLength bytes, else
//    nosub 400 "Match failed". More than max_subscriptions active -> nosub
//    429 "Too many subscriptions". Otherwise the sub becomes active and
//    host->StartSubscription is called; publication names are the host's
//    business (it answers 404 via SubscriptionFailed).
//  * `unsub` always yields nosub (unknown ids too; no id -> {"msg":"nosub"});
//    an active sub is first stopped with host->StopSubscription. A non-string
//    id -> error "Malformed unsubscription". After nosub nothing more is sent
//    for that id (SubscriptionReady/Failed for it are ignored).
//  * `method`: every well-formed method goes to host->CallMethod. MethodDone
//    with a result sends updated then result (Meteor, no pending writes);
//    with an error sends result then updated. Unknown/duplicate ids ignored.
//  * Every bad input (docs/protocol.md, "Bad input") gets exactly Meteor's
//    reply; malformed input never closes the connection.
//
// Threading: not thread-safe; one Session per connection, used from the
// connection's thread. Host callbacks run synchronously inside Session
// methods; a host MAY call SubscriptionReady/SubscriptionFailed/MethodDone
// from within StartSubscription/CallMethod, but must not destroy the Session
// inside a callback. When the session closes (host->Close) it does not call
// StopSubscription: the host releases all subscriptions of a closed or
// destroyed session itself. The host must outlive the Session.
#ifndef VENT_DDP_SESSION_H_
#define VENT_DDP_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/json/array.hpp"
#include "boost/json/value.hpp"
#include "vent/ddp/codec.h"
#include "vent/ddp/messages.h"

namespace vent::ddp {

struct SessionOptions {
  absl::Duration heartbeat_interval =
      absl::Seconds(15);  // 0 disables server pings
  absl::Duration heartbeat_timeout = absl::Seconds(15);
  size_t max_subscriptions = 1024;
  int max_json_depth = 64;
  size_t max_offending_echo = 1024;
};

// Longest accepted Vent rand (params[0] of a sub).
inline constexpr size_t kMaxRandLength = 128;

// A subscription to start. args = params after params[0].
struct SubRequest {
  std::string id;
  std::string name;
  std::string rand;
  boost::json::array args;
  std::optional<boost::json::value> since;  // see SubMessage::since
};

struct MethodCall {
  std::string id;
  std::string method;
  boost::json::array params;
};

// Implemented by the bridge; all calls happen synchronously inside Session
// methods.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // One DDP message (one WS text frame).
  virtual void Send(std::string frame) = 0;
  // Close the connection after the frames already sent. Called at most once.
  virtual void Close(uint16_t ws_code, std::string reason) = 0;
  // The host later calls SubscriptionReady / SubscriptionFailed.
  virtual void StartSubscription(const SubRequest& req) = 0;
  // After it returns, the host sends nothing more for id.
  virtual void StopSubscription(const std::string& id) = 0;
  // The host later calls MethodDone.
  virtual void CallMethod(const MethodCall& call) = 0;
};

class Session {
 public:
  enum class State { kAwaitingConnect, kConnected, kClosed };

  // `host` is not owned and must outlive the session.
  Session(SessionOptions options, SessionHost* host);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One inbound WS text message.
  void OnMessage(absl::string_view text, absl::Time now);
  // Heartbeat; the host calls it at NextDeadline() (early calls are no-ops).
  void OnTick(absl::Time now);
  // InfiniteFuture when nothing is scheduled.
  absl::Time NextDeadline() const;

  // -> {"msg":"ready","subs":[id]} if the sub is still active (may repeat,
  // e.g. after re-running subs on login). `recovered` adds the Vent
  // extension field (see WriteReady).
  void SubscriptionReady(const std::string& id,
                         std::optional<bool> recovered = std::nullopt,
                         absl::string_view positions_json = {});
  // -> nosub with error if active; forgets the sub.
  void SubscriptionFailed(const std::string& id, const Error& error);
  // Completes an outstanding method (see the header comment for ordering).
  void MethodDone(const std::string& id,
                  std::optional<boost::json::value> result,
                  std::optional<Error> error);

  State state() const { return state_; }
  bool connected() const { return state_ == State::kConnected; }
  // Empty until connected.
  const std::string& session_id() const { return session_id_; }
  // Negotiated version; empty until connected.
  std::string_view version() const { return version_; }
  size_t subscription_count() const { return subs_.size(); }
  // Started and not stopped/failed.
  bool is_active(const std::string& sub_id) const;
  // Active subscription ids in start order (for re-running after login).
  std::vector<std::string> active_subscriptions() const;
  // The request an active subscription was started with, or nullptr.
  const SubRequest* subscription(const std::string& sub_id) const;

 private:
  struct ActiveSub {
    uint64_t seq;
    SubRequest request;
  };

  void Send(std::string frame);
  void CloseWith(uint16_t code, std::string reason);
  void SendError(absl::string_view reason, const boost::json::value* offending);
  void HandleConnect(const ConnectMessage& connect, absl::Time now);
  void HandleSub(SubMessage sub);
  void HandleUnsub(const UnsubMessage& unsub);
  void HandleMethod(MethodMessage method);
  bool heartbeat_enabled() const;

  const SessionOptions options_;
  const CodecOptions codec_options_;
  SessionHost* const host_;
  State state_ = State::kAwaitingConnect;
  std::string session_id_;
  std::string version_;

  // Heartbeat (valid while connected and heartbeat_enabled()).
  absl::Time next_heartbeat_check_ = absl::InfiniteFuture();
  absl::Time ping_deadline_ =
      absl::InfiniteFuture();  // Future => no ping outstanding
  bool seen_message_ = false;

  absl::flat_hash_map<std::string, ActiveSub> subs_;
  uint64_t next_sub_seq_ = 0;
  absl::flat_hash_map<std::string, int> pending_methods_;  // id -> count
};

}  // namespace vent::ddp

#endif  // VENT_DDP_SESSION_H_
