#include "bench/emit/emit_load.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace vent::bench {
namespace {

constexpr absl::Duration kCallDeadline = absl::Seconds(60);

void PrepareContext(const LoadSpec& spec, grpc::ClientContext* ctx) {
  if (!spec.api_key.empty())
    ctx->AddMetadata("authorization", "Bearer " + spec.api_key);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat("code ", static_cast<int>(s.error_code()), ": ",
                      s.error_message());
}

double Percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

// Keeps `spec.concurrency` calls of one unary RPC in flight; each completion
// starts the next call from the gRPC callback thread.
template <typename Req, typename Resp>
class CallbackLoad {
 public:
  using Done = std::function<void(grpc::Status)>;
  using Start =
      std::function<void(grpc::ClientContext*, const Req*, Resp*, Done)>;
  // Returns how many events a successful reply confirms.
  using Confirmed = std::function<int64_t(const Resp&)>;

  CallbackLoad(const LoadSpec& spec, Req request, int64_t events_per_call,
               Start start, Confirmed confirmed)
      : spec_(spec),
        request_(std::move(request)),
        call_budget_((spec.max_events + events_per_call - 1) / events_per_call),
        start_(std::move(start)),
        confirmed_(std::move(confirmed)) {}

  LoadResult Run() {
    const absl::Time t0 = absl::Now();
    end_ = t0 + spec_.max_duration;
    {
      absl::MutexLock lock(&mu_);
      active_ = spec_.concurrency;
    }
    for (int i = 0; i < spec_.concurrency; ++i) Issue();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* active) { return *active == 0; }, &active_));
    LoadResult r;
    r.seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    r.events = events_.load();
    r.calls = calls_.load();
    r.errors = errors_.load();
    r.first_error = first_error_;
    r.p50_us = Percentile(latencies_us_, 0.50);
    r.p99_us = Percentile(latencies_us_, 0.99);
    return r;
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    Resp response;
    absl::Time started;
  };

  void Issue() {
    if (stop_.load(std::memory_order_relaxed) ||
        issued_.fetch_add(1) >= call_budget_ || absl::Now() >= end_) {
      absl::MutexLock lock(&mu_);
      --active_;
      return;
    }
    auto* call = new Call;
    PrepareContext(spec_, &call->ctx);
    call->started = absl::Now();
    start_(&call->ctx, &request_, &call->response,
           [this, call](grpc::Status status) { OnDone(call, status); });
  }

  void OnDone(Call* call, const grpc::Status& status) {
    const auto us = static_cast<uint32_t>(
        absl::ToInt64Microseconds(absl::Now() - call->started));
    if (status.ok()) {
      const int64_t n = confirmed_(call->response);
      events_.fetch_add(n);
      calls_.fetch_add(1);
      if (spec_.progress)
        spec_.progress->fetch_add(n, std::memory_order_relaxed);
    } else {
      errors_.fetch_add(1);
      stop_.store(true);
    }
    {
      absl::MutexLock lock(&mu_);
      latencies_us_.push_back(us);
      if (!status.ok() && first_error_.empty()) first_error_ = Describe(status);
    }
    delete call;
    Issue();
  }

  const LoadSpec& spec_;
  const Req request_;
  const int64_t call_budget_;
  const Start start_;
  const Confirmed confirmed_;
  absl::Time end_;
  std::atomic<int64_t> issued_{0};
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> latencies_us_ ABSL_GUARDED_BY(mu_);
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

v1::Event MakeEvent(const LoadSpec& spec) {
  v1::Event e;
  e.set_channel(spec.channel);
  e.set_json(spec.json);
  return e;
}

LoadResult RunUnary(v1::Vent::Stub* stub, const LoadSpec& spec) {
  v1::EmitRequest req;
  *req.mutable_event() = MakeEvent(spec);
  CallbackLoad<v1::EmitRequest, v1::EmitResponse> load(
      spec, std::move(req), 1,
      [stub](grpc::ClientContext* ctx, const v1::EmitRequest* rq,
             v1::EmitResponse* rs, std::function<void(grpc::Status)> done) {
        stub->async()->Emit(ctx, rq, rs, std::move(done));
      },
      [](const v1::EmitResponse&) { return int64_t{1}; });
  return load.Run();
}

LoadResult RunBatch(v1::Vent::Stub* stub, const LoadSpec& spec) {
  v1::EmitBatchRequest req;
  const v1::Event event = MakeEvent(spec);
  for (int i = 0; i < spec.batch_size; ++i) *req.add_events() = event;
  CallbackLoad<v1::EmitBatchRequest, v1::EmitBatchResponse> load(
      spec, std::move(req), spec.batch_size,
      [stub](grpc::ClientContext* ctx, const v1::EmitBatchRequest* rq,
             v1::EmitBatchResponse* rs,
             std::function<void(grpc::Status)> done) {
        stub->async()->EmitBatch(ctx, rq, rs, std::move(done));
      },
      [](const v1::EmitBatchResponse& r) {
        return static_cast<int64_t>(r.results_size());
      });
  return load.Run();
}

// One EmitStream per thread, written with the blocking API (the writer
// thread is the only producer, so blocking writes are the flow control).
// Each message carries batch_size events (the last one fewer).
LoadResult RunStream(v1::Vent::Stub* stub, const LoadSpec& spec) {
  const int per_message = std::max(1, spec.batch_size);
  v1::EmitStreamRequest req;
  for (int i = 0; i < per_message; ++i) *req.add_events() = MakeEvent(spec);
  const int64_t per_stream = spec.max_events / spec.concurrency;
  std::atomic<int64_t> events{0}, errors{0};
  absl::Mutex mu;
  std::string first_error;
  const absl::Time t0 = absl::Now();
  const absl::Time end = t0 + spec.max_duration;
  std::vector<std::thread> threads;
  for (int s = 0; s < spec.concurrency; ++s) {
    threads.emplace_back([&] {
      grpc::ClientContext ctx;
      if (!spec.api_key.empty())
        ctx.AddMetadata("authorization", "Bearer " + spec.api_key);
      v1::EmitStreamResponse resp;
      std::unique_ptr<grpc::ClientWriter<v1::EmitStreamRequest>> writer =
          stub->EmitStream(&ctx, &resp);
      v1::EmitStreamRequest last;  // the shorter final message, if any
      int64_t written = 0, reported = 0;
      int checks = 0;
      while (written < per_stream) {
        if ((checks++ & 15) == 0 && absl::Now() >= end) break;
        const int64_t left = per_stream - written;
        const v1::EmitStreamRequest* msg = &req;
        if (left < per_message) {
          for (int64_t i = 0; i < left; ++i) *last.add_events() = req.events(0);
          msg = &last;
        }
        if (!writer->Write(*msg)) break;  // the call failed; Finish() says why
        written += msg->events_size();
        if (spec.progress && written - reported >= 1024) {
          spec.progress->fetch_add(written - reported);
          reported = written;
        }
      }
      writer->WritesDone();
      const grpc::Status status = writer->Finish();
      if (spec.progress) spec.progress->fetch_add(written - reported);
      if (status.ok() && resp.published() == written) {
        events.fetch_add(resp.published());
        return;
      }
      errors.fetch_add(1);
      absl::MutexLock lock(&mu);
      if (first_error.empty()) {
        first_error = status.ok() ? absl::StrCat("published ", resp.published(),
                                                 " of ", written)
                                  : Describe(status);
      }
    });
  }
  for (auto& t : threads) t.join();
  LoadResult r;
  r.seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  r.events = events.load();
  r.calls = spec.concurrency - errors.load();
  r.errors = errors.load();
  r.first_error = first_error;
  return r;
}

}  // namespace

LoadResult RunLoad(const std::shared_ptr<grpc::Channel>& channel,
                   const LoadSpec& spec) {
  auto stub = v1::Vent::NewStub(channel);
  switch (spec.kind) {
    case LoadKind::kUnary:
      return RunUnary(stub.get(), spec);
    case LoadKind::kBatch:
      return RunBatch(stub.get(), spec);
    case LoadKind::kStream:
      return RunStream(stub.get(), spec);
  }
  return {};
}

}  // namespace vent::bench
