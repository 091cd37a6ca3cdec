// `vent listen`: prints every event published on the channels, one per line,
// until --count events, SIGINT/SIGTERM, or the end of the Subscribe call.
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/cli/cli.h"

namespace vent::cli {

int RunListen(const Args& args, Client& client) {
  // SIGINT/SIGTERM are blocked in main() before any thread starts; one thread
  // waits for them here so that the exit is orderly (Cancel, exit 0).
  absl::Mutex mu;
  bool interrupted = false;
  bool ended = false;
  bool enough = false;
  int64_t printed = 0;
  absl::Status end_status;

  auto on_event = [&](const ReceivedEvent& e) {
    {
      absl::MutexLock lock(&mu);
      if (enough) return;
    }
    std::string line;
    if (args.with_channel) absl::StrAppend(&line, e.channel, "\t");
    absl::StrAppend(&line, e.json, "\n");
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    absl::MutexLock lock(&mu);
    ++printed;
    if (args.count > 0 && printed >= args.count) enough = true;
  };
  auto on_done = [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    end_status = s;
    ended = true;
  };
  auto sub = client.Subscribe(args.positional, on_event, on_done);
  if (!sub.ok()) {
    std::fprintf(stderr, "vent: listen failed (server %s): %s\n",
                 args.server.c_str(), sub.status().ToString().c_str());
    return ExitCodeFor(sub.status());
  }
  std::fprintf(stderr, "vent: listening on %zu channel%s\n",
               args.positional.size(), args.positional.size() == 1 ? "" : "s");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  std::thread([&mu, &interrupted, set] {
    int sig = 0;
    sigwait(&set, &sig);
    absl::MutexLock lock(&mu);
    interrupted = true;
  }).detach();  // lives until the process exits

  bool failed = false;
  {
    absl::MutexLock lock(&mu);
    auto wake = [&]() { return interrupted || ended || enough; };
    mu.Await(absl::Condition(&wake));
    failed = ended && !interrupted && !enough;
  }
  (*sub)->Cancel();
  if (failed) {
    std::fprintf(stderr, "vent: listen ended (server %s): %s\n",
                 args.server.c_str(), end_status.ToString().c_str());
    return kServerError;
  }
  return kOk;
}

}  // namespace vent::cli
