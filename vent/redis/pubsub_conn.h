// Internal: one pub/sub connection (classic SUBSCRIBE or sharded SSUBSCRIBE)
// holding the channels its owner routes to it: the Subscriber has one for a
// single server, Sentinel or classic-mode Cluster, and one per master for a
// sharded Cluster.
//
// The owner says which channels it wants (Want); the connection reconciles
// with Redis: at most one SUBSCRIBE/UNSUBSCRIBE in flight per channel,
// everything requested during one io-thread turn sent together (at most 512
// channels per command; in a Cluster one command per slot, as Redis requires
// for SSUBSCRIBE). Replies are matched to commands in order, so a
// SUNSUBSCRIBE that Redis sends on its own (the slot migrated away) is told
// apart from the answer to ours. After every reconnect all wanted channels
// are subscribed again.
//
// A channel that Redis refuses with MOVED/ASK/CLUSTERDOWN/TRYAGAIN, or that
// Redis unsubscribes on its own, is reported through Owner::OnLost and
// parked: it is not retried until the owner calls Want(channel, true) again
// (after re-reading the slot map), so a redirect never becomes a busy loop.
// Other error replies drop the connection (reconnect with backoff).
//
// io thread only. Owner callbacks may call Want() re-entrantly.
#ifndef VENT_REDIS_PUBSUB_CONN_H_
#define VENT_REDIS_PUBSUB_CONN_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "vent/redis/connection.h"

namespace vent::redis::internal {

class PubSubConn final : public Connection {
 public:
  static constexpr size_t kMaxChannelsPerCommand = 512;

  class Owner {
   public:
    virtual ~Owner() = default;
    // `channel` (wanted) is now confirmed subscribed.
    virtual void OnConfirmed(PubSubConn* conn, const std::string& channel) = 0;
    // `channel` (wanted) is not subscribed any more and is parked.
    virtual void OnLost(PubSubConn* conn, const std::string& channel,
                        const absl::Status& why) = 0;
    virtual void OnMessage(const std::string& channel,
                           absl::string_view payload) = 0;
    // The session came up (`why` OK) or went down.
    virtual void OnConnState(PubSubConn* conn, bool up,
                             const absl::Status& why) = 0;
  };

  // `sharded`: SSUBSCRIBE family. `per_slot`: one command per slot (Cluster).
  PubSubConn(boost::asio::io_context& io, Options options, std::string role,
             bool sharded, bool per_slot, Owner* owner);

  void Want(const std::string& channel, bool want);
  bool Confirmed(const std::string& channel) const;
  // Channels wanted here.
  size_t wanted() const { return wanted_; }
  // Detaches the owner and closes for good.
  void Close();

 private:
  enum class Op { kNone, kSub, kUnsub };
  struct Chan {
    bool wanted = false;
    bool parked = false;
    bool server_subscribed = false;  // per the replies processed this session
    Op op = Op::kNone;               // at most one command in flight
    bool dirty = false;              // listed in dirty_
  };
  struct Pending {
    Op op;
    std::vector<std::string> channels;
    size_t next = 0;  // the next channel whose confirmation is due
  };

  void OnUp() override;
  absl::Status OnReply(ReplyPtr reply) override;
  void OnDown(const absl::Status& why) override;

  void MarkDirty(const std::string& name, Chan& c);
  void Flush();
  void Send(Op op, std::vector<std::string> names);
  absl::Status OnError(absl::string_view message);
  void OnConfirmation(bool is_sub, const std::string& name);
  // Erases `name` when nothing refers to it any more.
  void MaybeErase(const std::string& name);

  const bool sharded_;
  const bool per_slot_;
  Owner* owner_;
  bool flush_posted_ = false;
  absl::flat_hash_map<std::string, Chan> chans_;
  std::vector<std::string> dirty_;
  std::deque<Pending> pending_;
  size_t wanted_ = 0;
};

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_PUBSUB_CONN_H_
