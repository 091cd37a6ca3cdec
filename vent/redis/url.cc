#include "vent/redis/url.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vent::redis {
namespace {

using Kind = Endpoint::Kind;

constexpr absl::string_view kForms =
    "redis://[[user]:password@]host[:port][/db], rediss://..., "
    "unix://[[user]:password@]/path.sock[?db=N], "
    "redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/"
    "master[/db], rediss-sentinel://..., "
    "redis-cluster://[[user]:password@]host[:port][,host[:port]...], "
    "rediss-cluster://...";

absl::Status Bad(absl::string_view why) {
  // The URL may hold a password: never echo it back.
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid redis URL: ", why, " (expected one of ", kForms, ")"));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(absl::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

absl::Status ParseDb(absl::string_view text, int* db) {
  if (text.empty()) return absl::OkStatus();
  if (!absl::SimpleAtoi(text, db) || *db < 0 || text[0] == '+' ||
      text[0] == '-') {
    return Bad("database must be a non-negative integer");
  }
  return absl::OkStatus();
}

// Splits "[userinfo@]rest" (on the LAST '@' before `limit`, so unencoded '@'
// in passwords still works) and decodes the credentials into `ep`.
absl::Status TakeUserinfo(absl::string_view& rest, size_t limit, Endpoint& ep) {
  size_t at = rest.substr(0, limit).rfind('@');
  if (at == absl::string_view::npos) return absl::OkStatus();
  absl::string_view userinfo = rest.substr(0, at);
  rest = rest.substr(at + 1);
  size_t colon = userinfo.find(':');
  if (colon == absl::string_view::npos) {
    return Bad("credentials must be [user]:password");
  }
  if (!PercentDecode(userinfo.substr(0, colon), ep.username) ||
      !PercentDecode(userinfo.substr(colon + 1), ep.password)) {
    return Bad("bad percent-encoding in credentials");
  }
  if (ep.password.empty()) return Bad("empty password");
  return absl::OkStatus();
}

absl::StatusOr<Endpoint> ParseUnix(absl::string_view rest) {
  Endpoint ep;
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    return Bad("unix:// needs an absolute socket path (unix:///path.sock)");
  }
  if (absl::Status s = TakeUserinfo(rest, slash, ep); !s.ok()) return s;
  if (rest.empty() || rest[0] != '/') {
    return Bad("unix:// needs an absolute socket path (unix:///path.sock)");
  }
  absl::string_view path = rest;
  size_t q = rest.find('?');
  if (q != absl::string_view::npos) {
    path = rest.substr(0, q);
    for (absl::string_view kv : absl::StrSplit(rest.substr(q + 1), '&')) {
      if (kv.empty()) continue;
      if (absl::StartsWith(kv, "db=")) {
        if (kv.size() == 3)
          return Bad("database must be a non-negative integer");
        if (absl::Status s = ParseDb(kv.substr(3), &ep.db); !s.ok()) return s;
      } else {
        return Bad("unix:// accepts only the query parameter db=N");
      }
    }
  }
  if (path.size() < 2) return Bad("missing unix socket path");
  ep.unix_path = std::string(path);
  return ep;
}

}  // namespace

std::string HostPort::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view hostport,
                                       uint16_t default_port) {
  absl::string_view host = hostport;
  absl::string_view port;
  bool has_port = false;
  if (absl::StartsWith(hostport, "[")) {
    size_t close = hostport.find(']');
    if (close == absl::string_view::npos)
      return Bad("unterminated [IPv6] host");
    host = hostport.substr(1, close - 1);
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Bad("junk after [IPv6] host");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = hostport.find(':');
    if (colon != absl::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      has_port = true;
    }
  }
  if (host.empty()) return Bad("missing host");
  for (char c : host) {
    if (c == ' ' || c == '/' || c == '?' || c == '#' || c == '@' || c == ',') {
      return Bad("bad character in host");
    }
  }
  HostPort out{std::string(host), default_port};
  if (has_port) {
    uint32_t p = 0;
    if (port.empty() || !absl::SimpleAtoi(port, &p) || p == 0 || p > 65535 ||
        port[0] == '+' || port[0] == '-') {
      return Bad("port must be a number in 1..65535");
    }
    out.port = static_cast<uint16_t>(p);
  }
  return out;
}

std::string Endpoint::Redacted() const {
  std::string auth;
  if (!username.empty() || !password.empty()) {
    auth = absl::StrCat(username, password.empty() ? "" : ":***", "@");
  }
  std::string s = tls ? "s" : "";
  switch (kind) {
    case Kind::kSingle:
      if (!unix_path.empty()) {
        return absl::StrCat("unix://", auth, unix_path, "?db=", db);
      }
      return absl::StrCat("redis", s, "://", auth,
                          HostPort{host, port}.ToString(), "/", db);
    case Kind::kSentinel:
    case Kind::kCluster: {
      std::string list;
      for (const HostPort& hp : hosts) {
        absl::StrAppend(&list, list.empty() ? "" : ",", hp.ToString());
      }
      if (kind == Kind::kCluster) {
        return absl::StrCat("redis", s, "-cluster://", auth, list);
      }
      return absl::StrCat("redis", s, "-sentinel://", auth, list, "/",
                          master_name, "/", db);
    }
  }
  return "redis://?";
}

absl::StatusOr<Endpoint> ParseUrl(absl::string_view url) {
  size_t sep = url.find("://");
  if (sep == absl::string_view::npos) {
    return Bad("missing scheme (such as redis://)");
  }
  absl::string_view scheme = url.substr(0, sep);
  absl::string_view rest = url.substr(sep + 3);
  Endpoint ep;
  if (scheme == "unix") return ParseUnix(rest);
  if (scheme == "redis" || scheme == "rediss") {
    ep.kind = Kind::kSingle;
  } else if (scheme == "redis-sentinel" || scheme == "rediss-sentinel") {
    ep.kind = Kind::kSentinel;
  } else if (scheme == "redis-cluster" || scheme == "rediss-cluster") {
    ep.kind = Kind::kCluster;
  } else {
    bool printable = scheme.size() <= 32;
    for (char c : scheme) printable = printable && c > ' ' && c < 127;
    return Bad(absl::StrCat(
        "unknown scheme", printable ? absl::StrCat(" \"", scheme, "\"") : ""));
  }
  ep.tls = absl::StartsWith(scheme, "rediss");

  // Credentials end at the last '@' (as they always did here, so an
  // unencoded '/' or '@' in a password still parses).
  if (absl::Status s = TakeUserinfo(rest, rest.size(), ep); !s.ok()) return s;
  size_t slash = rest.find('/');
  absl::string_view hostlist = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos
                               ? absl::string_view()
                               : rest.substr(slash + 1);

  const uint16_t default_port = ep.kind == Kind::kSentinel ? 26379 : 6379;
  if (hostlist.empty()) return Bad("missing host");
  for (absl::string_view item : absl::StrSplit(hostlist, ',')) {
    if (item.empty()) return Bad("missing host (empty entry in host list)");
    absl::StatusOr<HostPort> hp = ParseHostPort(item, default_port);
    if (!hp.ok()) return hp.status();
    ep.hosts.push_back(*std::move(hp));
  }
  if (ep.kind == Kind::kSingle && ep.hosts.size() > 1) {
    return Bad(
        "several hosts need redis-sentinel:// or redis-cluster:// (redis:// "
        "takes one)");
  }
  ep.host = ep.hosts[0].host;
  ep.port = ep.hosts[0].port;
  if (ep.kind == Kind::kSingle) ep.hosts.clear();

  switch (ep.kind) {
    case Kind::kSingle:
      if (path.find('/') != absl::string_view::npos) {
        return Bad("database must be a non-negative integer");
      }
      if (absl::Status s = ParseDb(path, &ep.db); !s.ok()) return s;
      break;
    case Kind::kSentinel: {
      size_t db_slash = path.find('/');
      absl::string_view name = path.substr(0, db_slash);
      if (name.empty()) {
        return Bad(
            "missing master name (redis-sentinel://host:port/<master-name>)");
      }
      if (!PercentDecode(name, ep.master_name)) {
        return Bad("bad percent-encoding in master name");
      }
      if (db_slash != absl::string_view::npos) {
        absl::string_view db = path.substr(db_slash + 1);
        if (db.find('/') != absl::string_view::npos) {
          return Bad("database must be a non-negative integer");
        }
        if (absl::Status s = ParseDb(db, &ep.db); !s.ok()) return s;
      }
      break;
    }
    case Kind::kCluster:
      if (!path.empty() && path != "0") {
        return Bad("a Redis Cluster has only database 0 (no /db in the URL)");
      }
      break;
  }
  return ep;
}

}  // namespace vent::redis
