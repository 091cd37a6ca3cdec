// Optional API keys for the Vent service.
//
// Configuration (option `api-keys`): each item is "KEY" (may use any channel)
// or "KEY=prefix1|prefix2" (may use only channels starting with one of the
// prefixes, for Emit* and Subscribe alike). No items = authentication off.
// Calls send metadata `authorization: Bearer KEY`.
//
// Keys are compared in constant time (SHA-256 digests, CRYPTO_memcmp over
// every configured key). Keys are never logged: a key is named by its id,
// the first 8 hex digits of its SHA-256.
//
// Thread-safety: immutable after Parse; all methods are const and thread-safe.
#ifndef VENT_SERVER_AUTH_H_
#define VENT_SERVER_AUTH_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::server {

// Who made a call: one configured key.
struct Principal {
  std::string key_id;                 // first 8 hex digits of SHA-256(key)
  std::vector<std::string> prefixes;  // empty = every channel
  // Unique per configured key ("k<index>"): separates idempotency claims.
  std::string scope;
  bool Allows(absl::string_view channel) const;
};

class ApiKeys {
 public:
  ApiKeys() = default;  // disabled
  // InvalidArgument for an empty key, an empty prefix, or a key given twice.
  static absl::StatusOr<ApiKeys> Parse(const std::vector<std::string>& items);

  bool enabled() const { return !keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // Why Authenticate refused a call.
  enum class Refusal {
    kMissing,  // no key: no metadata, not "Bearer <key>", or an empty key
    kUnknown,  // a key that is not configured
  };

  // `authorization` is the metadata value, or nullopt when absent. Returns the
  // caller's principal, nullptr when keys are disabled (everything allowed),
  // or Unauthenticated: "missing API key ..." / "unknown API key"; then
  // `*why` (when given) says which.
  absl::StatusOr<const Principal*> Authenticate(
      std::optional<absl::string_view> authorization,
      Refusal* why = nullptr) const;

  // PermissionDenied naming the channel unless `who` (from Authenticate) may
  // use it. `where` prefixes the message ("event", "events[3]", "channels[0]").
  static absl::Status CheckScope(const Principal* who,
                                 absl::string_view channel,
                                 absl::string_view where);

  // First 8 hex digits of SHA-256(key): how logs and messages name a key.
  static std::string KeyId(absl::string_view key);

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    Principal principal;
  };
  std::vector<Entry> keys_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_AUTH_H_
