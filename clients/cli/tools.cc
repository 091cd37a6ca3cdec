// `vent config check FILE` and `vent token ...`: operator helpers that need
// no server (see clients/cli/README.md).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bridge/options.h"
#include "clients/cli/cli.h"
#include "server/server_config.h"
#include "vent/auth/base64url.h"
#include "vent/base/json_write.h"
#include "vent/config/options.h"
#include "vent/pub/catalog.h"

namespace vent::cli {
namespace {

const char* NoEnv(const char*) { return nullptr; }

// Applies FILE to a program's option set exactly as that program would (the
// environment left out): unknown keys, bad values and the program's own
// section are checked.
template <typename Register>
absl::StatusOr<config::Parsed> CheckFor(const std::string& program,
                                        const std::string& file, Register reg) {
  config::OptionSet set(program, "");
  reg(set);
  std::string flag = "--config=" + file;
  const char* argv[] = {program.c_str(), flag.c_str()};
  return set.Parse(2, argv, NoEnv);
}

}  // namespace

std::string ToolsUsage() {
  return R"(usage: vent config check FILE
       vent token --secret SECRET --user USER [--ttl DURATION] [--issuer ISS] [--audience AUD]

  config check FILE   validate a config file as vent-server and vent-bridge read it (shared
                      keys, their sections, every publication), print what each publication
                      resolves to; exit 0 valid, 3 invalid (the message names key and line)
  token               mint an HS256 login JWT for development (DDP login / ?token=): sub=USER,
                      iat=now, exp=now+ttl (default 1h); --secret defaults to
                      $VENT_BRIDGE_JWT_HS256_SECRET, the variable vent-bridge reads
)";
}

int RunConfigCheck(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "vent: config check takes one FILE\n%s",
                 ToolsUsage().c_str());
    return kUsage;
  }
  const std::string& file = args[0];
  server::ServerConfig server_config;
  auto server = CheckFor("vent-server", file, [&](config::OptionSet& set) {
    server::RegisterOptions(set, &server_config);
  });
  if (server.ok()) {
    if (absl::Status s = server::Validate(server_config); !s.ok()) {
      server = absl::InvalidArgumentError(
          absl::StrCat("config file ", file, ": ", s.message()));
    }
  }
  if (!server.ok()) {
    std::fprintf(stderr, "vent: invalid for vent-server: %s\n",
                 std::string(server.status().message()).c_str());
    return kInvalidInput;
  }
  bridge::BridgeOptions bridge_options;
  auto bridge = CheckFor("vent-bridge", file, [&](config::OptionSet& set) {
    bridge::RegisterOptions(set, bridge_options);
  });
  if (!bridge.ok()) {
    std::fprintf(stderr, "vent: invalid for vent-bridge: %s\n",
                 std::string(bridge.status().message()).c_str());
    return kInvalidInput;
  }
  auto catalog = pub::Catalog::FromYaml(
      bridge->yaml ? bridge->yaml["publications"] : YAML::Node());
  if (!catalog.ok()) {
    std::fprintf(stderr, "vent: invalid publications: %s\n",
                 std::string(catalog.status().message()).c_str());
    return kInvalidInput;
  }
  std::printf("%s: valid for vent-server (gRPC %s) and vent-bridge (HTTP %s)\n",
              file.c_str(), server_config.listen.c_str(),
              bridge_options.listen.c_str());
  std::printf("publications: %zu\n", (*catalog)->size());
  int warnings = 0;
  for (const std::string& name : (*catalog)->names()) {
    const pub::Publication* p = (*catalog)->Find(name);
    std::printf("  %s  auth: %s%s\n", name.c_str(),
                std::string(pub::AuthName(p->auth())).c_str(),
                p->needs_user() ? " (needs a logged-in user)" : "");
    std::vector<std::string> params;
    for (const pub::ParamSpec& spec : p->params()) {
      params.push_back(absl::StrCat(spec.name(), " (",
                                    pub::ParamTypeName(spec.type()),
                                    spec.pattern_source().empty() ? "" : " ",
                                    spec.pattern_source(), ")"));
    }
    std::printf("    params:   %s\n",
                params.empty() ? "none" : absl::StrJoin(params, ", ").c_str());
    std::vector<std::string> channels;
    for (const auto& t : p->channel_templates()) channels.push_back(t.text());
    std::printf("    channels: %s\n", absl::StrJoin(channels, ", ").c_str());
    std::printf(
        "    sends:    %s\n",
        p->projection() == nullptr
            ? "each Redis message verbatim (falsy and invalid JSON skipped)"
            : absl::StrCat("only the fields ",
                           absl::StrJoin(p->projection()->fields(), ", "))
                  .c_str());
    if (p->auth() == pub::Auth::kAuthorizer &&
        bridge_options.authorizer.empty()) {
      std::printf(
          "    warning:  auth: authorizer needs vent-bridge's --authorizer "
          "(not in this file; $VENT_BRIDGE_AUTHORIZER or the flag must set "
          "it)\n");
      ++warnings;
    }
  }
  if (warnings > 0) std::printf("%d warning(s)\n", warnings);
  return kOk;
}

int RunToken(const std::vector<std::string>& args) {
  std::string secret, user, issuer, audience;
  absl::Duration ttl = absl::Hours(1);
  if (const char* s = std::getenv("VENT_BRIDGE_JWT_HS256_SECRET")) secret = s;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      std::fprintf(stderr, "vent: token: %s needs a value\n", name.c_str());
      return kUsage;
    }
    if (name == "--secret") {
      secret = value;
    } else if (name == "--user") {
      user = value;
    } else if (name == "--issuer") {
      issuer = value;
    } else if (name == "--audience") {
      audience = value;
    } else if (name == "--ttl") {
      auto d = config::ParseDuration(value);
      if (!d.ok() || *d <= absl::ZeroDuration()) {
        std::fprintf(stderr,
                     "vent: token: --ttl: '%s' is not a positive duration "
                     "(e.g. 1h, 15m)\n",
                     value.c_str());
        return kUsage;
      }
      ttl = *d;
    } else {
      std::fprintf(stderr, "vent: token: unknown option %s\n%s", name.c_str(),
                   ToolsUsage().c_str());
      return kUsage;
    }
  }
  if (secret.empty() || user.empty()) {
    std::fprintf(stderr,
                 "vent: token needs --secret (or "
                 "$VENT_BRIDGE_JWT_HS256_SECRET) and --user\n");
    return kUsage;
  }
  int64_t now = absl::ToUnixSeconds(absl::Now());
  std::string claims = "{\"sub\":";
  AppendJsonString(&claims, user);
  absl::StrAppend(&claims, ",\"iat\":", now,
                  ",\"exp\":", now + absl::ToInt64Seconds(ttl));
  if (!issuer.empty()) {
    claims += ",\"iss\":";
    AppendJsonString(&claims, issuer);
  }
  if (!audience.empty()) {
    claims += ",\"aud\":";
    AppendJsonString(&claims, audience);
  }
  claims += "}";
  std::string input =
      absl::StrCat(auth::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})"), ".",
                   auth::Base64UrlEncode(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(),
           mac, &mac_len) == nullptr) {
    std::fprintf(stderr, "vent: token: HMAC-SHA256 failed\n");
    return kServerError;
  }
  std::printf(
      "%s.%s\n", input.c_str(),
      auth::Base64UrlEncode(
          absl::string_view(reinterpret_cast<const char*>(mac), mac_len))
          .c_str());
  return kOk;
}

}  // namespace vent::cli
