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
#include "server/child_process_test_util.h"
#include "server/server_test_util.h"
#include "vent/testing/redis_server.h"

namespace vent::server::testing {
namespace {

using ::testing::HasSubstr;

TEST(VentServerBinary, HelpListsOptions) {
  Child c = Spawn({"--help"});
  ASSERT_EQ(c.Wait(absl::Seconds(10)), 0);
  std::string out = c.out();
  for (const char* opt : {"--listen",
                          "--redis",
                          "--metrics-listen",
                          "--log-level",
                          "--max-payload",
                          "--max-channel",
                          "--max-inflight",
                          "--max-batch",
                          "--api-keys",
                          "--tls-cert",
                          "--tls-key",
                          "--idempotency-window",
                          "--subscribe-queue",
                          "--redis-connect-timeout",
                          "--redis-command-timeout",
                          "--http-listen",
                          "--http-max-connections",
                          "--http-max-body",
                          "--subscribe-queue-bytes",
                          "--subscribe-memory",
                          "--max-subscribers",
                          "--shutdown-grace"}) {
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
                   absl::StrCat("127.0.0.1:", mport), "--http-listen",
                   "127.0.0.1:0", "--api-keys", "sekrit-key-123"});
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
