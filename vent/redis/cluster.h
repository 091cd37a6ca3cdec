// Redis Cluster pieces without I/O: the key -> slot hash, MOVED/ASK
// redirections, and the slot -> master map read from CLUSTER SLOTS.
#ifndef VENT_REDIS_CLUSTER_H_
#define VENT_REDIS_CLUSTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vent/redis/url.h"

struct redisReply;

namespace vent::redis {

inline constexpr int kClusterSlots = 16384;
// Payload key of a status made from a MOVED/ASK reply (ErrorReplyToStatus);
// its value is Redis' message ("MOVED 3999 127.0.0.1:7002").
inline constexpr absl::string_view kRedirectPayload = "vent.redis/redirect";

// The slot of a key or sharded channel: CRC16 (XMODEM) of the key, or of
// the first non-empty {hash tag} in it, modulo 16384.
int KeySlot(absl::string_view key);

struct Redirect {
  bool ask = false;  // ASK (this command only) vs MOVED (the slot moved)
  int slot = 0;
  HostPort to;
};
// "MOVED 3999 127.0.0.1:7002" / "ASK 3999 [::1]:7002"; nullopt otherwise.
std::optional<Redirect> ParseRedirect(absl::string_view message);
// The redirect carried by a status from ErrorReplyToStatus, if any.
std::optional<Redirect> RedirectOf(const absl::Status& status);

class SlotMap {
 public:
  SlotMap();
  // Parses a CLUSTER SLOTS reply. A node listed with an empty host ("" or
  // "?") is taken to be at `queried_host` (what Redis does when a node does
  // not know its own address).
  static absl::StatusOr<SlotMap> FromClusterSlots(
      const redisReply& reply, absl::string_view queried_host);

  // The master serving `slot`; nullptr when no node serves it.
  const HostPort* MasterOf(int slot) const;
  // Slots no master serves (0 when the cluster is fully covered).
  int uncovered() const { return uncovered_; }
  // Distinct masters serving at least one slot, in the order first seen.
  std::vector<HostPort> masters() const;
  // Masters and replicas.
  const std::vector<HostPort>& nodes() const { return nodes_; }
  // A MOVED reply: `slot` is now served by `to` (until the next refresh).
  void Assign(int slot, const HostPort& to);
  bool SameOwners(const SlotMap& other) const;

 private:
  int IndexOf(const HostPort& hp);
  std::vector<int16_t> owner_;  // slot -> index in masters_, -1: none
  std::vector<HostPort> masters_;
  std::vector<HostPort> nodes_;
  int uncovered_ = kClusterSlots;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_CLUSTER_H_
