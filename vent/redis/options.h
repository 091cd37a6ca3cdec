// Connection options shared by Publisher and Subscriber. Plain value type.
#ifndef VENT_REDIS_OPTIONS_H_
#define VENT_REDIS_OPTIONS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "vent/redis/url.h"

namespace vent::tls {
class TlsClientContext;
}

namespace vent::redis {

namespace internal {
class AddressSource;
}

// classic: PUBLISH / SUBSCRIBE (any Cluster node sees every message; what
// redis-oplog and `redis-cli PUBLISH` use). sharded: SPUBLISH / SSUBSCRIBE
// (Redis 7+), which a Cluster keeps inside the shard owning the channel's
// slot. Every publisher and subscriber of a channel must use the same mode.
enum class PubSubMode { kClassic, kSharded };

struct Options {
  Endpoint endpoint;
  PubSubMode pubsub = PubSubMode::kClassic;
  // rediss*: trusted roots and client certificate (vent/tls). Null with a TLS
  // endpoint: the system's roots, no client certificate.
  std::shared_ptr<const tls::TlsClientContext> tls;
  // Name checked against the server certificate (and sent as SNI); empty =
  // the host we connect to. Needed when connecting by IP to a certificate
  // that names only a DNS name.
  std::string tls_server_name;
  // Resolve + connect + TLS + AUTH/SELECT/CLIENT SETNAME must finish within
  // this.
  absl::Duration connect_timeout = absl::Seconds(2);
  // A reply not back in time: the connection is considered broken and dropped.
  absl::Duration command_timeout = absl::Seconds(5);
  // Exponential backoff with jitter between reconnect attempts. It starts
  // again from backoff_initial only after a session stayed up for
  // backoff_reset_after, so a server that accepts and then fails is retried
  // ever more slowly (up to backoff_max), not at the initial rate.
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
  absl::Duration backoff_reset_after = absl::Seconds(10);
  // Redis Cluster: the slot map is re-read this often, besides at once after
  // a MOVED reply, a lost node connection or a SUNSUBSCRIBE from Redis.
  absl::Duration cluster_refresh_interval = absl::Seconds(30);
  // Publisher: queued + in-flight commands; over it Publish fails fast with
  // RESOURCE_EXHAUSTED.
  size_t max_pending = 100000;
  // CLIENT SETNAME after connecting (optional; must not contain spaces).
  std::string client_name;
  // redis-sentinel://: credentials for the Sentinels themselves (the URL's
  // are the master's); empty password = no AUTH.
  std::string sentinel_username;
  std::string sentinel_password;

  // Internal, set by Publisher/Subscriber for Sentinel and Cluster endpoints
  // (leave empty): where each connection attempt goes.
  std::shared_ptr<internal::AddressSource> address_source;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_OPTIONS_H_
