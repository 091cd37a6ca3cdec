// Test fixture: a private redis-server process on a free 127.0.0.1 port.
//
// Started with --save '' --appendonly no and its own temporary --dir (removed
// in the destructor). Not thread-safe: use from the test thread.
#ifndef VENT_TESTING_REDIS_SERVER_H_
#define VENT_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vent::testing {

// Binds 127.0.0.1:0, reads the port the kernel chose, closes. 0 on failure.
uint16_t FreePort();

class RedisServer {
 public:
  // Starts /usr/bin/redis-server and waits (deadline 10 s) until it answers
  // PING. `extra_args` are appended to the command line, e.g.
  // {"--requirepass", "secret"}.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::vector<std::string> extra_args = {});
  ~RedisServer();  // kills the server if running, removes the directory
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // "redis://127.0.0.1:PORT"
  bool running() const { return pid_ > 0; }

  // SIGTERM (no save is configured), then waits for the exit (10 s).
  absl::Status Stop();
  // Starts again on the SAME port and waits until it answers PING.
  absl::Status Restart();
  // Runs `redis-cli -p PORT args...`; returns stdout. Non-zero exit: error
  // with stderr.
  absl::StatusOr<std::string> Cli(const std::vector<std::string>& args);

 private:
  RedisServer(uint16_t port, std::string dir,
              std::vector<std::string> extra_args)
      : port_(port), dir_(std::move(dir)), extra_args_(std::move(extra_args)) {}
  absl::Status Launch();

  uint16_t port_;
  std::string dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
};

}  // namespace vent::testing

#endif  // VENT_TESTING_REDIS_SERVER_H_
