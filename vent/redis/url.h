// Redis endpoint URLs: redis://[[user]:password@]host[:port][/db].
//
// ParseUrl is pure and thread-safe. An Endpoint carries the password in clear;
// log only Endpoint::Redacted().
#ifndef VENT_REDIS_URL_H_
#define VENT_REDIS_URL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::redis {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string username;  // empty: AUTH password (the "default" user)
  std::string password;  // empty: no AUTH
  int db = 0;

  // "redis://[user:***@]host:port/db" (password replaced by ***); safe to log.
  std::string Redacted() const;
};

// Parses redis://[[user]:password@]host[:port][/db]. The host may be an IPv6
// literal in brackets ("[::1]"). user and password are percent-decoded.
// Errors are InvalidArgument with a message naming the offending part.
absl::StatusOr<Endpoint> ParseUrl(absl::string_view url);

}  // namespace vent::redis

#endif  // VENT_REDIS_URL_H_
