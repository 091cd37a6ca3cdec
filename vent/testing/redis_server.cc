#include "vent/testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "vent/testing/test_pki.h"

extern char** environ;

namespace vent::testing {
namespace {

constexpr absl::Duration kDeadline = absl::Seconds(10);
constexpr char kServer[] = "/usr/bin/redis-server";
constexpr char kCli[] = "/usr/bin/redis-cli";

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int stdout_fd,
                            const std::string& stderr_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc =
      posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("posix_spawn ", argv[0], ": ", std::strerror(rc)));
  }
  return pid;
}

// Waits for `pid` to exit within `timeout`; true if it was reaped.
bool WaitExit(pid_t pid, absl::Duration timeout, int* status) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    close(pidfd);
    if (rc <= 0) return false;
    return waitpid(pid, status, 0) == pid;
  }
  return waitpid(pid, status, 0) == pid;  // no pidfd: block
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One PING over a fresh TCP connection. OK when redis answers anything but
// -LOADING (a -NOAUTH also means "up").
bool Ping(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      write(fd, "PING\r\n", 6) == 6) {
    pollfd p{fd, POLLIN, 0};
    char buf[64];
    if (poll(&p, 1, 1000) == 1) {
      ssize_t n = read(fd, buf, sizeof buf);
      ok = n > 0 && !(n >= 8 && std::memcmp(buf, "-LOADING", 8) == 0);
    }
  }
  close(fd);
  return ok;
}

}  // namespace

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

uint16_t FreeClusterPort() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    uint16_t p = FreePort();
    if (p == 0) return 0;
    // The kernel's ephemeral range is usually above 32768: map into
    // 20000..45535 and check both ports by binding them.
    uint16_t port = static_cast<uint16_t>(20000 + p % 25536);
    bool ok = true;
    for (uint16_t q : {port, static_cast<uint16_t>(port + 10000)}) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(q);
      ok = ok && fd >= 0 &&
           bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      if (fd >= 0) close(fd);
    }
    if (ok) return port;
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    std::vector<std::string> extra_args) {
  Config c;
  c.args = std::move(extra_args);
  return Start(std::move(c));
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(Config config) {
  char tmpl[] = "/tmp/vent-redis-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Errno("mkdtemp");
  absl::Status last;
  for (int attempt = 0; attempt < 3;
       ++attempt) {  // a port can be taken meanwhile
    uint16_t port = config.port;
    if (port == 0) port = config.cluster_port ? FreeClusterPort() : FreePort();
    if (port == 0) return Errno("FreePort");
    uint16_t tls_port = config.tls ? FreePort() : 0;
    std::unique_ptr<RedisServer> server(
        new RedisServer(port, tls_port, tmpl, config));
    last = server->Launch();
    if (last.ok()) return server;
    if (config.port != 0) break;
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return last;
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url() const {
  return absl::StrCat("redis://127.0.0.1:", port_);
}

absl::Status RedisServer::Launch() {
  if (pid_ > 0)
    return absl::FailedPreconditionError("redis-server already running");
  std::string log = dir_ + "/redis.log";
  std::vector<std::string> argv = {kServer};
  if (!config_.conf.empty()) {
    std::string conf = dir_ + "/redis.conf";
    if (!std::filesystem::exists(conf)) {  // a Sentinel rewrites it: keep
      std::ofstream out(conf);
      out << config_.conf;
      if (!out) return Errno("write redis.conf");
    }
    argv.push_back(conf);
  }
  std::vector<std::string> common = {
      "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir",
      dir_,     "--daemonize",         "no",     "--logfile", log};
  argv.insert(argv.end(), common.begin(), common.end());
  if (config_.sentinel) {
    argv.push_back("--sentinel");
  } else {
    for (const char* a : {"--save", "", "--appendonly", "no"}) {
      argv.push_back(a);
    }
  }
  if (config_.tls != nullptr) {
    std::vector<std::string> tls = {
        "--tls-port",         std::to_string(tls_port_),
        "--tls-cert-file",    config_.tls->server_cert,
        "--tls-key-file",     config_.tls->server_key,
        "--tls-ca-cert-file", config_.tls->ca_file,
        "--tls-auth-clients", config_.tls_auth_clients ? "yes" : "no"};
    argv.insert(argv.end(), tls.begin(), tls.end());
  }
  if (config_.unix_socket) {
    for (std::string a :
         {std::string("--unixsocket"), unix_path(),
          std::string("--unixsocketperm"), std::string("700")}) {
      argv.push_back(a);
    }
  }
  argv.insert(argv.end(), config_.args.begin(), config_.args.end());
  auto pid = Spawn(argv, -1, dir_ + "/stderr.log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  absl::Time deadline = absl::Now() + kDeadline;
  while (absl::Now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("redis-server exited during startup on port ", port_,
                       ": ", ReadFile(log), ReadFile(dir_ + "/stderr.log")));
    }
    if (Ping(port_)) return absl::OkStatus();
    poll(nullptr, 0, 5);  // readiness probe interval, bounded by the deadline
  }
  Stop().IgnoreError();
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server on port ", port_, " not ready within 10 s"));
}

absl::Status RedisServer::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGTERM);
  kill(pid_, SIGCONT);  // in case it was paused
  int status = 0;
  if (!WaitExit(pid_, kDeadline, &status)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return absl::DeadlineExceededError(
        "redis-server ignored SIGTERM for 10 s; killed");
  }
  pid_ = -1;
  return absl::OkStatus();
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

absl::Status RedisServer::Restart() {
  if (pid_ > 0) {
    absl::Status st = Stop();
    if (!st.ok()) return st;
  }
  return Launch();
}

absl::StatusOr<std::string> RedisServer::Cli(
    const std::vector<std::string>& args) {
  return RedisCli(args, port_);
}

absl::StatusOr<std::string> RedisCli(const std::vector<std::string>& args,
                                     uint16_t port) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe");
  std::vector<std::string> argv = {kCli};
  if (port != 0) {
    argv.push_back("-p");
    argv.push_back(std::to_string(port));
  }
  argv.insert(argv.end(), args.begin(), args.end());
  char tmpl[] = "/tmp/vent-cli-err-XXXXXX";
  int err_fd = mkstemp(tmpl);
  if (err_fd < 0) {
    close(fds[0]);
    close(fds[1]);
    return Errno("mkstemp");
  }
  close(err_fd);
  std::string err_path = tmpl;
  auto pid = Spawn(argv, fds[1], err_path);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    unlink(err_path.c_str());
    return pid.status();
  }
  std::string out;
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool timed_out = false;
  for (;;) {
    int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{fds[0], POLLIN, 0};
    if (ms <= 0 || poll(&p, 1, ms) == 0) {
      timed_out = true;
      break;
    }
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, n);
  }
  close(fds[0]);
  if (timed_out) kill(*pid, SIGKILL);
  int status = 0;
  waitpid(*pid, &status, 0);
  std::string err = ReadFile(err_path);
  unlink(err_path.c_str());
  std::string cmd = absl::StrJoin(args, " ");
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis-cli ", cmd, ": no exit within 30 s"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("redis-cli ", cmd, " failed: ", err, out));
  }
  return out;
}

}  // namespace vent::testing
