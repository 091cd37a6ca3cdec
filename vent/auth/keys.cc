#include "vent/auth/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/json/parse.hpp"
#include "boost/json/value.hpp"
#include "vent/auth/base64url.h"

namespace vent::auth::internal {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct DecoderFree {
  void operator()(OSSL_DECODER_CTX* p) const { OSSL_DECODER_CTX_free(p); }
};

constexpr int kMinRsaBits = 2048;
constexpr size_t kEs256CoordBytes = 32;

// Checks the key is RSA >= 2048 bits or EC P-256.
absl::StatusOr<KeyType> Classify(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      return absl::InvalidArgumentError(
          absl::StrCat("RSA key has ", EVP_PKEY_get_bits(key),
                       " bits; at least ", kMinRsaBits, " are required"));
    }
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), &len) ||
        (std::strcmp(group, "prime256v1") != 0 &&
         std::strcmp(group, "P-256") != 0)) {
      return absl::InvalidArgumentError("EC key must use curve P-256 (ES256)");
    }
    return KeyType::kEc;
  }
  return absl::InvalidArgumentError(
      "unsupported key type (need RSA for RS256 or EC P-256 for ES256)");
}

absl::StatusOr<VerifyKey> FromPkey(EVP_PKEY* raw, std::string kid) {
  EvpPkeyPtr key(raw);
  auto type = Classify(key.get());
  if (!type.ok()) return type.status();
  VerifyKey out{*type, std::move(kid), "", std::move(key)};
  return out;
}

absl::string_view View(const boost::json::string& s) {
  return absl::string_view(s.data(), s.size());
}

std::unique_ptr<BIGNUM, BnFree> DecodeBigNum(const boost::json::object& o,
                                             const char* name) {
  const boost::json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return nullptr;
  std::optional<std::string> bytes = Base64UrlDecode(View(v->get_string()));
  if (!bytes || bytes->empty()) return nullptr;
  return std::unique_ptr<BIGNUM, BnFree>(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                static_cast<int>(bytes->size()), nullptr));
}

// Builds an EVP_PKEY of `type_name` from public `params`; nullptr on failure.
EVP_PKEY* FromData(const char* type_name, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <=
          0) {
    return nullptr;
  }
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) <= 0) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

absl::StatusOr<VerifyKey> RsaJwk(const boost::json::object& o,
                                 std::string kid) {
  auto n = DecodeBigNum(o, "n");
  auto e = DecodeBigNum(o, "e");
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  EVP_PKEY* key = nullptr;
  if (n && e && bld &&
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) &&
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    key = FromData("RSA", bld.get());
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS: bad RSA key (kid \"", kid, "\")"));
  }
  return FromPkey(key, std::move(kid));
}

absl::StatusOr<VerifyKey> EcJwk(const boost::json::object& o, std::string kid) {
  std::string point = "\x04";
  for (const char* name : {"x", "y"}) {
    const boost::json::value* v = o.if_contains(name);
    std::optional<std::string> bytes;
    if (v != nullptr && v->is_string())
      bytes = Base64UrlDecode(View(v->get_string()));
    if (!bytes || bytes->size() != kEs256CoordBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWKS: bad EC key (kid \"", kid, "\")"));
    }
    point += *bytes;
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  EVP_PKEY* key = nullptr;
  if (bld &&
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      "prime256v1", 0) &&
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size())) {
    key = FromData("EC", bld.get());
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JWKS: EC key is not a valid P-256 point (kid \"", kid, "\")"));
  }
  return FromPkey(key, std::move(kid));
}

std::string StringMember(const boost::json::object& o, const char* name) {
  const boost::json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

}  // namespace

absl::string_view AlgorithmFor(KeyType type) {
  switch (type) {
    case KeyType::kHmac:
      return "HS256";
    case KeyType::kRsa:
      return "RS256";
    case KeyType::kEc:
      return "ES256";
  }
  return "";
}

bool VerifyKey::Verify(absl::string_view signing_input,
                       absl::string_view signature) const {
  const auto* tbs =
      reinterpret_cast<const unsigned char*>(signing_input.data());
  if (type == KeyType::kHmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), tbs,
             signing_input.size(), mac, &mac_len) == nullptr) {
      return false;
    }
    return signature.size() == mac_len &&
           CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
  }
  std::string der;
  if (type == KeyType::kEc) {
    // JWS carries r||s (RFC 7518 §3.4); OpenSSL wants a DER ECDSA-Sig-Value.
    if (signature.size() != 2 * kEs256CoordBytes) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    BIGNUM* r = BN_bin2bn(raw, kEs256CoordBytes, nullptr);
    BIGNUM* s = BN_bin2bn(raw + kEs256CoordBytes, kEs256CoordBytes, nullptr);
    if (sig == nullptr || r == nullptr || s == nullptr ||
        !ECDSA_SIG_set0(sig, r, s)) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return false;
    }
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  bool ok =
      ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(),
                       reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), tbs, signing_input.size()) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<VerifyKey> LoadPublicKeyPem(absl::string_view pem) {
  if (absl::StrContains(pem, "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(
        "JWT key: a private key was given; configure the PUBLIC key only");
  }
  EVP_PKEY* key = nullptr;
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t len = pem.size();
  std::unique_ptr<OSSL_DECODER_CTX, DecoderFree> dec(
      OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", nullptr, nullptr,
                                    EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
  if (!dec || !OSSL_DECODER_from_data(dec.get(), &data, &len)) key = nullptr;
  if (key == nullptr) {
    std::unique_ptr<BIO, BioFree> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509* cert =
        bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (cert != nullptr) {
      key = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "JWT key: no PUBLIC KEY or CERTIFICATE PEM block could be read");
  }
  return FromPkey(key, "");
}

absl::StatusOr<std::vector<VerifyKey>> LoadJwks(absl::string_view json) {
  boost::json::error_code ec;
  boost::json::value doc = boost::json::parse(
      boost::json::string_view(json.data(), json.size()), ec);
  const boost::json::object* root = ec ? nullptr : doc.if_object();
  const boost::json::value* keys = root ? root->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return absl::InvalidArgumentError(
        "JWKS: expected a JSON object with a \"keys\" array");
  }
  std::vector<VerifyKey> out;
  for (const boost::json::value& item : keys->get_array()) {
    const boost::json::object* o = item.if_object();
    if (o == nullptr)
      return absl::InvalidArgumentError("JWKS: key is not an object");
    std::string kty = StringMember(*o, "kty");
    std::string use = StringMember(*o, "use");
    std::string alg = StringMember(*o, "alg");
    std::string kid = StringMember(*o, "kid");
    if (!use.empty() && use != "sig") continue;
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      auto key = RsaJwk(*o, std::move(kid));
      if (!key.ok()) return key.status();
      out.push_back(*std::move(key));
    } else if (kty == "EC" && StringMember(*o, "crv") == "P-256" &&
               (alg.empty() || alg == "ES256")) {
      auto key = EcJwk(*o, std::move(kid));
      if (!key.ok()) return key.status();
      out.push_back(*std::move(key));
    }
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("JWKS: no usable RS256 or ES256 key");
  }
  return out;
}

}  // namespace vent::auth::internal
