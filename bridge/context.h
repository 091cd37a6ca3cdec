// State shared by every part of vent-bridge: read-only configuration and
// thread-safe counters. Built in main() before any thread starts; immutable
// afterwards except for the atomics and metric objects.
#ifndef VENT_BRIDGE_CONTEXT_H_
#define VENT_BRIDGE_CONTEXT_H_

#include <atomic>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "bridge/options.h"
#include "vent/base/log_limiter.h"
#include "vent/metrics/metrics.h"
#include "vent/pub/catalog.h"

namespace vent::tls {
class TlsServerContext;
}  // namespace vent::tls

namespace vent::bridge {

class Authenticator;
class HistoryReader;
class Hub;
class IpLimiter;
class Worker;

// Pointers into the Registry (owned by it). Updated lock-free from any thread.
struct BridgeMetrics {
  explicit BridgeMetrics(metrics::Registry& r);
  metrics::Gauge* connections;
  metrics::Counter* connections_total;
  metrics::Counter*
      refused_connections;           // over max-connections / shutting down
  metrics::Counter* refused_origin;  // Origin not allowed
  metrics::Gauge* subscriptions;
  metrics::Counter* subs_ready;
  metrics::Counter* subs_refused;    // nosub with error
  metrics::Counter* deliveries;      // Vent frames queued to clients
  metrics::Counter* redis_messages;  // messages received from Redis
  metrics::Counter* redis_dropped;   // dropped at a full worker backlog
  metrics::Counter* slow_closes;     // clients closed with 4008
  metrics::Counter*
      protocol_closes;  // closed for a WebSocket protocol error / too big
  metrics::Counter*
      heartbeat_closes;          // closed for a missed pong / handshake timeout
  metrics::Counter* ddp_errors;  // {"msg":"error"} replies
  metrics::Counter* bytes_out;
  metrics::Gauge* redis_up;
  metrics::Gauge* redis_channels;
  metrics::Gauge* outgoing_bytes;  // queued to clients, all workers (per sweep)
  metrics::Gauge* workers_active;  // taking new connections (--workers 0)
  metrics::Counter* login_ok;
  metrics::Counter* login_refused;
  metrics::Counter* login_error;  // --login authorizer: backend failed
  metrics::Counter* authorize_allow;
  metrics::Counter* authorize_deny;
  metrics::Counter* authorize_error;
  metrics::Counter* refused_per_ip;
  metrics::Counter* tls_failures;     // failed TLS handshakes / corrupt records
  metrics::Counter* login_expired;    // sessions logged out at token expiry
  metrics::Counter* subs_gap;         // re-readies after a Redis outage
  metrics::Counter* drain_closes;     // closed with 1001 by a graceful drain
  metrics::Counter* reads_paused;     // output backpressure stopped reading
  metrics::Gauge* sockjs_sessions;    // SockJS sessions over HTTP
  metrics::Counter* sockjs_requests;  // SockJS HTTP transport requests
  metrics::Counter* recovered;        // resubscribes that recovered everything
  metrics::Counter* not_recovered;  // ... that could not (told recovered:false)
  metrics::Counter* replayed;       // history events sent before a `ready`
  metrics::Counter* history_errors;  // history reads that failed (nosub 503)
};

struct BridgeContext {
  BridgeOptions options;
  std::shared_ptr<const pub::Catalog> catalog;
  metrics::Registry* registry = nullptr;
  std::unique_ptr<BridgeMetrics> metrics;
  Hub* hub = nullptr;
  const Authenticator* access = nullptr;
  // Set when some publication keeps history (the Hub).
  HistoryReader* history = nullptr;
  IpLimiter* ip_limiter = nullptr;
  // Null: plain ws:// and http://. Replaced (atomically) when SIGHUP
  // reloads the certificate; new connections take the current one.
  std::atomic<std::shared_ptr<const tls::TlsServerContext>> tls;
  std::atomic<int64_t> open_connections{0};  // every accepted socket
  // DDP connections: upgraded WebSockets and SockJS sessions over HTTP.
  std::atomic<int64_t> ws_connections{0};
  std::atomic<int64_t> sockjs_sessions{0};  // SockJS sessions over HTTP
  // Every worker, in id order (set before they start; read-only after).
  std::vector<Worker*> workers;
  std::atomic<bool> redis_up{false};
  std::atomic<bool> shutting_down{false};

  // A failed or abandoned TLS handshake or a corrupt record: counts it
  // (vent_bridge_refused_total{reason="tls"}) and logs a warning at most
  // once per 10 s with the number seen since (scanners must not flood the
  // log). Any thread.
  void NoteTlsFailure(absl::string_view remote, absl::string_view error);
  base::LogLimiter tls_log{absl::Seconds(10)};
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_CONTEXT_H_
