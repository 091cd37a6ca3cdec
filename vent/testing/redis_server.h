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

struct TestPki;

// Runs /usr/bin/redis-cli with `args` (after -p PORT when `port` != 0);
// returns stdout, or an error with stderr. Deadline 30 s.
absl::StatusOr<std::string> RedisCli(const std::vector<std::string>& args,
                                     uint16_t port = 0);

// A free port P <= 55535 whose cluster bus port P + 10000 is free too.
uint16_t FreeClusterPort();

class RedisServer {
 public:
  struct Config {
    std::vector<std::string> args;  // appended to the command line
    uint16_t port = 0;              // 0: a free port (kept across Restart)
    bool cluster_port = false;      // port 0: pick with FreeClusterPort()
    // Written to DIR/redis.conf and passed as the first argument (a Sentinel
    // needs a writable config file); empty = none.
    std::string conf;
    bool sentinel = false;  // --sentinel
    // Also listen with TLS on tls_port() (the plain port stays, for control
    // and readiness), with pki's server certificate; clients must present a
    // certificate signed by pki's CA when `tls_auth_clients`.
    const TestPki* tls = nullptr;
    bool tls_auth_clients = false;
    bool unix_socket = false;  // also listen on unix_path()
  };

  // Starts /usr/bin/redis-server and waits (deadline 10 s) until it answers
  // PING. `extra_args` are appended to the command line, e.g.
  // {"--requirepass", "secret"}.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::vector<std::string> extra_args = {});
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Config config);
  ~RedisServer();  // kills the server if running, removes the directory
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }  // 0 without Config::tls
  std::string url() const;                         // "redis://127.0.0.1:PORT"
  const std::string& dir() const { return dir_; }
  std::string unix_path() const { return dir_ + "/redis.sock"; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // SIGTERM (no save is configured), then waits for the exit (10 s).
  absl::Status Stop();
  // SIGKILL and reap (a crash).
  void Kill();
  // SIGSTOP / SIGCONT (a hung server that keeps its connections).
  void Pause();
  void Resume();
  // Starts again on the SAME port and waits until it answers PING.
  absl::Status Restart();
  // Runs `redis-cli -p PORT args...`; returns stdout. Non-zero exit: error
  // with stderr.
  absl::StatusOr<std::string> Cli(const std::vector<std::string>& args);

 private:
  RedisServer(uint16_t port, uint16_t tls_port, std::string dir, Config config)
      : port_(port),
        tls_port_(tls_port),
        dir_(std::move(dir)),
        config_(std::move(config)) {}
  absl::Status Launch();

  uint16_t port_;
  uint16_t tls_port_;
  std::string dir_;
  Config config_;
  pid_t pid_ = -1;
};

}  // namespace vent::testing

#endif  // VENT_TESTING_REDIS_SERVER_H_
