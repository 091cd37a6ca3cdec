// Prometheus metrics: counters, gauges and histograms, rendered in the text
// exposition format (version 0.0.4).
//
// Thread-safety: registration (GetCounter, GetGauge, GetHistogram,
// AddCallbackGauge, AddCallbackCounter) takes a lock and is meant for
// start-up; the returned objects are owned by the Registry, live as long as
// it, and are updated lock-free (relaxed atomics) from any thread.
// On hot paths, add in batches (one Add per batch, not per message).
#ifndef VENT_METRICS_METRICS_H_
#define VENT_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace vent::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Cumulative histogram with fixed upper bounds (seconds, bytes, ...).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Snapshot: per-bucket cumulative counts (bounds.size()+1 with +Inf), sum,
  // count.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum,
                uint64_t* count) const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Same name + labels returns the same object. `help` is taken from the
  // first registration of a name.
  Counter* GetCounter(const std::string& name, const std::string& help,
                      Labels labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help,
                  Labels labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, Labels labels = {});
  // A gauge computed at scrape time (e.g. resident memory). Called under the
  // registry lock from the scraping thread; must be cheap and thread-safe.
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> fn);
  // The same for a value that only grows (typed counter, e.g. CPU seconds).
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::function<double()> fn);

  // How a float sample (or bucket bound) is written: the shortest text that
  // reads back as the same double (full precision, never rounded to a few
  // digits), plain decimal for exponents -4..20 ("0.0001", "12345.678",
  // "18874368") and scientific otherwise ("1e-07", "1.5e+21"); "NaN",
  // "+Inf", "-Inf".
  static std::string FormatDouble(double v);
  // A label value escaped for the text format: \ -> \\, " -> \", newline
  // -> \n.
  static std::string EscapeLabelValue(const std::string& v);

  // The whole registry in Prometheus text format.
  std::string Render() const;

  // Latency buckets in seconds (100 us .. 10 s).
  static std::vector<double> LatencyBounds();

 private:
  enum class Type { kCounter, kGauge, kHistogram, kCallback, kCallbackCounter };
  struct Family {
    std::string help;
    Type type;
    std::map<std::string, size_t> by_labels;  // rendered labels -> index
  };
  struct Series {
    std::string name;
    std::string labels;  // rendered: {a="b",c="d"} or ""
    Type type;
    Counter* counter = nullptr;
    Gauge* gauge = nullptr;
    Histogram* histogram = nullptr;
    std::function<double()> callback;
  };
  size_t FindOrAdd(const std::string& name, const std::string& help, Type type,
                   const Labels& labels, bool* added)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
  std::vector<Series> series_ ABSL_GUARDED_BY(mu_);
  std::deque<Counter> counters_ ABSL_GUARDED_BY(mu_);
  std::deque<Gauge> gauges_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Histogram>> histograms_ ABSL_GUARDED_BY(mu_);
};

// Standard process metrics read from /proc: process_resident_memory_bytes
// and process_open_fds (gauges), process_cpu_seconds_total (counter).
void RegisterProcessMetrics(Registry& registry);

}  // namespace vent::metrics

#endif  // VENT_METRICS_METRICS_H_
