#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace vent::server {
namespace {

std::array<unsigned char, 32> Digest(absl::string_view s) {
  std::array<unsigned char, 32> d;
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::string IdOf(const std::array<unsigned char, 32>& d) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(d.data()), 4));
}

}  // namespace

bool Principal::Allows(absl::string_view channel) const {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes) {
    if (absl::StartsWith(channel, p)) return true;
  }
  return false;
}

std::string ApiKeys::KeyId(absl::string_view key) { return IdOf(Digest(key)); }

absl::StatusOr<ApiKeys> ApiKeys::Parse(const std::vector<std::string>& items) {
  ApiKeys keys;
  for (size_t i = 0; i < items.size(); ++i) {
    absl::string_view item = items[i];
    absl::string_view key = item;
    absl::string_view scope;
    bool scoped = false;
    if (size_t eq = item.find('='); eq != absl::string_view::npos) {
      key = item.substr(0, eq);
      scope = item.substr(eq + 1);
      scoped = true;
    }
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("api-keys[", i, "]: empty key"));
    }
    Entry e;
    e.digest = Digest(key);
    e.principal.key_id = IdOf(e.digest);
    e.principal.scope = absl::StrCat("k", i);
    if (scoped) {
      for (absl::string_view p : absl::StrSplit(scope, '|')) {
        if (p.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("api-keys[", i, "] (key ", e.principal.key_id,
                           "): empty channel prefix (use KEY=prefix1|prefix2, "
                           "or just KEY for all channels)"));
        }
        e.principal.prefixes.emplace_back(p);
      }
    }
    for (const auto& other : keys.keys_) {
      if (other.digest == e.digest) {
        return absl::InvalidArgumentError(absl::StrCat(
            "api-keys[", i, "]: key ", e.principal.key_id, " is given twice"));
      }
    }
    keys.keys_.push_back(std::move(e));
  }
  return keys;
}

absl::StatusOr<const Principal*> ApiKeys::Authenticate(
    std::optional<absl::string_view> authorization, Refusal* why) const {
  if (keys_.empty()) return nullptr;
  auto refuse = [why](Refusal refusal, absl::string_view message) {
    if (why != nullptr) *why = refusal;
    return absl::UnauthenticatedError(message);
  };
  if (!authorization.has_value() || authorization->empty()) {
    return refuse(
        Refusal::kMissing,
        "missing API key (send metadata \"authorization: Bearer <key>\")");
  }
  absl::string_view v = absl::StripAsciiWhitespace(*authorization);
  constexpr absl::string_view kBearer = "bearer ";
  if (v.size() < kBearer.size() ||
      !absl::EqualsIgnoreCase(v.substr(0, kBearer.size()), kBearer)) {
    return refuse(
        Refusal::kMissing,
        "missing API key (authorization metadata must be \"Bearer <key>\")");
  }
  absl::string_view key = absl::StripAsciiWhitespace(v.substr(kBearer.size()));
  if (key.empty()) return refuse(Refusal::kMissing, "missing API key");
  auto d = Digest(key);
  const Principal* found = nullptr;
  // Visit every key, no early exit: timing does not reveal which one matched.
  for (const auto& e : keys_) {
    bool eq = CRYPTO_memcmp(e.digest.data(), d.data(), d.size()) == 0;
    if (eq) found = &e.principal;
  }
  if (found == nullptr) return refuse(Refusal::kUnknown, "unknown API key");
  return found;
}

absl::Status ApiKeys::CheckScope(const Principal* who,
                                 absl::string_view channel,
                                 absl::string_view where) {
  if (who == nullptr || who->Allows(channel)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      where, ": API key ", who->key_id, " may not use channel \"", channel,
      "\" (allowed prefixes: ", absl::StrJoin(who->prefixes, ", "), ")"));
}

}  // namespace vent::server
