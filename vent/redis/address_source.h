// Internal: where a Connection goes on each attempt, for topologies whose
// address is discovered (Sentinel: the current master; Cluster in classic
// mode: any reachable node). A single-server endpoint needs none.
#ifndef VENT_REDIS_ADDRESS_SOURCE_H_
#define VENT_REDIS_ADDRESS_SOURCE_H_

#include <boost/asio/awaitable.hpp>

#include "absl/status/statusor.h"
#include "vent/redis/stream.h"

namespace vent::redis::internal {

class AddressSource {
 public:
  virtual ~AddressSource() = default;
  // Called on the io thread before each connection attempt. An error fails
  // the attempt (the connection backs off and asks again); its message names
  // what was tried.
  virtual boost::asio::awaitable<absl::StatusOr<Address>> Next() = 0;
  // The server must answer ROLE with "master" (Sentinel: a demoted master
  // keeps accepting connections).
  virtual bool require_master() const { return false; }
  // An attempt to `address` failed, or its session ended.
  virtual void Failed(const Address& address) { (void)address; }
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_ADDRESS_SOURCE_H_
