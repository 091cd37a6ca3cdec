// vent-bench: load generator and measurement tool for a Vent deployment.
//
//   vent-bench fanout [--clients N --channels C --rate R --size S --duration D
//   ...] vent-bench idle   [--clients N --channels C --duration D ...]
//   vent-bench emit   [--grpc HOST:PORT --kind unary|batch|stream --concurrency
//   N ...]
//
// Prints a progress line every second on stderr, a table on stdout at the end,
// and writes JSON (--json FILE) and a CSV row (--csv FILE). Exit status 0 when
// the run completed (whatever the numbers), 1 on errors.
#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/emit/emit_load.h"
#include "bench/vent_bench/proc_stats.h"
#include "bench/vent_bench/report.h"
#include "bench/vent_bench/runner.h"
#include "grpcpp/grpcpp.h"
#include "vent/base/process_tuning.h"
#include "vent/config/options.h"

namespace vent::bench {
namespace {

struct EmitFlags {
  std::string grpc = "127.0.0.1:50051";
  std::string kind = "unary";
  int64_t concurrency = 64;
  int64_t batch = 100;
  int64_t events = 500000;
  std::string api_key;
};

int RunEmit(const BenchOptions& o, const EmitFlags& f,
            const std::string& json_path) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(
      f.grpc, grpc::InsecureChannelCredentials(), args);
  LoadSpec spec;
  spec.name =
      absl::StrCat(f.kind, "-", f.kind == "batch" ? f.batch : f.concurrency);
  spec.kind = f.kind == "batch"    ? LoadKind::kBatch
              : f.kind == "stream" ? LoadKind::kStream
                                   : LoadKind::kUnary;
  spec.concurrency = static_cast<int>(f.concurrency);
  spec.batch_size = static_cast<int>(f.batch);
  spec.max_events = f.events;
  spec.max_duration = o.duration;
  spec.api_key = f.api_key;
  std::string json = "{\"p\":\"";
  while (static_cast<int64_t>(json.size()) < o.size - 2) json.push_back('x');
  json += "\"}";
  spec.json = json;
  std::atomic<int64_t> progress{0};
  spec.progress = &progress;
  std::atomic<bool> done{false};
  std::thread printer([&] {
    int64_t last = 0;
    int secs = 0;
    while (!done.load()) {
      for (int i = 0; i < 20 && !done.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (done.load()) break;
      int64_t now = progress.load();
      std::fprintf(stderr, "[%4ds] %s: %lld events (%lld/s)\n", ++secs,
                   spec.name.c_str(), (long long)now, (long long)(now - last));
      last = now;
    }
  });
  LoadResult r = RunLoad(channel, spec);
  done.store(true);
  printer.join();
  // EmitStream has no per-event (or per-message) reply: no latency to show.
  const bool stream = spec.kind == LoadKind::kStream;
  std::printf(
      "\nemit %s: %lld events in %.2fs = %.0f events/s; calls %lld, errors "
      "%lld; %s\n",
      spec.name.c_str(), (long long)r.events, r.seconds, r.EventsPerSecond(),
      (long long)r.calls, (long long)r.errors,
      stream ? "no call latency (EmitStream replies once, at the end)"
             : absl::StrFormat("call latency p50 %.0f us p99 %.0f us", r.p50_us,
                               r.p99_us)
                   .c_str());
  if (!r.first_error.empty())
    std::printf("first error: %s\n", r.first_error.c_str());
  if (!json_path.empty()) {
    boost::json::object j{{"mode", "emit"},
                          {"label", o.label},
                          {"scenario", spec.name},
                          {"size", o.size},
                          {"events", r.events},
                          {"seconds", r.seconds},
                          {"events_per_s", r.EventsPerSecond()},
                          {"errors", r.errors},
                          {"p50_us", r.p50_us},
                          {"p99_us", r.p99_us}};
    if (stream) {
      j["p50_us"] = nullptr;
      j["p99_us"] = nullptr;
    }
    if (auto s = WriteJson(json_path, j); !s.ok())
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
  }
  return r.errors == 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  BenchOptions o;
  EmitFlags ef;
  std::string json_path, csv_path;
  config::OptionSet set(
      "vent-bench", "Benchmark a Vent deployment. Modes: fanout, idle, emit.");
  set.AllowPositional("MODE");
  set.String("url", &o.url, "bridge WebSocket URL (raw DDP)");
  set.String("redis", &o.redis, "Redis URL events are PUBLISHed to (fanout)");
  redis::RegisterTopologyFlags(set, &o.redis_topology);
  set.String(
      "via", &o.via,
      "fanout: publish through 'redis' (PUBLISH) or 'grpc' (Emit to --grpc)");
  set.Int("clients", &o.clients, "DDP clients");
  set.Int("channels", &o.channels,
          "channels; client i subscribes to channel i % C");
  set.Int("rate", &o.rate,
          "events/s published in total; 0 = as fast as possible");
  set.Int("size", &o.size, "event JSON size in bytes");
  set.Duration("duration", &o.duration,
               "publishing (fanout/emit) or holding (idle) time");
  set.Int("threads", &o.threads, "client io threads");
  set.List("source-addrs", &o.source_addrs,
           "local addresses to bind client sockets to, rotating every "
           "--connections-per-source connections (default: 127.0.0.1.. when "
           "needed)");
  set.Int("connections-per-source", &o.connections_per_source,
          "connections per source address");
  set.Int("bridge-pid", &o.bridge_pid,
          "bridge pid for CPU/memory (default: find by port)");
  set.Int("max-handshakes", &o.max_handshakes,
          "connection handshakes in flight");
  set.Int("max-inflight", &o.max_inflight, "unanswered PUBLISHes (fanout)");
  set.Duration("connect-timeout", &o.connect_timeout,
               "time allowed for all clients to be ready");
  set.Duration("drain-timeout", &o.drain_timeout,
               "fanout: wait this long for the tail after publishing; then "
               "undelivered = lost");
  set.String("label", &o.label, "name of this run in the outputs");
  set.String("json", &json_path, "write the result as JSON to this file");
  set.String("csv", &csv_path, "append the result as a CSV row to this file");
  set.String("grpc", &o.grpc,
             "vent-server gRPC address (emit, fanout --via grpc)");
  set.String("kind", &ef.kind, "emit RPC: unary, batch or stream");
  set.Int("concurrency", &ef.concurrency,
          "emit: calls (unary/batch) or streams in flight");
  set.Int("batch", &ef.batch,
          "emit: events per EmitBatch call or EmitStream message");
  set.Int("events", &ef.events, "emit: stop after this many events");
  set.Secret("api-key", &o.api_key,
             "vent-server API key (emit, fanout --via grpc)");
  auto parsed = set.Parse(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    return 2;
  }
  if (parsed->version) {
    std::cout << set.VersionLine() << "\n";
    return 0;
  }
  if (parsed->help || parsed->positional.size() != 1) {
    std::cout << set.Help();
    return parsed->help ? 0 : 2;
  }
  const std::string mode = parsed->positional[0];
  int64_t nofile = RaiseFileLimit();
  if (mode != "emit" && nofile >= 0 && nofile < o.clients + 64) {
    std::fprintf(stderr,
                 "open-file hard limit %lld is too low for --clients %lld "
                 "(+64): raise it "
                 "(ulimit -Hn, LimitNOFILE=) or split the clients over several "
                 "vent-bench "
                 "processes\n",
                 (long long)nofile, (long long)o.clients);
    return 2;
  }
  if (o.source_addrs.empty() && o.clients > o.connections_per_source &&
      o.url.rfind("ws://127.", 0) == 0) {
    for (int64_t i = 0; i * o.connections_per_source < o.clients; ++i) {
      o.source_addrs.push_back(absl::StrCat("127.0.0.", i + 1));
    }
  }
  if (o.via != "redis" && o.via != "grpc") {
    std::fprintf(stderr, "--via must be redis or grpc\n");
    return 2;
  }
  ef.grpc = o.grpc;
  ef.api_key = o.api_key;
  if (mode == "emit") return RunEmit(o, ef, json_path);
  absl::StatusOr<RunResult> r;
  if (mode == "fanout") {
    r = RunFanout(o);
  } else if (mode == "idle") {
    r = RunIdle(o);
  } else {
    std::fprintf(stderr, "unknown mode '%s' (fanout, idle, emit)\n",
                 mode.c_str());
    return 2;
  }
  if (!r.ok()) {
    std::fprintf(stderr, "vent-bench %s: %s\n", mode.c_str(),
                 r.status().ToString().c_str());
    return 1;
  }
  std::cout << Table(*r) << std::flush;
  if (!json_path.empty()) {
    if (auto s = WriteJson(json_path, ToJson(*r)); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (!csv_path.empty()) {
    if (auto s = AppendCsv(csv_path, *r); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace vent::bench

int main(int argc, char** argv) {
  vent::base::TuneProcessForServing();
  return vent::bench::Main(argc, argv);
}
