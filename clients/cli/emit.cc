// `vent emit`: one event from the command line, or many from stdin (one JSON
// value per line) over EmitStream or EmitBatch, with progress on stderr.
#include <stdio.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "clients/cli/cli.h"
#include "vent/event/validate.h"

namespace vent::cli {
namespace {

// Local checks use the server's default rules without its size limits
// (vent-server may be configured larger; it has the last word).
event::Limits LocalLimits() {
  event::Limits l;
  l.max_channel = SIZE_MAX;
  l.max_payload = SIZE_MAX;
  return l;
}

void Err(const std::string& msg) {
  std::fprintf(stderr, "vent: %s\n", msg.c_str());
}

// Prints "N events sent (R/s)" to stderr every second until stopped.
class Progress {
 public:
  Progress(const std::atomic<int64_t>* sent, bool enabled)
      : sent_(sent), start_(absl::Now()) {
    if (enabled) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() { Stop(); }
  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    if (thread_.joinable()) thread_.join();
  }
  absl::Duration elapsed() const { return absl::Now() - start_; }

 private:
  void Loop() {
    while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      int64_t n = sent_->load(std::memory_order_relaxed);
      double secs = absl::ToDoubleSeconds(elapsed());
      std::fprintf(stderr, "vent: %lld events sent (%.0f/s)\n",
                   static_cast<long long>(n),
                   secs > 0 ? static_cast<double>(n) / secs : 0.0);
    }
  }
  const std::atomic<int64_t>* sent_;
  absl::Time start_;
  absl::Notification stop_;
  std::thread thread_;
};

// Reads stdin lines; returns false at EOF. `line_no` counts every line read.
bool NextEvent(FILE* in, std::string* json, int64_t* line_no) {
  char* buf = nullptr;
  size_t cap = 0;
  for (;;) {
    ssize_t n = getline(&buf, &cap, in);
    if (n < 0) {
      free(buf);
      return false;
    }
    ++*line_no;
    std::string_view line(buf, static_cast<size_t>(n));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.remove_suffix(1);
    if (absl::StripAsciiWhitespace(absl::string_view(line.data(), line.size()))
            .empty())
      continue;
    json->assign(line.data(), line.size());
    free(buf);
    return true;
  }
}

int EmitOne(const Args& args, Client& client) {
  const std::string& channel = args.positional[0];
  const std::string& json = args.positional[1];
  if (absl::Status s =
          event::ValidateJson(json, LocalLimits(), "JSON argument");
      !s.ok()) {
    Err(std::string(s.message()));
    return kInvalidInput;
  }
  auto r =
      client.Emit(channel, json, {.idempotency_key = args.idempotency_key});
  if (!r.ok()) {
    Err(absl::StrCat("emit failed (server ", args.server,
                     "): ", r.status().ToString()));
    return ExitCodeFor(r.status());
  }
  std::printf("{\"id\":\"%s\",\"receivers\":%lld,\"duplicate\":%s}\n",
              r->id.c_str(), static_cast<long long>(r->receivers),
              r->duplicate ? "true" : "false");
  return kOk;
}

struct Totals {
  int64_t published = 0;
  int64_t receivers = 0;
};

void Summary(const Args& args, const Totals& t, absl::Duration elapsed) {
  if (args.quiet) return;
  double secs = absl::ToDoubleSeconds(elapsed);
  std::fprintf(
      stderr,
      "vent: %lld events published to %s in %.2fs (%.0f/s), %lld receivers\n",
      static_cast<long long>(t.published), args.positional[0].c_str(), secs,
      secs > 0 ? static_cast<double>(t.published) / secs : 0.0,
      static_cast<long long>(t.receivers));
}

int EmitStdin(const Args& args, Client& client, FILE* in) {
  const std::string& channel = args.positional[0];
  std::atomic<int64_t> sent{0};
  Progress progress(&sent, !args.quiet);
  Totals totals;
  int64_t line_no = 0;
  std::string json;
  int code = kOk;
  std::string bad_input;

  if (args.batch) {
    std::vector<Event> batch;
    auto flush = [&]() -> absl::Status {
      if (batch.empty()) return absl::OkStatus();
      auto r = client.EmitBatch(batch);
      if (!r.ok()) return r.status();
      for (const auto& e : *r) totals.receivers += e.receivers;
      totals.published += static_cast<int64_t>(r->size());
      sent.fetch_add(static_cast<int64_t>(batch.size()),
                     std::memory_order_relaxed);
      batch.clear();
      return absl::OkStatus();
    };
    absl::Status s;
    while (s.ok() && NextEvent(in, &json, &line_no)) {
      if (absl::Status v = event::ValidateJson(
              json, LocalLimits(), absl::StrCat("stdin line ", line_no));
          !v.ok()) {
        bad_input = std::string(v.message());
        break;
      }
      batch.push_back({channel, json, ""});
      if (static_cast<int64_t>(batch.size()) >= args.batch_size) s = flush();
    }
    if (s.ok()) s = flush();  // events before a bad line are still sent
    progress.Stop();
    if (!s.ok()) {
      Err(absl::StrCat("emit batch failed after ", totals.published,
                       " events (server ", args.server, "): ", s.ToString()));
      code = ExitCodeFor(s);
    }
  } else {
    auto stream = client.OpenEmitStream();
    if (!stream.ok()) {
      Err(absl::StrCat("emit stream failed (server ", args.server,
                       "): ", stream.status().ToString()));
      return ExitCodeFor(stream.status());
    }
    while (NextEvent(in, &json, &line_no)) {
      if (absl::Status v = event::ValidateJson(
              json, LocalLimits(), absl::StrCat("stdin line ", line_no));
          !v.ok()) {
        bad_input = std::string(v.message());
        break;
      }
      if (!(*stream)->Write(channel, json).ok()) break;  // Finish() says why
      sent.fetch_add(1, std::memory_order_relaxed);
    }
    auto r =
        (*stream)->Finish();  // events before a bad line are still published
    progress.Stop();
    if (r.ok()) {
      totals.published = r->published;
      totals.receivers = r->receivers;
    } else {
      Err(absl::StrCat("emit stream failed after ", (*stream)->written(),
                       " events were sent (server ", args.server,
                       "): ", r.status().ToString()));
      code = ExitCodeFor(r.status());
    }
  }
  if (!bad_input.empty()) {
    Err(absl::StrCat(bad_input, " (events before it were sent)"));
    if (code == kOk) code = kInvalidInput;
  }
  if (code == kOk || !bad_input.empty())
    Summary(args, totals, progress.elapsed());
  return code;
}

}  // namespace

int RunEmit(const Args& args, Client& client, FILE* in) {
  if (absl::Status s =
          event::ValidateChannel(args.positional[0], LocalLimits(), "channel");
      !s.ok()) {
    Err(std::string(s.message()));
    return kInvalidInput;
  }
  return args.positional.size() == 2 ? EmitOne(args, client)
                                     : EmitStdin(args, client, in);
}

}  // namespace vent::cli
