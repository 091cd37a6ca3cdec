#include "server/auth.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vent::server {
namespace {

using ::testing::HasSubstr;

TEST(ApiKeys, DisabledAllowsEverything) {
  auto keys = ApiKeys::Parse({});
  ASSERT_TRUE(keys.ok());
  EXPECT_FALSE(keys->enabled());
  auto who = keys->Authenticate(std::nullopt);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, nullptr);
  EXPECT_TRUE(ApiKeys::CheckScope(*who, "anything", "event").ok());
}

TEST(ApiKeys, ParseErrors) {
  EXPECT_EQ(ApiKeys::Parse({"a", ""}).status().message(),
            "api-keys[1]: empty key");
  EXPECT_EQ(ApiKeys::Parse({"=x"}).status().message(),
            "api-keys[0]: empty key");
  EXPECT_THAT(std::string(ApiKeys::Parse({"k=a||b"}).status().message()),
              HasSubstr("empty channel prefix"));
  EXPECT_THAT(std::string(ApiKeys::Parse({"k=a", "k"}).status().message()),
              HasSubstr("is given twice"));
  // The key never appears in messages.
  EXPECT_THAT(std::string(ApiKeys::Parse({"secret123=a|"}).status().message()),
              ::testing::Not(HasSubstr("secret123")));
}

TEST(ApiKeys, Authenticate) {
  auto keys = ApiKeys::Parse({"full", "scoped=threads::|users::"});
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 2u);
  auto missing = keys->Authenticate(std::nullopt);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("missing API key"));
  EXPECT_EQ(keys->Authenticate("Basic abc").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(keys->Authenticate("Bearer ").status().message()),
              HasSubstr("missing API key"));
  EXPECT_EQ(keys->Authenticate("Bearer nope").status().message(),
            "unknown API key");
  EXPECT_EQ(keys->Authenticate("Bearer ful").status().message(),
            "unknown API key");
  auto full = keys->Authenticate("Bearer full");
  ASSERT_TRUE(full.ok());
  ASSERT_NE(*full, nullptr);
  EXPECT_TRUE((*full)->prefixes.empty());
  EXPECT_EQ((*full)->key_id, ApiKeys::KeyId("full"));
  EXPECT_EQ((*full)->key_id.size(), 8u);
  auto scoped = keys->Authenticate("bearer   scoped ");
  ASSERT_TRUE(scoped.ok());
  EXPECT_EQ((*scoped)->prefixes,
            (std::vector<std::string>{"threads::", "users::"}));
}

TEST(ApiKeys, RefusalsAreTyped) {
  auto keys = ApiKeys::Parse({"full"});
  ASSERT_TRUE(keys.ok());
  struct Case {
    std::optional<absl::string_view> header;
    ApiKeys::Refusal want;
  };
  for (const Case& c : {Case{std::nullopt, ApiKeys::Refusal::kMissing},
                        Case{"", ApiKeys::Refusal::kMissing},
                        Case{"Basic abc", ApiKeys::Refusal::kMissing},
                        Case{"Bearer  ", ApiKeys::Refusal::kMissing},
                        Case{"Bearer nope", ApiKeys::Refusal::kUnknown},
                        Case{"Bearer missing", ApiKeys::Refusal::kUnknown}}) {
    // Start from the other answer so that the test sees the write.
    ApiKeys::Refusal why = c.want == ApiKeys::Refusal::kMissing
                               ? ApiKeys::Refusal::kUnknown
                               : ApiKeys::Refusal::kMissing;
    auto who = keys->Authenticate(c.header, &why);
    EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(why, c.want) << c.header.value_or("(none)");
  }
  ApiKeys::Refusal untouched = ApiKeys::Refusal::kUnknown;
  EXPECT_TRUE(keys->Authenticate("Bearer full", &untouched).ok());
  EXPECT_EQ(untouched, ApiKeys::Refusal::kUnknown);
}

TEST(ApiKeys, Scope) {
  auto keys = ApiKeys::Parse({"scoped=threads::|users::"});
  auto who = *keys->Authenticate("Bearer scoped");
  EXPECT_TRUE(ApiKeys::CheckScope(who, "threads::1", "event").ok());
  EXPECT_TRUE(ApiKeys::CheckScope(who, "users::", "event").ok());
  auto denied = ApiKeys::CheckScope(who, "admin::x", "events[2]");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(), "events[2]: API key " + ApiKeys::KeyId("scoped") +
                                  " may not use channel \"admin::x\" (allowed "
                                  "prefixes: threads::, users::)");
  EXPECT_FALSE(ApiKeys::CheckScope(who, "thread", "event").ok());
}

}  // namespace
}  // namespace vent::server
