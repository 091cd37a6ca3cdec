// Access: who may listen. Verifies DDP login tokens — itself (--login jwt:
// JWT, algorithm pinned by configuration) or through the backend's
// Authorizer service (--login authorizer: Authenticate, e.g. Meteor resume
// tokens) — and asks the Authorizer about `auth: authorizer` publications.
// Maps every outcome to Meteor's error shapes so the connection code only
// forwards them.
//
// Thread-safety: immutable after Create(); Login() may be called from any
// thread; Authorize() and asynchronous logins complete on a gRPC thread.
#ifndef VENT_BRIDGE_ACCESS_H_
#define VENT_BRIDGE_ACCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "boost/json/array.hpp"
#include "bridge/context.h"
#include "bridge/options.h"
#include "vent/auth/authorizer_client.h"
#include "vent/auth/jwt.h"
#include "vent/ddp/messages.h"

namespace vent::bridge {

struct LoginResult {
  std::string user_id;
  absl::Time expires;      // the token's `exp` (tokenExpires in the reply)
  absl::Time valid_until;  // exp + the verifier's leeway: logout time
};

// Meteor's login refusal reasons (403).
inline constexpr char kLoggedOutReason[] =
    "You've been logged out by the server. Please log in again.";
inline constexpr char kExpiredReason[] =
    "Your session has expired. Please log in again.";
inline constexpr char kForbiddenReason[] = "Login forbidden";
// Longest resume token passed to the Authorizer (--login authorizer).
inline constexpr size_t kMaxLoginTokenBytes = 4096;

// The answer to one DDP `login`.
struct LoginOutcome {
  absl::StatusOr<LoginResult> result;
  // When !result.ok(): the Meteor.Error the client gets.
  ddp::Error error{403, kLoggedOutReason, std::nullopt};
};
using LoginDone = absl::AnyInvocable<void(LoginOutcome) &&>;
// Connection metadata for the backend: remote, origin, user_agent,
// x_forwarded_for.
using ConnectionMeta = std::vector<std::pair<std::string, std::string>>;

// The seam through which a connection logs in and asks the authorizer
// (Access in production, a fake in tests).
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // `params` of a DDP `login` method. Returns the outcome when it is known
  // at once (JWT, malformed params, a cached answer); otherwise returns
  // nullopt and runs `done` later, exactly once, on any thread. `done` is
  // not called when an outcome is returned.
  virtual std::optional<LoginOutcome> Login(const boost::json::array& params,
                                            absl::Time now,
                                            ConnectionMeta connection,
                                            LoginDone done) const = 0;
  // A raw token (from the connect URL or an Authorization header).
  virtual absl::StatusOr<LoginResult> VerifyToken(absl::string_view token,
                                                  absl::Time now) const = 0;
  virtual bool has_authorizer() const = 0;
  // REQUIRES: has_authorizer(). `done` runs on any thread, exactly once.
  virtual void Authorize(
      auth::AuthorizeQuery query,
      absl::AnyInvocable<void(absl::StatusOr<auth::Decision>) &&> done)
      const = 0;
};

class Access : public Authenticator {
 public:
  static absl::StatusOr<std::unique_ptr<Access>> Create(
      const BridgeOptions& options, BridgeContext& ctx);

  // `params` of a DDP `login` method. The Meteor.Error of a refusal:
  //   400 "Unrecognized options for login request" (not [{resume: string}])
  //   403 "Your session has expired. Please log in again." (exp passed;
  //       the Authorizer's EXPIRED or an expires_at_ms in the past)
  //   403 "Login forbidden" (the Authorizer's FORBIDDEN)
  //   403 "You've been logged out by the server. Please log in again."
  //       (anything else: a bad or unknown token, a token over
  //       kMaxLoginTokenBytes, and every Authorizer failure — deadline,
  //       unreachable, invalid answer — which also counts
  //       vent_bridge_logins_total{result="error"}).
  // --login jwt answers at once; --login authorizer asks the Authorizer
  // (cached answers at once). Refusals are counted and logged (at most one
  // line per 10 s, with the count), never with the token.
  std::optional<LoginOutcome> Login(const boost::json::array& params,
                                    absl::Time now, ConnectionMeta connection,
                                    LoginDone done) const override;
  // A raw token (from the connect URL or an Authorization header); JWT only
  // (--login authorizer refuses them: the answer would be asynchronous).
  absl::StatusOr<LoginResult> VerifyToken(absl::string_view token,
                                          absl::Time now) const override;

  bool has_authorizer() const override { return authorizer_ != nullptr; }
  // REQUIRES: has_authorizer(). `done` runs on a gRPC thread.
  void Authorize(auth::AuthorizeQuery query,
                 absl::AnyInvocable<void(absl::StatusOr<auth::Decision>) &&>
                     done) const override;

 private:
  Access(BridgeContext& ctx) : ctx_(ctx) {}
  std::optional<LoginOutcome> LoginThroughAuthorizer(std::string token,
                                                     ConnectionMeta connection,
                                                     LoginDone done) const;
  // An Authenticate answer as a login outcome (counted and logged).
  LoginOutcome FromIdentity(absl::StatusOr<auth::Identity> id) const;
  LoginOutcome Refused(ddp::Error error, absl::Status why) const;

  BridgeContext& ctx_;
  bool login_by_authorizer_ = false;             // --login authorizer
  std::unique_ptr<auth::JwtVerifier> verifier_;  // null: every login refused
  std::unique_ptr<auth::AuthorizerClient> authorizer_;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_ACCESS_H_
