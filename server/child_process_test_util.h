// Test helpers: the vent-server binary as a child process (stdout/stderr in
// files), a one-shot HTTP GET, and a fixture running the binary against a
// private redis-server, for tests of the real executable.
#ifndef VENT_SERVER_CHILD_PROCESS_TEST_UTIL_H_
#define VENT_SERVER_CHILD_PROCESS_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/server_test_util.h"
#include "vent/testing/redis_server.h"

namespace vent::server::testing {

inline std::string BinaryPath() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() /
          "vent-server")
      .string();
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process with stdout/stderr going to files.
struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
  std::string out() const { return ReadAll(out_path); }
  std::string err() const { return ReadAll(err_path); }
  // Waits for the exit (deadline); returns the exit code, or -1.
  int Wait(absl::Duration timeout) {
    int status = 0;
    bool exited = WaitUntil(
        [&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
    if (!exited) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

inline Child Spawn(std::vector<std::string> args) {
  static int n = 0;
  Child c;
  std::string base = absl::StrCat(::testing::TempDir(), "/vent_server_bin_",
                                  getpid(), "_", n++);
  c.out_path = base + ".out";
  c.err_path = base + ".err";
  args.insert(args.begin(), BinaryPath());
  c.pid = fork();
  if (c.pid == 0) {
    freopen(c.out_path.c_str(), "w", stdout);
    freopen(c.err_path.c_str(), "w", stderr);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return c;
}

// Writes `request` to 127.0.0.1:port and reads until the server closes;
// returns everything read ("" when the connection failed), with
// "(read error)" appended when the read failed or timed out (30 s) instead.
inline std::string HttpExchange(uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, request.data(), request.size()) ==
          static_cast<ssize_t>(request.size())) {
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<size_t>(r));
    if (r < 0) out += "(read error)";
  }
  close(fd);
  return out;
}

// One HTTP/1.0 GET on 127.0.0.1:port; returns the raw response ("" on error).
inline std::string HttpGet(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: x\r\n\r\n");
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t r;
      while ((r = read(fd, buf, sizeof(buf))) > 0)
        out.append(buf, static_cast<size_t>(r));
    }
  }
  close(fd);
  return out;
}

// A private redis-server (DEBUG allowed, pub/sub output unlimited) and the
// vent-server binary on free ports, with a gRPC stub; the child is killed at
// teardown if still running.
class BinaryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = vent::testing::RedisServer::Start(
        {"--enable-debug-command", "local", "--client-output-buffer-limit",
         "pubsub 0 0 0"});
    ASSERT_TRUE(r.ok()) << r.status();
    redis_ = std::move(*r);
  }
  void TearDown() override {
    if (child_.pid > 0 && kill(child_.pid, 0) == 0) {
      kill(child_.pid, SIGKILL);
      child_.Wait(absl::Seconds(5));
    }
  }

  // Starts the binary with `extra` flags and waits for /readyz 200.
  void StartBinary(const std::vector<std::string>& extra) {
    port_ = vent::testing::FreePort();
    mport_ = vent::testing::FreePort();
    std::vector<std::string> args = {
        "--listen",         absl::StrCat("127.0.0.1:", port_),
        "--redis",          redis_->url(),
        "--metrics-listen", absl::StrCat("127.0.0.1:", mport_),
        "--http-listen",    "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    child_ = Spawn(args);
    ASSERT_TRUE(WaitUntil(
        [&] {
          return HttpGet(mport_, "/readyz").find("200 OK") != std::string::npos;
        },
        absl::Seconds(10)))
        << child_.err();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Vent::NewStub(channel_);
  }

  // One sample (`name` with its labels, e.g. `x{a="b"}`) from /metrics; -1
  // when absent.
  int64_t Metric(const std::string& name) {
    std::string text = HttpGet(mport_, "/metrics");
    size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    size_t from = at + name.size() + 2;
    double v = -1;
    (void)absl::SimpleAtod(text.substr(from, text.find('\n', from) - from), &v);
    return static_cast<int64_t>(v);
  }

  // The HTTP emit API's port, from the startup log line (0 if absent).
  uint16_t HttpEmitPort() {
    std::string log = child_.err();
    size_t at = log.find("http_emit_port=");
    int port = 0;
    if (at != std::string::npos) {
      std::string rest = log.substr(at + 15);
      (void)absl::SimpleAtoi(rest.substr(0, rest.find_first_of(" \n")), &port);
    }
    return static_cast<uint16_t>(port);
  }

  // A line of /proc/<child>/status, e.g. "VmHWM", in bytes; -1 if absent.
  int64_t ProcStatusBytes(const std::string& key) {
    std::string s = ReadAll(absl::StrCat("/proc/", child_.pid, "/status"));
    size_t at = s.find(key + ":");
    if (at == std::string::npos) return -1;
    int64_t kb = -1;
    std::string rest = s.substr(at + key.size() + 1);
    (void)absl::SimpleAtoi(
        absl::StripAsciiWhitespace(rest.substr(0, rest.find("kB"))), &kb);
    return kb * 1024;
  }

  std::unique_ptr<vent::testing::RedisServer> redis_;
  Child child_;
  uint16_t port_ = 0, mport_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Vent::Stub> stub_;
};

}  // namespace vent::server::testing

#endif  // VENT_SERVER_CHILD_PROCESS_TEST_UTIL_H_
