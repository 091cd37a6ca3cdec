#include "vent/base/log.h"

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

}  // namespace
}  // namespace vent::log

namespace vent::log {
namespace {
TEST(LogTest, StatusValuesAnywhere) {
  // Compiles with a Status in any value position.
  Log(Level::kDebug, "x", "a", 1, "s", absl::InternalError("boom"), "b", "c");
  Log(Level::kDebug, "x", "s", absl::OkStatus());
}
}  // namespace
}  // namespace vent::log
