#include "vent/auth/decision_cache.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"

namespace vent::auth {

std::string DecisionCache::Key(absl::string_view user_id,
                               absl::string_view publication,
                               absl::string_view params_json) {
  return absl::StrCat(user_id.size(), ":", user_id, publication.size(), ":",
                      publication, params_json);
}

std::string IdentityCache::Key(absl::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace vent::auth
