// Verification keys for JwtVerifier: loading (PEM, JWKS) and signature checks
// with OpenSSL 3 EVP. Internal to vent/auth.
//
// A VerifyKey is immutable after loading; Verify() is thread-safe (OpenSSL 3
// EVP_PKEY objects may be shared for verification; each call uses its own
// EVP_MD_CTX).
#ifndef VENT_AUTH_KEYS_H_
#define VENT_AUTH_KEYS_H_

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::auth::internal {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

enum class KeyType { kHmac, kRsa, kEc };

// The one algorithm each key type may verify: HS256, RS256, ES256.
absl::string_view AlgorithmFor(KeyType type);

struct VerifyKey {
  KeyType type;
  std::string kid;     // from JWKS; empty for the secret and a PEM key
  std::string secret;  // kHmac only
  EvpPkeyPtr pkey;     // kRsa / kEc only

  // Checks `signature` (raw bytes: HMAC tag, RSA PKCS#1 v1.5, or ES256 r||s of
  // exactly 64 bytes) over `signing_input` with SHA-256. Constant-time compare
  // for HMAC.
  bool Verify(absl::string_view signing_input,
              absl::string_view signature) const;
};

// RSA (>= 2048 bits) or EC P-256 public key from a "PUBLIC KEY" or
// "CERTIFICATE" PEM block.
absl::StatusOr<VerifyKey> LoadPublicKeyPem(absl::string_view pem);

// Usable signing keys of a JWKS document (see JwtOptions::jwks_json).
absl::StatusOr<std::vector<VerifyKey>> LoadJwks(absl::string_view json);

}  // namespace vent::auth::internal

#endif  // VENT_AUTH_KEYS_H_
