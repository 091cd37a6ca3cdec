// The metrics vent-server exports (see server/README.md for the list).
//
// Thread-safety: constructed once at start-up; every member is updated
// lock-free from any thread. Owned by the caller; must outlive the service.
#ifndef VENT_SERVER_SERVER_METRICS_H_
#define VENT_SERVER_SERVER_METRICS_H_

#include <array>
#include <atomic>

#include "grpcpp/support/status.h"
#include "vent/metrics/metrics.h"

namespace vent::server {

// The gRPC methods and the HTTP emit API's two routes.
enum class Rpc {
  kEmit = 0,
  kEmitBatch,
  kEmitStream,
  kSubscribe,
  kHttpEmit,
  kHttpEmitBatch
};
inline constexpr int kRpcs = 6;
enum class AuthRefusal { kMissing = 0, kUnknown, kScope };

// "Emit", "EmitBatch", "EmitStream", "Subscribe", "HttpEmit",
// "HttpEmitBatch".
const char* RpcName(Rpc rpc);

class ServerMetrics {
 public:
  explicit ServerMetrics(metrics::Registry& registry);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // vent_emit_total{rpc,code} (Emit*) / vent_subscribe_total{code}: one per
  // finished call.
  void CountCall(Rpc rpc, grpc::StatusCode code);
  void CountAuthRefusal(AuthRefusal why) {
    auth_refusals_[static_cast<int>(why)]->Add();
  }
  // vent_malformed_requests_total{rpc}: requests that are not valid protobuf
  // for their RPC (invalid UTF-8, too deep, truncated), or HTTP bodies that
  // are not valid JSON of the expected shape.
  void CountMalformed(Rpc rpc) { malformed_[static_cast<int>(rpc)]->Add(); }

  metrics::Counter* events;               // vent_emit_events_total
  metrics::Counter* duplicates;           // vent_emit_duplicates_total
  metrics::Counter* maybe_published;      // vent_emit_maybe_published_total
  metrics::Histogram* publish_latency;    // vent_publish_latency_seconds
  metrics::Gauge* redis_connected;        // vent_redis_connected
  metrics::Gauge* inflight;               // vent_inflight
  metrics::Gauge* subscribe_active;       // vent_subscribe_active
  metrics::Counter* subscribe_events;     // vent_subscribe_events_total
  metrics::Counter* subscribe_overflows;  // vent_subscribe_overflows_total
  // vent_subscribe_recoveries_total{result="recovered|not_recovered"}: one
  // per channel with a position in a Subscribe's `since`.
  metrics::Counter* subscribe_recovered;
  metrics::Counter* subscribe_not_recovered;
  metrics::Counter* subscribe_replayed;  // vent_subscribe_replayed_total
  metrics::Gauge* http_connections;      // vent_http_connections
  metrics::Counter* http_refused;        // vent_http_refused_connections_total

 private:
  static constexpr int kCodes = 17;
  metrics::Counter* Cell(Rpc rpc, int code);
  metrics::Registry& registry_;
  std::array<metrics::Counter*, 3> auth_refusals_;
  std::array<metrics::Counter*, kRpcs> malformed_;
  std::array<std::array<std::atomic<metrics::Counter*>, kCodes>, kRpcs>
      calls_{};
};

}  // namespace vent::server

#endif  // VENT_SERVER_SERVER_METRICS_H_
