#include "vent/ws/handshake.h"

#include "gtest/gtest.h"

namespace vent::ws {
namespace {

constexpr absl::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";

// RFC 6455 section 1.3 (value cross-checked with Python's hashlib/base64).
TEST(AcceptKeyTest, Rfc6455Example) {
  EXPECT_EQ(AcceptKey(kKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(AcceptKeyTest, DifferentKeyDifferentAccept) {
  EXPECT_NE(AcceptKey("AQIDBAUGBwgJCgsMDQ4PEA=="), AcceptKey(kKey));
  EXPECT_EQ(AcceptKey("AQIDBAUGBwgJCgsMDQ4PEA==").size(), 28u);
}

TEST(ValidateUpgradeTest, AcceptsTypicalBrowserHeaders) {
  EXPECT_TRUE(ValidateUpgrade("websocket", "Upgrade", "13", kKey).ok());
  EXPECT_TRUE(
      ValidateUpgrade("WebSocket", "keep-alive, Upgrade", "13", kKey).ok());
  EXPECT_TRUE(
      ValidateUpgrade(" websocket ", "upgrade,keep-alive", " 8 ", kKey).ok());
  EXPECT_TRUE(ValidateUpgrade("websocket", "UPGRADE", "13",
                              " dGhlIHNhbXBsZSBub25jZQ== ")
                  .ok());
}

TEST(ValidateUpgradeTest, NotAnUpgrade) {
  for (auto [upgrade, connection] :
       std::vector<std::pair<const char*, const char*>>{
           {"", ""},
           {"", "Upgrade"},
           {"websocket", ""},
           {"h2c", "Upgrade"},
           {"websocket", "keep-alive"},
           {"websocketx", "Upgrade"},
           {"websocket", "upgrades"}}) {
    absl::Status s = ValidateUpgrade(upgrade, connection, "13", kKey);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << upgrade << " / " << connection;
    EXPECT_EQ(s.message(), "Not a valid websocket request")
        << upgrade << " / " << connection;
  }
}

TEST(ValidateUpgradeTest, WrongVersion) {
  for (const char* v : {"", "12", "7", "13,8", "130", "abc"}) {
    absl::Status s = ValidateUpgrade("websocket", "Upgrade", v, kKey);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << v;
    EXPECT_EQ(s.message(), "Only supported WebSocket protocol is RFC 6455.")
        << v;
  }
}

TEST(ValidateUpgradeTest, BadKey) {
  for (const char* k :
       {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=",
        "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25j*Q==",
        "dGhlIHNhbXBsZSBub25jZXh4eA==" /* 19 bytes */, "c2hvcnQ="}) {
    absl::Status s = ValidateUpgrade("websocket", "Upgrade", "13", k);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << k;
    EXPECT_EQ(s.message(), kBadKey) << k;
  }
}

}  // namespace
}  // namespace vent::ws
