#include "bridge/static_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"

namespace vent::bridge {
namespace {

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/static_root";
    mkdir(root_.c_str(), 0755);
    mkdir((root_ + "/sub").c_str(), 0755);
    std::ofstream(root_ + "/index.html") << "<html>";
    std::ofstream(root_ + "/app.js") << "1";
    std::ofstream(root_ + "/sub/index.html") << "sub";
    std::ofstream(::testing::TempDir() + "/secret.txt") << "secret";
    symlink((::testing::TempDir() + "/secret.txt").c_str(),
            (root_ + "/link.txt").c_str());
  }
  std::string root_;
};

TEST_F(StaticFilesTest, ServesFilesAndIndexes) {
  auto f = ResolveStatic(root_, "/");
  ASSERT_TRUE(f.ok());
  EXPECT_NE(f->path.find("index.html"), std::string::npos);
  EXPECT_EQ(f->content_type, "text/html; charset=utf-8");
  f = ResolveStatic(root_, "/app.js");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->content_type, "text/javascript; charset=utf-8");
  f = ResolveStatic(root_, "/sub");
  ASSERT_TRUE(f.ok());
  EXPECT_NE(f->path.find("sub/index.html"), std::string::npos);
}

TEST_F(StaticFilesTest, RefusesEscapes) {
  EXPECT_FALSE(ResolveStatic(root_, "/../secret.txt").ok());
  EXPECT_FALSE(ResolveStatic(root_, "/sub/../../secret.txt").ok());
  EXPECT_FALSE(
      ResolveStatic(root_, "/link.txt").ok());  // symlink out of the root
  EXPECT_FALSE(ResolveStatic(root_, "/missing.html").ok());
  EXPECT_FALSE(ResolveStatic(root_, "relative").ok());
  EXPECT_FALSE(ResolveStatic("", "/").ok());
}

TEST_F(StaticFilesTest, ReadStaticHonoursTheSizeLimit) {
  std::ofstream(root_ + "/big.bin") << std::string(5000, 'x');
  auto f = ResolveStatic(root_, "/big.bin");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->size, 5000u);
  auto whole = ReadStatic(*f, 5000);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->size(), 5000u);
  auto refused = ReadStatic(*f, 4999);
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
}

}  // namespace
}  // namespace vent::bridge
