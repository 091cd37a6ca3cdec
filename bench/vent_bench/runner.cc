#include "bench/vent_bench/runner.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/vent_bench/pool.h"
#include "bench/vent_bench/proc_stats.h"
#include "grpcpp/grpcpp.h"
#include "vent/redis/publisher.h"
#include "vent/redis/url.h"
#include "vent/v1/vent.grpc.pb.h"

namespace vent::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

pid_t ResolveBridgePid(const BenchOptions& o) {
  if (o.bridge_pid > 0) return static_cast<pid_t>(o.bridge_pid);
  // ws://host:port/...: only meaningful when the bridge runs here.
  std::string rest = o.url.substr(
      o.url.find("://") == std::string::npos ? 0 : o.url.find("://") + 3);
  std::string hostport = rest.substr(0, rest.find('/'));
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return 0;
  int port = std::atoi(hostport.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return 0;
  return FindPidListeningOn(static_cast<uint16_t>(port));
}

void PrintProgress(double t, const PoolTotals& s, int64_t published,
                   int64_t last_delivered, double dt) {
  std::fprintf(stderr,
               "[%6.1fs] connected %lld ready %lld failed %lld dropped %lld | "
               "published %lld "
               "delivered %lld (%.0f/s)\n",
               t, (long long)s.connected, (long long)s.ready,
               (long long)s.failed, (long long)s.dropped, (long long)published,
               (long long)s.delivered,
               dt > 0 ? (s.delivered - last_delivered) / dt : 0.0);
}

// Connects every client; returns when all settled or the deadline passed.
absl::Status ConnectAll(ClientPool& pool, const BenchOptions& o, RunResult& r) {
  auto start = Clock::now();
  if (auto s = pool.Start(); !s.ok()) return s;
  auto last = Clock::now();
  while (true) {
    PoolTotals s = pool.Totals();
    if (s.ready + s.failed >= o.clients) break;
    if (SecondsSince(start) > absl::ToDoubleSeconds(o.connect_timeout)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (SecondsSince(last) >= 1.0) {
      PrintProgress(SecondsSince(start), s, 0, s.delivered, 0);
      last = Clock::now();
    }
  }
  r.connect_seconds = SecondsSince(start);
  PoolTotals s = pool.Totals();
  r.ready = s.ready;
  std::fprintf(stderr, "connected: %lld ready, %lld failed in %.1fs\n",
               (long long)s.ready, (long long)s.failed, r.connect_seconds);
  if (s.ready == 0) {
    return absl::UnavailableError(absl::StrCat(
        "no client became ready; first error: ", pool.FirstError()));
  }
  return absl::OkStatus();
}

// Publishes through Redis on its own io thread; see RunFanout's contract.
class Load {
 public:
  Load(const BenchOptions& o, redis::Options ro) : o_(o) {
    ro.client_name = "vent-bench";
    ro.max_pending =
        static_cast<size_t>(std::max<int64_t>(o.max_inflight * 2, 1000));
    publisher_ = std::make_unique<redis::Publisher>(io_, ro);
    if (o.via == "grpc") {
      stub_ = v1::Vent::NewStub(
          grpc::CreateChannel(o.grpc, grpc::InsecureChannelCredentials()));
    }
    int64_t c = std::max<int64_t>(1, o.channels);
    seqs_.assign(static_cast<size_t>(c), 0);
    for (int64_t i = 0; i < c; ++i)
      names_.push_back(absl::StrCat("bench::c", i));
  }
  ~Load() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  absl::Status Connect() {
    if (stub_ != nullptr) {
      thread_ = std::thread([this] {
        auto guard = boost::asio::make_work_guard(io_);
        io_.run();
      });
      return absl::OkStatus();
    }
    publisher_->Start();
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
    auto start = Clock::now();
    while (!publisher_->connected()) {
      if (SecondsSince(start) > 5) {
        return absl::UnavailableError(
            absl::StrCat("redis: ", publisher_->last_error().ToString()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::OkStatus();
  }
  void Begin() {
    boost::asio::post(io_, [this] {
      start_ = Clock::now();
      Tick();
    });
  }
  void End() { stop_.store(true); }
  bool Quiet() const { return inflight_.load() == 0; }
  int64_t published() const {
    return published_.load(std::memory_order_relaxed);
  }
  int64_t errors() const { return errors_.load(); }
  // Only after Quiet() and End(): per-channel count of issued events.
  const std::vector<int64_t>& seqs() const { return seqs_; }
  std::string first_error() {
    absl::MutexLock l(&mu_);
    return first_error_;
  }

 private:
  void Tick() {
    if (stop_.load()) return;
    Issue();
    timer_.expires_after(o_.rate > 0 ? std::chrono::microseconds(1000)
                                     : std::chrono::microseconds(200));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }
  void Issue() {
    int64_t target = INT64_MAX;
    if (o_.rate > 0) {
      target = static_cast<int64_t>(SecondsSince(start_) *
                                    static_cast<double>(o_.rate));
    }
    while (issued_ < target &&
           inflight_.load(std::memory_order_relaxed) < o_.max_inflight &&
           !stop_.load(std::memory_order_relaxed)) {
      size_t ch =
          static_cast<size_t>(issued_ % static_cast<int64_t>(seqs_.size()));
      int64_t seq = seqs_[ch]++;
      ++issued_;
      int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        Clock::now().time_since_epoch())
                        .count();
      std::string msg = absl::StrCat("{\"vb\":[", now, ",", seq, "],\"p\":\"");
      int64_t pad = o_.size - static_cast<int64_t>(msg.size()) - 2;
      if (pad > 0) msg.append(static_cast<size_t>(pad), 'x');
      msg += "\"}";
      inflight_.fetch_add(1, std::memory_order_relaxed);
      if (stub_ != nullptr) {
        EmitViaGrpc(names_[ch], std::move(msg));
        continue;
      }
      publisher_->Publish(names_[ch], std::move(msg),
                          [this](absl::StatusOr<int64_t> r) {
                            Done(r.status());
                            if (o_.rate == 0) Issue();
                          });
    }
  }

  // Any thread: one publish/emit finished.
  void Done(const absl::Status& st) {
    inflight_.fetch_sub(1, std::memory_order_relaxed);
    if (st.ok()) {
      published_.fetch_add(1, std::memory_order_relaxed);
    } else if (errors_.fetch_add(1) == 0) {
      absl::MutexLock l(&mu_);
      first_error_ = st.ToString();
    }
  }
  void EmitViaGrpc(const std::string& channel, std::string json) {
    struct Call {
      grpc::ClientContext ctx;
      v1::EmitRequest req;
      v1::EmitResponse resp;
    };
    auto* call = new Call;
    if (!o_.api_key.empty())
      call->ctx.AddMetadata("authorization", "Bearer " + o_.api_key);
    call->ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
    call->req.mutable_event()->set_channel(channel);
    call->req.mutable_event()->set_json(std::move(json));
    stub_->async()->Emit(
        &call->ctx, &call->req, &call->resp, [this, call](grpc::Status st) {
          Done(st.ok() ? absl::OkStatus()
                       : absl::Status(
                             static_cast<absl::StatusCode>(st.error_code()),
                             st.error_message()));
          delete call;
          if (o_.rate == 0) boost::asio::post(io_, [this] { Issue(); });
        });
  }

  const BenchOptions o_;
  std::unique_ptr<v1::Vent::Stub> stub_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer timer_{io_};
  std::unique_ptr<redis::Publisher> publisher_;
  std::thread thread_;
  std::vector<int64_t> seqs_;
  std::vector<std::string> names_;
  Clock::time_point start_;
  int64_t issued_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> inflight_{0};
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> errors_{0};
  absl::Mutex mu_;
  std::string first_error_;
};

}  // namespace

absl::StatusOr<RunResult> RunFanout(const BenchOptions& o) {
  RunResult r;
  r.mode = "fanout";
  r.label = o.label;
  r.options = o;
  r.bridge_pid = ResolveBridgePid(o);
  auto ro = redis::MakeOptions(o.redis, o.redis_topology);
  if (!ro.ok()) return ro.status();
  Load load(o, *std::move(ro));
  if (auto s = load.Connect(); !s.ok()) return s;

  ClientPool pool(o);
  if (auto s = ConnectAll(pool, o, r); !s.ok()) return s;
  std::vector<int64_t> ready_per_channel = pool.ReadyPerChannel();

  double cpu0 = r.bridge_pid > 0 ? ProcessCpuSeconds(r.bridge_pid) : -1;
  r.rss_before = r.bridge_pid > 0 ? ProcessRssBytes(r.bridge_pid) : -1;
  r.rss_after =
      r.rss_before;  // fanout: the peak seen while publishing/draining
  auto sample_rss = [&r] {
    if (r.bridge_pid > 0)
      r.rss_after = std::max(r.rss_after, ProcessRssBytes(r.bridge_pid));
  };
  double self0 = SelfCpuSeconds();
  auto start = Clock::now();
  load.Begin();
  auto last = start;
  int64_t last_delivered = 0;
  double dur = absl::ToDoubleSeconds(o.duration);
  while (SecondsSince(start) < dur) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (SecondsSince(last) >= 1.0) {
      PoolTotals s = pool.Totals();
      sample_rss();
      PrintProgress(SecondsSince(start), s, load.published(), last_delivered,
                    SecondsSince(last));
      last_delivered = s.delivered;
      last = Clock::now();
    }
  }
  load.End();
  r.publish_phase_seconds = SecondsSince(start);
  auto quiet_start = Clock::now();
  while (!load.Quiet() && SecondsSince(quiet_start) < 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int64_t expected = 0;
  for (size_t ch = 0; ch < ready_per_channel.size(); ++ch) {
    expected += ready_per_channel[ch] * load.seqs()[ch];
  }
  // Drain: until everything expected arrived, or 2 s without progress.
  int64_t seen = -1;
  auto progress_at = Clock::now();
  auto drain_start = Clock::now();
  while (SecondsSince(drain_start) < absl::ToDoubleSeconds(o.drain_timeout)) {
    int64_t d = pool.Totals().delivered;
    if (d >= expected) break;
    if (d != seen) sample_rss();
    if (d != seen) {
      seen = d;
      progress_at = Clock::now();
    } else if (SecondsSince(progress_at) > 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.publish_seconds = SecondsSince(start);
  double cpu1 = r.bridge_pid > 0 ? ProcessCpuSeconds(r.bridge_pid) : -1;
  r.bench_cpu_seconds = SelfCpuSeconds() - self0;
  PoolTotals s = pool.Totals();
  pool.Stop();

  r.expected = expected;
  r.published = load.published();
  r.publish_errors = load.errors();
  r.delivered = s.delivered;
  r.failed = s.failed;
  r.dropped = s.dropped;
  r.nosub = s.nosub;
  r.duplicates = pool.Duplicates();
  for (const auto& c : pool.PerClient()) {
    if (!c.was_ready) continue;
    r.lost += std::max<int64_t>(
        0, load.seqs()[static_cast<size_t>(c.channel)] - c.unique);
  }
  r.first_error = pool.FirstError();
  if (r.first_error.empty()) r.first_error = load.first_error();
  Histogram h = pool.MergedLatency();
  r.p50_us = h.Quantile(0.50) / 1e3;
  r.p99_us = h.Quantile(0.99) / 1e3;
  r.p999_us = h.Quantile(0.999) / 1e3;
  r.max_us = h.max() / 1e3;
  if (cpu0 >= 0 && cpu1 >= 0) {
    r.bridge_cpu_seconds = cpu1 - cpu0;
    if (r.delivered > 0)
      r.bridge_cpu_per_million = r.bridge_cpu_seconds / (r.delivered / 1e6);
  }
  return r;
}

absl::StatusOr<RunResult> RunIdle(const BenchOptions& o) {
  RunResult r;
  r.mode = "idle";
  r.label = o.label;
  r.options = o;
  r.bridge_pid = ResolveBridgePid(o);
  r.rss_before = r.bridge_pid > 0 ? ProcessRssBytes(r.bridge_pid) : -1;
  ClientPool pool(o);
  if (auto s = ConnectAll(pool, o, r); !s.ok()) return s;
  // Let the bridge settle (buffers released after the handshakes).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  r.rss_after = r.bridge_pid > 0 ? ProcessRssBytes(r.bridge_pid) : -1;
  auto start = Clock::now();
  auto last = start;
  double dur = absl::ToDoubleSeconds(o.duration);
  while (SecondsSince(start) < dur) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (SecondsSince(last) >= 1.0) {
      PrintProgress(SecondsSince(start), pool.Totals(), 0, 0, 0);
      last = Clock::now();
    }
  }
  PoolTotals s = pool.Totals();
  int64_t rss_end = r.bridge_pid > 0 ? ProcessRssBytes(r.bridge_pid) : -1;
  if (rss_end > r.rss_after) r.rss_after = rss_end;
  pool.Stop();
  r.failed = s.failed;
  r.dropped = s.dropped;
  r.nosub = s.nosub;
  r.first_error = pool.FirstError();
  if (r.rss_before >= 0 && r.rss_after >= 0 && r.ready > 0) {
    r.bytes_per_connection =
        static_cast<double>(r.rss_after - r.rss_before) / r.ready;
  }
  r.publish_seconds = SecondsSince(start);
  return r;
}

}  // namespace vent::bench
