// The `vent` command-line tool: emit events and listen to channels through
// vent-server (see clients/cli/README.md for usage).
//
// Exit codes (the contract scripts rely on):
//   0  success
//   1  server or transport error; the message names the gRPC code and carries
//      the server's message ("UNAVAILABLE: ...")
//   2  usage error (unknown option, missing argument, bad option value)
//   3  invalid input: a JSON argument or stdin line that is not valid JSON
//      (the message gives the line number), an invalid channel, or an event
//      the server refused with INVALID_ARGUMENT
#ifndef VENT_CLIENTS_CLI_CLI_H_
#define VENT_CLIENTS_CLI_CLI_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/cpp/vent_client.h"

namespace vent::cli {

enum ExitCode : int {
  kOk = 0,
  kServerError = 1,
  kUsage = 2,
  kInvalidInput = 3
};

struct Args {
  // Global.
  std::string server = "127.0.0.1:50051";  // --server, $VENT_SERVER
  std::string api_key;                     // --api-key, $VENT_API_KEY
  absl::Duration timeout = absl::Seconds(10);
  bool tls = false;    // --tls (system roots)
  std::string tls_ca;  // --tls-ca FILE
  bool help = false;
  std::string command;                  // "emit" | "listen" | "" (none)
  std::vector<std::string> positional;  // after the command
  // emit.
  bool batch = false;
  int64_t batch_size = 1000;
  std::string idempotency_key;
  bool quiet = false;
  // listen.
  bool with_channel = false;
  int64_t count = 0;  // 0 = until interrupted
};

// Parses argv (options may come before or after the command; "--" ends
// options). `getenv` supplies VENT_SERVER / VENT_API_KEY defaults. Errors are
// usage errors (exit 2) with a one-line message.
absl::StatusOr<Args> ParseArgs(int argc, const char* const* argv,
                               const char* (*getenv_fn)(const char*));

// Full help text.
std::string Usage();

// Builds client options from the global flags (reads --tls-ca).
absl::StatusOr<ClientOptions> MakeClientOptions(const Args& args);

// Maps a failed call's status to an exit code: INVALID_ARGUMENT -> 3, else 1.
int ExitCodeFor(const absl::Status& s);

// `vent config check FILE` / `vent token ...` (clients/cli/tools.cc): args
// are those after the command words.
std::string ToolsUsage();
int RunConfigCheck(const std::vector<std::string>& args);
int RunToken(const std::vector<std::string>& args);

// `vent emit`: reads events from `in` when no JSON argument is given.
int RunEmit(const Args& args, Client& client, FILE* in);
// `vent listen`: until --count events, SIGINT/SIGTERM, or the call ends.
int RunListen(const Args& args, Client& client);

}  // namespace vent::cli

#endif  // VENT_CLIENTS_CLI_CLI_H_
