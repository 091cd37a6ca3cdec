// Test helpers: a blocking, independent Redis SUBSCRIBE connection (plain
// socket + a minimal RESP reader), so integration tests check what really
// reached Redis without going through vent's own Redis client; a collector
// thread over it; a Redis stall (DEBUG SLEEP) and client-list probes.
#ifndef VENT_SERVER_RAW_SUBSCRIBER_TEST_UTIL_H_
#define VENT_SERVER_RAW_SUBSCRIBER_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "vent/testing/redis_server.h"

namespace vent::server::testing {

class RawSubscriber {
 public:
  struct Message {
    std::string channel;
    std::string payload;
  };
  // Connects and SUBSCRIBEs to `channels`; returns once Redis confirmed all.
  RawSubscriber(uint16_t port, const std::vector<std::string>& channels) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    SetTimeout(absl::Seconds(10));
    std::string cmd =
        absl::StrCat("*", channels.size() + 1, "\r\n$9\r\nSUBSCRIBE\r\n");
    for (const auto& c : channels)
      absl::StrAppend(&cmd, "$", c.size(), "\r\n", c, "\r\n");
    ok_ = ok_ && ::write(fd_, cmd.data(), cmd.size()) ==
                     static_cast<ssize_t>(cmd.size());
    for (size_t i = 0; ok_ && i < channels.size(); ++i) {
      auto reply = ReadArray();
      ok_ = reply && reply->size() == 3 && (*reply)[0] == "subscribe";
    }
  }
  ~RawSubscriber() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  void SetTimeout(absl::Duration d) {
    timeval tv = absl::ToTimeval(d);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  // The next published message, or nullopt on timeout / error.
  std::optional<Message> Next() {
    auto a = ReadArray();
    if (!a || a->size() != 3 || (*a)[0] != "message") return std::nullopt;
    return Message{(*a)[1], (*a)[2]};
  }

 private:
  bool Fill() {
    char buf[65536];
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }
  std::optional<std::string> Line() {
    for (;;) {
      size_t eol = buf_.find("\r\n", pos_);
      if (eol != std::string::npos) {
        std::string line = buf_.substr(pos_, eol - pos_);
        pos_ = eol + 2;
        return line;
      }
      if (!Fill()) return std::nullopt;
    }
  }
  std::optional<std::string> Bytes(size_t n) {
    while (buf_.size() - pos_ < n + 2) {
      if (!Fill()) return std::nullopt;
    }
    std::string s = buf_.substr(pos_, n);
    pos_ += n + 2;
    return s;
  }
  std::optional<std::vector<std::string>> ReadArray() {
    if (pos_ > (1 << 20)) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    auto head = Line();
    int64_t n = 0;
    if (!head || head->empty() || (*head)[0] != '*' ||
        !absl::SimpleAtoi(head->substr(1), &n)) {
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (int64_t i = 0; i < n; ++i) {
      auto h = Line();
      if (!h || h->empty()) return std::nullopt;
      int64_t len = 0;
      if ((*h)[0] == ':') {
        out.push_back(h->substr(1));
      } else if ((*h)[0] == '$' && absl::SimpleAtoi(h->substr(1), &len)) {
        auto b = Bytes(static_cast<size_t>(len));
        if (!b) return std::nullopt;
        out.push_back(std::move(*b));
      } else {
        return std::nullopt;
      }
    }
    return out;
  }

  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
  size_t pos_ = 0;
};

// Collects every payload a RawSubscriber sees on `channel` (in a thread)
// until `end` arrives.
class Collector {
 public:
  Collector(uint16_t port, const std::string& channel, std::string end)
      : sub_(port, {channel}), end_(std::move(end)) {
    ok_ = sub_.ok();
    if (ok_) thread_ = std::thread([this] { Run(); });
  }
  ~Collector() {
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return ok_; }
  // Waits for `end` (60 s at most); the payloads in arrival order, or nullopt
  // when `end` never came.
  std::optional<std::vector<std::string>> Wait() {
    if (!ok_) return std::nullopt;
    thread_.join();
    if (!saw_end_) return std::nullopt;
    return seen_;
  }
  // payload -> times received.
  static std::map<std::string, int> Count(const std::vector<std::string>& v) {
    std::map<std::string, int> m;
    for (const auto& p : v) ++m[p];
    return m;
  }

 private:
  void Run() {
    sub_.SetTimeout(absl::Seconds(60));
    while (auto m = sub_.Next()) {
      if (m->payload == end_) {
        saw_end_ = true;
        return;
      }
      seen_.push_back(std::move(m->payload));
    }
  }
  RawSubscriber sub_;
  std::string end_;
  bool ok_ = false;
  bool saw_end_ = false;
  std::vector<std::string> seen_;
  std::thread thread_;
};

// True when a fresh connection gets PONG within `timeout`; false while Redis
// sleeps (DEBUG SLEEP: the kernel accepts the connection, nobody reads it).
inline bool RedisPings(uint16_t port, absl::Duration timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv = absl::ToTimeval(timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::write(fd, "PING\r\n", 6) == 6) {
    char buf[16];
    ok = ::read(fd, buf, sizeof(buf)) > 0;
  }
  ::close(fd);
  return ok;
}

// Stalls a redis-server (started with --enable-debug-command local) with
// DEBUG SLEEP from a thread; Start returns once Redis no longer answers.
class RedisStall {
 public:
  explicit RedisStall(vent::testing::RedisServer* redis) : redis_(redis) {}
  ~RedisStall() { Join(); }
  bool Start(absl::Duration sleep) {
    thread_ = std::thread([this, sleep] {
      ok_ = redis_
                ->Cli({"DEBUG", "SLEEP",
                       absl::StrCat(absl::ToDoubleSeconds(sleep))})
                .ok();
    });
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (RedisPings(redis_->port(), absl::Milliseconds(300))) {
      if (absl::Now() > deadline) return false;
    }
    return true;
  }
  // Waits until Redis woke up; true when DEBUG SLEEP succeeded.
  bool Join() {
    if (thread_.joinable()) thread_.join();
    return ok_;
  }

 private:
  vent::testing::RedisServer* redis_;
  std::thread thread_;
  bool ok_ = false;
};

// Redis's id of the client named `name` (CLIENT SETNAME), or -1.
inline int64_t RedisClientId(vent::testing::RedisServer& redis,
                             const std::string& name) {
  auto list = redis.Cli({"CLIENT", "LIST"});
  if (!list.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(*list, '\n')) {
    if (!absl::StrContains(line, absl::StrCat(" name=", name, " "))) continue;
    for (absl::string_view f : absl::StrSplit(line, ' ')) {
      int64_t id;
      if (absl::ConsumePrefix(&f, "id=") && absl::SimpleAtoi(f, &id)) return id;
    }
  }
  return -1;
}

// Waits (20 s at most) until Redis has closed client `id`: everything it sent
// has then been executed.
inline bool WaitRedisClientGone(vent::testing::RedisServer& redis, int64_t id) {
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (;;) {
    auto list = redis.Cli({"CLIENT", "LIST"});
    if (list.ok() && !absl::StrContains(*list, absl::StrCat("id=", id, " ")))
      return true;
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace vent::server::testing

#endif  // VENT_SERVER_RAW_SUBSCRIBER_TEST_UTIL_H_
