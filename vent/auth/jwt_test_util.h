// Test-only token signing with OpenSSL (never linked into the library):
// key generation, PEM/JWK export, and JWS compact tokens for HS256, RS256 and
// ES256. Aborts the test (ADD_FAILURE + empty result) on OpenSSL errors.
#ifndef VENT_AUTH_JWT_TEST_UTIL_H_
#define VENT_AUTH_JWT_TEST_UTIL_H_

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "vent/auth/base64url.h"
#include "vent/auth/keys.h"

namespace vent::auth::testing {

using internal::EvpPkeyPtr;

inline EvpPkeyPtr GenerateRsa(size_t bits = 2048) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

inline EvpPkeyPtr GenerateEc(const char* curve = "P-256") {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

inline std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline std::string BnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return Base64UrlEncode(out);
}

// {"kty":"RSA",...} or {"kty":"EC",...} JWK text for a public key.
inline std::string Jwk(EVP_PKEY* key, const std::string& kid) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    return absl::StrCat(R"({"kty":"RSA","use":"sig","alg":"RS256","kid":")",
                        kid, R"(","n":")", BnParam(key, OSSL_PKEY_PARAM_RSA_N),
                        R"(","e":")", BnParam(key, OSSL_PKEY_PARAM_RSA_E),
                        R"("})");
  }
  unsigned char point[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                  point, sizeof(point), &len);
  EXPECT_EQ(len, 65u);
  std::string p(reinterpret_cast<char*>(point), len);
  return absl::StrCat(R"({"kty":"EC","crv":"P-256","kid":")", kid, R"(","x":")",
                      Base64UrlEncode(p.substr(1, 32)), R"(","y":")",
                      Base64UrlEncode(p.substr(33, 32)), R"("})");
}

inline std::string HmacSha256(const std::string& input,
                              const std::string& secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// RS256 (PKCS#1 v1.5) or ES256 (converted to raw r||s) signature.
inline std::string SignWithKey(EVP_PKEY* key, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key), 1);
  EVP_DigestSign(ctx, nullptr, &len,
                 reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EXPECT_EQ(
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()),
      1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (!EVP_PKEY_is_a(key, "EC")) return sig;
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(&raw[0]),
               32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(&raw[32]),
               32);
  ECDSA_SIG_free(es);
  return raw;
}

inline std::string SigningInput(const std::string& header_json,
                                const std::string& payload_json) {
  return absl::StrCat(Base64UrlEncode(header_json), ".",
                      Base64UrlEncode(payload_json));
}

inline std::string Hs256Token(const std::string& header_json,
                              const std::string& payload_json,
                              const std::string& secret) {
  std::string input = SigningInput(header_json, payload_json);
  return absl::StrCat(input, ".", Base64UrlEncode(HmacSha256(input, secret)));
}

inline std::string KeyToken(const std::string& header_json,
                            const std::string& payload_json, EVP_PKEY* key) {
  std::string input = SigningInput(header_json, payload_json);
  return absl::StrCat(input, ".", Base64UrlEncode(SignWithKey(key, input)));
}

}  // namespace vent::auth::testing

#endif  // VENT_AUTH_JWT_TEST_UTIL_H_
