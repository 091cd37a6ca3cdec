#include "vent/base/log.h"

#include <boost/json.hpp>

#include "gtest/gtest.h"

namespace vent::log {
namespace {

TEST(LogTest, FieldsAreQuotedWhenNeeded) {
  std::string line;
  AppendField(line, "a", "plain");
  AppendField(line, "b", "has space");
  AppendField(line, "c", "q\"x\n");
  AppendField(line, "d", "");
  EXPECT_EQ(line, " a=plain b=\"has space\" c=\"q\\\"x\\n\" d=\"\"");
}

TEST(LogTest, LevelParsing) {
  EXPECT_TRUE(SetLevel("debug").ok());
  EXPECT_EQ(GetLevel(), Level::kDebug);
  EXPECT_TRUE(SetLevel("WARN").ok());
  EXPECT_EQ(GetLevel(), Level::kWarn);
  EXPECT_FALSE(SetLevel("loud").ok());
  EXPECT_EQ(GetLevel(), Level::kWarn);
  SetLevel(Level::kInfo);
}

TEST(LogTest, FormatParsing) {
  EXPECT_TRUE(SetFormat("json").ok());
  EXPECT_EQ(GetFormat(), Format::kJson);
  EXPECT_FALSE(SetFormat("xml").ok());
  EXPECT_EQ(GetFormat(), Format::kJson);
  EXPECT_TRUE(SetFormat("TEXT").ok());
  EXPECT_EQ(GetFormat(), Format::kText);
}

// Each JSON line is one object that parses, with typed values.
TEST(LogTest, JsonLinesParse) {
  SetFormat(Format::kJson);
  ::testing::internal::CaptureStderr();
  VENT_LOG_INFO("redis \"connected\"", "addr", "127.0.0.1:6379", "db", 3, "tls",
                false, "bad", std::string("a\xff\x01z"), "st",
                absl::UnavailableError("down"));
  VENT_LOG_DEBUG("not shown at info");
  std::string out = ::testing::internal::GetCapturedStderr();
  SetFormat(Format::kText);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // one line
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(out, ec);
  ASSERT_FALSE(ec) << out;
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("msg").as_string(), "redis \"connected\"");
  EXPECT_EQ(o.at("addr").as_string(), "127.0.0.1:6379");
  EXPECT_EQ(o.at("db").as_int64(), 3);
  EXPECT_EQ(o.at("tls").as_bool(), false);
  EXPECT_EQ(o.at("bad").as_string(), "a\xEF\xBF\xBD\x01z");
  EXPECT_EQ(o.at("st").as_string(), "UNAVAILABLE: down");
  EXPECT_EQ(o.at("ts").as_string().size(), 24u);  // 2026-11-28T13:46:29.123Z
}

TEST(LogTest, TextLineIsLogfmt) {
  ::testing::internal::CaptureStderr();
  VENT_LOG_WARN("slow", "ms", 12, "ok", true);
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find(" level=warn msg=slow ms=12 ok=true\n"), std::string::npos)
      << out;
}

TEST(LogTest, StatusValuesAnywhere) {
  // A Status is accepted in any value position and written as its
  // ToString() (quoted when it has spaces); an OK status as "OK".
  SetLevel(Level::kDebug);
  ::testing::internal::CaptureStderr();
  Log(Level::kDebug, "x", "a", 1, "s", absl::InternalError("boom"), "b", "c");
  Log(Level::kDebug, "y", "s", absl::OkStatus());
  std::string out = ::testing::internal::GetCapturedStderr();
  SetLevel(Level::kInfo);
  EXPECT_NE(out.find(" level=debug msg=x a=1 s=\"INTERNAL: boom\" b=c\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(" level=debug msg=y s=OK\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace vent::log
