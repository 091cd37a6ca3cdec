// Test helpers: the vent-server binary as a child process (stdout/stderr in
// files) and a one-shot HTTP GET, for tests of the real executable.
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

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/server_test_util.h"

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

}  // namespace vent::server::testing

#endif  // VENT_SERVER_CHILD_PROCESS_TEST_UTIL_H_
