#include "vent/redis/url.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vent::redis {
namespace {

absl::Status Bad(absl::string_view url, absl::string_view why) {
  // The URL may hold a password: never echo it back.
  return absl::InvalidArgumentError(
      absl::StrCat("invalid redis URL: ", why,
                   " (expected redis://[[user]:password@]host[:port][/db])"));
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

}  // namespace

std::string Endpoint::Redacted() const {
  std::string auth;
  if (!username.empty() || !password.empty()) {
    auth = absl::StrCat(username, password.empty() ? "" : ":***", "@");
  }
  bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat("redis://", auth, v6 ? "[" : "", host, v6 ? "]" : "", ":",
                      port, "/", db);
}

absl::StatusOr<Endpoint> ParseUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "redis://";
  if (!absl::StartsWith(url, kScheme)) {
    return Bad(url, "must start with redis://");
  }
  absl::string_view rest = url.substr(kScheme.size());
  Endpoint ep;

  // Userinfo: everything before the last '@' (passwords may contain '@' only
  // percent-encoded, but be lenient and split on the last one).
  size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) {
      return Bad(url, "credentials must be [user]:password");
    }
    if (!PercentDecode(userinfo.substr(0, colon), ep.username) ||
        !PercentDecode(userinfo.substr(colon + 1), ep.password)) {
      return Bad(url, "bad percent-encoding in credentials");
    }
    if (ep.password.empty()) return Bad(url, "empty password");
  }

  absl::string_view hostport = rest;
  size_t slash = rest.find('/');
  absl::string_view dbpart;
  bool has_db = false;
  if (slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    dbpart = rest.substr(slash + 1);
    has_db = true;
  }

  absl::string_view host = hostport;
  absl::string_view port;
  bool has_port = false;
  if (absl::StartsWith(hostport, "[")) {
    size_t close = hostport.find(']');
    if (close == absl::string_view::npos)
      return Bad(url, "unterminated [IPv6] host");
    host = hostport.substr(1, close - 1);
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Bad(url, "junk after [IPv6] host");
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
  if (host.empty()) return Bad(url, "missing host");
  for (char c : host) {
    if (c == ' ' || c == '/' || c == '?' || c == '#' || c == '@') {
      return Bad(url, "bad character in host");
    }
  }
  ep.host = std::string(host);

  if (has_port) {
    uint32_t p = 0;
    if (port.empty() || !absl::SimpleAtoi(port, &p) || p == 0 || p > 65535 ||
        port[0] == '+' || port[0] == '-') {
      return Bad(url, "port must be a number in 1..65535");
    }
    ep.port = static_cast<uint16_t>(p);
  }
  if (has_db && !dbpart.empty()) {
    int db = 0;
    if (!absl::SimpleAtoi(dbpart, &db) || db < 0 || dbpart[0] == '+' ||
        dbpart[0] == '-') {
      return Bad(url, "database must be a non-negative integer");
    }
    ep.db = db;
  }
  return ep;
}

}  // namespace vent::redis
