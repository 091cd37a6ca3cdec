// Internal: the slot map of one Redis Cluster, kept fresh for a Publisher or
// Subscriber (each owns one; io thread only, including the callbacks).
//
// A read asks one node for CLUSTER SLOTS over a short connection (TLS and
// AUTH as configured), trying the known nodes (masters first) and then the
// URL's seeds, until one answers. Reads happen: at Start(); on Refresh()
// (MOVED, a lost node, a SUNSUBSCRIBE from Redis), at most every 100 ms; every
// 250 ms while the owner is degraded (a node it needs is unreachable, or a
// slot it needs has no master: how a failover is noticed); otherwise every
// options.cluster_refresh_interval. Failed reads back off exponentially with
// jitter (backoff_initial .. backoff_max); each new cause is logged once
// (then at most once a minute) with every node tried and why it failed.
#ifndef VENT_REDIS_CLUSTER_DIRECTORY_H_
#define VENT_REDIS_CLUSTER_DIRECTORY_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "vent/redis/cluster.h"
#include "vent/redis/log_limiter.h"
#include "vent/redis/options.h"
#include "vent/redis/stream.h"

namespace vent::redis::internal {

class ClusterDirectory : public std::enable_shared_from_this<ClusterDirectory> {
 public:
  ClusterDirectory(boost::asio::io_context& io, const Options& options,
                   std::string role);
  ~ClusterDirectory();

  // io thread. Starts reading; `on_change` runs after every read that changed
  // the map or healthy(), and after ApplyMoved().
  void Start(absl::AnyInvocable<void()> on_change);
  void Stop();
  // Read again soon (coalesced).
  void Refresh();
  void SetDegraded(bool degraded);
  // A MOVED reply: the slot's new owner is used at once; a read follows.
  void ApplyMoved(const Redirect& redirect);

  // The last map read (nullptr before the first successful read).
  const SlotMap* map() const { return map_ ? &*map_ : nullptr; }
  // The last read succeeded and every slot has a master.
  bool healthy() const { return healthy_; }
  // Why not healthy (OK when healthy).
  absl::Status last_error() const { return last_error_; }
  // Where to connect for node-agnostic commands: the map's nodes (masters
  // first), then the seeds.
  std::vector<HostPort> Candidates() const;
  // Address of a node (TCP; TLS as configured).
  static Address AddressOf(const HostPort& hp) {
    return {hp.host, hp.port, ""};
  }
  const TlsSettings& tls() const { return tls_; }

 private:
  boost::asio::awaitable<void> Loop();
  boost::asio::awaitable<absl::Status> ReadOnce();

  boost::asio::io_context& io_;
  const Options options_;
  const std::string role_;
  TlsSettings tls_;
  boost::asio::steady_timer timer_;
  absl::AnyInvocable<void()> on_change_;
  std::optional<SlotMap> map_;
  bool healthy_ = false;
  absl::Status last_error_ =
      absl::UnavailableError("cluster slot map not read yet");
  bool stopped_ = false;
  bool started_ = false;
  bool requested_ = false;
  bool degraded_ = false;
  absl::Time last_read_ = absl::InfinitePast();
  absl::Time next_periodic_ = absl::InfinitePast();
  absl::Time earliest_ = absl::InfinitePast();
  LogLimiter log_limiter_;
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_CLUSTER_DIRECTORY_H_
