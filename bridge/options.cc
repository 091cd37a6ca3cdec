#include "bridge/options.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vent::bridge {

void RegisterOptions(config::OptionSet& set, BridgeOptions& o) {
  set.String("listen", &o.listen, "HTTP/WebSocket address (host:port)");
  set.String("metrics-listen", &o.metrics_listen,
             "Separate plain-HTTP address for /metrics, /livez and /readyz "
             "(e.g. 127.0.0.1:9465); when set, /metrics is not served on "
             "--listen");
  set.String("redis", &o.redis, redis::kRedisUrlHelp);
  redis::RegisterTopologyFlags(set, &o.redis_topology);
  set.String("log-level", &o.log_level, "debug, info, warn or error");
  set.String("log-format", &o.log_format,
             "text (logfmt) or json (one JSON object per line)");
  set.String(
      "tls-cert", &o.tls_cert,
      "PEM certificate chain (leaf first); with --tls-key the port serves only "
      "https/wss (TLS 1.2+)");
  set.String("tls-key", &o.tls_key, "PEM private key of --tls-cert");
  set.String("static-dir", &o.static_dir,
             "Folder served at / (the demo); empty = none");
  set.Bytes("max-static-bytes", &o.max_static_bytes,
            "Largest static file served (read whole); larger ones get HTTP "
            "500 — put big assets behind a CDN or proxy");
  set.Int("workers", &o.workers,
          "Worker threads (each with its own event loop); N = N workers, new "
          "connections round-robin; 0 = up to one per core, following the "
          "load: new connections go to the first worker until it is busy "
          "(--worker-spill-busy), then the next one is used");
  set.Int("worker-spill-busy", &o.worker_spill_busy,
          "--workers 0: CPU busy percentage (1-100) of a worker past which "
          "new connections go to another worker, activating one if needed");
  set.Duration("worker-shrink-after", &o.worker_shrink_after,
               "--workers 0: stop giving new connections to the last added "
               "worker once all active workers were under a third of "
               "--worker-spill-busy for this long (connections never move)");
  set.Int("max-connections", &o.max_connections,
          "Open connections per bridge; past it new connections get HTTP 503");
  set.Bytes("max-message", &o.max_message,
            "Largest inbound WebSocket/DDP message; larger closes with 1009");
  set.Bool("compression", &o.compression,
           "permessage-deflate (RFC 7692) for WebSocket clients that offer "
           "it (/websocket; not SockJS): each Vent event is compressed once "
           "and shared by its subscribers; no per-connection zlib state");
  set.Int("max-subscriptions", &o.max_subscriptions,
          "Subscriptions per connection; past it nosub 429");
  set.Bytes("max-outgoing", &o.max_outgoing,
            "Outgoing bytes queued per connection; past it the client is slow: "
            "close 4008");
  set.Bytes("max-worker-outgoing", &o.max_worker_outgoing,
            "Outgoing bytes queued by all of a worker's connections; past it "
            "every client "
            "that is behind (over 64 KiB queued) is slow: close 4008");
  set.Bytes("max-worker-backlog", &o.max_worker_backlog,
            "Redis message bytes queued per worker; past it messages are "
            "dropped and counted");
  set.Duration("heartbeat-interval", &o.heartbeat_interval,
               "Server DDP ping after this much client silence; 0 disables");
  set.Duration("heartbeat-timeout", &o.heartbeat_timeout,
               "Close if a ping is not answered in time");
  set.Duration(
      "handshake-timeout", &o.handshake_timeout,
      "Close connections that have not finished HTTP + DDP connect in time");
  set.Duration(
      "sub-timeout", &o.sub_timeout,
      "How long a sub waits for Redis to confirm SUBSCRIBE before nosub 503");
  set.Duration("redis-connect-timeout", &o.redis_connect_timeout,
               "Redis connect timeout");
  set.Duration("shutdown-timeout", &o.shutdown_timeout,
               "Grace period on SIGTERM: /readyz turns 503 at once, clients "
               "are closed with 1001 spread over it, the process exits by "
               "its end");
  set.Duration(
      "write-delay", &o.write_delay,
      "Hold Vent frames up to this long to write many per syscall (e.g. 2ms); "
      "0 = write as soon as the worker is idle");
  set.List("allowed-origins", &o.allowed_origins,
           "Origins allowed to open WebSockets (e.g. https://app.example.com); "
           "empty = any");
  set.Int("sockjs-max-sessions", &o.sockjs_max_sessions,
          "SockJS sessions over HTTP (xhr-streaming, xhr-polling, "
          "eventsource, htmlfile) per bridge; past it new ones get HTTP 503 "
          "(they also count against --max-connections)");
  set.Duration("sockjs-heartbeat", &o.sockjs_heartbeat,
               "SockJS over HTTP: send the \"h\" frame after this much "
               "silence on a receiving request");
  set.Duration("sockjs-disconnect-delay", &o.sockjs_disconnect_delay,
               "SockJS over HTTP: close a session that has no receiving "
               "request (poll or stream) for this long");
  set.Bytes("sockjs-response-limit", &o.sockjs_response_limit,
            "SockJS over HTTP: end a streaming response after this many "
            "bytes (the client opens the next one)");
  set.Int("max-connections-per-ip", &o.max_connections_per_ip,
          "Open connections per client IP; past it HTTP 429; 0 = no limit");
  set.Int("connection-rate-per-ip", &o.connection_rate_per_ip,
          "New connections per second per client IP (burst = 2x); past it HTTP "
          "429; 0 = no limit");
  set.String("login", &o.login,
             "How DDP login tokens are checked: jwt (by the bridge, --jwt-*) "
             "or authorizer (the backend's Authenticate RPC, e.g. Meteor "
             "resume tokens; needs --authorizer)");
  set.Secret("jwt-hs256-secret", &o.jwt_hs256_secret,
             "Shared secret for HS256 login tokens");
  set.String("jwt-public-key", &o.jwt_public_key,
             "PEM file with the RS256/ES256 public key");
  set.String("jwt-jwks", &o.jwt_jwks, "JWKS file (keys selected by kid)");
  set.List("jwt-algorithms", &o.jwt_algorithms,
           "Allowed JWT algorithms (HS256, RS256, ES256); empty = those of the "
           "configured keys");
  set.String("jwt-issuer", &o.jwt_issuer,
             "Required `iss` claim; empty = not checked");
  set.String("jwt-audience", &o.jwt_audience,
             "Required `aud` claim; empty = not checked");
  set.Duration("jwt-leeway", &o.jwt_leeway,
               "Clock skew accepted for exp/nbf; a logged-in connection is "
               "logged out at exp + this");
  set.String("authorizer", &o.authorizer,
             "host:port of the backend's vent.v1.Authorizer service (auth: "
             "authorizer)");
  set.Duration(
      "authorizer-timeout", &o.authorizer_timeout,
      "Deadline of an Authorize call; past it the sub is refused (503)");
  set.Duration("authorizer-cache", &o.authorizer_cache,
               "How long answers are cached when the backend does not say; 0 = "
               "not cached");
  set.Secret("authorizer-api-key", &o.authorizer_api_key,
             "Sent to the Authorizer as `authorization: Bearer <key>`");
  set.String("authorizer-tls-ca", &o.authorizer_tls_ca,
             "TLS to the Authorizer: a PEM file of trusted roots, or "
             "\"system\" for the "
             "system roots; empty = plaintext");
  set.Section("publications", "Vent publications (see vent/pub/README.md)");
}

absl::Status SplitHostPort(const std::string& hostport, std::string* host,
                           uint16_t* port) {
  size_t colon = hostport.rfind(':');
  uint32_t p = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(hostport.substr(colon + 1), &p) || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", hostport, "\" is not host:port (example: 127.0.0.1:3000)"));
  }
  *host = hostport.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  *port = static_cast<uint16_t>(p);
  return absl::OkStatus();
}

}  // namespace vent::bridge
