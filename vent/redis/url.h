// Redis endpoint URLs (the --redis flag of both binaries):
//
//   redis://[[user]:password@]host[:port][/db]          one Redis over TCP
//   rediss://[[user]:password@]host[:port][/db]         the same over TLS
//   unix://[[user]:password@]/path/redis.sock[?db=N]    one Redis, Unix socket
//   redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
//   rediss-sentinel://...                               (TLS to all of them)
//       the master named `master`, discovered through these Sentinels
//       (default port 26379); the credentials are the master's
//   redis-cluster://[[user]:password@]host[:port][,host[:port]...]
//   rediss-cluster://...                                seed nodes of a Cluster
//
// ParseUrl is pure and thread-safe. An Endpoint carries the password in clear;
// log only Endpoint::Redacted() (and HostPort, which has no secret).
#ifndef VENT_REDIS_URL_H_
#define VENT_REDIS_URL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::redis {

struct HostPort {
  std::string host;
  uint16_t port = 6379;
  // "host:port" ("[::1]:6379" for IPv6 literals).
  std::string ToString() const;
  friend bool operator==(const HostPort& a, const HostPort& b) {
    return a.port == b.port && a.host == b.host;
  }
};

struct Endpoint {
  enum class Kind { kSingle, kSentinel, kCluster };
  Kind kind = Kind::kSingle;
  bool tls = false;  // rediss*: TLS on every connection
  // kSingle over TCP. For kSentinel / kCluster: the first of `hosts`.
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  // kSingle over a Unix socket (unix://); then host/port are unused.
  std::string unix_path;
  // kSentinel: the Sentinels; kCluster: the seed nodes (in URL order).
  std::vector<HostPort> hosts;
  std::string master_name;  // kSentinel
  std::string username;     // empty: AUTH password (the "default" user)
  std::string password;     // empty: no AUTH
  int db = 0;               // always 0 for kCluster

  // The URL with the password replaced by *** (and defaults spelled out),
  // e.g. "redis://user:***@host:6379/0"; safe to log.
  std::string Redacted() const;
};

// Parses any of the forms above. IPv6 literals go in brackets ("[::1]:6379").
// user and password are percent-decoded. Errors are InvalidArgument with a
// message naming the offending part (never the password).
absl::StatusOr<Endpoint> ParseUrl(absl::string_view url);

// Parses "host[:port]" (IPv6 in brackets) with `default_port`.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text,
                                       uint16_t default_port);

}  // namespace vent::redis

#endif  // VENT_REDIS_URL_H_
