// A set of benchmark Clients spread over io threads, started with a bounded
// number of handshakes in flight.
//
// Threading: Start/Totals/WaitSettled/Stop are called by one controlling
// thread. Per-client results (PerClient) are read only after Stop(), when the
// io threads have been joined.
#ifndef VENT_BENCH_VENT_BENCH_POOL_H_
#define VENT_BENCH_VENT_BENCH_POOL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "bench/vent_bench/client.h"
#include "bench/vent_bench/histogram.h"
#include "bench/vent_bench/runner.h"

namespace vent::bench {

struct PoolTotals {
  int64_t connected = 0, ready = 0, delivered = 0, failed = 0, dropped = 0,
          nosub = 0;
};

class ClientPool {
 public:
  explicit ClientPool(const BenchOptions& options);
  ~ClientPool();

  // Resolves the URL, creates the clients and starts the io threads.
  absl::Status Start();
  PoolTotals Totals() const;
  // Clients currently ready, per channel index (asks every io thread).
  std::vector<int64_t> ReadyPerChannel();
  // Joins the io threads (clients closed first). Idempotent.
  void Stop();

  // After Stop():
  Histogram MergedLatency() const;
  int64_t Duplicates() const;
  // For every client that reached ready: (channel index, unique events).
  struct ClientStat {
    int channel;
    int64_t unique;
    bool was_ready;
  };
  std::vector<ClientStat> PerClient() const;
  std::string FirstError() const;

 private:
  struct Thread {
    ThreadCtx ctx;
    std::vector<std::unique_ptr<Client>> clients;
    size_t next = 0;
    std::thread thread;
  };
  void StartNext(Thread& t);

  BenchOptions options_;
  std::vector<std::unique_ptr<Thread>> threads_;
  bool stopped_ = false;
};

}  // namespace vent::bench

#endif  // VENT_BENCH_VENT_BENCH_POOL_H_
