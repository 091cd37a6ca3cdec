// Hub: the bridge's single Redis subscription point. Owns the Redis
// Subscriber and routes each Redis message to the workers that have local
// listeners for its channel.
//
// Threading: the Hub lives on its own io_context thread (the "Redis thread").
// Public methods are thread-safe: they post onto that thread. Messages are
// batched: everything read from Redis in one pass is posted to each interested
// worker as ONE immutable batch, so the Redis read loop never waits for the
// workers. A worker whose backlog (queued, unprocessed bytes) is over the
// configured bound gets no more messages until it catches up; those messages
// are dropped for it and counted (delivery is at-most-once), so Redis is
// always read at full speed and never disconnects us for a full buffer.
#ifndef VENT_BRIDGE_HUB_H_
#define VENT_BRIDGE_HUB_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "bridge/context.h"
#include "bridge/history_reader.h"
#include "vent/redis/publisher.h"
#include "vent/redis/subscriber.h"

namespace vent::bridge {

struct RedisMessage {
  std::string channel;
  std::shared_ptr<const std::string> payload;
};
using MessageBatch = std::vector<RedisMessage>;

// Implemented by Worker. Called on the Redis thread; implementations post to
// their own thread and return at once.
class HubListener {
 public:
  virtual ~HubListener() = default;
  virtual void PostMessages(std::shared_ptr<const MessageBatch> batch,
                            int64_t bytes) = 0;
  // `generation` is the value passed to Hub::Subscribe.
  virtual void PostAck(const std::string& channel, uint64_t generation,
                       absl::Status status) = 0;
  // The Redis subscriber's state changed (see redis::Subscriber::Handlers):
  // up = connected and every wanted channel confirmed.
  virtual void PostRedisState(bool up) = 0;
  // Bytes posted and not yet processed (the worker decrements).
  virtual std::atomic<int64_t>& backlog() = 0;
};

class Hub : public HistoryReader {
 public:
  Hub(boost::asio::io_context& io, redis::Options options, BridgeContext& ctx);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  ~Hub();

  // Registers the workers (index = worker id). Call before Start().
  void SetListeners(std::vector<HubListener*> listeners);
  void Start();
  void Stop();

  // Thread-safe. Worker `worker` wants `channel` (call once per worker per
  // channel, on its local 0 -> 1 transition). The ack comes back through
  // HubListener::PostAck with the same generation.
  void Subscribe(int worker, std::string channel, uint64_t generation);
  // Thread-safe. Local 1 -> 0 transition.
  void Unsubscribe(int worker, std::string channel);

  // HistoryReader (thread-safe): over a second Redis connection (a
  // Publisher used for commands), created when some publication keeps
  // history; without one every read fails with UNAVAILABLE.
  void Read(const std::string& channel, int64_t after, int64_t max,
            absl::AnyInvocable<void(absl::StatusOr<redis::HistoryState>) &&>
                done) override;

 private:
  void OnMessage(const std::string& channel,
                 std::shared_ptr<const std::string> payload);
  void OnState(bool up);
  void Flush();

  boost::asio::io_context& io_;
  BridgeContext& ctx_;
  std::unique_ptr<redis::Subscriber> subscriber_;
  std::unique_ptr<redis::Publisher> history_;  // history reads, or null
  std::vector<HubListener*> listeners_;
  // Redis-thread state.
  absl::flat_hash_map<std::string, std::vector<int>> workers_by_channel_;
  std::vector<std::shared_ptr<MessageBatch>> pending_;  // per worker
  std::vector<int64_t> pending_bytes_;
  bool flush_scheduled_ = false;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_HUB_H_
