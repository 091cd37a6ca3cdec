// Verify() cost per algorithm, and the HMAC-only baseline in the same run.
// Built, not run by ctest: ./bin/vent_auth_benchmark
#include <benchmark/benchmark.h>

#include "vent/auth/jwt.h"
#include "vent/auth/jwt_test_util.h"

namespace vent::auth {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const char kPayload[] =
    R"({"sub":"user-1234","exp":1700003600,"iat":1700000000})";
const std::string kSecret(32, 's');

void BM_HmacOnly(benchmark::State& state) {  // baseline: the bare MAC
  std::string input = testing::SigningInput(R"({"alg":"HS256"})", kPayload);
  for (auto _ : state)
    benchmark::DoNotOptimize(testing::HmacSha256(input, kSecret));
}
BENCHMARK(BM_HmacOnly);

void BM_VerifyHs256(benchmark::State& state) {
  JwtOptions o;
  o.hs256_secret = kSecret;
  auto v = JwtVerifier::Create(o).value();
  std::string token =
      testing::Hs256Token(R"({"alg":"HS256"})", kPayload, kSecret);
  for (auto _ : state) benchmark::DoNotOptimize(v->Verify(token, kNow).ok());
}
BENCHMARK(BM_VerifyHs256);

void VerifyWithKey(benchmark::State& state, internal::EvpPkeyPtr key,
                   const char* header) {
  JwtOptions o;
  o.public_key_pem = testing::PublicPem(key.get());
  auto v = JwtVerifier::Create(o).value();
  std::string token = testing::KeyToken(header, kPayload, key.get());
  for (auto _ : state) benchmark::DoNotOptimize(v->Verify(token, kNow).ok());
}
void BM_VerifyRs256(benchmark::State& state) {
  VerifyWithKey(state, testing::GenerateRsa(), R"({"alg":"RS256"})");
}
BENCHMARK(BM_VerifyRs256);
void BM_VerifyEs256(benchmark::State& state) {
  VerifyWithKey(state, testing::GenerateEc(), R"({"alg":"ES256"})");
}
BENCHMARK(BM_VerifyEs256);

}  // namespace
}  // namespace vent::auth
