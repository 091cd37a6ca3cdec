// A running vent-server: the gRPC service, the Redis publisher/subscriber on
// one io thread, health, reflection and the metrics HTTP endpoint. Built by
// main.cc from ServerConfig, and by the integration tests in-process.
//
// Threading: Start and Shutdown are called from one controlling thread (main
// or the test); everything else runs on gRPC's threads and the io thread.
#ifndef VENT_SERVER_VENT_SERVER_H_
#define VENT_SERVER_VENT_SERVER_H_

#include <boost/asio/io_context.hpp>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/server_config.h"

namespace vent::server {

class VentServer {
 public:
  // Validates the config, connects nothing synchronously (Redis connects in
  // the background; Emit answers UNAVAILABLE until it is up), binds the gRPC
  // and metrics ports. Errors: InvalidArgument (config), Unavailable (bind).
  static absl::StatusOr<std::unique_ptr<VentServer>> Start(
      const ServerConfig& config);
  ~VentServer();  // Shutdown(0) if not done
  VentServer(const VentServer&) = delete;
  VentServer& operator=(const VentServer&) = delete;

  int port() const;              // bound gRPC port
  int metrics_port() const;      // 0 when disabled
  int http_port() const;         // the HTTP emit API's port; 0 when disabled
  bool redis_connected() const;  // publisher and subscriber both up

  // The io_context of the Redis thread (main uses it for signal handling).
  boost::asio::io_context& io();

  // Graceful stop, bounded by `grace` (plus the time to close connections):
  // not ready at once, no new calls, Subscribe calls end UNAVAILABLE, running
  // calls get until shortly before `grace` (then EmitStream calls are ended
  // and unanswered publishes answered truthfully), then Redis connections
  // close and the io thread stops. Idempotent; blocks. Steps: vent_server.cc.
  void Shutdown(absl::Duration grace);

  class Impl;

 private:
  explicit VentServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_VENT_SERVER_H_
