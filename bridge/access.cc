#include "bridge/access.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "vent/base/log.h"
#include "vent/base/log_limiter.h"

namespace vent::bridge {
namespace {

// One log line per 10 s for refused logins: a client can send thousands.
base::LogLimiter refused_log(absl::Seconds(10));

absl::StatusOr<std::string> ReadIfSet(const std::string& path) {
  if (path.empty()) return std::string();
  return auth::JwtVerifier::ReadKeyFile(path);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Access>> Access::Create(const BridgeOptions& o,
                                                       BridgeContext& ctx) {
  std::unique_ptr<Access> access(new Access(ctx));
  if (o.login == "authorizer") {
    if (o.authorizer.empty()) {
      return absl::InvalidArgumentError(
          "--login authorizer needs --authorizer (the backend's address)");
    }
    access->login_by_authorizer_ = true;
  } else if (o.login != "jwt") {
    return absl::InvalidArgumentError(
        absl::StrCat("--login \"", o.login, "\": expected jwt or authorizer"));
  }
  auth::JwtOptions jwt;
  jwt.hs256_secret = o.jwt_hs256_secret;
  auto pem = ReadIfSet(o.jwt_public_key);
  if (!pem.ok()) return pem.status();
  jwt.public_key_pem = *pem;
  auto jwks = ReadIfSet(o.jwt_jwks);
  if (!jwks.ok()) return jwks.status();
  jwt.jwks_json = *jwks;
  jwt.algorithms = o.jwt_algorithms;
  jwt.issuer = o.jwt_issuer;
  jwt.audience = o.jwt_audience;
  jwt.leeway = o.jwt_leeway;
  if (!jwt.hs256_secret.empty() || !jwt.public_key_pem.empty() ||
      !jwt.jwks_json.empty()) {
    auto verifier = auth::JwtVerifier::Create(std::move(jwt));
    if (!verifier.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWT configuration: ", verifier.status().message()));
    }
    access->verifier_ = std::move(*verifier);
  }
  if (!o.authorizer.empty()) {
    auth::AuthorizerOptions a;
    a.address = o.authorizer;
    a.deadline = o.authorizer_timeout;
    a.cache_ttl = o.authorizer_cache;
    a.api_key = o.authorizer_api_key;
    if (!o.authorizer_tls_ca.empty()) {
      a.tls = true;
      if (o.authorizer_tls_ca != "system") {
        std::ifstream in(o.authorizer_tls_ca);
        std::stringstream pem;
        pem << in.rdbuf();
        if (!in || pem.str().find("-----BEGIN CERTIFICATE-----") ==
                       std::string::npos) {
          return absl::InvalidArgumentError(
              absl::StrCat("--authorizer-tls-ca \"", o.authorizer_tls_ca,
                           "\": not a readable PEM file"));
        }
        a.tls_roots_pem = pem.str();
      }
    }
    access->authorizer_ =
        std::make_unique<auth::AuthorizerClient>(std::move(a));
  }
  return access;
}

absl::StatusOr<LoginResult> Access::VerifyToken(absl::string_view token,
                                                absl::Time now) const {
  if (login_by_authorizer_) {
    ctx_.metrics->login_refused->Add();
    return absl::UnauthenticatedError(
        "a token on the connect URL needs --login jwt; log in with the DDP "
        "login method");
  }
  if (verifier_ == nullptr) {
    ctx_.metrics->login_refused->Add();
    return absl::UnauthenticatedError("no login key is configured");
  }
  auto claims = verifier_->Verify(token, now);
  if (!claims.ok()) {
    ctx_.metrics->login_refused->Add();
    if (int64_t n = refused_log.Note(); n > 0) {
      VENT_LOG_INFO("login refused", "count", n, "last_reason",
                    claims.status().message());
    }
    return claims.status();
  }
  ctx_.metrics->login_ok->Add();
  return LoginResult{claims->sub, claims->exp,
                     claims->exp + verifier_->leeway()};
}

std::optional<LoginOutcome> Access::Login(const boost::json::array& params,
                                          absl::Time now,
                                          ConnectionMeta connection,
                                          LoginDone done) const {
  const boost::json::object* opts =
      params.size() == 1 ? params[0].if_object() : nullptr;
  const boost::json::string* token = nullptr;
  if (opts != nullptr && opts->size() == 1) {
    if (const auto* v = opts->if_contains("resume")) token = v->if_string();
  }
  if (token == nullptr) {
    return Refused(
        ddp::Error{400, "Unrecognized options for login request", std::nullopt},
        absl::InvalidArgumentError("unrecognized login options"));
  }
  if (login_by_authorizer_) {
    return LoginThroughAuthorizer(std::string(token->data(), token->size()),
                                  std::move(connection), std::move(done));
  }
  LoginOutcome out;
  out.result =
      VerifyToken(absl::string_view(token->data(), token->size()), now);
  if (!out.result.ok()) {
    // The verifier reports an expired token as DEADLINE_EXCEEDED.
    bool expired = absl::IsDeadlineExceeded(out.result.status());
    out.error = ddp::Error{403, expired ? kExpiredReason : kLoggedOutReason,
                           std::nullopt};
  }
  return out;
}

LoginOutcome Access::Refused(ddp::Error error, absl::Status why) const {
  ctx_.metrics->login_refused->Add();
  if (int64_t n = refused_log.Note(); n > 0) {
    VENT_LOG_INFO("login refused", "count", n, "last_reason", why.message());
  }
  return LoginOutcome{std::move(why), std::move(error)};
}

std::optional<LoginOutcome> Access::LoginThroughAuthorizer(
    std::string token, ConnectionMeta connection, LoginDone done) const {
  if (token.empty() || token.size() > kMaxLoginTokenBytes) {
    return Refused(ddp::Error{403, kLoggedOutReason, std::nullopt},
                   absl::UnauthenticatedError("empty or oversized token"));
  }
  // The client completes inline on a cache hit (then the outcome is
  // returned) and on a gRPC thread otherwise (then `done` gets it).
  struct Relay {
    absl::Mutex mu;
    bool returned = false;
    std::optional<LoginOutcome> early;
    LoginDone done;
  };
  auto relay = std::make_shared<Relay>();
  relay->done = std::move(done);
  auth::AuthenticateQuery q;
  q.token = std::move(token);
  q.connection = std::move(connection);
  authorizer_->Authenticate(std::move(q),
                            [this, relay](absl::StatusOr<auth::Identity> id) {
                              LoginOutcome out = FromIdentity(std::move(id));
                              LoginDone done;
                              {
                                absl::MutexLock lock(&relay->mu);
                                if (!relay->returned) {
                                  relay->early = std::move(out);
                                  return;
                                }
                                done = std::move(relay->done);
                              }
                              std::move(done)(std::move(out));
                            });
  absl::MutexLock lock(&relay->mu);
  relay->returned = true;
  return std::move(relay->early);
}

LoginOutcome Access::FromIdentity(absl::StatusOr<auth::Identity> id) const {
  if (!id.ok()) {
    // Never a login on failure: refused like an unknown token, counted
    // apart so that an unreachable backend shows.
    ctx_.metrics->login_error->Add();
    if (int64_t n = refused_log.Note(); n > 0) {
      VENT_LOG_WARN("login refused: authorizer failed", "count", n, "error",
                    id.status().message());
    }
    return LoginOutcome{id.status(),
                        ddp::Error{403, kLoggedOutReason, std::nullopt}};
  }
  if (id->user_id.empty() || id->expires_at <= absl::Now()) {
    const char* reason =
        !id->user_id.empty() || id->refusal == auth::Identity::Refusal::kExpired
            ? kExpiredReason
        : id->refusal == auth::Identity::Refusal::kForbidden ? kForbiddenReason
                                                             : kLoggedOutReason;
    return Refused(ddp::Error{403, reason, std::nullopt},
                   absl::UnauthenticatedError(reason));
  }
  ctx_.metrics->login_ok->Add();
  return LoginOutcome{LoginResult{id->user_id, id->expires_at, id->expires_at},
                      ddp::Error{}};
}

void Access::Authorize(
    auth::AuthorizeQuery query,
    absl::AnyInvocable<void(absl::StatusOr<auth::Decision>) &&> done) const {
  authorizer_->Authorize(std::move(query), std::move(done));
}

}  // namespace vent::bridge
