#include "vent/ddp/random_id.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace vent::ddp {
namespace {

TEST(RandomIdTest, SeventeenCharsFromMeteorAlphabet) {
  for (int i = 0; i < 200; ++i) {
    const std::string id = RandomId();
    ASSERT_EQ(id.size(), 17u);
    for (char c : id) {
      EXPECT_NE(kRandomIdAlphabet.find(c), absl::string_view::npos) << id;
    }
  }
}

TEST(RandomIdTest, IdsDiffer) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(RandomId());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(RandomIdTest, UsesWholeAlphabet) {
  std::set<char> seen;
  for (int i = 0; i < 200; ++i) {
    for (char c : RandomId()) seen.insert(c);
  }
  EXPECT_EQ(seen.size(), kRandomIdAlphabet.size());
}

TEST(RandomIdTest, CustomLength) { EXPECT_EQ(RandomId(5).size(), 5u); }

}  // namespace
}  // namespace vent::ddp
