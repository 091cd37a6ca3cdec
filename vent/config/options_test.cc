#include "vent/config/options.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  env_["VENT_PROG_MAX_INFLIGHT"] = "7";
  env_["VENT_PROG_TIMEOUT"] = "3s";
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

  env_["VENT_PROG_TIMEOUT"] = "soon";
  p = Run({});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("$VENT_PROG_TIMEOUT"), std::string::npos);
}

TEST_F(OptionsTest, UnknownFlagAndKeyRefused) {
  EXPECT_FALSE(Run({"--redsi", "x"}).ok());
  EXPECT_FALSE(Run({"positional"}).ok());
  std::string path = WriteFile("redsi: x\n");
  auto p = Run({"--config", path.c_str()});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("unknown key \"redsi\""),
            std::string::npos);
  EXPECT_NE(p.status().message().find("(line 1)"), std::string::npos)
      << p.status();
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
  EXPECT_NE(help.find("--max-payload  /  $VENT_PROG_MAX_PAYLOAD"),
            std::string::npos);
  EXPECT_NE(help.find("--redis  /  $VENT_REDIS"), std::string::npos);
  EXPECT_NE(help.find("--version"), std::string::npos);
  EXPECT_NE(help.find("--print-config"), std::string::npos);
  EXPECT_NE(help.find("(default: 64KiB)"), std::string::npos);
}

TEST_F(OptionsTest, SecretsNotShownInHelp) {
  o_.key = "hunter2";
  OptionSet s("p", "s");
  s.Secret("api-key", &o_.key, "key");
  EXPECT_EQ(s.Help().find("hunter2"), std::string::npos);
}

// Shared names are VENT_<NAME>; the rest VENT_<PROGRAM>_<NAME>.
TEST(EnvNameTest, SharedAndPerProgram) {
  std::string s;
  int64_t n = 0;
  OptionSet server("vent-server", "");
  OptionSet bridge("vent-bridge", "");
  for (OptionSet* set : {&server, &bridge}) {
    set->String("redis", &s, "");
    set->String("log-level", &s, "");
    set->String("log-format", &s, "");
    set->Bytes("max-message", &n, "");
  }
  EXPECT_EQ(server.EnvName("redis"), "VENT_REDIS");
  EXPECT_EQ(bridge.EnvName("log-level"), "VENT_LOG_LEVEL");
  EXPECT_EQ(bridge.EnvName("log-format"), "VENT_LOG_FORMAT");
  EXPECT_EQ(server.EnvName("max-message"), "VENT_SERVER_MAX_MESSAGE");
  EXPECT_EQ(bridge.EnvName("max-message"), "VENT_BRIDGE_MAX_MESSAGE");
  EXPECT_EQ(bridge.EnvName("redis-tls-ca"), "VENT_REDIS_TLS_CA");
  EXPECT_EQ(server.EnvName("redis-connect-timeout"),
            "VENT_REDIS_CONNECT_TIMEOUT");
  EXPECT_TRUE(IsSharedOption("redis-pubsub"));
  EXPECT_FALSE(IsSharedOption("listen"));
  EXPECT_FALSE(IsSharedOption("redisx"));
  EXPECT_EQ(OptionSet("vent-emit-bench", "").EnvName("rate"),
            "VENT_EMIT_BENCH_RATE");
}

// One environment configures both programs without crosstalk, and unknown
// VENT_* names are reported (pre-0.2 names with their new name).
TEST_F(OptionsTest, UnknownEnvironmentVariablesWarned) {
  OptionSet set("vent-bridge", "");
  int64_t max_message = 65536;
  std::string redis;
  set.Bytes("max-message", &max_message, "");
  set.String("redis", &redis, "");
  std::map<std::string, std::string> env = {
      {"VENT_REDIS", "redis://r:1"},
      {"VENT_SERVER_MAX_MESSAGE", "16MiB"},  // vent-server's: silent
      {"VENT_BRIDGE_MAX_MESSAGE", "1KiB"},   // ours
      {"VENT_MAX_MESSAGE", "4MiB"},          // pre-0.2 name: warned
      {"VENT_BRIDGE_MAX_MESAGE", "1"},       // typo: warned
      {"VENT_WHATEVER", "1"},                // unknown: warned
      {"VENT_SERVER", "127.0.0.1:50051"},    // the clients' address: silent
      {"VENT_API_KEY", "k"},                 // the clients' key: silent
      {"VENT_BIN_DIR", "/x"},                // the scripts': silent
      {"VENT_LOG_LEVEL", "warn"},            // shared, undeclared: silent
      {"HOME", "/root"}};
  std::vector<std::string> names;
  for (const auto& [k, v] : env) names.push_back(k);
  const char* argv[] = {"vent-bridge"};
  auto p = set.Parse(
      1, argv,
      [&](const char* n) -> const char* {
        auto it = env.find(n);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      &names);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(max_message, 1024);
  EXPECT_EQ(redis, "redis://r:1");
  ASSERT_EQ(p->warnings.size(), 3u) << absl::StrJoin(p->warnings, "\n");
  std::string all = absl::StrJoin(p->warnings, "\n");
  EXPECT_NE(all.find("VENT_MAX_MESSAGE is ignored: vent-bridge reads "
                     "VENT_BRIDGE_MAX_MESSAGE"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("VENT_BRIDGE_MAX_MESAGE is ignored"), std::string::npos);
  EXPECT_NE(all.find("VENT_WHATEVER is ignored"), std::string::npos);
  EXPECT_EQ(all.find("4MiB"), std::string::npos);  // values are never shown
}

// The shared file: top-level shared keys, the own section, other programs'
// sections and the shared "publications" section ignored when undeclared.
TEST(SharedFileTest, EachProgramReadsItsSection) {
  std::string path = ::testing::TempDir() + "/shared.yaml";
  std::ofstream(path) << "redis: redis://shared:1\n"
                         "log-level: warn\n"
                         "server:\n"
                         "  listen: 0.0.0.0:50051\n"
                         "  max-message: 16MiB\n"
                         "bridge:\n"
                         "  listen: 0.0.0.0:3000\n"
                         "  static-dir: /srv\n"
                         "publications:\n"
                         "  p: {channels: [c], auth: public}\n";
  struct Conf {
    std::string redis, level, listen, static_dir;
    int64_t max_message = 0;
  } server_conf, bridge_conf;
  OptionSet server("vent-server", "");
  server.String("redis", &server_conf.redis, "");
  server.String("log-level", &server_conf.level, "");
  server.String("listen", &server_conf.listen, "");
  server.Bytes("max-message", &server_conf.max_message, "");
  OptionSet bridge("vent-bridge", "");
  bridge.String("redis", &bridge_conf.redis, "");
  bridge.String("log-level", &bridge_conf.level, "");
  bridge.String("listen", &bridge_conf.listen, "");
  bridge.String("static-dir", &bridge_conf.static_dir, "");
  bridge.Section("publications", "");
  auto no_env = [](const char*) -> const char* { return nullptr; };
  const char* argv[] = {"x", "--config", path.c_str()};
  auto ps = server.Parse(3, argv, no_env);
  ASSERT_TRUE(ps.ok()) << ps.status();
  auto pb = bridge.Parse(3, argv, no_env);
  ASSERT_TRUE(pb.ok()) << pb.status();
  EXPECT_EQ(server_conf.redis, "redis://shared:1");
  EXPECT_EQ(server_conf.level, "warn");
  EXPECT_EQ(server_conf.listen, "0.0.0.0:50051");
  EXPECT_EQ(server_conf.max_message, 16 << 20);
  EXPECT_EQ(bridge_conf.redis, "redis://shared:1");
  EXPECT_EQ(bridge_conf.listen, "0.0.0.0:3000");
  EXPECT_EQ(bridge_conf.static_dir, "/srv");
  EXPECT_TRUE(pb->yaml["publications"].IsMap());

  // A bridge-only key at the top level: vent-server names it and its line.
  std::ofstream(path) << "redis: redis://shared:1\n"
                         "static-dir: /srv\n";
  ps = server.Parse(3, argv, no_env);
  ASSERT_FALSE(ps.ok());
  EXPECT_NE(ps.status().message().find("(line 2): unknown key \"static-dir\""),
            std::string::npos)
      << ps.status();
  EXPECT_NE(ps.status().message().find("\"server:\""), std::string::npos);
  // A typo inside the own section names the section and the line.
  std::ofstream(path) << "server:\n  listen: a:1\n  max-mesage: 1\n";
  ps = server.Parse(3, argv, no_env);
  ASSERT_FALSE(ps.ok());
  EXPECT_NE(ps.status().message().find("(server: line 3): unknown key"),
            std::string::npos)
      << ps.status();
  // The section wins over the top level.
  std::ofstream(path) << "listen: a:1\nserver: {listen: b:2}\n";
  ps = server.Parse(3, argv, no_env);
  ASSERT_TRUE(ps.ok()) << ps.status();
  EXPECT_EQ(server_conf.listen, "b:2");
}

TEST_F(OptionsTest, VersionFlag) {
  auto p = Run({"--version"});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->version);
  EXPECT_EQ(set_.VersionLine(), absl::StrCat("prog ", Version()));
  EXPECT_EQ(std::count(Version().begin(), Version().end(), '.'), 2);
}

// --print-config: effective values with their source, secrets and URL
// passwords redacted, and the output reads back to the same configuration.
TEST_F(OptionsTest, EffectiveConfigRoundTrips) {
  std::string path = WriteFile(
      "redis: redis://:pw@file:1\ntimeout: 2s\norigins: [a, \"b c\"]\n"
      "publications:\n  p: {channels: [c], auth: public}\n");
  env_["VENT_PROG_MAX_INFLIGHT"] = "7";
  o_.key = "";
  auto p = Run({"--config", path.c_str(), "--api-key", "hunter2", "--tls",
                "--print-config"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->print_config);
  std::string text = set_.EffectiveConfig(*p);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("pw"), std::string::npos) << text;
  EXPECT_NE(text.find("# api-key: (set, redacted)  # --api-key"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("max-inflight: 7  # $VENT_PROG_MAX_INFLIGHT"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("timeout: 2s  # " + path + " line 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("tls: true  # --tls"), std::string::npos) << text;
  EXPECT_NE(text.find("max-payload: 64KiB  # default"), std::string::npos);

  // Read it back: same values (the redacted ones excepted).
  Opts before = o_;
  std::string again = WriteFile(text);
  env_.clear();
  o_ = Opts{};
  p = Run({"--config", again.c_str()});
  ASSERT_TRUE(p.ok()) << p.status() << "\n" << text;
  EXPECT_EQ(o_.max_inflight, 7);
  EXPECT_EQ(o_.timeout, before.timeout);
  EXPECT_EQ(o_.tls, true);
  EXPECT_EQ(o_.origins, before.origins);
  EXPECT_EQ(o_.redis, "redis://:REDACTED@file:1");
  EXPECT_EQ(o_.key, "");
  EXPECT_TRUE(p->yaml["publications"]["p"].IsMap());
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
