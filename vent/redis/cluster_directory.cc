#include "vent/redis/cluster_directory.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "vent/base/log.h"
#include "vent/redis/backoff.h"
#include "vent/redis/exchange.h"

namespace vent::redis::internal {
namespace {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr absl::Duration kMinSpacing = absl::Milliseconds(100);
constexpr absl::Duration kDegradedInterval = absl::Milliseconds(250);

}  // namespace

ClusterDirectory::ClusterDirectory(asio::io_context& io, const Options& options,
                                   std::string role)
    : io_(io), options_(options), role_(std::move(role)), timer_(io) {
  absl::StatusOr<TlsSettings> tls = MakeTlsSettings(options_);
  if (tls.ok()) {
    tls_ = *std::move(tls);
  } else {
    last_error_ = tls.status();
  }
}

ClusterDirectory::~ClusterDirectory() = default;

void ClusterDirectory::Start(absl::AnyInvocable<void()> on_change) {
  if (started_ || stopped_) return;
  started_ = true;
  on_change_ = std::move(on_change);
  requested_ = true;
  asio::co_spawn(
      io_, [self = shared_from_this()]() { return self->Loop(); },
      asio::detached);
}

void ClusterDirectory::Stop() {
  stopped_ = true;
  on_change_ = nullptr;
  timer_.cancel();
}

void ClusterDirectory::Refresh() {
  if (requested_) return;
  requested_ = true;
  timer_.cancel();
}

void ClusterDirectory::SetDegraded(bool degraded) {
  if (degraded_ == degraded) return;
  degraded_ = degraded;
  if (degraded) {
    next_periodic_ = std::min(next_periodic_, last_read_ + kDegradedInterval);
    timer_.cancel();
  }
}

void ClusterDirectory::ApplyMoved(const Redirect& redirect) {
  if (!map_) map_.emplace();
  map_->Assign(redirect.slot, redirect.to);
  Refresh();
  if (on_change_) on_change_();
}

std::vector<HostPort> ClusterDirectory::Candidates() const {
  std::vector<HostPort> out;
  if (map_) {
    for (const HostPort& hp : map_->masters()) out.push_back(hp);
    for (const HostPort& hp : map_->nodes()) {
      if (std::find(out.begin(), out.end(), hp) == out.end()) out.push_back(hp);
    }
  }
  for (const HostPort& hp : options_.endpoint.hosts) {
    if (std::find(out.begin(), out.end(), hp) == out.end()) out.push_back(hp);
  }
  return out;
}

asio::awaitable<void> ClusterDirectory::Loop() {
  auto self = shared_from_this();  // alive while the loop runs
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  while (!stopped_) {
    // Wait until a requested read may start, or the periodic one is due.
    for (;;) {
      if (stopped_) co_return;
      absl::Time due = requested_ ? earliest_ : next_periodic_;
      absl::Time now = absl::Now();
      if (now >= due) break;
      timer_.expires_after(absl::ToChronoNanoseconds(due - now));
      co_await timer_.async_wait(kUseTuple);
    }
    requested_ = false;
    const bool was_healthy = healthy_;
    std::optional<SlotMap> before = map_;
    absl::Status st = co_await ReadOnce();
    if (stopped_) co_return;
    last_read_ = absl::Now();
    healthy_ = st.ok();
    last_error_ = st;
    absl::Duration next;
    if (st.ok()) {
      backoff.Reset();
      earliest_ = last_read_ + kMinSpacing;
      next = degraded_ ? std::min(kDegradedInterval,
                                  options_.cluster_refresh_interval)
                       : options_.cluster_refresh_interval;
    } else {
      next = backoff.Next();
      earliest_ = last_read_ + next;
    }
    next_periodic_ = last_read_ + next;
    bool changed = map_.has_value() != before.has_value() ||
                   (map_ && !map_->SameOwners(*before));
    if (changed && map_) {
      std::vector<std::string> masters;
      for (const HostPort& hp : map_->masters()) {
        masters.push_back(hp.ToString());
      }
      VENT_LOG_INFO("redis cluster slot map", "role", role_, "masters",
                    absl::StrJoin(masters, ","), "uncovered_slots",
                    map_->uncovered());
    }
    if (!st.ok()) {
      int64_t skipped = 0;
      if (log_limiter_.Allow(st.ToString(), last_read_, &skipped)) {
        if (skipped > 0) {
          VENT_LOG_WARN("redis cluster not usable", "role", role_, "endpoint",
                        options_.endpoint.Redacted(), "error", st.ToString(),
                        "repeated", skipped);
        } else {
          VENT_LOG_WARN("redis cluster not usable", "role", role_, "endpoint",
                        options_.endpoint.Redacted(), "error", st.ToString());
        }
      }
    } else if (!was_healthy) {
      log_limiter_.Clear();
    }
    if ((changed || was_healthy != healthy_) && on_change_) on_change_();
  }
}

asio::awaitable<absl::Status> ClusterDirectory::ReadOnce() {
  if (tls_.context == nullptr && options_.endpoint.tls) co_return last_error_;
  Credentials creds{options_.endpoint.username, options_.endpoint.password};
  std::vector<std::string> failures;
  const std::vector<Command> commands = {Command{"CLUSTER", "SLOTS"}};
  for (const HostPort& hp : Candidates()) {
    absl::StatusOr<std::vector<ReplyPtr>> r = co_await OneShot(
        io_, AddressOf(hp), tls_, creds, commands, options_.connect_timeout);
    if (stopped_) co_return absl::CancelledError("stopped");
    if (!r.ok()) {
      failures.push_back(std::string(r.status().message()));
      continue;
    }
    const redisReply& reply = *r->front();
    if (TypeOf(reply) == ReplyType::kError) {
      failures.push_back(
          absl::StrCat(hp.ToString(), ": CLUSTER SLOTS: ", StringOf(reply)));
      continue;
    }
    absl::StatusOr<SlotMap> map = SlotMap::FromClusterSlots(reply, hp.host);
    if (!map.ok()) {
      failures.push_back(
          absl::StrCat(hp.ToString(), ": ", map.status().message()));
      continue;
    }
    map_ = *std::move(map);
    if (map_->uncovered() > 0) {
      co_return absl::UnavailableError(absl::StrCat(
          "the cluster slot map (from ", hp.ToString(), ") leaves ",
          map_->uncovered(), " of ", kClusterSlots, " slots without a master"));
    }
    co_return absl::OkStatus();
  }
  co_return absl::UnavailableError(
      absl::StrCat("no cluster node answered CLUSTER SLOTS: ",
                   absl::StrJoin(failures, "; ")));
}

}  // namespace vent::redis::internal
