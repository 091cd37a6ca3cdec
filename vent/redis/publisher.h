// Publisher: PUBLISH over one pipelined Redis connection.
//
// Topology (from options.endpoint and options.pubsub), hidden behind this API:
// one connection to a single server (redis://, rediss://, unix://), to the
// Sentinel-discovered master (found again on every reconnect and on
// +switch-master), or to any Cluster node in classic mode; in sharded mode
// SPUBLISH, and on a Cluster one connection per master with each message
// routed to its channel's slot owner (see cluster_publisher.h).
//
// Threading: the connection is owned by `io`, which the caller runs on ONE
// thread. Publish/Start/Stop/connected/pending/last_error are thread-safe and
// never block; every callback runs on the io thread.
//
// Delivery contract: each Publish's `done` runs exactly once with
//   OK(receivers)        the PUBLISH integer reply
//   UNAVAILABLE          not executed by Redis: not connected now, stopped, or
//                        the connection was lost (or Stop's timeout passed)
//                        before the command was handed to the socket
//   DEADLINE_EXCEEDED    outcome unknown, Redis may have executed it: the
//                        command was handed to the socket and no reply came —
//                        none within command_timeout (connection dropped), the
//                        connection was lost, or Stop's timeout passed. The
//                        message says which and "may have been published".
//   RESOURCE_EXHAUSTED   max_pending (queued + in flight) reached; not sent
//   FAILED_PRECONDITION / PERMISSION_DENIED  Redis answered -ERR (its message)
// Never a silent drop. Order: publishes are written in call order (per
// calling thread); everything queued since the last write goes out in ONE
// write. All messages of a PublishBatch share one outcome class (they are in
// the same write).
//
// Lifetime: destroy after Stop()'s `drained` ran, or with `io` stopped.
#ifndef VENT_REDIS_PUBLISHER_H_
#define VENT_REDIS_PUBLISHER_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vent/redis/history.h"
#include "vent/redis/options.h"
#include "vent/redis/resp.h"

namespace vent::redis {
namespace internal {
class PublisherImpl;
class ClusterPublisher;
class SingleTopology;
}  // namespace internal

class Publisher {
 public:
  using Callback =
      absl::AnyInvocable<void(absl::StatusOr<int64_t> receivers) &&>;
  struct Message {
    std::string channel;
    std::string message;
    // Set: the channel keeps history (vent/redis/history.h): the event is
    // appended to the channel's stream and published wrapped in an
    // envelope, atomically (one EVAL). Same result and error contract.
    std::optional<HistorySpec> history = std::nullopt;
  };
  // The reply of a Call (error replies become statuses).
  using CallCallback =
      absl::AnyInvocable<void(absl::StatusOr<ReplyPtr> reply) &&>;
  // One result per message of a PublishBatch, in order (same codes as Publish).
  using BatchCallback =
      absl::AnyInvocable<void(std::vector<absl::StatusOr<int64_t>> results) &&>;

  Publisher(boost::asio::io_context& io, Options options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Connects (AUTH, SELECT, CLIENT SETNAME) and reconnects forever with
  // backoff. Call once.
  void Start();
  void Publish(std::string channel, std::string message, Callback done,
               std::optional<HistorySpec> history = std::nullopt);
  // Any command (e.g. the history read script), pipelined with the
  // publishes; on a sharded Cluster routed to the master of
  // `routing_channel`'s slot. `done` runs once on the io thread: the reply,
  // or UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED as for Publish.
  void Call(std::vector<std::string> args, std::string routing_channel,
            CallCallback done);
  // Publishes `messages` back to back (in order, in the same write, nothing
  // interleaved) and calls `done` once, on the io thread, after the last
  // reply (or failure). Counts as messages.size() toward max_pending; when
  // they do not all fit, every one fails with RESOURCE_EXHAUSTED. An empty
  // batch completes with no results.
  void PublishBatch(std::vector<Message> messages, BatchCallback done);
  bool connected() const;
  // Publishes accepted and not yet answered.
  size_t pending() const;
  // Why the last connect failed / the connection dropped (OK when none).
  absl::Status last_error() const;
  // New publishes fail with UNAVAILABLE; already accepted ones are written and
  // their replies awaited, bounded by command_timeout and by `timeout`: when
  // `timeout` passes first, every unanswered publish fails at once
  // (DEADLINE_EXCEEDED if it was sent, UNAVAILABLE if not). Then the
  // connection closes and `drained` runs on the io thread. No reconnect
  // afterwards.
  void Stop(absl::AnyInvocable<void() &&> drained,
            absl::Duration timeout = absl::InfiniteDuration());

 private:
  std::shared_ptr<internal::PublisherImpl> impl_;        // or:
  std::shared_ptr<internal::ClusterPublisher> cluster_;  // sharded Cluster
  std::unique_ptr<internal::SingleTopology> topology_;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_PUBLISHER_H_
