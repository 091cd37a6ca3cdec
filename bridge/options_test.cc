#include "bridge/options.h"

#include "gtest/gtest.h"

namespace vent::bridge {
namespace {

TEST(BridgeOptionsTest, SplitHostPort) {
  std::string host;
  uint16_t port;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:3000", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 3000);
  ASSERT_TRUE(SplitHostPort(":80", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(SplitHostPort("localhost", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("h:99999", &host, &port).ok());
}

TEST(BridgeOptionsTest, DefaultsMatchTheDocumentedLimits) {
  BridgeOptions o;
  config::OptionSet set("vent-bridge", "");
  RegisterOptions(set, o);
  const char* argv[] = {"vent-bridge", "--max-outgoing", "1MiB",
                        "--heartbeat-interval", "200ms"};
  auto p =
      set.Parse(5, argv, [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(o.max_outgoing, 1 << 20);
  EXPECT_EQ(o.heartbeat_interval, absl::Milliseconds(200));
  EXPECT_EQ(o.max_message, 64 * 1024);
  EXPECT_EQ(o.max_subscriptions, 1024);
  EXPECT_EQ(o.heartbeat_timeout, absl::Seconds(15));
  EXPECT_EQ(o.handshake_timeout, absl::Seconds(10));
  EXPECT_EQ(o.sub_timeout, absl::Seconds(10));
  EXPECT_EQ(o.workers, 0);  // follows the load (bridge/worker_placement.h)
  EXPECT_EQ(o.worker_spill_busy, 75);
  EXPECT_EQ(o.worker_shrink_after, absl::Seconds(60));
}

}  // namespace
}  // namespace vent::bridge
