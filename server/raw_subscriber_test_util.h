// Test helper: a blocking, independent Redis SUBSCRIBE connection (plain
// socket + a minimal RESP reader), so integration tests check what really
// reached Redis without going through vent's own Redis client.
#ifndef VENT_SERVER_RAW_SUBSCRIBER_TEST_UTIL_H_
#define VENT_SERVER_RAW_SUBSCRIBER_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

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

}  // namespace vent::server::testing

#endif  // VENT_SERVER_RAW_SUBSCRIBER_TEST_UTIL_H_
