// Tests of the real bin/vent-server executable as a subprocess.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server_test_util.h"
#include "vent/testing/redis_server.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;

std::string BinaryPath() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() /
          "vent-server")
      .string();
}

std::string ReadAll(const std::string& path) {
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

Child Spawn(std::vector<std::string> args) {
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
std::string HttpGet(uint16_t port, const std::string& path) {
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

TEST(VentServerBinary, HelpListsOptions) {
  Child c = Spawn({"--help"});
  ASSERT_EQ(c.Wait(absl::Seconds(10)), 0);
  std::string out = c.out();
  for (const char* opt :
       {"--listen", "--redis", "--metrics-listen", "--log-level",
        "--max-payload", "--max-channel", "--max-inflight", "--max-batch",
        "--api-keys", "--tls-cert", "--tls-key", "--idempotency-window",
        "--subscribe-queue", "--redis-connect-timeout",
        "--redis-command-timeout"}) {
    EXPECT_THAT(out, HasSubstr(opt));
  }
}

TEST(VentServerBinary, BadFlagsExitWith2) {
  Child c = Spawn({"--bogus"});
  EXPECT_EQ(c.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(c.err(), HasSubstr("unknown flag --bogus"));
  Child d = Spawn({"--max-payload", "lots"});
  EXPECT_EQ(d.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(d.err(), HasSubstr("max-payload"));
  Child e = Spawn({"--redis", "http://nope"});
  EXPECT_EQ(e.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(e.err(), HasSubstr("vent-server: "));
  Child f = Spawn({"--tls-cert", "/nonexistent.pem"});
  EXPECT_EQ(f.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(f.err(),
              HasSubstr("tls-cert and tls-key must be given together"));
}

TEST(VentServerBinary, ServesMetricsAndStopsOnSigterm) {
  auto redis = vent::testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  uint16_t port = vent::testing::FreePort();
  uint16_t mport = vent::testing::FreePort();
  Child c = Spawn({"--listen", absl::StrCat("127.0.0.1:", port), "--redis",
                   (*redis)->url(), "--metrics-listen",
                   absl::StrCat("127.0.0.1:", mport), "--api-keys",
                   "sekrit-key-123"});
  EXPECT_TRUE(WaitUntil(
      [&] {
        return HttpGet(mport, "/healthz").find("200 OK") != std::string::npos;
      },
      absl::Seconds(10)))
      << c.err();
  std::string metrics = HttpGet(mport, "/metrics");
  EXPECT_THAT(metrics, HasSubstr("vent_redis_connected 1"));
  EXPECT_THAT(metrics,
              HasSubstr("vent_emit_total{rpc=\"Emit\",code=\"OK\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("vent_publish_latency_seconds_bucket"));
  EXPECT_THAT(metrics,
              HasSubstr("vent_auth_refusals_total{reason=\"unknown_key\"} 0"));
  EXPECT_THAT(HttpGet(mport, "/nope"), HasSubstr("404"));

  ASSERT_EQ(kill(c.pid, SIGTERM), 0);
  EXPECT_EQ(c.Wait(absl::Seconds(15)), 0);
  std::string log = c.err();
  EXPECT_THAT(log, HasSubstr("vent-server started"));
  EXPECT_THAT(log, HasSubstr("redis up"));
  EXPECT_THAT(log, HasSubstr("vent-server stopped"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("sekrit-key-123")));
}

}  // namespace
}  // namespace vent::server::testing
