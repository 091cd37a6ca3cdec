#include "vent/auth/jwt.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/json/parse.hpp"
#include "boost/json/value.hpp"
#include "vent/auth/base64url.h"
#include "vent/auth/keys.h"
#include "vent/base/log.h"

namespace vent::auth {
namespace {

using internal::KeyType;
using internal::VerifyKey;

constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr size_t kRecommendedSecretBytes = 32;
// JWS header and payload are tiny; this bounds JSON parsing work.
constexpr unsigned kMaxJsonDepth = 16;

absl::Status Refuse(absl::string_view reason) {
  return absl::UnauthenticatedError(reason);
}

// Parses `text` as a JSON object; nullopt for anything else.
std::optional<boost::json::object> ParseObject(absl::string_view text) {
  boost::json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(
      boost::json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// A JSON NumericDate as absl::Time; nullopt if not a number. Huge values
// saturate to the infinite past/future.
std::optional<absl::Time> NumericDate(const boost::json::value& v) {
  if (v.is_int64()) return absl::FromUnixSeconds(v.get_int64());
  if (v.is_uint64()) {
    uint64_t u = v.get_uint64();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InfiniteFuture();
    }
    return absl::FromUnixSeconds(static_cast<int64_t>(u));
  }
  if (v.is_double()) return absl::UnixEpoch() + absl::Seconds(v.get_double());
  return std::nullopt;
}

std::optional<KeyType> KeyTypeFor(absl::string_view alg) {
  if (alg == "HS256") return KeyType::kHmac;
  if (alg == "RS256") return KeyType::kRsa;
  if (alg == "ES256") return KeyType::kEc;
  return std::nullopt;
}

bool AudienceMatches(const boost::json::value* aud, absl::string_view want) {
  if (aud == nullptr) return false;
  auto eq = [&](const boost::json::value& v) {
    return v.is_string() && absl::string_view(v.get_string().data(),
                                              v.get_string().size()) == want;
  };
  if (eq(*aud)) return true;
  if (!aud->is_array()) return false;
  const auto& arr = aud->get_array();
  return std::any_of(arr.begin(), arr.end(), eq);
}

}  // namespace

JwtVerifier::~JwtVerifier() = default;

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(
    JwtOptions options) {
  std::unique_ptr<JwtVerifier> v(new JwtVerifier());
  if (!options.hs256_secret.empty()) {
    if (options.hs256_secret.size() < kRecommendedSecretBytes) {
      VENT_LOG_WARN("JWT HS256 secret is shorter than 32 bytes (RFC 7518)",
                    "bytes", options.hs256_secret.size());
    }
    auto key = std::make_unique<VerifyKey>();
    key->type = KeyType::kHmac;
    key->secret = options.hs256_secret;
    v->keys_.push_back(std::move(key));
  }
  if (!options.public_key_pem.empty()) {
    auto key = internal::LoadPublicKeyPem(options.public_key_pem);
    if (!key.ok()) return key.status();
    v->keys_.push_back(std::make_unique<VerifyKey>(*std::move(key)));
  }
  if (!options.jwks_json.empty()) {
    auto keys = internal::LoadJwks(options.jwks_json);
    if (!keys.ok()) return keys.status();
    for (VerifyKey& k : *keys) {
      v->keys_.push_back(std::make_unique<VerifyKey>(std::move(k)));
    }
  }
  if (v->keys_.empty()) {
    return absl::InvalidArgumentError(
        "JWT: no key configured (HS256 secret, public key PEM or JWKS)");
  }
  auto has_key = [&](KeyType t) {
    return std::any_of(v->keys_.begin(), v->keys_.end(),
                       [t](const auto& k) { return k->type == t; });
  };
  if (options.algorithms.empty()) {
    for (KeyType t : {KeyType::kHmac, KeyType::kRsa, KeyType::kEc}) {
      if (has_key(t)) {
        v->algorithms_.emplace_back(internal::AlgorithmFor(t));
      }
    }
  } else {
    for (const std::string& alg : options.algorithms) {
      std::optional<KeyType> t = KeyTypeFor(alg);
      if (!t) {
        return absl::InvalidArgumentError(absl::StrCat(
            "JWT: unsupported algorithm \"", alg, "\" (HS256, RS256, ES256)"));
      }
      if (!has_key(*t)) {
        return absl::InvalidArgumentError(
            absl::StrCat("JWT: algorithm ", alg, " has no key of its type"));
      }
      if (std::find(v->algorithms_.begin(), v->algorithms_.end(), alg) ==
          v->algorithms_.end()) {
        v->algorithms_.push_back(alg);
      }
    }
  }
  v->options_ = std::move(options);
  return v;
}

absl::StatusOr<std::string> JwtVerifier::ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read key file ", path));
  }
  std::string data(kMaxKeyFileBytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) {
    return absl::InternalError(absl::StrCat("error reading key file ", path));
  }
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", path, " is larger than 1 MiB"));
  }
  if (data.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", path, " is empty"));
  }
  return data;
}

absl::StatusOr<Claims> JwtVerifier::Verify(absl::string_view token,
                                           absl::Time now) const {
  if (token.size() > options_.max_token_bytes) return Refuse("token too large");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == token.npos ? token.npos : token.find('.', dot1 + 1);
  if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos) {
    return Refuse("malformed token");
  }
  absl::string_view signing_input = token.substr(0, dot2);
  std::optional<std::string> header_json =
      Base64UrlDecode(token.substr(0, dot1));
  std::optional<std::string> signature =
      Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_json || !signature) return Refuse("malformed token");
  std::optional<boost::json::object> header = ParseObject(*header_json);
  if (!header) return Refuse("malformed token");

  // The algorithm: a string from the configured list (never "none").
  const boost::json::value* alg_v = header->if_contains("alg");
  if (alg_v == nullptr || !alg_v->is_string()) return Refuse("malformed token");
  absl::string_view alg(alg_v->get_string().data(), alg_v->get_string().size());
  if (std::find(algorithms_.begin(), algorithms_.end(), alg) ==
      algorithms_.end()) {
    return Refuse("algorithm not allowed");
  }
  KeyType type = *KeyTypeFor(alg);  // algorithms_ only holds known ones
  if (header->contains("crit")) return Refuse("malformed token");
  const boost::json::value* kid_v = header->if_contains("kid");
  if (kid_v != nullptr && !kid_v->is_string()) return Refuse("malformed token");
  absl::string_view kid = kid_v ? absl::string_view(kid_v->get_string().data(),
                                                    kid_v->get_string().size())
                                : absl::string_view();

  // Keys of the algorithm's type. When some of them have a kid (JWKS), a
  // token's kid selects exactly those with that kid: an unknown kid is
  // refused even if kid-less keys exist. When none has a kid (a secret or a
  // PEM key), a token's kid is ignored. A token without a kid tries them all.
  bool kid_keys = false;
  for (const auto& key : keys_) {
    if (key->type == type && !key->kid.empty()) kid_keys = true;
  }
  bool any_candidate = false;
  bool verified = false;
  for (const auto& key : keys_) {
    if (key->type != type) continue;
    if (kid_v != nullptr && kid_keys && key->kid != kid) continue;
    any_candidate = true;
    if (key->Verify(signing_input, *signature)) {
      verified = true;
      break;
    }
  }
  if (!any_candidate) return Refuse("unknown key id");
  if (!verified) return Refuse("bad signature");

  // Claims (only read once the signature is good).
  std::optional<std::string> payload_json =
      Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_json) return Refuse("malformed token");
  std::optional<boost::json::object> payload = ParseObject(*payload_json);
  if (!payload) return Refuse("malformed token");

  Claims claims;
  const boost::json::value* exp_v = payload->if_contains("exp");
  std::optional<absl::Time> exp = exp_v ? NumericDate(*exp_v) : std::nullopt;
  if (!exp) return Refuse("missing exp");
  claims.exp = *exp;
  if (const boost::json::value* nbf_v = payload->if_contains("nbf")) {
    claims.nbf = NumericDate(*nbf_v);
    if (!claims.nbf) return Refuse("malformed token");
  }
  const boost::json::value* sub_v = payload->if_contains("sub");
  if (sub_v == nullptr || !sub_v->is_string() || sub_v->get_string().empty()) {
    return Refuse("missing sub");
  }
  claims.sub = std::string(sub_v->get_string());
  if (now >= claims.exp + options_.leeway) {
    return absl::DeadlineExceededError("token expired");
  }
  if (claims.nbf && now + options_.leeway < *claims.nbf) {
    return Refuse("token not yet valid");
  }
  if (!options_.issuer.empty()) {
    const boost::json::value* iss = payload->if_contains("iss");
    if (iss == nullptr || !iss->is_string() ||
        absl::string_view(iss->get_string().data(), iss->get_string().size()) !=
            options_.issuer) {
      return Refuse("wrong issuer");
    }
  }
  if (!options_.audience.empty() &&
      !AudienceMatches(payload->if_contains("aud"), options_.audience)) {
    return Refuse("wrong audience");
  }
  claims.raw_payload_json = *std::move(payload_json);
  return claims;
}

}  // namespace vent::auth
