// Access: who may listen. Verifies DDP login tokens (JWT, algorithm pinned by
// configuration) and asks the backend's Authorizer service about
// `auth: authorizer` publications. Maps every outcome to Meteor's error
// shapes so the connection code only forwards them.
//
// Thread-safety: immutable after Create(); Login() may be called from any
// thread; Authorize() is thread-safe and completes on a gRPC thread.
#ifndef VENT_BRIDGE_ACCESS_H_
#define VENT_BRIDGE_ACCESS_H_

#include <memory>
#include <string>

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

// The seam through which a connection logs in and asks the authorizer
// (Access in production, a fake in tests).
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // `params` of a DDP `login` method; on failure *error is the Meteor.Error
  // to return (see Access::Login).
  virtual absl::StatusOr<LoginResult> Login(const boost::json::array& params,
                                            absl::Time now,
                                            ddp::Error* error) const = 0;
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

  // `params` of a DDP `login` method. Error = the Meteor.Error to return:
  //   400 "Unrecognized options for login request" (not [{resume: string}])
  //   403 "Your session has expired. Please log in again." (exp passed)
  //   403 "You've been logged out by the server. Please log in again." (else)
  // Refusals are counted and logged (at most one line per 10 s, with the
  // count), never with the token.
  absl::StatusOr<LoginResult> Login(const boost::json::array& params,
                                    absl::Time now,
                                    ddp::Error* error) const override;
  // A raw token (from the connect URL or an Authorization header).
  absl::StatusOr<LoginResult> VerifyToken(absl::string_view token,
                                          absl::Time now) const override;

  bool has_authorizer() const override { return authorizer_ != nullptr; }
  // REQUIRES: has_authorizer(). `done` runs on a gRPC thread.
  void Authorize(auth::AuthorizeQuery query,
                 absl::AnyInvocable<void(absl::StatusOr<auth::Decision>) &&>
                     done) const override;

 private:
  Access(BridgeContext& ctx) : ctx_(ctx) {}
  BridgeContext& ctx_;
  std::unique_ptr<auth::JwtVerifier> verifier_;  // null: every login refused
  std::unique_ptr<auth::AuthorizerClient> authorizer_;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_ACCESS_H_
