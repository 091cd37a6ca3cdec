// Internal: the helpers a single-connection Publisher or Subscriber needs
// for its endpoint's topology:
//   redis://, rediss://, unix://, sharded-mode single servers: none;
//   redis-sentinel://: a SentinelSource (discovery on every attempt) and a
//     SentinelWatcher (+switch-master);
//   redis-cluster:// in classic mode: any node will do (classic messages are
//     broadcast cluster-wide), so the connection goes to the nodes of a
//     ClusterDirectory's map, then the seeds, moving on when one fails.
// (Sharded mode on a Cluster uses one connection per master instead: see
// ClusterPublisher and the Subscriber.)
#ifndef VENT_REDIS_TOPOLOGY_H_
#define VENT_REDIS_TOPOLOGY_H_

#include <boost/asio/io_context.hpp>
#include <memory>

#include "vent/redis/address_source.h"
#include "vent/redis/cluster_directory.h"
#include "vent/redis/connection.h"
#include "vent/redis/options.h"
#include "vent/redis/sentinel.h"

namespace vent::redis::internal {

// True when `options` need one connection per Cluster master.
inline bool IsShardedCluster(const Options& options) {
  return options.endpoint.kind == Endpoint::Kind::kCluster &&
         options.pubsub == PubSubMode::kSharded;
}

class AnyNodeSource : public AddressSource {
 public:
  explicit AnyNodeSource(std::shared_ptr<ClusterDirectory> directory)
      : directory_(std::move(directory)) {}
  boost::asio::awaitable<absl::StatusOr<Address>> Next() override;
  void Failed(const Address& address) override;

 private:
  std::shared_ptr<ClusterDirectory> directory_;
  size_t next_ = 0;
};

class SingleTopology {
 public:
  // Sets options->address_source when the endpoint needs one.
  SingleTopology(boost::asio::io_context& io, Options* options,
                 const std::string& role);
  // Before Start(): the connection a Sentinel watcher must reconnect.
  void Attach(const std::shared_ptr<Connection>& connection);
  // Thread-safe.
  void Start();
  void Stop();

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<SentinelWatcher> watcher_;
  std::shared_ptr<ClusterDirectory> directory_;
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_TOPOLOGY_H_
