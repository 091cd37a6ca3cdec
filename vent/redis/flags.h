// The --redis* flags shared by vent-server and vent-bridge (each also
// registers --redis itself and its timeouts), and their translation into
// Options. Every flag has a VENT_* variable (vent/config).
#ifndef VENT_REDIS_FLAGS_H_
#define VENT_REDIS_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vent/config/options.h"
#include "vent/redis/options.h"

namespace vent::redis {

// Help text of --redis.
inline constexpr char kRedisUrlHelp[] =
    "Redis URL: redis://[[user]:password@]host:port[/db], rediss://... (TLS), "
    "unix:///path/redis.sock[?db=N], "
    "redis-sentinel://[[user]:password@]host:port[,host:port...]/master[/db], "
    "redis-cluster://[[user]:password@]host:port[,host:port...] (seed nodes), "
    "rediss-cluster://... (see docs/redis.md)";

struct TopologyFlags {
  std::string pubsub = "classic";
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  std::string sentinel_password;
};

// --redis-pubsub, --redis-tls-ca, --redis-tls-cert, --redis-tls-key,
// --redis-tls-server-name, --redis-sentinel-password. Inline: the `vent` CLI
// compiles the binaries' option declarations without linking vent/redis.
inline void RegisterTopologyFlags(config::OptionSet& set, TopologyFlags* f) {
  set.String(
      "redis-pubsub", &f->pubsub,
      "classic (PUBLISH/SUBSCRIBE; redis-oplog and redis-cli PUBLISH "
      "interoperate) or sharded (SPUBLISH/SSUBSCRIBE, Redis 7+: scales "
      "with a Cluster's shards); vent-server and vent-bridge must agree");
  set.String("redis-tls-ca", &f->tls_ca,
             "rediss: PEM file of trusted roots for the Redis certificate; "
             "empty = the system's roots");
  set.String("redis-tls-cert", &f->tls_cert,
             "rediss: PEM client certificate chain (for Redis with "
             "tls-auth-clients)");
  set.String("redis-tls-key", &f->tls_key,
             "rediss: PEM private key of --redis-tls-cert");
  set.String("redis-tls-server-name", &f->tls_server_name,
             "rediss: name the Redis certificate must carry (and SNI); empty = "
             "the host connected to");
  set.Secret("redis-sentinel-password", &f->sentinel_password,
             "redis-sentinel: password of the Sentinels themselves (the URL's "
             "is the master's); empty = no AUTH");
}

// Parses `url` and applies `flags`: endpoint, pub/sub mode and TLS (the files
// are read now, so a bad one fails at startup naming it). InvalidArgument
// naming the flag on a bad value or a combination that makes no sense
// (--redis-tls-* without a rediss URL, --redis-sentinel-password without a
// Sentinel URL).
absl::StatusOr<Options> MakeOptions(absl::string_view url,
                                    const TopologyFlags& flags);

// "classic" | "sharded".
absl::StatusOr<PubSubMode> ParsePubSubMode(absl::string_view text);

}  // namespace vent::redis

#endif  // VENT_REDIS_FLAGS_H_
