// Test helpers for client integration tests: subprocesses (vent-server,
// vent-bridge, node scripts) with a readable stdout, HTTP GET, and a raw
// Redis subscriber that returns published messages byte for byte.
//
// Not thread-safe: use each object from one thread.
#ifndef VENT_CLIENTS_CPP_TEST_UTIL_H_
#define VENT_CLIENTS_CPP_TEST_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct redisContext;

namespace vent::client_testing {

// $VENT_BIN_DIR/name, else the folder of the running test binary.
std::string BinPath(const std::string& name);

// Polls `pred` every 20 ms until true or `timeout`; returns its last value.
bool WaitUntil(const std::function<bool()>& pred, absl::Duration timeout);

// A child process. stdout is a pipe read with ReadLine(); stderr goes to a
// temp file (Stderr()). The destructor SIGKILLs it if still running.
class Process {
 public:
  // argv[0] is looked up in PATH when it has no '/'.
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      std::vector<std::string> argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The next stdout line without '\n'; nullopt at EOF or after `timeout`.
  std::optional<std::string> ReadLine(absl::Duration timeout);
  std::string Stderr() const;
  // Waits for the exit; returns the exit code, or -1 (killed after timeout /
  // signal).
  int Wait(absl::Duration timeout);
  void Kill();
  pid_t pid() const { return pid_; }

 private:
  Process() = default;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string err_path_;
  std::string buffer_;
  bool exited_ = false;
  int exit_code_ = -1;
};

// Status line + body of GET http://127.0.0.1:port/path ("" on error).
std::string HttpGet(uint16_t port, const std::string& path);
// True when GET returns a 200 status line.
bool Http200(uint16_t port, const std::string& path);

// A Redis connection in subscriber mode on exact channels.
class RawSubscriber {
 public:
  static absl::StatusOr<std::unique_ptr<RawSubscriber>> Connect(
      uint16_t port, const std::vector<std::string>& channels);
  ~RawSubscriber();
  struct Message {
    std::string channel;
    std::string payload;
  };
  // The next published message, or an error after `timeout`.
  absl::StatusOr<Message> Next(absl::Duration timeout);

 private:
  RawSubscriber() = default;
  redisContext* ctx_ = nullptr;
};

}  // namespace vent::client_testing

#endif  // VENT_CLIENTS_CPP_TEST_UTIL_H_
