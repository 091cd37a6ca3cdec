// Internal: Redis Sentinel support (redis-sentinel:// endpoints).
//
// SentinelSource: before each connection attempt, asks the Sentinels (the
// last one that answered first, then the others in URL order) for the
// master's address with SENTINEL get-master-addr-by-name; the connection then
// also checks ROLE is master (a demoted master still accepts connections).
// When none answers, the attempt fails with every Sentinel's cause.
//
// SentinelWatcher: one pub/sub connection to a Sentinel (rotating through
// them when one fails) subscribed to +switch-master; when it names our
// master, every attached connection is reconnected (and so re-discovers).
// Sentinels are contacted with options.sentinel credentials, not the
// master's.
#ifndef VENT_REDIS_SENTINEL_H_
#define VENT_REDIS_SENTINEL_H_

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "vent/redis/address_source.h"
#include "vent/redis/connection.h"
#include "vent/redis/options.h"

namespace vent::redis::internal {

class SentinelSource : public AddressSource {
 public:
  SentinelSource(boost::asio::io_context& io, const Options& options);
  boost::asio::awaitable<absl::StatusOr<Address>> Next() override;
  bool require_master() const override { return true; }

 private:
  boost::asio::io_context& io_;
  const Options options_;
  size_t preferred_ = 0;
};

// Round-robin over fixed addresses; moves on when an attempt fails.
class RotatingSource : public AddressSource {
 public:
  explicit RotatingSource(std::vector<HostPort> hosts)
      : hosts_(std::move(hosts)) {}
  boost::asio::awaitable<absl::StatusOr<Address>> Next() override;
  void Failed(const Address& address) override;

 private:
  std::vector<HostPort> hosts_;
  size_t next_ = 0;
};

class SentinelWatcher final : public Connection {
 public:
  // `options` are the data connections' (endpoint = the redis-sentinel URL).
  static std::shared_ptr<SentinelWatcher> Make(boost::asio::io_context& io,
                                               const Options& options);
  SentinelWatcher(boost::asio::io_context& io, Options watcher_options,
                  std::string master_name);
  // io thread or before Start(): reconnect `c` on +switch-master.
  void Attach(std::weak_ptr<Connection> c) {
    attached_.push_back(std::move(c));
  }
  // Thread-safe.
  void Stop();

 private:
  void OnUp() override;
  absl::Status OnReply(ReplyPtr reply) override;
  void OnDown(const absl::Status&) override {}

  const std::string master_name_;
  std::vector<std::weak_ptr<Connection>> attached_;
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_SENTINEL_H_
