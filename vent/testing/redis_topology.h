// Test fixtures for Redis topologies, built from RedisServer processes on
// 127.0.0.1 (Debian's redis-server 7.0 has Cluster, Sentinel and TLS):
//
//   RedisCluster: N masters + N*R replicas started with --cluster-enabled and
//     joined with `redis-cli --cluster create`; node timeout 1500 ms, so a
//     killed master is replaced by its replica in about 2-3 s.
//   RedisSentinels: one master, one replica and three Sentinels
//     (down-after 1000 ms, failover-timeout 4000 ms, quorum 2).
//
// Waits are polls with deadlines (no fixed sleeps). Not thread-safe: use
// from the test thread.
#ifndef VENT_TESTING_REDIS_TOPOLOGY_H_
#define VENT_TESTING_REDIS_TOPOLOGY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vent/testing/redis_server.h"

namespace vent::testing {

class RedisCluster {
 public:
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start(
      int masters = 3, int replicas_per_master = 1,
      std::vector<std::string> extra_args = {});

  // "redis-cluster://127.0.0.1:P1,127.0.0.1:P2,..." (every node as a seed).
  std::string url() const;
  const std::vector<std::unique_ptr<RedisServer>>& nodes() const {
    return nodes_;
  }
  RedisServer* NodeByPort(uint16_t port) const;
  // The port of the master serving `slot`, asked from a live node.
  absl::StatusOr<uint16_t> MasterOfSlot(int slot) const;
  absl::StatusOr<std::string> NodeId(uint16_t port) const;
  // Until every live node says cluster_state:ok, all slots are served and
  // every live replica's link to its master is up.
  absl::Status WaitHealthy(absl::Duration timeout = absl::Seconds(30)) const;
  // Until a live node other than `old_port` serves `slot` and the cluster is
  // healthy; returns the new master's port.
  absl::StatusOr<uint16_t> WaitForNewMaster(
      int slot, uint16_t old_port,
      absl::Duration timeout = absl::Seconds(30)) const;
  // `redis-cli --cluster reshard` of `slots` slots (the lowest ones) from
  // node `from` to node `to` (ports).
  absl::Status Reshard(uint16_t from, uint16_t to, int slots) const;
  // Runs redis-cli -p PORT args (PORT: any live node when 0).
  absl::StatusOr<std::string> Cli(const std::vector<std::string>& args,
                                  uint16_t port = 0) const;

 private:
  RedisCluster() = default;
  uint16_t AnyLivePort(uint16_t except = 0) const;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

class RedisSentinels {
 public:
  static absl::StatusOr<std::unique_ptr<RedisSentinels>> Start(
      std::string master_name = "mymaster",
      std::vector<std::string> extra_args = {});

  // "redis-sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/mymaster"
  std::string url() const;
  const std::string& master_name() const { return name_; }
  // The data nodes (index 0 started as master, 1 as its replica).
  const std::vector<std::unique_ptr<RedisServer>>& data() const {
    return data_;
  }
  const std::vector<std::unique_ptr<RedisServer>>& sentinels() const {
    return sentinels_;
  }
  RedisServer* DataByPort(uint16_t port) const;
  // The master's port according to the Sentinels.
  absl::StatusOr<uint16_t> MasterPort() const;
  // Until the Sentinels name a master other than `old_port` and that node
  // answers ROLE master.
  absl::StatusOr<uint16_t> WaitForNewMaster(
      uint16_t old_port, absl::Duration timeout = absl::Seconds(30)) const;

 private:
  RedisSentinels() = default;
  std::string name_;
  std::vector<std::unique_ptr<RedisServer>> data_;
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

}  // namespace vent::testing

#endif  // VENT_TESTING_REDIS_TOPOLOGY_H_
