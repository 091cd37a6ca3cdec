#include "bridge/worker.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cmath>
#include <ctime>

#include "vent/base/check.h"
#include "vent/base/log.h"

namespace vent::bridge {

namespace asio = boost::asio;

namespace {
// The sweep checks heartbeats, handshake, subscription and login deadlines
// and SockJS session timers. It runs
// often enough for the shortest configured timeout, within [10ms, 1s].
int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

absl::Duration SweepPeriod(const BridgeOptions& o) {
  absl::Duration shortest = absl::Seconds(1);
  for (absl::Duration d :
       {o.heartbeat_interval, o.heartbeat_timeout, o.handshake_timeout,
        o.sub_timeout, o.authorizer_timeout, o.sockjs_heartbeat,
        o.sockjs_disconnect_delay}) {
    if (d > absl::ZeroDuration()) shortest = std::min(shortest, d / 4);
  }
  return std::max(shortest, absl::Milliseconds(10));
}
}  // namespace

Worker::Worker(int id, BridgeContext& ctx)
    : id_(id),
      ctx_(ctx),
      guard_(asio::make_work_guard(io_)),
      sweep_timer_(io_),
      flush_timer_(io_),
      rx_(64 * 1024),
      sweep_period_(SweepPeriod(ctx.options)) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  ArmSweep();
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    sweep_timer_.cancel();
    flush_timer_.cancel();
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [ptr, conn] : connections_) all.push_back(conn);
    for (auto& c : all) c->Shutdown();
    guard_.reset();
    // Close frames went out with a direct write; do not wait for peers or
    // idle HTTP keep-alive sockets to finish.
    sweep_timer_.expires_after(std::chrono::milliseconds(200));
    sweep_timer_.async_wait(
        [this](const boost::system::error_code&) { io_.stop(); });
  });
  thread_.join();
  connections_.clear();
}

void Worker::BeginDrain(absl::Duration over) {
  asio::post(io_, [this, over] {
    if (draining_) return;
    draining_ = true;
    drain_start_ = absl::Now();
    drain_over_ = over;
    drain_total_ = connections_.size();
    DrainStep(drain_start_);
    FlushDirty();
  });
}

void Worker::DrainStep(absl::Time now) {
  // Close the share of connections due by now: linear in time, all of them
  // at drain_start_ + drain_over_.
  double part =
      drain_over_ <= absl::ZeroDuration()
          ? 1.0
          : std::min(1.0, absl::FDivDuration(now - drain_start_, drain_over_));
  size_t due =
      static_cast<size_t>(std::ceil(part * static_cast<double>(drain_total_)));
  if (part >= 1.0) due = SIZE_MAX;
  std::vector<std::shared_ptr<Connection>> pick;
  for (auto& [ptr, conn] : connections_) {
    if (drain_closed_ + pick.size() >= due) break;
    if (!conn->closing_or_closed()) pick.push_back(conn);
  }
  for (auto& c : pick) {
    ctx_.metrics->drain_closes->Add();
    c->Shutdown();
  }
  drain_closed_ += pick.size();
}

void Worker::AddConnection(std::shared_ptr<Connection> conn) {
  VENT_DCHECK(io_.get_executor().running_in_this_thread());
  Connection* raw = conn.get();
  connections_.emplace(raw, std::move(conn));
  // A connection accepted while draining (raced the listener's stop) is
  // closed at the next step like the others.
  if (draining_) ++drain_total_;
}

SockJsSession* Worker::FindSockJs(const std::string& id) const {
  auto it = sockjs_.find(id);
  return it == sockjs_.end() ? nullptr : it->second;
}

void Worker::IndexSockJs(const std::string& id, SockJsSession* session) {
  VENT_DCHECK(io_.get_executor().running_in_this_thread());
  sockjs_[id] = session;
}

void Worker::UnindexSockJs(const std::string& id) { sockjs_.erase(id); }

void Worker::RemoveConnection(Connection* conn) {
  dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), conn), dirty_.end());
  asio::post(io_, [this, conn] { connections_.erase(conn); });
}

void Worker::Subscribe(const std::string& channel, uint64_t generation) {
  ctx_.hub->Subscribe(id_, channel, generation);
}

void Worker::Unsubscribe(const std::string& channel) {
  ctx_.hub->Unsubscribe(id_, channel);
}

void Worker::MarkDirty(Connection* conn) {
  VENT_DCHECK(io_.get_executor().running_in_this_thread());
  if (conn->dirty()) return;
  conn->set_dirty(true);
  dirty_.push_back(conn);
}

void Worker::PostMessages(std::shared_ptr<const MessageBatch> batch,
                          int64_t bytes) {
  asio::post(io_, [this, batch = std::move(batch), bytes] {
    uint64_t delivered = 0;
    for (const RedisMessage& msg : *batch) {
      delivered += registry_.Deliver(msg.channel, *msg.payload, cache_);
    }
    if (delivered) ctx_.metrics->deliveries->Add(delivered);
    const int64_t before = backlog_.fetch_sub(bytes, std::memory_order_relaxed);
    VENT_DCHECK(before >= bytes);  // the Hub added `bytes` before posting
    // Flush after every batch already queued behind this one: a worker that
    // fell behind then writes each connection once for many events instead
    // of once per event (the handler runs after those batches, FIFO).
    if (flush_posted_) return;
    flush_posted_ = true;
    if (ctx_.options.write_delay > absl::ZeroDuration()) {
      // Opt-in: gather --write-delay worth of events per write (fewer
      // syscalls per delivery, at that much added latency).
      flush_timer_.expires_after(
          absl::ToChronoMicroseconds(ctx_.options.write_delay));
      flush_timer_.async_wait([this](const boost::system::error_code& ec) {
        flush_posted_ = false;
        if (!ec) FlushDirty();
      });
      return;
    }
    asio::post(io_, [this] {
      flush_posted_ = false;
      FlushDirty();
    });
  });
}

void Worker::FlushDirty() {
  // Connections may terminate while flushing; they remove themselves from
  // dirty_ (RemoveConnection), so iterate over a swapped copy.
  std::vector<Connection*> dirty;
  dirty.swap(dirty_);
  for (Connection* c : dirty) c->set_dirty(false);
  for (Connection* c : dirty) {
    auto found = connections_.find(c);
    if (found == connections_.end()) continue;
    std::shared_ptr<Connection> keep = found->second;
    keep->Flush();
  }
}

void Worker::PostAck(const std::string& channel, uint64_t generation,
                     absl::Status status) {
  asio::post(io_, [this, channel, generation, status = std::move(status)] {
    registry_.OnAck(channel, generation, status);
    FlushDirty();
  });
}

void Worker::PostRedisState(bool up) {
  asio::post(io_, [this, up] {
    registry_.SetRedisUp(up);
    FlushDirty();
  });
}

void Worker::ArmSweep() {
  sweep_timer_.expires_after(absl::ToChronoMilliseconds(sweep_period_));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Sweep();
    ArmSweep();
  });
}

void Worker::Sweep() {
  // Safe to iterate: terminating connections erase themselves one loop turn
  // later (RemoveConnection posts), never during this loop.
  absl::Time now = absl::Now();
  SampleBusy(now);
  for (auto& [ptr, conn] : connections_) conn->OnSweep(now);
  if (draining_) DrainStep(now);
  FlushDirty();
  ctx_.metrics->outgoing_bytes->Add(outgoing_ - reported_outgoing_);
  reported_outgoing_ = outgoing_;
}

void Worker::SampleBusy(absl::Time now) {
  int64_t cpu = ThreadCpuNs();
  if (busy_window_start_ == absl::InfinitePast()) {
    busy_window_start_ = now;
    busy_window_cpu_ns_ = cpu;
    return;
  }
  absl::Duration window = now - busy_window_start_;
  if (window < absl::Milliseconds(250)) return;
  busy_.store(static_cast<double>(cpu - busy_window_cpu_ns_) /
                  static_cast<double>(absl::ToInt64Nanoseconds(window)),
              std::memory_order_relaxed);
  busy_window_start_ = now;
  busy_window_cpu_ns_ = cpu;
}

}  // namespace vent::bridge
