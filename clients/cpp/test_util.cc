#include "clients/cpp/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace vent::client_testing {

std::string BinPath(const std::string& name) {
  const char* dir = std::getenv("VENT_BIN_DIR");
  if (dir != nullptr && *dir != '\0') return absl::StrCat(dir, "/", name);
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / name)
      .string();
}

bool WaitUntil(const std::function<bool()>& pred, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (absl::Now() >= deadline) return pred();
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// ------------------------------------------------------------------ Process

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    std::vector<std::string> argv) {
  static int counter = 0;
  std::unique_ptr<Process> p(new Process());
  p->err_path_ =
      absl::StrCat(std::filesystem::temp_directory_path().string(),
                   "/vent_client_test_", getpid(), "_", counter++, ".err");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int err = open(p->err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  p->pid_ = pid;
  p->out_fd_ = fds[0];
  return p;
}

Process::~Process() {
  Kill();
  if (out_fd_ >= 0) close(out_fd_);
  std::error_code ec;
  std::filesystem::remove(err_path_, ec);
}

std::optional<std::string> Process::ReadLine(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    pollfd pfd{out_fd_, POLLIN, 0};
    int r =
        poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (r <= 0) continue;
    char buf[65536];
    ssize_t n = read(out_fd_, buf, sizeof(buf));
    if (n <= 0) return std::nullopt;  // EOF
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

std::string Process::Stderr() const {
  std::ifstream in(err_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Process::Wait(absl::Duration timeout) {
  if (exited_) return exit_code_;
  int status = 0;
  bool done = WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                        timeout);
  if (!done) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  exited_ = true;
  exit_code_ = (done && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return exit_code_;
}

void Process::Kill() {
  if (exited_ || pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  exited_ = true;
}

// ------------------------------------------------------------------ HTTP

std::string HttpGet(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t r;
      while ((r = read(fd, buf, sizeof(buf))) > 0)
        out.append(buf, static_cast<size_t>(r));
    }
  }
  close(fd);
  return out;
}

bool Http200(uint16_t port, const std::string& path) {
  std::string r = HttpGet(port, path);
  return r.rfind("HTTP/1.1 200", 0) == 0 || r.rfind("HTTP/1.0 200", 0) == 0;
}

// ------------------------------------------------------------------ Redis

absl::StatusOr<std::unique_ptr<RawSubscriber>> RawSubscriber::Connect(
    uint16_t port, const std::vector<std::string>& channels) {
  std::unique_ptr<RawSubscriber> s(new RawSubscriber());
  timeval tv{5, 0};
  s->ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (s->ctx_ == nullptr || s->ctx_->err)
    return absl::UnavailableError("redis connect failed");
  redisSetTimeout(s->ctx_, tv);
  for (const auto& ch : channels) {
    void* reply = redisCommand(s->ctx_, "SUBSCRIBE %b", ch.data(), ch.size());
    if (reply == nullptr) return absl::UnavailableError("SUBSCRIBE failed");
    freeReplyObject(reply);  // the subscribe confirmation
  }
  return s;
}

RawSubscriber::~RawSubscriber() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

absl::StatusOr<RawSubscriber::Message> RawSubscriber::Next(
    absl::Duration timeout) {
  timeval tv{
      static_cast<time_t>(absl::ToInt64Seconds(timeout)),
      static_cast<suseconds_t>(absl::ToInt64Microseconds(timeout) % 1000000)};
  redisSetTimeout(ctx_, tv);
  for (;;) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no Redis message within ", absl::FormatDuration(timeout)));
    }
    auto* r = static_cast<redisReply*>(raw);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        std::string(r->element[0]->str, r->element[0]->len) == "message") {
      Message m{std::string(r->element[1]->str, r->element[1]->len),
                std::string(r->element[2]->str, r->element[2]->len)};
      freeReplyObject(raw);
      return m;
    }
    freeReplyObject(raw);
  }
}

}  // namespace vent::client_testing
