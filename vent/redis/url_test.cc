#include "vent/redis/url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vent::redis {
namespace {

using ::testing::HasSubstr;

TEST(ParseUrl, Defaults) {
  auto ep = ParseUrl("redis://localhost");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->host, "localhost");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->db, 0);
  EXPECT_EQ(ep->username, "");
  EXPECT_EQ(ep->password, "");
}

TEST(ParseUrl, Full) {
  auto ep = ParseUrl("redis://alice:s%40cret@redis.example:6380/3");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->host, "redis.example");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->db, 3);
  EXPECT_EQ(ep->username, "alice");
  EXPECT_EQ(ep->password, "s@cret");
  EXPECT_EQ(ep->Redacted(), "redis://alice:***@redis.example:6380/3");
}

TEST(ParseUrl, PasswordOnly) {
  auto ep = ParseUrl("redis://:pw@127.0.0.1:7000");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->username, "");
  EXPECT_EQ(ep->password, "pw");
  EXPECT_EQ(ep->port, 7000);
  EXPECT_EQ(ep->Redacted(), "redis://:***@127.0.0.1:7000/0");
  EXPECT_THAT(ep->Redacted(), ::testing::Not(HasSubstr("pw")));
}

TEST(ParseUrl, TrailingSlashAndIpv6) {
  auto a = ParseUrl("redis://h:1/");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->db, 0);
  auto b = ParseUrl("redis://[::1]:6390/2");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 6390);
  EXPECT_EQ(b->db, 2);
  EXPECT_EQ(b->Redacted(), "redis://[::1]:6390/2");
}

TEST(ParseUrl, BadForms) {
  struct Case {
    const char* url;
    const char* why;
  } cases[] = {
      {"", "missing scheme"},
      {"h:1", "missing scheme"},
      {"http://h:1", "unknown scheme \"http\""},
      {"redis+sentinel://h:1/m", "unknown scheme"},
      {"redis://a:1,b:2", "several hosts"},
      {"redis-sentinel://h:1", "missing master name"},
      {"redis-sentinel://h:1/", "missing master name"},
      {"redis-sentinel://h:1/m/x", "database"},
      {"redis-sentinel://h:1,/m", "empty entry"},
      {"redis-cluster://h:1/3", "only database 0"},
      {"redis-cluster://", "missing host"},
      {"unix://", "absolute socket path"},
      {"unix://relative.sock", "absolute socket path"},
      {"unix:///s.sock?db=x", "database"},
      {"unix:///s.sock?db=", "database"},
      {"unix:///s.sock?password=x", "only the query parameter db"},
      {"redis://", "missing host"},
      {"redis://:6379", "missing host"},
      {"redis://h:", "port"},
      {"redis://h:0", "port"},
      {"redis://h:65536", "port"},
      {"redis://h:-1", "port"},
      {"redis://h:+1", "port"},
      {"redis://h:12ab", "port"},
      {"redis://h:1/x", "database"},
      {"redis://h:1/-1", "database"},
      {"redis://h:1/1/2", "database"},
      {"redis://pw@h", "credentials"},
      {"redis://user:@h", "empty password"},
      {"redis://:p%zz@h", "percent"},
      {"redis://:p%4@h", "percent"},
      {"redis://[::1", "IPv6"},
      {"redis://[::1]x", "IPv6"},
      {"redis://h h:1", "bad character"},
  };
  for (const Case& c : cases) {
    auto ep = ParseUrl(c.url);
    ASSERT_FALSE(ep.ok()) << c.url;
    EXPECT_EQ(ep.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_THAT(ep.status().message(), HasSubstr(c.why)) << c.url;
  }
}

TEST(ParseUrl, Tls) {
  auto ep = ParseUrl("rediss://:pw@redis.example:6380/2");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_TRUE(ep->tls);
  EXPECT_EQ(ep->kind, Endpoint::Kind::kSingle);
  EXPECT_EQ(ep->host, "redis.example");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->db, 2);
  EXPECT_EQ(ep->Redacted(), "rediss://:***@redis.example:6380/2");
  EXPECT_FALSE(ParseUrl("redis://h")->tls);
}

TEST(ParseUrl, UnixSocket) {
  auto ep = ParseUrl("unix:///run/redis/redis.sock?db=4");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(ep->db, 4);
  EXPECT_EQ(ep->Redacted(), "unix:///run/redis/redis.sock?db=4");
  auto auth = ParseUrl("unix://u:p%2Fw@/tmp/r.sock");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->unix_path, "/tmp/r.sock");
  EXPECT_EQ(auth->username, "u");
  EXPECT_EQ(auth->password, "p/w");
  EXPECT_EQ(auth->db, 0);
  EXPECT_EQ(auth->Redacted(), "unix://u:***@/tmp/r.sock?db=0");
}

TEST(ParseUrl, Sentinel) {
  auto ep =
      ParseUrl("redis-sentinel://:pw@s1:26380,s2,[::1]:26381/my%20master/3");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->kind, Endpoint::Kind::kSentinel);
  ASSERT_EQ(ep->hosts.size(), 3u);
  EXPECT_EQ(ep->hosts[0].ToString(), "s1:26380");
  EXPECT_EQ(ep->hosts[1].ToString(), "s2:26379");  // Sentinel's default port
  EXPECT_EQ(ep->hosts[2].ToString(), "[::1]:26381");
  EXPECT_EQ(ep->master_name, "my master");
  EXPECT_EQ(ep->db, 3);
  EXPECT_EQ(ep->password, "pw");
  EXPECT_EQ(ep->Redacted(),
            "redis-sentinel://:***@s1:26380,s2:26379,[::1]:26381/my master/3");
  auto tls = ParseUrl("rediss-sentinel://s1/m");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->db, 0);
}

TEST(ParseUrl, Cluster) {
  auto ep = ParseUrl("rediss-cluster://user:pw@n1:7000,n2");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->kind, Endpoint::Kind::kCluster);
  EXPECT_TRUE(ep->tls);
  ASSERT_EQ(ep->hosts.size(), 2u);
  EXPECT_EQ(ep->hosts[0].ToString(), "n1:7000");
  EXPECT_EQ(ep->hosts[1].ToString(), "n2:6379");
  EXPECT_EQ(ep->Redacted(), "rediss-cluster://user:***@n1:7000,n2:6379");
  EXPECT_TRUE(ParseUrl("redis-cluster://n1:7000/").ok());
  EXPECT_TRUE(ParseUrl("redis-cluster://n1:7000/0").ok());
}

TEST(ParseUrl, ErrorNeverEchoesPassword) {
  auto ep = ParseUrl("redis://:topsecret@h:99999");
  ASSERT_FALSE(ep.ok());
  EXPECT_THAT(ep.status().message(), ::testing::Not(HasSubstr("topsecret")));
}

}  // namespace
}  // namespace vent::redis
