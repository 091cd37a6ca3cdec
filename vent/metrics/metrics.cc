#include "vent/metrics/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace vent::metrics {
namespace {

std::string RenderLabels(const Labels& labels, const std::string& extra = "") {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels)
    parts.push_back(
        absl::StrCat(k, "=\"", Registry::EscapeLabelValue(v), "\""));
  if (!extra.empty()) parts.push_back(extra);
  if (parts.empty()) return "";
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

// Inserts `extra` (like le="0.1") into an already rendered label set.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return absl::StrCat("{", extra, "}");
  return absl::StrCat(rendered.substr(0, rendered.size() - 1), ",", extra, "}");
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

void Histogram::Snapshot(std::vector<uint64_t>* cumulative, double* sum,
                         uint64_t* count) const {
  cumulative->clear();
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    cumulative->push_back(acc);
  }
  *count = acc;
  *sum = sum_.load(std::memory_order_relaxed);
}

std::string Registry::EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string Registry::FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest round-trip digits (C++17 to_chars), then the layout.
  auto r =
      std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e = sci.find('e');
  const int exp = e == std::string::npos ? 0 : std::atoi(sci.c_str() + e + 1);
  if (exp < -4 || exp >= 21) return sci;
  r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::vector<double> Registry::LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
}

size_t Registry::FindOrAdd(const std::string& name, const std::string& help,
                           Type type, const Labels& labels, bool* added) {
  Family& fam = families_[name];
  if (fam.by_labels.empty()) {
    fam.help = help;
    fam.type = type;
  }
  std::string rendered = RenderLabels(labels);
  auto it = fam.by_labels.find(rendered);
  if (it != fam.by_labels.end()) {
    *added = false;
    return it->second;
  }
  *added = true;
  Series s;
  s.name = name;
  s.labels = rendered;
  s.type = type;
  series_.push_back(std::move(s));
  fam.by_labels[rendered] = series_.size() - 1;
  return series_.size() - 1;
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              Labels labels) {
  absl::MutexLock lock(&mu_);
  bool added;
  size_t i = FindOrAdd(name, help, Type::kCounter, labels, &added);
  if (added) series_[i].counter = &counters_.emplace_back();
  return series_[i].counter;
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help,
                          Labels labels) {
  absl::MutexLock lock(&mu_);
  bool added;
  size_t i = FindOrAdd(name, help, Type::kGauge, labels, &added);
  if (added) series_[i].gauge = &gauges_.emplace_back();
  return series_[i].gauge;
}

Histogram* Registry::GetHistogram(const std::string& name,
                                  const std::string& help,
                                  std::vector<double> bounds, Labels labels) {
  absl::MutexLock lock(&mu_);
  bool added;
  size_t i = FindOrAdd(name, help, Type::kHistogram, labels, &added);
  if (added) {
    series_[i].histogram =
        histograms_.emplace_back(std::make_unique<Histogram>(std::move(bounds)))
            .get();
  }
  return series_[i].histogram;
}

void Registry::AddCallbackGauge(const std::string& name,
                                const std::string& help,
                                std::function<double()> fn) {
  absl::MutexLock lock(&mu_);
  bool added;
  size_t i = FindOrAdd(name, help, Type::kCallback, {}, &added);
  series_[i].callback = std::move(fn);
}

void Registry::AddCallbackCounter(const std::string& name,
                                  const std::string& help,
                                  std::function<double()> fn) {
  absl::MutexLock lock(&mu_);
  bool added;
  size_t i = FindOrAdd(name, help, Type::kCallbackCounter, {}, &added);
  series_[i].callback = std::move(fn);
}

std::string Registry::Render() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    const char* type =
        fam.type == Type::kCounter || fam.type == Type::kCallbackCounter
            ? "counter"
        : fam.type == Type::kHistogram ? "histogram"
                                       : "gauge";
    absl::StrAppend(&out, "# HELP ", name, " ", fam.help, "\n# TYPE ", name,
                    " ", type, "\n");
    for (const auto& [labels, idx] : fam.by_labels) {
      const Series& s = series_[idx];
      switch (s.type) {
        case Type::kCounter:
          absl::StrAppend(&out, name, labels, " ", s.counter->value(), "\n");
          break;
        case Type::kGauge:
          absl::StrAppend(&out, name, labels, " ", s.gauge->value(), "\n");
          break;
        case Type::kCallback:
        case Type::kCallbackCounter:
          absl::StrAppend(&out, name, labels, " ", FormatDouble(s.callback()),
                          "\n");
          break;
        case Type::kHistogram: {
          std::vector<uint64_t> cum;
          double sum;
          uint64_t count;
          s.histogram->Snapshot(&cum, &sum, &count);
          const auto& b = s.histogram->bounds();
          for (size_t i = 0; i <= b.size(); ++i) {
            std::string le = i < b.size() ? FormatDouble(b[i]) : "+Inf";
            absl::StrAppend(&out, name, "_bucket",
                            WithLabel(labels, absl::StrCat("le=\"", le, "\"")),
                            " ", cum[i], "\n");
          }
          absl::StrAppend(&out, name, "_sum", labels, " ", FormatDouble(sum),
                          "\n");
          absl::StrAppend(&out, name, "_count", labels, " ", count, "\n");
          break;
        }
      }
    }
  }
  return out;
}

void RegisterProcessMetrics(Registry& registry) {
  registry.AddCallbackGauge("process_resident_memory_bytes",
                            "Resident memory size in bytes.", [] {
                              std::ifstream f("/proc/self/statm");
                              long pages_total = 0, pages_resident = 0;
                              f >> pages_total >> pages_resident;
                              return static_cast<double>(pages_resident) *
                                     static_cast<double>(sysconf(_SC_PAGESIZE));
                            });
  registry.AddCallbackCounter(
      "process_cpu_seconds_total", "User and system CPU time in seconds.", [] {
        std::ifstream f("/proc/self/stat");
        std::string content((std::istreambuf_iterator<char>(f)),
                            std::istreambuf_iterator<char>());
        size_t paren = content.rfind(')');
        if (paren == std::string::npos) return 0.0;
        std::vector<std::string> fields =
            absl::StrSplit(content.substr(paren + 2), ' ');
        // After "pid (comm) ", field 0 is state; utime/stime are fields 11
        // and 12.
        if (fields.size() < 13) return 0.0;
        double ticks = std::stod(fields[11]) + std::stod(fields[12]);
        return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
      });
  registry.AddCallbackGauge("process_open_fds",
                            "Number of open file descriptors.", [] {
                              double n = 0;
                              if (DIR* d = opendir("/proc/self/fd")) {
                                while (readdir(d) != nullptr) ++n;
                                closedir(d);
                                n -= 2;  // . and ..
                              }
                              return n;
                            });
}

}  // namespace vent::metrics
