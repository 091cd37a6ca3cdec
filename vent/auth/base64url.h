// Strict base64url (RFC 4648 §5) without padding, as JWS compact form uses.
// Pure functions, thread-safe.
#ifndef VENT_AUTH_BASE64URL_H_
#define VENT_AUTH_BASE64URL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace vent::auth {

// Decodes unpadded base64url. nullopt for '=', any character outside
// [A-Za-z0-9_-], a length of 1 mod 4, or non-zero unused trailing bits (so
// every byte string has exactly one accepted encoding).
std::optional<std::string> Base64UrlDecode(absl::string_view in);

// Encodes without padding.
std::string Base64UrlEncode(absl::string_view in);

}  // namespace vent::auth

#endif  // VENT_AUTH_BASE64URL_H_
