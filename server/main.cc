// vent-server: gRPC Emit/EmitBatch/EmitStream/Subscribe -> Redis pub/sub.
// Options: see `vent-server --help` and server/README.md. Exit codes: 0 after
// a clean shutdown (SIGTERM/SIGINT), 1 when serving could not start, 2 for a
// configuration error.
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/server_config.h"
#include "server/vent_server.h"
#include "vent/base/log.h"
#include "vent/base/process_tuning.h"
#include "vent/config/options.h"
#include "vent/pub/catalog.h"

int main(int argc, char** argv) {
  vent::base::TuneProcessForServing();
  using vent::server::ServerConfig;
  ServerConfig config;
  vent::config::OptionSet options(
      "vent-server", "Emits events to Redis pub/sub over gRPC (vent.v1.Vent).");
  vent::server::RegisterOptions(options, &config);
  vent::config::Parsed parsed;
  if (auto exit_code = options.ParseMain(argc, argv, &parsed)) {
    return *exit_code;  // error, --help, --version or --print-config
  }
  // The shared config's publications: which channels keep history.
  auto catalog = vent::pub::Catalog::FromYaml(
      parsed.yaml ? parsed.yaml["publications"] : YAML::Node());
  if (!catalog.ok()) {
    std::fprintf(stderr, "vent-server: %s\n",
                 std::string(catalog.status().message()).c_str());
    return 2;
  }
  config.catalog = *std::move(catalog);
  if (absl::Status s = vent::server::Validate(config); !s.ok()) {
    std::fprintf(stderr, "vent-server: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  auto server = vent::server::VentServer::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "vent-server: %s\n",
                 std::string(server.status().message()).c_str());
    VENT_LOG_ERROR("vent-server could not start", "error", server.status());
    return server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  absl::Notification stop;
  boost::asio::signal_set signals((*server)->io(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    VENT_LOG_INFO("signal received", "signal",
                  signo == SIGTERM ? "SIGTERM" : "SIGINT", "grace",
                  absl::FormatDuration(config.shutdown_grace));
    stop.Notify();
    // A second signal during the drain: stop now, without the grace.
    signals.async_wait([](const boost::system::error_code& ec2, int) {
      if (ec2) return;
      VENT_LOG_WARN("second signal: exiting without draining");
      std::_Exit(1);
    });
  });
  stop.WaitForNotification();
  (*server)->Shutdown(config.shutdown_grace);
  return 0;
}
