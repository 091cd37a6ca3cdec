// vent-bridge's configuration (flags, environment, YAML; see vent/config/options.h).
#ifndef VENT_BRIDGE_OPTIONS_H_
#define VENT_BRIDGE_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "vent/config/options.h"

namespace vent::bridge {

struct BridgeOptions {
  std::string listen = "127.0.0.1:3000";
  std::string redis = "redis://127.0.0.1:6379";
  std::string log_level = "info";
  std::string static_dir;                 // "" = no static files
  int64_t workers = 0;                    // 0 = one per core
  int64_t max_connections = 100000;
  int64_t max_message = 64 * 1024;        // inbound DDP message (WS message) bytes
  int64_t max_subscriptions = 1024;       // per connection
  int64_t max_outgoing = 4 * 1024 * 1024; // queued outgoing bytes per connection
  int64_t max_worker_backlog = 64 * 1024 * 1024;  // queued Redis bytes per worker
  absl::Duration heartbeat_interval = absl::Seconds(15);
  absl::Duration heartbeat_timeout = absl::Seconds(15);
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration sub_timeout = absl::Seconds(10);  // wait for Redis before nosub 503
  absl::Duration redis_connect_timeout = absl::Seconds(2);
  absl::Duration shutdown_timeout = absl::Seconds(5);
  std::vector<std::string> allowed_origins;  // empty = any Origin
};

// Declares every option on `set`, writing into `opts`.
void RegisterOptions(config::OptionSet& set, BridgeOptions& opts);

// "host:port" -> host, port. Port 0 allowed (ephemeral).
absl::Status SplitHostPort(const std::string& hostport, std::string* host, uint16_t* port);

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_OPTIONS_H_
