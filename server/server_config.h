// vent-server's configuration: every option, its default, and its flag
// (through vent::config::OptionSet: --flag, $VENT_SERVER_FLAG or a shared
// $VENT_NAME, or the YAML file).
#ifndef VENT_SERVER_SERVER_CONFIG_H_
#define VENT_SERVER_SERVER_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "vent/config/options.h"
#include "vent/pub/catalog.h"
#include "vent/redis/flags.h"

namespace vent::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string redis = "redis://127.0.0.1:6379";
  redis::TopologyFlags redis_topology;  // --redis-pubsub, --redis-tls-*, ...
  std::string metrics_listen = "127.0.0.1:9464";  // "" disables
  // HTTP emit API (POST /v1/emit, /v1/emit_batch); "" disables.
  std::string http_listen = "127.0.0.1:8080";
  int64_t http_threads = 1;
  int64_t http_max_connections = 1024;
  int64_t http_max_body = 16 * 1024 * 1024;
  absl::Duration http_idle_timeout = absl::Seconds(60);
  std::string log_level = "info";
  std::string log_format = "text";
  int64_t max_payload = 64 * 1024;
  int64_t max_channel = 1024;
  int64_t max_inflight = 10000;
  int64_t max_batch = 10000;
  std::vector<std::string> api_keys;
  std::string tls_cert;
  std::string tls_key;
  absl::Duration idempotency_window = absl::Minutes(5);
  int64_t idempotency_keys = 100000;
  int64_t subscribe_queue = 1024;
  int64_t subscribe_queue_bytes = 4 << 20;  // per Subscribe call
  int64_t max_subscribers = 1000;           // open Subscribe calls
  int64_t subscribe_memory = 256 << 20;     // bytes held by all of them
  int64_t stream_window = 1024;
  absl::Duration redis_connect_timeout = absl::Seconds(2);
  absl::Duration redis_command_timeout = absl::Seconds(5);
  absl::Duration shutdown_grace = absl::Seconds(10);
  int64_t max_message = 16 * 1024 * 1024;  // gRPC max receive message size
  // The config file's `publications` (shared with vent-bridge): vent-server
  // uses only their `history:` (which channels keep history). Not an option;
  // main() loads it. Null = none.
  std::shared_ptr<const pub::Catalog> catalog;
};

// Declares every option of `config` in `set` (defaults = the current values).
void RegisterOptions(config::OptionSet& set, ServerConfig* config);

// Range checks after parsing: InvalidArgument naming the option.
absl::Status Validate(const ServerConfig& config);

}  // namespace vent::server

#endif  // VENT_SERVER_SERVER_CONFIG_H_
