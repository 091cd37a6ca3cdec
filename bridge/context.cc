#include "bridge/context.h"

#include "absl/time/clock.h"
#include "vent/base/log.h"

namespace vent::bridge {

BridgeMetrics::BridgeMetrics(metrics::Registry& r)
    : connections(
          r.GetGauge("vent_bridge_connections", "Open WebSocket connections.")),
      connections_total(
          r.GetCounter("vent_bridge_connections_total",
                       "WebSocket connections accepted (upgraded).")),
      refused_connections(r.GetCounter("vent_bridge_refused_total",
                                       "Connections or upgrades refused.",
                                       {{"reason", "limit"}})),
      refused_origin(r.GetCounter("vent_bridge_refused_total",
                                  "Connections or upgrades refused.",
                                  {{"reason", "origin"}})),
      subscriptions(r.GetGauge("vent_bridge_subscriptions",
                               "Active Vent subscriptions.")),
      subs_ready(r.GetCounter("vent_bridge_subscriptions_total",
                              "Subscriptions by outcome.",
                              {{"outcome", "ready"}})),
      subs_refused(r.GetCounter("vent_bridge_subscriptions_total",
                                "Subscriptions by outcome.",
                                {{"outcome", "refused"}})),
      deliveries(r.GetCounter("vent_bridge_deliveries_total",
                              "Vent frames queued to clients.")),
      redis_messages(r.GetCounter("vent_bridge_redis_messages_total",
                                  "Messages received from Redis.")),
      redis_dropped(r.GetCounter(
          "vent_bridge_redis_dropped_total",
          "Redis messages dropped because a worker's backlog was full.")),
      slow_closes(r.GetCounter("vent_bridge_closed_total",
                               "Connections closed by the bridge.",
                               {{"reason", "slow_client"}})),
      protocol_closes(r.GetCounter("vent_bridge_closed_total",
                                   "Connections closed by the bridge.",
                                   {{"reason", "protocol"}})),
      heartbeat_closes(r.GetCounter("vent_bridge_closed_total",
                                    "Connections closed by the bridge.",
                                    {{"reason", "timeout"}})),
      ddp_errors(r.GetCounter("vent_bridge_ddp_errors_total",
                              "DDP error replies sent for bad input.")),
      bytes_out(r.GetCounter("vent_bridge_bytes_out_total",
                             "Bytes written to clients.")),
      redis_up(r.GetGauge("vent_bridge_redis_up",
                          "1 when the Redis subscriber is connected.")),
      redis_channels(
          r.GetGauge("vent_bridge_redis_channels",
                     "Redis channels this bridge is subscribed to.")),
      outgoing_bytes(
          r.GetGauge("vent_bridge_outgoing_bytes",
                     "Bytes queued to clients, not yet taken by the kernel "
                     "(updated every sweep).")),
      workers_active(r.GetGauge(
          "vent_bridge_workers_active",
          "Workers that new connections are placed on (--workers 0: grows "
          "when the active ones are busy, see --worker-spill-busy).")),
      login_ok(r.GetCounter("vent_bridge_logins_total", "DDP logins by result.",
                            {{"result", "ok"}})),
      login_refused(r.GetCounter("vent_bridge_logins_total",
                                 "DDP logins by result.",
                                 {{"result", "refused"}})),
      login_error(r.GetCounter("vent_bridge_logins_total",
                               "DDP logins by result.", {{"result", "error"}})),
      authorize_allow(r.GetCounter("vent_bridge_authorize_total",
                                   "Authorizer decisions by result.",
                                   {{"result", "allow"}})),
      authorize_deny(r.GetCounter("vent_bridge_authorize_total",
                                  "Authorizer decisions by result.",
                                  {{"result", "deny"}})),
      authorize_error(r.GetCounter("vent_bridge_authorize_total",
                                   "Authorizer decisions by result.",
                                   {{"result", "error"}})),
      refused_per_ip(r.GetCounter("vent_bridge_refused_total",
                                  "Connections or upgrades refused.",
                                  {{"reason", "per_ip"}})),
      tls_failures(r.GetCounter("vent_bridge_refused_total",
                                "Connections or upgrades refused.",
                                {{"reason", "tls"}})),
      login_expired(r.GetCounter("vent_bridge_logins_total",
                                 "DDP logins by result.",
                                 {{"result", "expired"}})),
      subs_gap(r.GetCounter(
          "vent_bridge_subscription_gaps_total",
          "Repeated `ready` with recovered:false sent after Redis came back.")),
      drain_closes(r.GetCounter("vent_bridge_closed_total",
                                "Connections closed by the bridge.",
                                {{"reason", "shutdown"}})),
      reads_paused(r.GetCounter(
          "vent_bridge_reads_paused_total",
          "Times a connection stopped being read because its replies were "
          "not being taken (output backpressure).")),
      sockjs_sessions(r.GetGauge(
          "vent_bridge_sockjs_sessions",
          "Open SockJS sessions over HTTP (xhr-streaming, xhr-polling, "
          "eventsource, htmlfile).")),
      sockjs_requests(r.GetCounter(
          "vent_bridge_sockjs_requests_total",
          "HTTP requests of the SockJS fallback transports (receiving and "
          "sending).")),
      recovered(r.GetCounter("vent_bridge_recoveries_total",
                             "Resubscribes with a position, by outcome.",
                             {{"result", "recovered"}})),
      not_recovered(r.GetCounter("vent_bridge_recoveries_total",
                                 "Resubscribes with a position, by outcome.",
                                 {{"result", "not_recovered"}})),
      replayed(r.GetCounter("vent_bridge_history_replayed_total",
                            "History events sent to recovering clients.")),
      history_errors(
          r.GetCounter("vent_bridge_history_errors_total",
                       "History reads that failed (the sub got nosub 503).")) {}

void BridgeContext::NoteTlsFailure(absl::string_view remote,
                                   absl::string_view error) {
  metrics->tls_failures->Add();
  int64_t n = tls_log.Note();
  if (n == 0) return;
  VENT_LOG_WARN("TLS handshakes failed", "count", n, "last_remote", remote,
                "last_error", error);
}

}  // namespace vent::bridge
