// Internal: Publisher for a Redis Cluster in sharded mode: SPUBLISH to the
// master that owns each channel's slot, one pipelined connection (a
// single-node Publisher) per master.
//
// Routing: by the ClusterDirectory's slot map. A MOVED reply updates the map
// at once and the message is sent again to the new owner (at most 3 times;
// MOVED means the node executed nothing). ASK is not followed with ASKING:
// Redis 7 never sends it for sharded pub/sub (a migrating slot's channels
// stay on the source until the move completes, then MOVED); one would be
// retried like MOVED without touching the map, and end UNAVAILABLE. A slot with
// no known master, or whose master is unreachable, fails with UNAVAILABLE
// (nothing published) and makes the directory re-read the map every 250 ms
// until the slot has a reachable master again (a failover). Results and error
// codes are those of Publisher; PublishBatch results stay in order although the
// messages may go to several masters (per-channel order is kept: one channel,
// one slot), and — unlike a single connection — the messages of one batch may
// have different outcome classes when their masters fare differently.
//
// Threading: Publish/PublishBatch/connected/pending/last_error are
// thread-safe and never block; routing and callbacks run on the io thread.
#ifndef VENT_REDIS_CLUSTER_PUBLISHER_H_
#define VENT_REDIS_CLUSTER_PUBLISHER_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "vent/redis/cluster_directory.h"
#include "vent/redis/publisher.h"

namespace vent::redis::internal {

class ClusterPublisher : public std::enable_shared_from_this<ClusterPublisher> {
 public:
  ClusterPublisher(boost::asio::io_context& io, Options options);
  ~ClusterPublisher();

  void Start();
  void Publish(std::string channel, std::string message,
               Publisher::Callback done,
               std::optional<HistorySpec> history = std::nullopt);
  // Routed to the master of `routing_channel`'s slot (MOVED followed).
  void Call(std::vector<std::string> args, std::string routing_channel,
            Publisher::CallCallback done);
  void PublishBatch(std::vector<Publisher::Message> messages,
                    Publisher::BatchCallback done);
  // The slot map covers every slot and every master's connection is up.
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  size_t pending() const { return pending_.load(std::memory_order_acquire); }
  absl::Status last_error() const;
  void Stop(absl::AnyInvocable<void() &&> drained, absl::Duration timeout);
  void Abandon();

 private:
  // Results of one Publish or PublishBatch.
  struct Request {
    std::vector<absl::StatusOr<int64_t>> results;
    size_t left = 0;
    Publisher::Callback single;
    Publisher::BatchCallback batch;
  };
  struct Item {
    std::shared_ptr<Request> request;
    size_t index = 0;
    std::string channel;  // a Call: the routing channel
    std::string message;
    int attempts = 0;
    std::optional<HistorySpec> history;
    std::vector<std::string> args;  // a Call
    Publisher::CallCallback call;   // set: a Call (request unset)
  };

  void Accept(std::vector<Item> items);
  void Flush();
  void Route(std::vector<Item> items);
  void OnResults(std::vector<Item> items,
                 std::vector<absl::StatusOr<int64_t>> results);
  void Complete(Item& item, absl::StatusOr<int64_t> result);
  void OnCallResult(Item item, absl::StatusOr<ReplyPtr> reply);
  void OnDirectoryChange();
  void SyncNodes();
  void Watch();

  boost::asio::io_context& io_;
  const Options options_;
  std::shared_ptr<ClusterDirectory> directory_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> pending_{0};
  mutable absl::Mutex mu_;
  std::vector<Item> intake_ ABSL_GUARDED_BY(mu_);
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  // io thread only.
  absl::flat_hash_map<std::string, std::unique_ptr<Publisher>> nodes_;
  std::vector<std::unique_ptr<Publisher>> retired_;  // stopping
  boost::asio::steady_timer watch_timer_;
  size_t in_nodes_ = 0;  // items handed to node publishers, not answered
  bool stopped_ = false;
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_CLUSTER_PUBLISHER_H_
