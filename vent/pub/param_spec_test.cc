#include "vent/pub/param_spec.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "boost/json/parse.hpp"
#include "gtest/gtest.h"
#include "vent/pub/channel_template.h"

namespace vent::pub {
namespace {

namespace json = boost::json;

ParamSpec Spec(ParamType type, std::optional<std::string> pattern = {}) {
  auto s = ParamSpec::Create("p", type, std::move(pattern));
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

std::string Rendered(const ParamSpec& spec, const char* json_text) {
  auto v = spec.Check(json::parse(json_text));
  EXPECT_TRUE(v.ok()) << json_text << ": " << v.status();
  std::string out;
  if (v.ok()) spec.Render(*v, &out);
  return out;
}

TEST(ParamSpec, Types) {
  EXPECT_EQ(*ParseParamType("integer"), ParamType::kInteger);
  EXPECT_FALSE(ParseParamType("int").ok());
  EXPECT_FALSE(ParseParamType("String").ok());
}

TEST(ParamSpec, BadNames) {
  for (const char* name : {"", "1a", "a-b", "a b", "a.b", "{x}", "userId"}) {
    EXPECT_FALSE(ParamSpec::Create(name, ParamType::kString, {}).ok()) << name;
  }
  EXPECT_TRUE(ParamSpec::Create("_a1", ParamType::kString, {}).ok());
}

TEST(ParamSpec, PatternOnlyOnStrings) {
  auto s = ParamSpec::Create("n", ParamType::kInteger, std::string("[0-9]+"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("only allowed on type string"),
            std::string::npos);
}

TEST(ParamSpec, BadRegexIsReportedAtLoad) {
  auto s = ParamSpec::Create("p", ParamType::kString, std::string("([a-z"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("does not compile"), std::string::npos);
  // Backreferences are not RE2 syntax.
  EXPECT_FALSE(
      ParamSpec::Create("p", ParamType::kString, std::string("(a)\\1")).ok());
}

TEST(ParamSpec, DefaultPatternRefusesInjection) {
  ParamSpec s = Spec(ParamType::kString);
  EXPECT_EQ(s.pattern_source(), kDefaultStringPattern);
  EXPECT_TRUE(s.Check(json::string("abc_1.2-3")).ok());
  for (const std::string& bad : std::vector<std::string>{
           "a::b", "*", "", "a b", "a\nb", "a{b}", "é", "a/b", "a?",
           std::string(129, 'a'), std::string(10 * 1024, 'a')}) {
    auto r = s.Check(json::string(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    // The message never echoes the value.
    if (bad.size() > 3) {
      EXPECT_EQ(r.status().message().find(bad), std::string::npos);
    }
  }
  EXPECT_TRUE(s.Check(json::string(std::string(128, 'a'))).ok());
}

TEST(ParamSpec, PatternIsAFullMatchEvenWithoutAnchors) {
  ParamSpec s = Spec(ParamType::kString, "[a-z]+");
  EXPECT_TRUE(s.Check(json::string("abc")).ok());
  EXPECT_FALSE(s.Check(json::string("abc!")).ok());
  EXPECT_FALSE(s.Check(json::string("!abc")).ok());
  ParamSpec anchored = Spec(ParamType::kString, "^[a-z]+$");
  EXPECT_TRUE(anchored.Check(json::string("abc")).ok());
  // RE2's $ is end-of-text (no Perl "before a final newline").
  EXPECT_FALSE(anchored.Check(json::string("abc\n")).ok());
  ParamSpec alt = Spec(ParamType::kString, "a|b");  // not "a" or "b..."
  EXPECT_FALSE(alt.Check(json::string("ab")).ok());
}

TEST(ParamSpec, ReDoSPatternRunsInLinearTime) {
  ParamSpec s = Spec(ParamType::kString, "(a+)+$");
  std::string evil(10 * 1024, 'a');
  evil.push_back('!');
  absl::Time start = absl::Now();
  // The regex engine itself, on the full 10 KB (backtracking engines take
  // ~2^10240 steps here).
  EXPECT_FALSE(RE2::FullMatch(evil, *s.pattern()));
  EXPECT_FALSE(RE2::PartialMatch(evil, "^(a+)+$"));
  // And through Check (refused by the length cap before the regex).
  EXPECT_FALSE(s.Check(json::string(evil)).ok());
  std::string near(1000, 'a');
  near.push_back('!');
  EXPECT_FALSE(s.Check(json::string(near)).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(ParamSpec, TypeMismatches) {
  ParamSpec str = Spec(ParamType::kString);
  ParamSpec num = Spec(ParamType::kNumber);
  ParamSpec integer = Spec(ParamType::kInteger);
  ParamSpec boolean = Spec(ParamType::kBoolean);
  for (const char* v : {"1", "true", "null", "[]", "{}"}) {
    EXPECT_FALSE(str.Check(json::parse(v)).ok()) << v;
  }
  for (const char* v : {"\"1\"", "true", "null", "[1]", "1e400"}) {
    EXPECT_FALSE(num.Check(json::parse(v)).ok()) << v;
  }
  for (const char* v :
       {"1.5", "\"1\"", "1e300", "9007199254740994.0", "null"}) {
    EXPECT_FALSE(integer.Check(json::parse(v)).ok()) << v;
  }
  for (const char* v : {"1", "\"true\"", "0", "null"}) {
    EXPECT_FALSE(boolean.Check(json::parse(v)).ok()) << v;
  }
}

TEST(ParamSpec, Rendering) {
  EXPECT_EQ(Rendered(Spec(ParamType::kString), "\"t-1\""), "t-1");
  ParamSpec integer = Spec(ParamType::kInteger);
  EXPECT_EQ(Rendered(integer, "42"), "42");
  EXPECT_EQ(Rendered(integer, "-7"), "-7");
  EXPECT_EQ(Rendered(integer, "5.0"), "5");
  EXPECT_EQ(Rendered(integer, "1e3"), "1000");
  EXPECT_EQ(Rendered(integer, "-0.0"), "0");
  EXPECT_EQ(Rendered(integer, "18446744073709551615"), "18446744073709551615");
  EXPECT_TRUE(integer.Check(json::parse("5.0"))->is_int64());
  ParamSpec num = Spec(ParamType::kNumber);
  EXPECT_EQ(Rendered(num, "1.5"), "1.5");
  EXPECT_EQ(Rendered(num, "2.0"), "2");
  EXPECT_EQ(Rendered(num, "0.1"), "0.1");
  EXPECT_EQ(Rendered(num, "1e21"), "1e+21");
  EXPECT_EQ(Rendered(num, "-3"), "-3");
  EXPECT_EQ(Rendered(num, "-0.0"), "0");
  ParamSpec boolean = Spec(ParamType::kBoolean);
  EXPECT_EQ(Rendered(boolean, "true"), "true");
  EXPECT_EQ(Rendered(boolean, "false"), "false");
}

TEST(ChannelTemplate, ParseErrors) {
  std::vector<ParamSpec> params = {Spec(ParamType::kString)};  // named "p"
  for (const char* bad :
       {"", "a::{q}", "a::{p", "a::p}", "a::{}", "{P}", "x\ty", "{p}}x"}) {
    EXPECT_FALSE(ChannelTemplate::Parse(bad, params).ok()) << bad;
  }
  auto undeclared = ChannelTemplate::Parse("threads::{other}", params);
  ASSERT_FALSE(undeclared.ok());
  EXPECT_NE(undeclared.status().message().find("undeclared param '{other}'"),
            std::string::npos);
  EXPECT_FALSE(
      ChannelTemplate::Parse(std::string(kMaxChannelBytes + 1, 'a'), params)
          .ok());
}

TEST(ChannelTemplate, RendersLiteralsParamsUserIdAndEscapedBraces) {
  std::vector<ParamSpec> params = {Spec(ParamType::kString)};
  auto t = ChannelTemplate::Parse("{{{p}}}::{userId}::x", params);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->uses_user_id());
  json::value v = json::string("acme");
  auto r = t->Render(params, {&v}, "u1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "{acme}::u1::x");
  auto fixed = ChannelTemplate::Parse("global::news", {});
  ASSERT_TRUE(fixed.ok());
  EXPECT_FALSE(fixed->uses_user_id());
  EXPECT_EQ(*fixed->Render({}, {}, ""), "global::news");
}

TEST(ChannelTemplate, RenderedChannelLimits) {
  std::vector<ParamSpec> params = {Spec(ParamType::kString, ".*")};
  auto t = ChannelTemplate::Parse("c::{p}", params);
  ASSERT_TRUE(t.ok());
  json::value ctl = json::string("a\x01");
  EXPECT_FALSE(t->Render(params, {&ctl}, "").ok());
  json::value del = json::string("a\x7f");
  EXPECT_FALSE(t->Render(params, {&del}, "").ok());
  json::value fits = json::string(std::string(kMaxChannelBytes - 3, 'a'));
  EXPECT_TRUE(t->Render(params, {&fits}, "").ok());
  json::value big = json::string(std::string(kMaxChannelBytes - 2, 'a'));
  EXPECT_FALSE(t->Render(params, {&big}, "").ok());
  auto u = ChannelTemplate::Parse("u::{userId}", params);
  json::value any = json::string("x");
  EXPECT_FALSE(u->Render(params, {&any}, "bad\nuser").ok());
}

}  // namespace
}  // namespace vent::pub
