// vent-bridge's configuration (flags, environment, YAML; see
// vent/config/options.h).
#ifndef VENT_BRIDGE_OPTIONS_H_
#define VENT_BRIDGE_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "vent/config/options.h"
#include "vent/redis/flags.h"

namespace vent::bridge {

struct BridgeOptions {
  std::string listen = "127.0.0.1:3000";
  std::string metrics_listen;  // "" = /metrics on `listen`
  std::string redis = "redis://127.0.0.1:6379";
  redis::TopologyFlags redis_topology;  // --redis-pubsub, --redis-tls-*, ...
  std::string log_level = "info";
  std::string log_format = "text";
  std::string static_dir;                      // "" = no static files
  int64_t max_static_bytes = 8 * 1024 * 1024;  // largest static file served
  std::string tls_cert;  // PEM chain; with tls_key: serve wss/https only
  std::string tls_key;   // PEM private key
  int64_t workers = 0;   // 0 = up to one per core, following the load
  // --workers 0: a worker at or over this CPU busy percentage gets no new
  // connections while another (or a newly activated) worker can take them.
  int64_t worker_spill_busy = 75;
  // --workers 0: the last active worker stops taking new connections after
  // every active worker stayed under a third of worker_spill_busy this long.
  absl::Duration worker_shrink_after = absl::Seconds(60);
  int64_t max_connections = 100000;
  int64_t max_message = 64 * 1024;   // inbound DDP message (WS message) bytes
  int64_t max_subscriptions = 1024;  // per connection
  // permessage-deflate (RFC 7692) offered to raw WebSocket clients.
  bool compression = false;
  int64_t max_outgoing =
      4 * 1024 * 1024;  // queued outgoing bytes per connection
  int64_t max_worker_backlog =
      64 * 1024 * 1024;  // queued Redis bytes per worker
  int64_t max_worker_outgoing =
      64 * 1024 * 1024;  // queued outgoing bytes per worker
  absl::Duration heartbeat_interval = absl::Seconds(15);
  absl::Duration heartbeat_timeout = absl::Seconds(15);
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration sub_timeout =
      absl::Seconds(10);  // wait for Redis before nosub 503
  absl::Duration redis_connect_timeout = absl::Seconds(2);
  absl::Duration shutdown_timeout = absl::Seconds(5);
  absl::Duration write_delay =
      absl::ZeroDuration();                  // coalesce events per write
  std::vector<std::string> allowed_origins;  // empty = any Origin
  // SockJS over HTTP (xhr-streaming, xhr-polling, eventsource, htmlfile).
  int64_t sockjs_max_sessions = 10000;                  // per bridge
  absl::Duration sockjs_heartbeat = absl::Seconds(25);  // "h" after idle
  // A session without a receiving request for this long is closed.
  absl::Duration sockjs_disconnect_delay = absl::Seconds(30);
  // A streaming response ends after this many bytes (the client opens
  // another); polling responses carry one frame.
  int64_t sockjs_response_limit = 128 * 1024;
  int64_t max_connections_per_ip = 0;  // 0 = no per-IP limit
  int64_t connection_rate_per_ip =
      0;  // new connections per second per IP; 0 = none
  // Login (JWT, or the Authorizer's Authenticate) and authorization.
  std::string login = "jwt";  // "jwt" | "authorizer"
  std::string jwt_hs256_secret;
  std::string jwt_public_key;               // PEM file (RS256 / ES256)
  std::string jwt_jwks;                     // JWKS file
  std::vector<std::string> jwt_algorithms;  // pinned; empty = from the key type
  std::string jwt_issuer;
  std::string jwt_audience;
  absl::Duration jwt_leeway = absl::Seconds(30);
  std::string authorizer;  // host:port of the backend's Authorizer
  absl::Duration authorizer_timeout = absl::Seconds(2);
  absl::Duration authorizer_cache = absl::ZeroDuration();
  std::string authorizer_api_key;
  std::string authorizer_tls_ca;  // "" plaintext; "system" or a PEM file: TLS
};

// Declares every option on `set`, writing into `opts`.
void RegisterOptions(config::OptionSet& set, BridgeOptions& opts);

// "host:port" -> host, port. Port 0 allowed (ephemeral).
absl::Status SplitHostPort(const std::string& hostport, std::string* host,
                           uint16_t* port);

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_OPTIONS_H_
