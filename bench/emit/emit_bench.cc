// vent-emit-bench: measures vent-server's emit throughput (unary Emit at
// several concurrencies, EmitBatch, EmitStream) and compares each with a
// Redis PUBLISH baseline measured by the caller (bench/emit/run.sh runs
// redis-benchmark in the same session and passes its rate in). Prints
// progress on stderr, a table on stdout, and writes JSON to --out.
//
//   vent-emit-bench --target 127.0.0.1:50051 --baseline-publish-rps 812345
//       --out bench/results/emit.json
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/emit/emit_load.h"
#include "boost/json.hpp"
#include "vent/base/process_tuning.h"
#include "vent/config/options.h"

namespace vent::bench {
namespace {

struct Flags {
  std::string target = "127.0.0.1:50051";
  std::string api_key;
  std::string channel = "bench::emit";
  std::string json =
      R"({"type":"new_message","thread":"t1","user":"u42","text":"hello from the emit benchmark","n":12345})";
  int64_t events = 500000;
  absl::Duration max_duration = absl::Seconds(10);
  std::vector<std::string> scenarios = {"unary-c1",  "unary-c16",  "unary-c64",
                                        "batch-100", "batch-1000", "stream-1",
                                        "stream-4",  "stream-1x1"};
  int64_t batch_concurrency = 4;
  std::string baseline_rps;         // redis-benchmark PUBLISH -P 64, requests/s
  std::string baseline_nopipe_rps;  // redis-benchmark PUBLISH -P 1, requests/s
  std::string baseline_command;
  std::string out;
  int64_t stream_batch = 100;
};

// "unary-c16" -> unary, 16 callers; "batch-100" -> batches of 100; "stream-4"
// -> 4 streams of --stream-batch events per message; "stream-4x1" -> 4 streams,
// 1 event per message.
bool ParseScenario(const std::string& name, const Flags& f, LoadSpec* spec) {
  int n = 0;
  spec->name = name;
  spec->channel = f.channel;
  spec->json = f.json;
  spec->api_key = f.api_key;
  spec->max_events = f.events;
  spec->max_duration = f.max_duration;
  if (name.rfind("unary-c", 0) == 0 && absl::SimpleAtoi(name.substr(7), &n) &&
      n > 0) {
    spec->kind = LoadKind::kUnary;
    spec->concurrency = n;
    return true;
  }
  if (name.rfind("batch-", 0) == 0 && absl::SimpleAtoi(name.substr(6), &n) &&
      n > 0) {
    spec->kind = LoadKind::kBatch;
    spec->batch_size = n;
    spec->concurrency = static_cast<int>(f.batch_concurrency);
    return true;
  }
  if (name.rfind("stream-", 0) == 0) {
    std::string rest = name.substr(7);
    int per_message = static_cast<int>(f.stream_batch);
    if (size_t x = rest.find('x'); x != std::string::npos) {
      if (!absl::SimpleAtoi(rest.substr(x + 1), &per_message) ||
          per_message <= 0)
        return false;
      rest.resize(x);
    }
    if (!absl::SimpleAtoi(rest, &n) || n <= 0 || per_message <= 0) return false;
    spec->kind = LoadKind::kStream;
    spec->concurrency = n;
    spec->batch_size = per_message;
    return true;
  }
  return false;
}

std::string Describe(const LoadSpec& s) {
  switch (s.kind) {
    case LoadKind::kUnary:
      return absl::StrFormat("Emit, %d concurrent callers", s.concurrency);
    case LoadKind::kBatch:
      return absl::StrFormat("EmitBatch of %d, %d in flight", s.batch_size,
                             s.concurrency);
    case LoadKind::kStream:
      return absl::StrFormat("EmitStream, %d stream(s) x %d/msg", s.concurrency,
                             s.batch_size);
  }
  return "";
}

// Prints "  name: N events, R/s" every 2 s until stopped.
class Progress {
 public:
  explicit Progress(const std::string& name)
      : name_(name), thread_([this] { Loop(); }) {}
  ~Progress() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }
  std::atomic<int64_t>* counter() { return &count_; }

 private:
  void Loop() {
    const absl::Time t0 = absl::Now();
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(2))) {
      const double s = absl::ToDoubleSeconds(absl::Now() - t0);
      const int64_t n = count_.load();
      std::fprintf(stderr, "  %-11s %10lld events  %10.0f/s\n", name_.c_str(),
                   static_cast<long long>(n), n / s);
    }
  }
  const std::string name_;
  std::atomic<int64_t> count_{0};
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

int Main(int argc, char** argv) {
  Flags f;
  config::OptionSet opts("vent-emit-bench",
                         "Emit throughput load generator for vent-server.");
  opts.String("target", &f.target, "vent-server gRPC address");
  opts.Secret("api-key", &f.api_key, "API key (authorization: Bearer KEY)");
  opts.String("channel", &f.channel, "Redis channel to emit on");
  opts.String("payload", &f.json, "event JSON text");
  opts.Int("events", &f.events, "events per scenario (upper bound)");
  opts.Duration("max-time", &f.max_duration, "time limit per scenario");
  opts.List("scenarios", &f.scenarios,
            "unary-cN, batch-N, stream-N[xM] (comma separated)");
  opts.Int("batch-concurrency", &f.batch_concurrency,
           "EmitBatch calls in flight");
  opts.Int("stream-batch", &f.stream_batch,
           "events per EmitStream message (stream-N)");
  opts.String("baseline-publish-rps", &f.baseline_rps,
              "redis-benchmark PUBLISH rate, -P 64");
  opts.String("baseline-nopipe-rps", &f.baseline_nopipe_rps,
              "redis-benchmark PUBLISH rate, -P 1");
  opts.String("baseline-command", &f.baseline_command,
              "the redis-benchmark command (for the JSON)");
  opts.String("out", &f.out, "write results as JSON to this file");
  auto parsed = opts.Parse(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->version) {
    std::printf("%s\n", opts.VersionLine().c_str());
    return 0;
  }
  if (parsed->help) {
    std::printf("%s", opts.Help().c_str());
    return 0;
  }
  double baseline = 0, baseline_nopipe = 0;
  if (!f.baseline_rps.empty() && !absl::SimpleAtod(f.baseline_rps, &baseline)) {
    std::fprintf(stderr, "--baseline-publish-rps: not a number: %s\n",
                 f.baseline_rps.c_str());
    return 2;
  }
  if (!f.baseline_nopipe_rps.empty() &&
      !absl::SimpleAtod(f.baseline_nopipe_rps, &baseline_nopipe)) {
    std::fprintf(stderr, "--baseline-nopipe-rps: not a number\n");
    return 2;
  }
  std::vector<LoadSpec> specs;
  for (const auto& name : f.scenarios) {
    LoadSpec s;
    if (!ParseScenario(name, f, &s)) {
      std::fprintf(
          stderr, "unknown scenario %s (use unary-cN, batch-N, stream-N[xM])\n",
          name.c_str());
      return 2;
    }
    specs.push_back(s);
  }

  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(
      f.target, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(
          absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    std::fprintf(stderr, "cannot connect to %s\n", f.target.c_str());
    return 1;
  }
  {  // Warm-up: connection, server threads, Redis connection.
    LoadSpec warm;
    ParseScenario("unary-c16", f, &warm);
    warm.max_events = 2000;
    LoadResult w = RunLoad(channel, warm);
    if (w.errors > 0) {
      std::fprintf(stderr, "warm-up failed: %s\n", w.first_error.c_str());
      return 1;
    }
  }

  std::vector<LoadResult> results;
  int failures = 0;
  for (auto& spec : specs) {
    std::fprintf(stderr, "== %s (%s), up to %lld events / %s\n",
                 spec.name.c_str(), Describe(spec).c_str(),
                 static_cast<long long>(spec.max_events),
                 absl::FormatDuration(spec.max_duration).c_str());
    LoadResult r;
    {
      Progress progress(spec.name);
      spec.progress = progress.counter();
      r = RunLoad(channel, spec);
      spec.progress = nullptr;
    }
    std::fprintf(stderr, "   %s: %lld events in %.2f s = %.0f events/s%s%s\n",
                 spec.name.c_str(), static_cast<long long>(r.events), r.seconds,
                 r.EventsPerSecond(), r.errors ? ", ERROR: " : "",
                 r.first_error.c_str());
    if (r.errors) ++failures;
    results.push_back(r);
  }

  // Table.
  std::printf("\nvent-server emit throughput (payload %zu bytes, %u CPUs)\n",
              f.json.size(), std::thread::hardware_concurrency());
  if (baseline > 0) {
    std::printf("baseline: redis-benchmark PUBLISH -P 64: %.0f/s", baseline);
    if (baseline_nopipe > 0) std::printf("; -P 1: %.0f/s", baseline_nopipe);
    std::printf("\n");
  }
  std::printf("%-11s %-34s %10s %8s %12s %9s %9s %9s %6s\n", "scenario", "what",
              "events", "secs", "events/s", "vs P64", "p50 ms", "p99 ms",
              "errors");
  boost::json::array jscen;
  for (size_t i = 0; i < specs.size(); ++i) {
    const LoadSpec& s = specs[i];
    const LoadResult& r = results[i];
    const double rate = r.EventsPerSecond();
    const double ratio = baseline > 0 ? rate / baseline : 0;
    // EmitStream has no per-event (or per-message) reply: no latency to show.
    const bool stream = s.kind == LoadKind::kStream;
    std::printf(
        "%-11s %-34s %10lld %8.2f %12.0f %8.3fx %9s %9s %6lld\n",
        s.name.c_str(), Describe(s).c_str(), static_cast<long long>(r.events),
        r.seconds, rate, ratio,
        stream ? "n/a" : absl::StrFormat("%.3f", r.p50_us / 1000).c_str(),
        stream ? "n/a" : absl::StrFormat("%.3f", r.p99_us / 1000).c_str(),
        static_cast<long long>(r.errors));
    boost::json::object o;
    o["name"] = s.name;
    o["what"] = Describe(s);
    o["kind"] = s.kind == LoadKind::kUnary   ? "unary"
                : s.kind == LoadKind::kBatch ? "batch"
                                             : "stream";
    o["concurrency"] = s.concurrency;
    o["batch_size"] = s.batch_size;
    o["events"] = r.events;
    o["seconds"] = r.seconds;
    o["events_per_sec"] = rate;
    o["ratio_to_redis_publish_p64"] = ratio;
    o["ratio_to_redis_publish_p1"] =
        baseline_nopipe > 0 ? rate / baseline_nopipe : 0;
    if (stream) {
      o["latency_p50_ms"] = nullptr;
      o["latency_p99_ms"] = nullptr;
    } else {
      o["latency_p50_ms"] = r.p50_us / 1000;
      o["latency_p99_ms"] = r.p99_us / 1000;
    }
    o["errors"] = r.errors;
    o["first_error"] = r.first_error;
    jscen.push_back(std::move(o));
  }
  if (!f.out.empty()) {
    boost::json::object root;
    root["tool"] = "vent-emit-bench";
    root["time"] = absl::FormatTime(absl::Now(), absl::UTCTimeZone());
    root["cpus"] = std::thread::hardware_concurrency();
    root["target"] = f.target;
    root["payload_bytes"] = f.json.size();
    root["max_events_per_scenario"] = f.events;
    root["max_seconds_per_scenario"] = absl::ToDoubleSeconds(f.max_duration);
    boost::json::object b;
    b["redis_benchmark_publish_p64_rps"] = baseline;
    b["redis_benchmark_publish_p1_rps"] = baseline_nopipe;
    b["command"] = f.baseline_command;
    root["baseline"] = std::move(b);
    root["scenarios"] = std::move(jscen);
    std::ofstream out(f.out);
    out << boost::json::serialize(root) << "\n";
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", f.out.c_str());
      return 1;
    }
    std::fprintf(stderr, "wrote %s\n", f.out.c_str());
  }
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace vent::bench

int main(int argc, char** argv) {
  // The load generator shares the CPUs with the server: same settings.
  vent::base::TuneProcessForServing();
  return vent::bench::Main(argc, argv);
}
