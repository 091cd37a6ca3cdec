#include "vent/auth/jwt.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/auth/base64url.h"
#include "vent/auth/jwt_test_util.h"

namespace vent::auth {
namespace {

using testing::GenerateEc;
using testing::GenerateRsa;
using ::testing::HasSubstr;
using testing::Hs256Token;
using testing::Jwk;
using testing::KeyToken;
using testing::PublicPem;

constexpr int64_t kNow = 1'700'000'000;
const absl::Time now = absl::FromUnixSeconds(kNow);
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::string Payload(int64_t exp_offset, const std::string& extra = "") {
  return absl::StrCat(R"({"sub":"u1","exp":)", kNow + exp_offset, extra, "}");
}

// Keys are expensive to generate: once per process.
struct Keys {
  internal::EvpPkeyPtr rsa = GenerateRsa();
  internal::EvpPkeyPtr rsa2 = GenerateRsa();
  internal::EvpPkeyPtr ec = GenerateEc();
};
const Keys& K() {
  static const Keys* keys = new Keys();
  return *keys;
}

std::unique_ptr<JwtVerifier> Make(JwtOptions o) {
  auto v = JwtVerifier::Create(std::move(o));
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : nullptr;
}

std::unique_ptr<JwtVerifier> Hs() {
  JwtOptions o;
  o.hs256_secret = kSecret;
  return Make(o);
}

std::unique_ptr<JwtVerifier> Pem(EVP_PKEY* key) {
  JwtOptions o;
  o.public_key_pem = PublicPem(key);
  return Make(o);
}

// The refusal reason, "" when the token verified.
std::string Reason(const JwtVerifier& v, const std::string& token,
                   absl::Time at = now) {
  auto c = v.Verify(token, at);
  if (c.ok()) return "";
  // Expiry has its own code (the bridge answers "session has expired").
  EXPECT_EQ(c.status().code(), c.status().message() == "token expired"
                                   ? absl::StatusCode::kDeadlineExceeded
                                   : absl::StatusCode::kUnauthenticated);
  return std::string(c.status().message());
}

const char kHs[] = R"({"alg":"HS256","typ":"JWT"})";
const char kRs[] = R"({"alg":"RS256","typ":"JWT"})";
const char kEs[] = R"({"alg":"ES256","typ":"JWT"})";

TEST(Base64Url, RoundTripAndStrictness) {
  for (std::string s : {"", "A", "AB", "ABC", "ABCD", "\xff\xfe\x00x"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("QQ"), "A");
  EXPECT_FALSE(Base64UrlDecode("QR"));    // non-zero unused bits
  EXPECT_FALSE(Base64UrlDecode("QQ=="));  // padding
  EXPECT_FALSE(Base64UrlDecode("Q"));     // 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("QQ+/"));  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Q Q"));
}

TEST(Jwt, ValidHs256) {
  auto v = Hs();
  auto c = v->Verify(Hs256Token(kHs, Payload(60), kSecret), now);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sub, "u1");
  EXPECT_EQ(c->exp, now + absl::Seconds(60));
  EXPECT_FALSE(c->nbf.has_value());
  EXPECT_EQ(c->raw_payload_json, Payload(60));
  EXPECT_EQ(v->algorithms(), std::vector<std::string>{"HS256"});
}

TEST(Jwt, ValidRs256AndEs256) {
  auto rs = Pem(K().rsa.get());
  EXPECT_EQ(Reason(*rs, KeyToken(kRs, Payload(60), K().rsa.get())), "");
  EXPECT_EQ(rs->algorithms(), std::vector<std::string>{"RS256"});
  auto es = Pem(K().ec.get());
  EXPECT_EQ(Reason(*es, KeyToken(kEs, Payload(60), K().ec.get())), "");
  EXPECT_EQ(es->algorithms(), std::vector<std::string>{"ES256"});
}

TEST(Jwt, ExpiryNotBeforeAndLeeway) {
  auto v = Hs();  // leeway 30 s
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, Payload(-31), kSecret)),
            "token expired");
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, Payload(-29), kSecret)), "");
  EXPECT_EQ(
      Reason(*v,
             Hs256Token(kHs, Payload(60, absl::StrCat(",\"nbf\":", kNow + 31)),
                        kSecret)),
      "token not yet valid");
  auto c = v->Verify(
      Hs256Token(kHs, Payload(60, absl::StrCat(",\"nbf\":", kNow + 29)),
                 kSecret),
      now);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->nbf, now + absl::Seconds(29));

  JwtOptions o;
  o.hs256_secret = kSecret;
  o.leeway = absl::ZeroDuration();
  auto strict = Make(o);
  EXPECT_EQ(Reason(*strict, Hs256Token(kHs, Payload(0), kSecret)),
            "token expired");
  EXPECT_EQ(Reason(*strict, Hs256Token(kHs, Payload(1), kSecret)), "");
  // Fractional and huge NumericDates.
  EXPECT_EQ(Reason(*strict, Hs256Token(kHs, R"({"sub":"u","exp":1700000000.5})",
                                       kSecret)),
            "");
  EXPECT_EQ(
      Reason(*strict, Hs256Token(kHs, R"({"sub":"u","exp":1e300})", kSecret)),
      "");
  EXPECT_EQ(Reason(*strict,
                   Hs256Token(kHs, R"({"sub":"u","exp":18446744073709551615})",
                              kSecret)),
            "");
}

TEST(Jwt, WrongSignature) {
  auto v = Hs();
  std::string good = Hs256Token(kHs, Payload(60), kSecret);
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, Payload(60), kSecret + "x")),
            "bad signature");
  // Payload changed after signing.
  std::string tampered = Hs256Token(kHs, Payload(60), kSecret);
  tampered.replace(tampered.find('.') + 1,
                   tampered.rfind('.') - tampered.find('.') - 1,
                   Base64UrlEncode(Payload(99999)));
  EXPECT_EQ(Reason(*v, tampered), "bad signature");
  // Truncated signature.
  EXPECT_EQ(Reason(*v, good.substr(0, good.size() - 3)),
            "bad signature");  // 30 bytes
  auto rs = Pem(K().rsa.get());
  EXPECT_EQ(Reason(*rs, KeyToken(kRs, Payload(60), K().rsa2.get())),
            "bad signature");
  auto es = Pem(K().ec.get());
  std::string es_tok = KeyToken(kEs, Payload(60), K().ec.get());
  es_tok[es_tok.size() - 10] = es_tok[es_tok.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(*es, es_tok), "bad signature");
  // ES256 needs exactly 64 bytes of r||s; a DER signature is refused.
  std::string input = testing::SigningInput(kEs, Payload(60));
  EXPECT_EQ(Reason(*es, absl::StrCat(input, ".",
                                     Base64UrlEncode(std::string(70, 'x')))),
            "bad signature");
}

TEST(Jwt, HsRsConfusionIsRefused) {
  // The attacker knows the RSA public key and uses its PEM as HMAC secret.
  const std::string pem = PublicPem(K().rsa.get());
  const std::string forged = Hs256Token(kHs, Payload(60), pem);
  auto rs = Pem(K().rsa.get());
  EXPECT_EQ(Reason(*rs, forged), "algorithm not allowed");

  // Even with an HS256 secret configured too, HS256 only uses that secret.
  JwtOptions both;
  both.hs256_secret = kSecret;
  both.public_key_pem = pem;
  auto v = Make(both);
  EXPECT_EQ(v->algorithms(), (std::vector<std::string>{"HS256", "RS256"}));
  EXPECT_EQ(Reason(*v, forged), "bad signature");
  EXPECT_EQ(Reason(*v, KeyToken(kRs, Payload(60), K().rsa.get())), "");

  // Pinned to RS256: HS256 is not even considered.
  both.algorithms = {"RS256"};
  auto pinned = Make(both);
  EXPECT_EQ(Reason(*pinned, Hs256Token(kHs, Payload(60), kSecret)),
            "algorithm not allowed");

  // An RS256 header over an ES256 signature (and the reverse) fails.
  auto es = Pem(K().ec.get());
  EXPECT_EQ(Reason(*es, KeyToken(kRs, Payload(60), K().rsa.get())),
            "algorithm not allowed");
  EXPECT_EQ(Reason(*rs, KeyToken(kEs, Payload(60), K().ec.get())),
            "algorithm not allowed");
}

TEST(Jwt, AlgNoneAndUnknownAlgorithmsRefused) {
  auto v = Hs();
  for (const char* alg : {"none", "None", "NONE", "HS512", "hs256", ""}) {
    std::string header = absl::StrCat(R"({"alg":")", alg, R"("})");
    EXPECT_EQ(Reason(*v, testing::SigningInput(header, Payload(60)) + "."),
              "algorithm not allowed")
        << alg;
    EXPECT_EQ(Reason(*v, Hs256Token(header, Payload(60), kSecret)),
              "algorithm not allowed")
        << alg;
  }
  JwtOptions o;
  o.hs256_secret = kSecret;
  o.algorithms = {"none"};
  EXPECT_FALSE(JwtVerifier::Create(o).ok());
}

TEST(Jwt, Malformed) {
  auto v = Hs();
  std::string good = Hs256Token(kHs, Payload(60), kSecret);
  std::string sig = good.substr(good.rfind('.') + 1);
  auto signed_with = [&](const std::string& header,
                         const std::string& payload) {
    return Hs256Token(header, payload, kSecret);
  };
  for (const std::string& t : {
           std::string(""),
           std::string("."),
           std::string(".."),
           std::string("abc"),
           good.substr(0, good.rfind('.')),           // 2 parts
           good + ".x",                               // 4 parts
           "!!!." + good.substr(good.find('.') + 1),  // bad base64
           good + "=",                                // padding
           " " + good,
           Base64UrlEncode("{oops") + ".e30." + sig,      // header not JSON
           Base64UrlEncode("[1]") + ".e30." + sig,        // header not object
           signed_with(R"({"typ":"JWT"})", Payload(60)),  // no alg
           signed_with(R"({"alg":5})", Payload(60)),
           signed_with(R"({"alg":"HS256","kid":7})", Payload(60)),
           signed_with(R"({"alg":"HS256","crit":["exp"]})", Payload(60)),
           signed_with(kHs, "{oops"),  // payload not JSON
           signed_with(kHs, "[1,2]"),  // payload not object
           signed_with(kHs, "\"str\""),
           signed_with(kHs, Payload(60, R"(,"nbf":"soon")")),
       }) {
    EXPECT_EQ(Reason(*v, t), "malformed token") << t;
  }
  // Deeply nested JSON is refused quickly, not parsed.
  std::string deep = absl::StrCat(std::string(100, '['), std::string(100, ']'));
  EXPECT_EQ(
      Reason(*v, signed_with(kHs, Payload(60, absl::StrCat(",\"x\":", deep)))),
      "malformed token");
  std::string shallow =
      absl::StrCat(std::string(10, '['), std::string(10, ']'));
  EXPECT_EQ(Reason(*v, signed_with(
                           kHs, Payload(60, absl::StrCat(",\"x\":", shallow)))),
            "");
}

TEST(Jwt, Oversized) {
  JwtOptions o;
  o.hs256_secret = kSecret;
  o.max_token_bytes = 200;
  auto v = Make(o);
  std::string big = Hs256Token(
      kHs, Payload(60, absl::StrCat(",\"x\":\"", std::string(300, 'a'), "\"")),
      kSecret);
  EXPECT_EQ(Reason(*v, big), "token too large");
  EXPECT_EQ(Reason(*Hs(), std::string(9000, 'a')), "token too large");
}

TEST(Jwt, MissingSubOrExp) {
  auto v = Hs();
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, R"({"exp":1700000060})", kSecret)),
            "missing sub");
  EXPECT_EQ(
      Reason(*v, Hs256Token(kHs, R"({"sub":"","exp":1700000060})", kSecret)),
      "missing sub");
  EXPECT_EQ(
      Reason(*v, Hs256Token(kHs, R"({"sub":5,"exp":1700000060})", kSecret)),
      "missing sub");
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, R"({"sub":"u1"})", kSecret)),
            "missing exp");
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, R"({"sub":"u1","exp":"1700000060"})",
                                  kSecret)),
            "missing exp");
  EXPECT_EQ(Reason(*v, Hs256Token(kHs, R"({"sub":"u1","exp":null})", kSecret)),
            "missing exp");
}

TEST(Jwt, JwksKidSelection) {
  JwtOptions o;
  o.jwks_json = absl::StrCat(
      R"({"keys":[)", Jwk(K().rsa.get(), "a"), ",", Jwk(K().rsa2.get(), "b"),
      ",", Jwk(K().ec.get(), "e"), R"(,{"kty":"oct","k":"AAAA"},)",
      R"({"kty":"RSA","use":"enc","n":"x","e":"AQAB"}]})");
  auto v = Make(o);
  EXPECT_EQ(v->algorithms(), (std::vector<std::string>{"RS256", "ES256"}));
  auto rs_kid = [](const char* kid) {
    return absl::StrCat(R"({"alg":"RS256","kid":")", kid, R"("})");
  };
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("b"), Payload(60), K().rsa2.get())), "");
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("a"), Payload(60), K().rsa.get())), "");
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("a"), Payload(60), K().rsa2.get())),
            "bad signature");
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("zz"), Payload(60), K().rsa2.get())),
            "unknown key id");
  // kid "e" is an EC key: an RS256 token naming it has no candidate.
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("e"), Payload(60), K().rsa.get())),
            "unknown key id");
  EXPECT_EQ(Reason(*v, KeyToken(R"({"alg":"ES256","kid":"e"})", Payload(60),
                                K().ec.get())),
            "");
  // Without kid every key of the type is tried.
  EXPECT_EQ(Reason(*v, KeyToken(kRs, Payload(60), K().rsa2.get())), "");
}

TEST(Jwt, UnknownKidRefusedEvenWithKidlessKeys) {
  // A JWKS with kids plus a kid-less PEM key: a token naming an unknown kid
  // is refused, although the kid-less key would verify it.
  JwtOptions o;
  o.jwks_json = absl::StrCat(R"({"keys":[)", Jwk(K().rsa2.get(), "b"), "]}");
  o.public_key_pem = PublicPem(K().rsa.get());
  auto v = Make(o);
  auto rs_kid = [](const char* kid) {
    return absl::StrCat(R"({"alg":"RS256","kid":")", kid, R"("})");
  };
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("zz"), Payload(60), K().rsa.get())),
            "unknown key id");
  EXPECT_EQ(Reason(*v, KeyToken(rs_kid("b"), Payload(60), K().rsa2.get())), "");
  // No kid: every key of the type, the kid-less PEM key included.
  EXPECT_EQ(Reason(*v, KeyToken(kRs, Payload(60), K().rsa.get())), "");
}

TEST(Jwt, KidIgnoredWhenNoKeyHasOne) {
  // A single PEM key or secret has no kid: identity providers that always
  // put a kid in the header still work.
  auto rs = Pem(K().rsa.get());
  EXPECT_EQ(Reason(*rs, KeyToken(R"({"alg":"RS256","kid":"anything"})",
                                 Payload(60), K().rsa.get())),
            "");
  auto hs = Hs();
  EXPECT_EQ(Reason(*hs, Hs256Token(R"({"alg":"HS256","kid":"k1"})", Payload(60),
                                   kSecret)),
            "");
}

TEST(Jwt, IssuerAndAudience) {
  JwtOptions o;
  o.hs256_secret = kSecret;
  o.issuer = "https://id.example";
  o.audience = "vent";
  auto v = Make(o);
  auto tok = [&](const std::string& extra) {
    return Hs256Token(kHs, Payload(60, extra), kSecret);
  };
  EXPECT_EQ(Reason(*v, tok(R"(,"iss":"https://id.example","aud":"vent")")), "");
  EXPECT_EQ(
      Reason(*v, tok(R"(,"iss":"https://id.example","aud":["x","vent"])")), "");
  EXPECT_EQ(Reason(*v, tok(R"(,"iss":"https://evil.example","aud":"vent")")),
            "wrong issuer");
  EXPECT_EQ(Reason(*v, tok(R"(,"aud":"vent")")), "wrong issuer");
  EXPECT_EQ(Reason(*v, tok(R"(,"iss":"https://id.example","aud":"other")")),
            "wrong audience");
  EXPECT_EQ(Reason(*v, tok(R"(,"iss":"https://id.example","aud":["x",1])")),
            "wrong audience");
  EXPECT_EQ(Reason(*v, tok(R"(,"iss":"https://id.example")")),
            "wrong audience");
  // Unconfigured: iss/aud are not checked.
  EXPECT_EQ(Reason(*Hs(), tok(R"(,"iss":"anything","aud":5)")), "");
}

TEST(Jwt, ReasonNeverContainsToken) {
  auto v = Hs();
  std::string t = Hs256Token(kHs, Payload(-100), kSecret);
  auto c = v->Verify(t, now);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().ToString()),
              ::testing::Not(HasSubstr(t.substr(0, 20))));
}

TEST(JwtCreate, ConfigurationErrors) {
  EXPECT_THAT(JwtVerifier::Create({}).status().message(), HasSubstr("no key"));
  JwtOptions bad_pem;
  bad_pem.public_key_pem =
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  EXPECT_EQ(JwtVerifier::Create(bad_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
  JwtOptions priv;
  priv.public_key_pem = testing::PrivatePem(K().ec.get());
  EXPECT_THAT(JwtVerifier::Create(priv).status().message(),
              HasSubstr("private key"));
  JwtOptions weak;
  weak.public_key_pem = PublicPem(GenerateRsa(1024).get());
  EXPECT_THAT(JwtVerifier::Create(weak).status().message(), HasSubstr("2048"));
  JwtOptions p384;
  p384.public_key_pem = PublicPem(GenerateEc("P-384").get());
  EXPECT_THAT(JwtVerifier::Create(p384).status().message(), HasSubstr("P-256"));
  JwtOptions keyless_alg;
  keyless_alg.hs256_secret = kSecret;
  keyless_alg.algorithms = {"RS256"};
  EXPECT_THAT(JwtVerifier::Create(keyless_alg).status().message(),
              HasSubstr("no key"));
  for (const char* jwks :
       {"{oops", "[]", R"({"keys":{}})", R"({"keys":[5]})",
        R"({"keys":[{"kty":"oct","k":"AAAA"}]})",
        R"({"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]})",
        R"({"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]})"}) {
    JwtOptions o;
    o.jwks_json = jwks;
    EXPECT_EQ(JwtVerifier::Create(o).status().code(),
              absl::StatusCode::kInvalidArgument)
        << jwks;
  }
  // A point that is not on the curve.
  JwtOptions off_curve;
  off_curve.jwks_json =
      absl::StrCat(R"({"keys":[{"kty":"EC","crv":"P-256","x":")",
                   Base64UrlEncode(std::string(32, '\1')), R"(","y":")",
                   Base64UrlEncode(std::string(32, '\2')), R"("}]})");
  EXPECT_EQ(JwtVerifier::Create(off_curve).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwtCreate, ReadKeyFile) {
  EXPECT_EQ(JwtVerifier::ReadKeyFile("/nonexistent/key.pem").status().code(),
            absl::StatusCode::kNotFound);
  std::string path = (std::filesystem::temp_directory_path() /
                      absl::StrCat("vent_jwt_test_", getpid(), ".pem"))
                         .string();
  const std::string pem = PublicPem(K().ec.get());
  std::ofstream(path) << pem;
  auto read = JwtVerifier::ReadKeyFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, pem);
  JwtOptions o;
  o.public_key_pem = *read;
  EXPECT_TRUE(JwtVerifier::Create(o).ok());
}

}  // namespace
}  // namespace vent::auth
