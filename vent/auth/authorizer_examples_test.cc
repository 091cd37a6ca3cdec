// The example Authorizer backends (examples/authorizer/{node,python}) run as
// subprocesses on a kernel-chosen port and are called with AuthorizerClient.
// Startup is awaited by reading their "authorizer listening on HOST:PORT"
// line with a deadline.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "vent/auth/authorizer_client.h"

extern char** environ;

namespace vent::auth {
namespace {

constexpr char kExamples[] = VENT_EXAMPLES_DIR;
constexpr char kReady[] = "authorizer listening on ";

// A child process whose stdout is a pipe; killed (TERM, then KILL) on
// destruction.
class Child {
 public:
  static absl::StatusOr<std::unique_ptr<Child>> Start(
      std::vector<std::string> argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      return absl::InternalError(absl::StrCat("spawn ", argv[0], " failed"));
    }
    return std::unique_ptr<Child>(new Child(pid, fds[0]));
  }

  ~Child() {
    kill(pid_, SIGTERM);
    int status;
    if (!WaitExit(absl::Seconds(5))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    close(out_);
  }

  // Reads stdout until a line starting with kReady; returns its port.
  absl::StatusOr<int> WaitReady(absl::Duration timeout) {
    absl::Time end = absl::Now() + timeout;
    std::string buf;
    while (absl::Now() < end) {
      pollfd p{out_, POLLIN, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now()));
      if (poll(&p, 1, ms < 0 ? 0 : ms) <= 0) break;
      char chunk[512];
      ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0)
        return absl::InternalError(absl::StrCat("exited early: ", buf));
      buf.append(chunk, static_cast<size_t>(n));
      size_t at = buf.find(kReady);
      size_t eol = at == std::string::npos ? at : buf.find('\n', at);
      if (eol != std::string::npos) {
        std::string addr =
            buf.substr(at + sizeof(kReady) - 1, eol - at - sizeof(kReady) + 1);
        int port = 0;
        if (!absl::SimpleAtoi(addr.substr(addr.rfind(':') + 1), &port)) {
          return absl::InternalError(absl::StrCat("bad ready line: ", addr));
        }
        return port;
      }
    }
    return absl::DeadlineExceededError(
        absl::StrCat("no ready line; stdout: ", buf));
  }

 private:
  Child(pid_t pid, int out) : pid_(pid), out_(out) {}
  bool WaitExit(absl::Duration timeout) {
    absl::Time end = absl::Now() + timeout;
    int status;
    // The child closes its stdout when it exits: wait for EOF, then reap.
    for (char c; absl::Now() < end;) {
      pollfd p{out_, POLLIN, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now()));
      if (poll(&p, 1, ms < 0 ? 0 : ms) <= 0) return false;
      if (read(out_, &c, 1) <= 0) break;
    }
    return waitpid(pid_, &status, 0) == pid_;
  }

  pid_t pid_;
  int out_;
};

absl::StatusOr<Decision> Call(AuthorizerClient& client, std::string user,
                              std::string publication,
                              std::string params_json) {
  AuthorizeQuery q;
  q.user_id = std::move(user);
  q.publication = std::move(publication);
  q.params_json = std::move(params_json);
  q.channels = {"threads::x::new_message"};
  q.connection = {{"remote_addr", "127.0.0.1:1"}};
  auto done = std::make_shared<absl::Notification>();
  auto result = std::make_shared<absl::StatusOr<Decision>>();
  client.Authorize(std::move(q), [done, result](absl::StatusOr<Decision> r) {
    *result = std::move(r);
    done->Notify();
  });
  if (!done->WaitForNotificationWithTimeout(absl::Seconds(10))) {
    return absl::InternalError("no answer before the test deadline");
  }
  return *result;
}

struct Example {
  const char* name;
  std::vector<std::string> command;  // without --listen / --api-key
};

class ExampleAuthorizerTest : public ::testing::TestWithParam<Example> {
 protected:
  // Starts the example; returns a client for it (nullptr on failure).
  std::unique_ptr<AuthorizerClient> Start(
      const std::string& server_key = "", const std::string& client_key = "",
      const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = GetParam().command;
    argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!server_key.empty()) argv.insert(argv.end(), {"--api-key", server_key});
    auto child = Child::Start(argv);
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return nullptr;
    child_ = *std::move(child);
    auto port = child_->WaitReady(absl::Seconds(30));
    EXPECT_TRUE(port.ok()) << port.status();
    if (!port.ok()) return nullptr;
    AuthorizerOptions o;
    o.address = absl::StrCat("127.0.0.1:", *port);
    o.deadline = absl::Seconds(5);
    o.api_key = client_key;
    return std::make_unique<AuthorizerClient>(o);
  }
  std::unique_ptr<Child> child_;
};

TEST_P(ExampleAuthorizerTest, AllowAndDenyWithReason) {
  auto client = Start();
  ASSERT_NE(client, nullptr);
  auto own = Call(*client, "u1", "threadMessage", R"({"threadId":"u1-t7"})");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->allow);

  auto other = Call(*client, "u2", "threadMessage", R"({"threadId":"u1-t7"})");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->allow);
  EXPECT_EQ(other->reason, "This thread belongs to another user");

  // A bare prefix is not ownership: "u1" does not own "u10-x".
  EXPECT_FALSE(
      Call(*client, "u1", "threadMessage", R"({"threadId":"u10-x"})")->allow);
  auto anon = Call(*client, "", "threadMessage", R"({"threadId":"u1-t7"})");
  EXPECT_FALSE(anon->allow);
  EXPECT_EQ(anon->reason, "Login required");
  auto unknown = Call(*client, "u1", "adminFeed", "{}");
  EXPECT_FALSE(unknown->allow);
  EXPECT_EQ(unknown->reason, "No access rule for this publication");
  EXPECT_TRUE(Call(*client, "admin", "adminFeed", "{}")->allow);
  EXPECT_TRUE(Call(*client, "admin", "threadMessage", R"({"threadId":"u1-t7"})")
                  ->allow);
}

TEST_P(ExampleAuthorizerTest, ApiKeyChecked) {
  auto wrong = Start("s3cret", "guess");
  ASSERT_NE(wrong, nullptr);
  auto refused = Call(*wrong, "u1", "threadMessage", R"({"threadId":"u1-t7"})");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  wrong.reset();
  child_.reset();
  auto right = Start("s3cret", "s3cret");
  ASSERT_NE(right, nullptr);
  auto ok = Call(*right, "u1", "threadMessage", R"({"threadId":"u1-t7"})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->allow);
}

absl::StatusOr<Identity> Login(AuthorizerClient& client, std::string token) {
  AuthenticateQuery q;
  q.token = std::move(token);
  q.connection = {{"remote", "127.0.0.1:1"}};
  auto done = std::make_shared<absl::Notification>();
  auto result = std::make_shared<absl::StatusOr<Identity>>();
  client.Authenticate(std::move(q), [done, result](absl::StatusOr<Identity> r) {
    *result = std::move(r);
    done->Notify();
  });
  if (!done->WaitForNotificationWithTimeout(absl::Seconds(10))) {
    return absl::InternalError("no answer before the test deadline");
  }
  return *result;
}

// Meteor resume tokens from a users file shaped like Meteor's users
// collection (mongoexport style dates): hashed, legacy plaintext, expired,
// deactivated, unknown.
TEST_P(ExampleAuthorizerTest, MeteorResumeTokens) {
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const int64_t day_ms = 24 * 3600 * 1000;
  // base64(SHA-256(token)), as Meteor stores hashedToken.
  const std::string hashed_good =
      "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
  std::string users = absl::StrCat(
      R"([{"_id":"u1","services":{"resume":{"loginTokens":[)",
      R"({"hashedToken":")", hashed_good, R"(","when":{"$date":)", now_ms,
      "}},", R"({"token":"legacy-plain","when":{"$date":{"$numberLong":")",
      now_ms - day_ms, R"("}}},)", R"({"hashedToken":")",
      "y6BrVzb69n5UsHtWHq6UOV53TFF6fZEKVDaeEmPM+9Q=", R"(","when":")",
      "2001-01-01T00:00:00.000Z", R"("}]}}},)",
      R"({"_id":"banned","deactivated":true,"services":{"resume":{)",
      R"("loginTokens":[{"hashedToken":")",
      "e0ElJ0ifX/7evtaQtuxyUtWy9Mt1t+cePW6rbp0P6Yo=", R"(","when":)", now_ms,
      "}]}}}]");
  std::string file =
      ::testing::TempDir() + "/vent-users-" + GetParam().name + ".json";
  {
    FILE* f = fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fwrite(users.data(), 1, users.size(), f);
    fclose(f);
  }
  auto client = Start("", "", {"--users", file});
  ASSERT_NE(client, nullptr);
  auto good = Login(*client, "abc");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->user_id, "u1");
  EXPECT_EQ(absl::ToUnixMillis(good->expires_at), now_ms + 90 * day_ms);
  auto legacy = Login(*client, "legacy-plain");
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ(legacy->user_id, "u1");
  // "old" (hashed above) was issued in 2001: expired.
  auto old = Login(*client, "old");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->user_id, "");
  EXPECT_EQ(old->refusal, Identity::Refusal::kExpired);
  auto banned = Login(*client, "banned");
  ASSERT_TRUE(banned.ok()) << banned.status();
  EXPECT_EQ(banned->refusal, Identity::Refusal::kForbidden);
  auto unknown = Login(*client, "nope");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->user_id, "");
  EXPECT_EQ(unknown->refusal, Identity::Refusal::kUnknownToken);
  std::remove(file.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Examples, ExampleAuthorizerTest,
    ::testing::Values(Example{"node",
                              {"/usr/bin/node",
                               absl::StrCat(kExamples, "/node/authorizer.js")}},
                      Example{
                          "python",
                          {"/usr/bin/python3",
                           absl::StrCat(kExamples, "/python/authorizer.py")}}),
    [](const ::testing::TestParamInfo<Example>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace vent::auth
