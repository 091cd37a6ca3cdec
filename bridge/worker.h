// Worker: one thread, one io_context, a share of the connections, and the
// local channel -> subscriptions registry used for fan-out.
//
// Fan-out path (no locks): the Hub posts a batch of Redis messages; for each
// message the worker looks up the channel's local subscriptions, computes the
// publication's payload once per message per publication, and appends a Vent
// frame to each subscribed connection's outgoing buffer. After the batch,
// every touched connection is flushed with one write (coalescing).
//
// Threading: everything except the HubListener methods and Post() runs on the
// worker thread. Connections are owned by the worker (shared_ptr in
// `connections_`; async handlers hold extra references) and are erased one
// loop turn after they terminate, so raw pointers in the registry stay valid
// during a fan-out pass.
#ifndef VENT_BRIDGE_WORKER_H_
#define VENT_BRIDGE_WORKER_H_

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bridge/context.h"
#include "bridge/hub.h"
#include "bridge/subscription.h"

namespace vent::bridge {

class WsConnection;

// A publication's payload for one Redis message, computed once per message.
struct Transformed {
  const pub::Publication* pub = nullptr;
  std::optional<std::string> e;  // nullopt = not sent
  std::string sockjs_e;          // `e` escaped for a SockJS string, lazily
  bool sockjs_ready = false;
};

class Worker : public HubListener {
 public:
  Worker(int id, BridgeContext& ctx);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() override;

  void Start();  // starts the thread
  void Stop();   // closes connections, stops the loop, joins
  int id() const { return id_; }
  boost::asio::io_context& io() { return io_; }
  BridgeContext& ctx() { return ctx_; }

  // Worker thread. Takes ownership.
  void AddConnection(std::shared_ptr<WsConnection> conn);
  // Worker thread. Erased on the next loop turn.
  void RemoveConnection(WsConnection* conn);
  // Worker thread: registers / unregisters a subscription on its channels.
  void AddSubscription(Subscription* sub);
  void RemoveSubscription(Subscription* sub);
  // Worker thread: connections with queued output to flush after this pass.
  void MarkDirty(WsConnection* conn);
  // Shared receive buffer (connections read into it, then parse at once).
  char* rx_buffer() { return rx_.data(); }
  size_t rx_size() const { return rx_.size(); }
  size_t connection_count() const { return connections_.size(); }
  // Outgoing bytes queued by all of this worker's connections (each adds
  // the change of its own queue). Worker thread only.
  void AddOutgoing(int64_t delta) { outgoing_ += delta; }
  int64_t outgoing() const { return outgoing_; }

  // HubListener (Redis thread).
  void PostMessages(std::shared_ptr<const MessageBatch> batch,
                    int64_t bytes) override;
  void PostAck(const std::string& channel, uint64_t generation,
               absl::Status status) override;
  std::atomic<int64_t>& backlog() override { return backlog_; }

 private:
  struct ChannelState {
    std::vector<Subscription*> subs;
    uint64_t generation = 0;
    bool acked = false;
  };
  void Deliver(const RedisMessage& msg, std::vector<Transformed>& cache);
  void OnAck(const std::string& channel, uint64_t generation,
             const absl::Status& status);
  void FlushDirty();
  void ArmSweep();
  void Sweep();

  const int id_;
  BridgeContext& ctx_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer flush_timer_;  // --write-delay
  std::thread thread_;
  std::vector<char> rx_;
  std::atomic<int64_t> backlog_{0};
  absl::flat_hash_map<WsConnection*, std::shared_ptr<WsConnection>>
      connections_;
  absl::flat_hash_map<std::string, ChannelState> channels_;
  std::vector<WsConnection*> dirty_;
  uint64_t next_generation_ = 1;
  int64_t outgoing_ = 0;
  int64_t reported_outgoing_ = 0;  // outgoing_ as last added to the gauge
  bool flush_posted_ = false;      // a FlushDirty() is queued on io_
  absl::Duration sweep_period_;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_WORKER_H_
