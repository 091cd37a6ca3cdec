#include "vent/redis/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/tls/tls.h"

namespace vent::redis {
namespace {

using ::testing::HasSubstr;

TEST(MakeOptions, Defaults) {
  auto o = MakeOptions("redis://127.0.0.1:6379", TopologyFlags{});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->pubsub, PubSubMode::kClassic);
  EXPECT_EQ(o->tls, nullptr);
}

TEST(MakeOptions, Sharded) {
  TopologyFlags f;
  f.pubsub = "sharded";
  auto o = MakeOptions("redis-cluster://a:1,b:2", f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->pubsub, PubSubMode::kSharded);
  EXPECT_EQ(o->endpoint.kind, Endpoint::Kind::kCluster);
}

TEST(MakeOptions, BadValuesNameTheFlag) {
  TopologyFlags f;
  f.pubsub = "fast";
  auto o = MakeOptions("redis://h", f);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("--redis-pubsub"));

  TopologyFlags t;
  t.tls_ca = "/nonexistent/ca.pem";
  o = MakeOptions("redis://h", t);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("need a TLS URL"));
  o = MakeOptions("rediss://h", t);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("/nonexistent/ca.pem"));

  TopologyFlags c;
  c.tls_cert = "x.pem";
  o = MakeOptions("rediss://h", c);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("go together"));

  TopologyFlags s;
  s.sentinel_password = "x";
  o = MakeOptions("redis://h", s);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("redis-sentinel://"));
}

TEST(MakeOptions, TlsUrlGetsAContextWithSystemRoots) {
  auto o = MakeOptions("rediss://h:6380", TopologyFlags{});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_NE(o->tls, nullptr);
  EXPECT_TRUE(o->endpoint.tls);
}

}  // namespace
}  // namespace vent::redis
