// The bridge's client for the backend's Authorizer service
// (proto/vent/v1/authorizer.proto): "may this user listen to this
// publication with these params?"
//
// Failure is never permission: any RPC error (unreachable backend, deadline,
// UNAUTHENTICATED, ...) completes with a non-OK status whose message is
// "Authorizer unavailable" and whose code is DEADLINE_EXCEEDED for a deadline
// and UNAVAILABLE for everything else, so the caller can answer 503 (not 403).
// The gRPC detail is logged, never returned (it must not reach DDP clients).
//
// Authenticate (DDP login through the backend) follows the same rules: any
// RPC error completes with the same non-OK statuses; an answer that names a
// user without an expiry is an error too (INTERNAL, "Authorizer gave an
// invalid answer"). A refusal is an OK status with an empty user_id.
//
// Cache: answers (allow and deny) are cached per (user_id, publication,
// params_json) for the response's cache_seconds, or options.cache_ttl when
// the response says 0; a negative cache_seconds means "do not cache".
// Authenticate answers likewise, per SHA-256 of the token, and a cached
// identity never outlives its expires_at.
// Connection metadata and channels are NOT part of the key (the channels
// follow from the key; a policy that depends on the remote address should
// answer cache_seconds < 0). Errors are never cached. At most cache_max
// entries; inserting into a full cache evicts the oldest entry.
//
// Thread-safety: all methods may be called from any thread. The destructor
// cancels calls in flight and waits until their `done` callbacks returned, so
// it must not run inside a `done` callback.
#ifndef VENT_AUTH_AUTHORIZER_CLIENT_H_
#define VENT_AUTH_AUTHORIZER_CLIENT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vent::auth {

struct AuthorizerOptions {
  std::string address;  // gRPC target, e.g. "127.0.0.1:50060"
  // TLS to the backend: off = plaintext. On: the server certificate is
  // verified against tls_roots_pem, or the system roots when that is empty.
  bool tls = false;
  std::string tls_roots_pem;
  absl::Duration deadline = absl::Seconds(2);
  // TTL used when the response's cache_seconds is 0. Zero = do not cache.
  absl::Duration cache_ttl = absl::Seconds(0);
  size_t cache_max = 100000;  // 0 disables the cache
  std::string api_key;        // sent as `authorization: Bearer <api_key>`
  // Clock for cache expiry (tests inject one); nullptr = absl::Now.
  std::function<absl::Time()> clock;
};

struct AuthorizeQuery {
  std::string user_id;  // empty when not logged in
  std::string publication;
  std::string params_json;  // validated params, JSON object text
  std::vector<std::string> channels;
  // Remote address, Origin, User-Agent, X-Forwarded-For (last duplicate wins).
  std::vector<std::pair<std::string, std::string>> connection;
};

struct Decision {
  bool allow = false;
  // Shown in nosub's 403 when !allow; "Access denied" if the backend gave
  // none; at most 1024 bytes.
  std::string reason;
  bool from_cache = false;
};

struct AuthenticateQuery {
  std::string token;
  // As AuthorizeQuery::connection.
  std::vector<std::pair<std::string, std::string>> connection;
};

// An Authenticate answer (proto AuthenticateResponse).
struct Identity {
  enum class Refusal { kUnknownToken, kExpired, kForbidden };
  std::string user_id;                       // empty = refused
  absl::Time expires_at;                     // with user_id
  Refusal refusal = Refusal::kUnknownToken;  // without user_id
  bool from_cache = false;
};

class AuthorizerClient {
 public:
  explicit AuthorizerClient(AuthorizerOptions options);
  ~AuthorizerClient();
  AuthorizerClient(const AuthorizerClient&) = delete;
  AuthorizerClient& operator=(const AuthorizerClient&) = delete;

  using Done = absl::AnyInvocable<void(absl::StatusOr<Decision>) &&>;

  // Never blocks on the network. `done` runs exactly once: inline before
  // Authorize returns on a cache hit (from_cache = true), otherwise on a gRPC
  // callback thread (possibly inline if the RPC fails immediately). Callers
  // post back to their own thread and must not hold locks `done` needs.
  void Authorize(AuthorizeQuery query, Done done);

  using IdentityDone = absl::AnyInvocable<void(absl::StatusOr<Identity>) &&>;
  // The Authenticate RPC, with the same threading, caching and failure
  // rules as Authorize.
  void Authenticate(AuthenticateQuery query, IdentityDone done);

  // Cache entries currently held (expired ones included until touched):
  // Authorize answers, Authenticate answers.
  size_t cache_size() const;
  size_t identity_cache_size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vent::auth

#endif  // VENT_AUTH_AUTHORIZER_CLIENT_H_
