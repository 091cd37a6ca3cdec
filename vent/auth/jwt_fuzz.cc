// libFuzzer: JwtVerifier::Verify on arbitrary input (HS256 verifier), and
// JWKS loading when the input looks like a JSON object. Must never crash,
// leak or accept a token not signed with the secret.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "vent/auth/jwt.h"

namespace {

const vent::auth::JwtVerifier& Verifier() {
  static const vent::auth::JwtVerifier* v = [] {
    vent::auth::JwtOptions o;
    o.hs256_secret = "fuzz-secret-fuzz-secret-fuzz-secret!";
    o.issuer = "iss";
    o.audience = "aud";
    return vent::auth::JwtVerifier::Create(o).value().release();
  }();
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  auto claims = Verifier().Verify(in, absl::FromUnixSeconds(1'700'000'000));
  // A random input can only pass with a valid HMAC: practically never.
  if (claims.ok() && claims->sub.empty()) std::abort();
  if (!in.empty() && in.front() == '{') {
    vent::auth::JwtOptions o;
    o.jwks_json = std::string(in);
    (void)vent::auth::JwtVerifier::Create(o);
  }
  return 0;
}
