// vent: command-line client of vent-server (emit / listen). See cli.h for the
// exit codes and README.md for usage.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/cli/cli.h"
#include "vent/config/options.h"

int main(int argc, char** argv) {
  using namespace vent::cli;
  if (argc >= 2 && std::string(argv[1]) == "--version") {
    std::printf("vent %s\n", std::string(vent::config::Version()).c_str());
    return kOk;
  }
  // Commands that need no server.
  if (argc >= 3 && std::string(argv[1]) == "config" &&
      std::string(argv[2]) == "check") {
    return RunConfigCheck(std::vector<std::string>(argv + 3, argv + argc));
  }
  if (argc >= 2 && std::string(argv[1]) == "config") {
    std::fprintf(stderr, "vent: config: expected 'config check FILE'\n");
    return kUsage;
  }
  if (argc >= 2 && std::string(argv[1]) == "token") {
    return RunToken(std::vector<std::string>(argv + 2, argv + argc));
  }
  auto args = ParseArgs(
      argc, argv, [](const char* n) -> const char* { return std::getenv(n); });
  if (!args.ok()) {
    std::fprintf(stderr, "vent: %s\nTry 'vent --help'.\n",
                 std::string(args.status().message()).c_str());
    return kUsage;
  }
  if (args->help) {
    std::fputs(Usage().c_str(), stdout);
    return kOk;
  }
  auto options = MakeClientOptions(*args);
  if (!options.ok()) {
    std::fprintf(stderr, "vent: %s\n",
                 std::string(options.status().message()).c_str());
    return kUsage;
  }
  // Block SIGINT/SIGTERM in every thread (gRPC's included) so `listen` can
  // sigwait() for them (emit keeps the default actions).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (args->command == "listen") pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto client = vent::Client::Connect(*options);
  if (!client.ok()) {
    std::fprintf(stderr, "vent: %s\n", client.status().ToString().c_str());
    return kUsage;
  }
  if (args->command == "emit") return RunEmit(*args, **client, stdin);
  return RunListen(*args, **client);
}
