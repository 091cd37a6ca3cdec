#include "server/server_config.h"

#include "absl/strings/str_cat.h"

namespace vent::server {

void RegisterOptions(config::OptionSet& set, ServerConfig* c) {
  set.String("listen", &c->listen, "gRPC listen address HOST:PORT");
  set.String("redis", &c->redis, redis::kRedisUrlHelp);
  redis::RegisterTopologyFlags(set, &c->redis_topology);
  set.String("metrics-listen", &c->metrics_listen,
             "HTTP address for GET /metrics and /healthz (empty disables)");
  set.String("http-listen", &c->http_listen,
             "HTTP emit API address HOST:PORT (POST /v1/emit, "
             "/v1/emit_batch; empty disables)");
  set.Int("http-threads", &c->http_threads,
          "threads serving the HTTP emit API");
  set.Int("http-max-connections", &c->http_max_connections,
          "open HTTP emit API connections at most (more get 503)");
  set.Bytes("http-max-body", &c->http_max_body,
            "largest HTTP emit API request body (larger get 413)");
  set.Duration("http-idle-timeout", &c->http_idle_timeout,
               "HTTP emit API: a connection idle, or slow to send a "
               "request, this long is closed");
  set.String("log-level", &c->log_level, "debug | info | warn | error");
  set.String("log-format", &c->log_format,
             "text (logfmt) | json (one JSON object per line)");
  set.Bytes("max-payload", &c->max_payload, "maximum JSON payload per event");
  set.Bytes("max-channel", &c->max_channel, "maximum channel name length");
  set.Int("max-inflight", &c->max_inflight,
          "publishes in flight to Redis before RESOURCE_EXHAUSTED");
  set.Int("max-batch", &c->max_batch, "maximum events per EmitBatch");
  set.List(
      "api-keys", &c->api_keys,
      "API keys: KEY (any channel) or KEY=prefix1|prefix2; empty = no auth");
  set.String("tls-cert", &c->tls_cert,
             "TLS certificate chain file (PEM); with tls-key");
  set.String("tls-key", &c->tls_key,
             "TLS private key file (PEM); with tls-cert");
  set.Duration("idempotency-window", &c->idempotency_window,
               "how long an idempotency key is remembered");
  set.Int("idempotency-keys", &c->idempotency_keys,
          "idempotency keys remembered at most");
  set.Int("subscribe-queue", &c->subscribe_queue,
          "events queued per Subscribe call before it ends with "
          "RESOURCE_EXHAUSTED");
  set.Bytes("subscribe-queue-bytes", &c->subscribe_queue_bytes,
            "bytes queued per Subscribe call (events waiting + the one being "
            "written) before it ends with RESOURCE_EXHAUSTED");
  set.Int("max-subscribers", &c->max_subscribers,
          "open Subscribe calls at most; more are refused with "
          "RESOURCE_EXHAUSTED");
  set.Bytes("subscribe-memory", &c->subscribe_memory,
            "bytes all Subscribe calls together may hold queued; a call "
            "behind when it is full ends with RESOURCE_EXHAUSTED");
  set.Int("stream-window", &c->stream_window,
          "publishes in flight per EmitStream call");
  set.Duration("redis-connect-timeout", &c->redis_connect_timeout,
               "Redis connect timeout");
  set.Duration("redis-command-timeout", &c->redis_command_timeout,
               "Redis reply timeout (then the connection is dropped)");
  set.Duration("shutdown-grace", &c->shutdown_grace,
               "on SIGTERM/SIGINT, time given to in-flight calls before they "
               "are cancelled");
  set.Bytes("max-message", &c->max_message,
            "maximum gRPC request message size");
}

absl::Status Validate(const ServerConfig& c) {
  auto positive = [](absl::string_view name, int64_t v) -> absl::Status {
    if (v > 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": must be > 0 (got ", v, ")"));
  };
  for (auto [name, v] :
       {std::pair<absl::string_view, int64_t>{"max-payload", c.max_payload},
        {"max-channel", c.max_channel},
        {"max-inflight", c.max_inflight},
        {"max-batch", c.max_batch},
        {"idempotency-keys", c.idempotency_keys},
        {"subscribe-queue", c.subscribe_queue},
        {"subscribe-queue-bytes", c.subscribe_queue_bytes},
        {"max-subscribers", c.max_subscribers},
        {"subscribe-memory", c.subscribe_memory},
        {"stream-window", c.stream_window},
        {"max-message", c.max_message},
        {"http-threads", c.http_threads},
        {"http-max-connections", c.http_max_connections},
        {"http-max-body", c.http_max_body}}) {
    if (absl::Status s = positive(name, v); !s.ok()) return s;
  }
  if (c.max_message > INT32_MAX) {
    return absl::InvalidArgumentError("max-message: must be below 2GiB");
  }
  if (c.listen.empty())
    return absl::InvalidArgumentError("listen: must not be empty");
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "tls-cert and tls-key must be given together");
  }
  if (c.http_idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http-idle-timeout: must be > 0");
  }
  if (c.idempotency_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idempotency-window: must be > 0");
  }
  return absl::OkStatus();
}

}  // namespace vent::server
