// JWT verification for DDP `login` tokens ({resume: JWT}).
//
// The algorithm is pinned by configuration and never chosen by the token:
// a token's header `alg` must be one of the configured algorithms AND match
// the type of the key that verifies it (HS256 only with the shared secret,
// RS256 only with an RSA key, ES256 only with an EC P-256 key). That is what
// defeats HS/RS confusion (an HS256 token "signed" with the RSA public key PEM
// as HMAC secret is refused). `none` is always refused.
//
// Claims: `exp` is required (numeric date), `nbf` honoured, both with
// `leeway`; `sub` must be a non-empty string; `iss` / `aud` are checked when
// configured (`aud` may be a string or an array of strings). Headers with
// `crit` are refused (no extensions are understood).
//
// Encoding: base64url without padding; padding, invalid characters and
// non-canonical trailing bits are refused. Header and payload must be JSON
// objects (Boost.JSON).
//
// Thread-safety: a JwtVerifier is immutable after Create(); Verify() may be
// called concurrently from any number of threads. Verify does no I/O.
#ifndef VENT_AUTH_JWT_H_
#define VENT_AUTH_JWT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vent::auth {
namespace internal {
struct VerifyKey;  // keys.h
}  // namespace internal

struct JwtOptions {
  // HS256 when non-empty. RFC 7518 asks for at least 32 bytes; shorter
  // secrets are accepted (with a warning in the log) but are guessable.
  std::string hs256_secret;
  // RS256 (RSA >= 2048 bits) or ES256 (EC P-256) public key: PEM text of a
  // "PUBLIC KEY" or a "CERTIFICATE". Private keys are refused.
  std::string public_key_pem;
  // A JWKS document {"keys":[...]} with kty RSA (n, e) or EC (crv P-256, x,
  // y). Keys with use != "sig", another alg or an unsupported kty/crv are
  // skipped; a malformed supported key is an error.
  std::string jwks_json;
  // Allowed algorithms ("HS256", "RS256", "ES256"). Empty = derived from the
  // configured key types. Each listed algorithm needs a key of its type.
  std::vector<std::string> algorithms;
  std::string issuer;    // `iss` must equal this when set
  std::string audience;  // `aud` must equal / contain this when set
  absl::Duration leeway = absl::Seconds(30);
  size_t max_token_bytes = 8192;
};

struct Claims {
  std::string sub;
  absl::Time exp;
  std::optional<absl::Time> nbf;
  std::string raw_payload_json;  // the decoded payload, as signed
};

class JwtVerifier {
 public:
  // InvalidArgument for an unreadable PEM / JWKS, an unsupported or keyless
  // algorithm, or no key at all.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> Create(
      JwtOptions options);

  // Reads a key file (PEM or JWKS) of at most 1 MiB.
  static absl::StatusOr<std::string> ReadKeyFile(const std::string& path);

  // Errors carry a short reason that never contains the token. An expired
  // token is DeadlineExceeded("token expired"); every other refusal is
  // Unauthenticated: "token too large", "malformed token", "algorithm not
  // allowed", "unknown key id", "bad signature", "missing exp", "missing
  // sub", "token not yet valid", "wrong issuer", "wrong audience".
  // Key selection by `kid`: see jwt.cc (an unknown kid is refused when the
  // configured keys have kids; ignored when none has).
  absl::StatusOr<Claims> Verify(absl::string_view token, absl::Time now) const;

  // Accepted clock skew for exp / nbf.
  absl::Duration leeway() const { return options_.leeway; }
  // The effective allowed algorithms (after derivation), for logs.
  const std::vector<std::string>& algorithms() const { return algorithms_; }

  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

 private:
  JwtVerifier() = default;

  JwtOptions options_;
  std::vector<std::string> algorithms_;
  std::vector<std::unique_ptr<internal::VerifyKey>> keys_;
};

}  // namespace vent::auth

#endif  // VENT_AUTH_JWT_H_
