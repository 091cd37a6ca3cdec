#include "bench/vent_bench/report.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vent::bench {

boost::json::object ToJson(const RunResult& r) {
  const BenchOptions& o = r.options;
  boost::json::object j;
  j["mode"] = r.mode;
  j["label"] = r.label;
  j["url"] = o.url;
  j["clients"] = o.clients;
  j["channels"] = o.channels;
  j["rate"] = o.rate;
  j["size"] = o.size;
  j["duration_s"] = absl::ToDoubleSeconds(o.duration);
  j["threads"] = o.threads;
  j["bridge_pid"] = r.bridge_pid;
  j["connect_seconds"] = r.connect_seconds;
  j["ready"] = r.ready;
  j["failed"] = r.failed;
  j["dropped"] = r.dropped;
  j["nosub"] = r.nosub;
  j["first_error"] = r.first_error;
  if (r.mode == "fanout") {
    j["via"] = o.via;
    j["published"] = r.published;
    j["publish_errors"] = r.publish_errors;
    j["published_per_s"] = r.published_per_s();
    j["expected"] = r.expected;
    j["delivered"] = r.delivered;
    j["delivered_per_s"] = r.delivered_per_s();
    j["lost"] = r.lost;
    j["duplicates"] = r.duplicates;
    j["latency_us"] = {{"p50", r.p50_us},
                       {"p99", r.p99_us},
                       {"p999", r.p999_us},
                       {"max", r.max_us}};
    j["bridge_cpu_seconds"] = r.bridge_cpu_seconds;
    j["bridge_cpu_s_per_million"] = r.bridge_cpu_per_million;
    j["bench_cpu_seconds"] = r.bench_cpu_seconds;
    j["bridge_rss_before"] = r.rss_before;
    j["bridge_rss_peak"] = r.rss_after;
    j["wall_seconds"] = r.publish_seconds;
  } else {
    j["bridge_rss_before"] = r.rss_before;
    j["bridge_rss_after"] = r.rss_after;
    j["bridge_bytes_per_connection"] = r.bytes_per_connection;
  }
  return j;
}

absl::Status WriteJson(const std::string& path,
                       const boost::json::value& value) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  f << boost::json::serialize(value) << "\n";
  return f ? absl::OkStatus()
           : absl::UnavailableError(absl::StrCat("write failed: ", path));
}

absl::Status AppendCsv(const std::string& path, const RunResult& r) {
  bool fresh = true;
  {
    std::ifstream in(path);
    fresh = !in || in.peek() == std::ifstream::traits_type::eof();
  }
  std::ofstream f(path, std::ios::app);
  if (!f) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  if (fresh) {
    f << "mode,label,clients,channels,rate,size,duration_s,ready,failed,"
         "dropped,published,"
         "published_per_s,delivered,delivered_per_s,lost,duplicates,p50_us,p99_"
         "us,p999_us,"
         "max_us,bridge_cpu_s_per_million,bridge_bytes_per_connection\n";
  }
  const BenchOptions& o = r.options;
  f << absl::StrFormat(
      "%s,%s,%d,%d,%d,%d,%.1f,%d,%d,%d,%d,%.0f,%d,%.0f,%d,%d,%.1f,%.1f,%.1f,%."
      "1f,%.3f,%.0f\n",
      r.mode, r.label, o.clients, o.channels, o.rate, o.size,
      absl::ToDoubleSeconds(o.duration), r.ready, r.failed, r.dropped,
      r.published, r.published_per_s(), r.delivered, r.delivered_per_s(),
      r.lost, r.duplicates, r.p50_us, r.p99_us, r.p999_us, r.max_us,
      r.bridge_cpu_per_million, r.bytes_per_connection);
  return f ? absl::OkStatus()
           : absl::UnavailableError(absl::StrCat("write failed: ", path));
}

std::string Table(const RunResult& r) {
  const BenchOptions& o = r.options;
  std::string t = absl::StrFormat(
      "\n%s%s: %d clients on %d channel(s), %s\n", r.mode,
      r.label.empty() ? "" : absl::StrCat(" [", r.label, "]"), o.clients,
      o.channels,
      r.mode == "fanout"
          ? absl::StrFormat("rate %s via %s, %d-byte events, %.0fs",
                            o.rate == 0 ? "max" : absl::StrCat(o.rate, "/s"),
                            o.via, o.size, absl::ToDoubleSeconds(o.duration))
          : absl::StrFormat("held %.0fs", absl::ToDoubleSeconds(o.duration)));
  auto row = [&t](const std::string& k, const std::string& v) {
    absl::StrAppendFormat(&t, "  %-28s %s\n", k, v);
  };
  row("ready / failed / dropped",
      absl::StrFormat("%d / %d / %d  (connect %.1fs)", r.ready, r.failed,
                      r.dropped, r.connect_seconds));
  if (r.mode == "fanout") {
    row("published", absl::StrFormat("%d (%.0f/s, %d errors)", r.published,
                                     r.published_per_s(), r.publish_errors));
    row("delivered",
        absl::StrFormat("%d of %d expected", r.delivered, r.expected));
    row("deliveries/s", absl::StrFormat("%.0f", r.delivered_per_s()));
    row("lost / duplicates", absl::StrFormat("%d / %d", r.lost, r.duplicates));
    row("latency p50/p99/p999/max",
        absl::StrFormat("%.2f / %.2f / %.2f / %.2f ms", r.p50_us / 1e3,
                        r.p99_us / 1e3, r.p999_us / 1e3, r.max_us / 1e3));
    row("bridge CPU s / M deliveries",
        r.bridge_cpu_per_million >= 0
            ? absl::StrFormat("%.3f (pid %d, %.2f CPU-s)",
                              r.bridge_cpu_per_million, r.bridge_pid,
                              r.bridge_cpu_seconds)
            : std::string("n/a (no local bridge pid)"));
    row("bridge RSS before / peak",
        absl::StrFormat("%.1f MiB / %.1f MiB", r.rss_before / 1048576.0,
                        r.rss_after / 1048576.0));
    row("load generator CPU",
        absl::StrFormat("%.2f CPU-s over %.2f s", r.bench_cpu_seconds,
                        r.publish_seconds));
  } else {
    row("bridge RSS before / after",
        absl::StrFormat("%.1f MiB / %.1f MiB", r.rss_before / 1048576.0,
                        r.rss_after / 1048576.0));
    row("bridge memory / connection",
        r.bytes_per_connection >= 0
            ? absl::StrFormat("%.0f bytes", r.bytes_per_connection)
            : std::string("n/a (no local bridge pid)"));
  }
  if (!r.first_error.empty())
    row("first client error", r.first_error.substr(0, 120));
  return t;
}

}  // namespace vent::bench
