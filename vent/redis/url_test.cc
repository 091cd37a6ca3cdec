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
      {"", "must start with redis://"},
      {"http://h:1", "must start with redis://"},
      {"rediss://h", "must start with redis://"},
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

TEST(ParseUrl, ErrorNeverEchoesPassword) {
  auto ep = ParseUrl("redis://:topsecret@h:99999");
  ASSERT_FALSE(ep.ok());
  EXPECT_THAT(ep.status().message(), ::testing::Not(HasSubstr("topsecret")));
}

}  // namespace
}  // namespace vent::redis
