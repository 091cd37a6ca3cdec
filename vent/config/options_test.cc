#include "vent/config/options.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace vent::config {
namespace {

struct Opts {
  std::string redis = "redis://127.0.0.1:6379";
  std::string key;
  int64_t max_inflight = 10;
  int64_t max_payload = 64 * 1024;
  absl::Duration timeout = absl::Seconds(15);
  bool tls = false;
  std::vector<std::string> origins;
};

class OptionsTest : public ::testing::Test {
 protected:
  OptionsTest() : set_("prog", "summary") {
    set_.String("redis", &o_.redis, "Redis URL");
    set_.Secret("api-key", &o_.key, "key");
    set_.Int("max-inflight", &o_.max_inflight, "n");
    set_.Bytes("max-payload", &o_.max_payload, "bytes");
    set_.Duration("timeout", &o_.timeout, "t");
    set_.Bool("tls", &o_.tls, "tls");
    set_.List("origins", &o_.origins, "origins");
    set_.Section("publications", "pubs");
  }
  absl::StatusOr<Parsed> Run(std::vector<const char*> args) {
    args.insert(args.begin(), "prog");
    return set_.Parse(static_cast<int>(args.size()), args.data(),
                      [this](const char* n) -> const char* {
                        auto it = env_.find(n);
                        return it == env_.end() ? nullptr : it->second.c_str();
                      });
  }
  std::string WriteFile(const std::string& text) {
    std::string path = ::testing::TempDir() + "/opts_test.yaml";
    std::ofstream(path) << text;
    return path;
  }
  Opts o_;
  OptionSet set_;
  std::map<std::string, std::string> env_;
};

TEST_F(OptionsTest, DefaultsStay) {
  ASSERT_TRUE(Run({}).ok());
  EXPECT_EQ(o_.redis, "redis://127.0.0.1:6379");
  EXPECT_EQ(o_.max_payload, 65536);
}

TEST_F(OptionsTest, FlagsOverrideEnvOverrideFile) {
  std::string path = WriteFile(
      "redis: redis://file:1\nmax_inflight: 5\ntimeout: 2s\norigins: [a, b]\n"
      "publications: {x: 1}\n");
  env_["VENT_MAX_INFLIGHT"] = "7";
  env_["VENT_TIMEOUT"] = "3s";
  auto p = Run({"--config", path.c_str(), "--timeout=250ms", "--tls"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(o_.redis, "redis://file:1");
  EXPECT_EQ(o_.max_inflight, 7);
  EXPECT_EQ(o_.timeout, absl::Milliseconds(250));
  EXPECT_TRUE(o_.tls);
  EXPECT_EQ(o_.origins, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(p->yaml["publications"].IsMap());
}

TEST_F(OptionsTest, ConfigFromEnvironment) {
  env_["VENT_CONFIG"] = WriteFile("max-payload: 4MiB\n");
  ASSERT_TRUE(Run({}).ok());
  EXPECT_EQ(o_.max_payload, 4 << 20);
}

TEST_F(OptionsTest, ErrorsNameTheOptionAndSource) {
  auto p = Run({"--max-payload", "lots"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("max-payload"), std::string::npos);
  EXPECT_NE(p.status().message().find("--max-payload"), std::string::npos);

  env_["VENT_TIMEOUT"] = "soon";
  p = Run({});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("$VENT_TIMEOUT"), std::string::npos);
}

TEST_F(OptionsTest, UnknownFlagAndKeyRefused) {
  EXPECT_FALSE(Run({"--redsi", "x"}).ok());
  EXPECT_FALSE(Run({"positional"}).ok());
  std::string path = WriteFile("redsi: x\n");
  auto p = Run({"--config", path.c_str()});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("unknown key \"redsi\""),
            std::string::npos);
  EXPECT_FALSE(Run({"--config", "/nonexistent/file.yaml"}).ok());
}

TEST_F(OptionsTest, NegatedBoolAndHelp) {
  o_.tls = true;
  ASSERT_TRUE(Run({"--no-tls"}).ok());
  EXPECT_FALSE(o_.tls);
  auto p = Run({"--help"});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->help);
  std::string help = set_.Help();
  EXPECT_NE(help.find("--max-payload  /  $VENT_MAX_PAYLOAD"),
            std::string::npos);
  EXPECT_NE(help.find("(default: 64KiB)"), std::string::npos);
}

TEST_F(OptionsTest, SecretsNotShownInHelp) {
  o_.key = "hunter2";
  OptionSet s("p", "s");
  s.Secret("api-key", &o_.key, "key");
  EXPECT_EQ(s.Help().find("hunter2"), std::string::npos);
}

TEST(ParseTest, SizesAndDurations) {
  EXPECT_EQ(*ParseBytes("64KiB"), 65536);
  EXPECT_EQ(*ParseBytes("4MiB"), 4 << 20);
  EXPECT_EQ(*ParseBytes("100"), 100);
  EXPECT_FALSE(ParseBytes("-1").ok());
  EXPECT_FALSE(ParseBytes("1TiB").ok());
  EXPECT_EQ(*ParseDuration("15s"), absl::Seconds(15));
  EXPECT_EQ(*ParseDuration("0"), absl::ZeroDuration());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("15").ok());
}

}  // namespace
}  // namespace vent::config
