#include "vent/redis/flags.h"

#include "absl/strings/str_cat.h"
#include "vent/tls/tls.h"

namespace vent::redis {

absl::StatusOr<PubSubMode> ParsePubSubMode(absl::string_view text) {
  if (text == "classic") return PubSubMode::kClassic;
  if (text == "sharded") return PubSubMode::kSharded;
  return absl::InvalidArgumentError(
      absl::StrCat("--redis-pubsub: \"", text, "\" is not classic or sharded"));
}

absl::StatusOr<Options> MakeOptions(absl::string_view url,
                                    const TopologyFlags& flags) {
  Options o;
  absl::StatusOr<Endpoint> ep = ParseUrl(url);
  if (!ep.ok()) return ep.status();
  o.endpoint = *std::move(ep);
  absl::StatusOr<PubSubMode> mode = ParsePubSubMode(flags.pubsub);
  if (!mode.ok()) return mode.status();
  o.pubsub = *mode;
  const bool any_tls = !flags.tls_ca.empty() || !flags.tls_cert.empty() ||
                       !flags.tls_key.empty() || !flags.tls_server_name.empty();
  if (any_tls && !o.endpoint.tls) {
    return absl::InvalidArgumentError(
        "--redis-tls-ca/-cert/-key/-server-name need a TLS URL (rediss://, "
        "rediss-sentinel:// or rediss-cluster://)");
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--redis-tls-cert and --redis-tls-key go together");
  }
  if (o.endpoint.tls) {
    absl::StatusOr<std::shared_ptr<tls::TlsClientContext>> ctx =
        tls::TlsClientContext::Load(flags.tls_ca, flags.tls_cert,
                                    flags.tls_key);
    if (!ctx.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-tls-*: ", ctx.status().message()));
    }
    o.tls = *std::move(ctx);
    o.tls_server_name = flags.tls_server_name;
  }
  if (!flags.sentinel_password.empty() &&
      o.endpoint.kind != Endpoint::Kind::kSentinel) {
    return absl::InvalidArgumentError(
        "--redis-sentinel-password needs a redis-sentinel:// URL");
  }
  o.sentinel_password = flags.sentinel_password;
  return o;
}

}  // namespace vent::redis
