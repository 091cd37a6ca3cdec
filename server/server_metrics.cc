#include "server/server_metrics.h"

#include <string>

namespace vent::server {
namespace {

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return kNames[code];
}

}  // namespace

const char* RpcName(Rpc rpc) {
  static constexpr const char* kNames[] = {"Emit",       "EmitBatch",
                                           "EmitStream", "Subscribe",
                                           "HttpEmit",   "HttpEmitBatch"};
  return kNames[static_cast<int>(rpc)];
}

ServerMetrics::ServerMetrics(metrics::Registry& registry)
    : registry_(registry) {
  events = registry.GetCounter("vent_emit_events_total",
                               "Events published to Redis (all Emit RPCs).");
  duplicates = registry.GetCounter(
      "vent_emit_duplicates_total",
      "Events not published because their idempotency key repeated.");
  maybe_published = registry.GetCounter(
      "vent_emit_maybe_published_total",
      "Events sent to Redis whose reply was lost (connection lost, reply "
      "timeout, shutdown): answered DEADLINE_EXCEEDED, may have been "
      "published.");
  publish_latency = registry.GetHistogram(
      "vent_publish_latency_seconds",
      "Time from accepting an event to Redis's PUBLISH reply.",
      metrics::Registry::LatencyBounds());
  redis_connected = registry.GetGauge(
      "vent_redis_connected", "1 when the Redis publisher connection is up.");
  inflight = registry.GetGauge("vent_inflight",
                               "Publishes sent to Redis and not yet answered.");
  subscribe_active =
      registry.GetGauge("vent_subscribe_active", "Open Subscribe calls.");
  subscribe_events = registry.GetCounter(
      "vent_subscribe_events_total", "Events delivered to Subscribe calls.");
  subscribe_overflows =
      registry.GetCounter("vent_subscribe_overflows_total",
                          "Subscribe calls ended with RESOURCE_EXHAUSTED "
                          "because the client read too slowly.");
  subscribe_recovered = registry.GetCounter(
      "vent_subscribe_recoveries_total",
      "Channels with a position in a Subscribe's since (docs/history.md).",
      {{"result", "recovered"}});
  subscribe_not_recovered = registry.GetCounter(
      "vent_subscribe_recoveries_total",
      "Channels with a position in a Subscribe's since (docs/history.md).",
      {{"result", "not_recovered"}});
  subscribe_replayed =
      registry.GetCounter("vent_subscribe_replayed_total",
                          "Events replayed from history to Subscribe calls.");
  const char* reasons[] = {"missing_key", "unknown_key", "scope"};
  for (int i = 0; i < 3; ++i) {
    auth_refusals_[i] = registry.GetCounter(
        "vent_auth_refusals_total", "Calls refused by API-key authentication.",
        {{"reason", reasons[i]}});
  }
  http_connections = registry.GetGauge(
      "vent_http_connections", "Open connections to the HTTP emit API.");
  http_refused = registry.GetCounter(
      "vent_http_refused_connections_total",
      "HTTP emit API connections refused (503) over --http-max-connections.");
  for (int rpc = 0; rpc < kRpcs; ++rpc) {
    malformed_[rpc] = registry.GetCounter(
        "vent_malformed_requests_total",
        "Requests refused INVALID_ARGUMENT because they are not valid "
        "protobuf for their RPC (invalid UTF-8, nesting too deep, "
        "truncated).",
        {{"rpc", RpcName(static_cast<Rpc>(rpc))}});
  }
  // Pre-register the common outcomes so dashboards see zeros.
  for (int rpc = 0; rpc < kRpcs; ++rpc) {
    for (int code : {0, 3, 8, 14}) Cell(static_cast<Rpc>(rpc), code);
  }
}

void ServerMetrics::CountCall(Rpc rpc, grpc::StatusCode code) {
  Cell(rpc, static_cast<int>(code))->Add();
}

metrics::Counter* ServerMetrics::Cell(Rpc rpc, int c) {
  int r = static_cast<int>(rpc);
  if (c < 0 || c >= kCodes) c = 2;
  auto& cell = calls_[r][c];
  metrics::Counter* counter = cell.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // GetCounter returns the same object for the same labels, so a race is
    // harmless.
    if (rpc == Rpc::kSubscribe) {
      counter = registry_.GetCounter("vent_subscribe_total",
                                     "Finished Subscribe calls.",
                                     {{"code", CodeName(c)}});
    } else {
      counter =
          registry_.GetCounter("vent_emit_total", "Finished Emit* calls.",
                               {{"rpc", RpcName(rpc)}, {"code", CodeName(c)}});
    }
    cell.store(counter, std::memory_order_release);
  }
  return counter;
}

}  // namespace vent::server
