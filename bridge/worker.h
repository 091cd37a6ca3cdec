// Worker: one thread, one io_context, a share of the connections, and the
// ChannelRegistry used for their fan-out.
//
// Fan-out path (no locks): the Hub posts a batch of Redis messages; the
// worker hands each to its registry, which queues a Vent frame on every
// ready subscription of the channel (the payload computed once per
// publication). After the batch every touched connection is flushed with one
// write (coalescing).
//
// Graceful drain (SIGTERM): BeginDrain(over) closes the worker's connections
// with 1001, spread evenly over `over`, so that clients behind a load
// balancer reconnect elsewhere gradually rather than all at once.
//
// Threading: everything except the HubListener methods, Post*() and
// BeginDrain() runs on the worker thread. Connections are owned by the worker
// (shared_ptr in `connections_`; async handlers hold extra references) and
// are erased one loop turn after they terminate, so raw pointers in the dirty
// list stay valid during a pass.
#ifndef VENT_BRIDGE_WORKER_H_
#define VENT_BRIDGE_WORKER_H_

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bridge/channel_registry.h"
#include "bridge/connection.h"
#include "bridge/context.h"
#include "bridge/hub.h"

namespace vent::bridge {

class SockJsSession;

class Worker : public HubListener, private RedisSubscriptions {
 public:
  Worker(int id, BridgeContext& ctx);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() override;

  void Start();  // starts the thread
  void Stop();   // closes what is left, stops the loop, joins
  // Any thread: close every connection with 1001, spread over `over`.
  void BeginDrain(absl::Duration over);
  int id() const { return id_; }
  boost::asio::io_context& io() { return io_; }
  BridgeContext& ctx() { return ctx_; }
  ChannelRegistry& registry() { return registry_; }

  // Worker thread. Takes ownership.
  void AddConnection(std::shared_ptr<Connection> conn);
  // Worker thread. Erased on the next loop turn.
  void RemoveConnection(Connection* conn);
  // Worker thread: connections with queued output to flush after this pass.
  void MarkDirty(Connection* conn);
  // Worker thread: this worker's SockJS sessions over HTTP by session id
  // (each session lives on the worker its id hashes to; see
  // SockJsOwner()). The session registers and unregisters itself.
  SockJsSession* FindSockJs(const std::string& id) const;
  void IndexSockJs(const std::string& id, SockJsSession* session);
  void UnindexSockJs(const std::string& id);
  // Shared receive buffer (connections read into it, then parse at once).
  char* rx_buffer() { return rx_.data(); }
  size_t rx_size() const { return rx_.size(); }
  size_t connection_count() const { return connections_.size(); }
  // Outgoing bytes queued by all of this worker's connections; each
  // connection's OutputQueue adds the change of its own queue. Worker
  // thread only (--max-worker-outgoing).
  int64_t* outgoing_total() { return &outgoing_; }
  // Any thread: this worker thread's CPU time over its last sampling window
  // (>= 250 ms, taken at sweeps) divided by the window, 0..1+. Read by the
  // listener's WorkerPlacement.
  double busy() const { return busy_.load(std::memory_order_relaxed); }

  // HubListener (Redis thread).
  void PostMessages(std::shared_ptr<const MessageBatch> batch,
                    int64_t bytes) override;
  void PostAck(const std::string& channel, uint64_t generation,
               absl::Status status) override;
  void PostRedisState(bool up) override;
  std::atomic<int64_t>& backlog() override { return backlog_; }

 private:
  // RedisSubscriptions (the registry's view of the Hub).
  void Subscribe(const std::string& channel, uint64_t generation) override;
  void Unsubscribe(const std::string& channel) override;

  void FlushDirty();
  void ArmSweep();
  void Sweep();
  void DrainStep(absl::Time now);
  void SampleBusy(absl::Time now);

  const int id_;
  BridgeContext& ctx_;
  // Declared before io_ so that they outlive it: connections held by
  // handlers still queued in io_ when it is destroyed release into them.
  int64_t outgoing_ = 0;
  ChannelRegistry registry_{this};
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer flush_timer_;  // --write-delay
  std::thread thread_;
  std::vector<char> rx_;
  std::atomic<int64_t> backlog_{0};
  std::atomic<double> busy_{0};
  absl::Time busy_window_start_ = absl::InfinitePast();
  int64_t busy_window_cpu_ns_ = 0;
  absl::flat_hash_map<Connection*, std::shared_ptr<Connection>> connections_;
  std::vector<Connection*> dirty_;
  absl::flat_hash_map<std::string, SockJsSession*> sockjs_;
  std::vector<Transformed> cache_;  // fan-out scratch
  int64_t reported_outgoing_ = 0;   // outgoing_ as last added to the gauge
  bool flush_posted_ = false;       // a FlushDirty() is queued on io_
  absl::Duration sweep_period_;
  // Drain (worker thread): closing connections over [start, start + over].
  bool draining_ = false;
  absl::Time drain_start_;
  absl::Duration drain_over_;
  size_t drain_total_ = 0;   // connections when the drain began
  size_t drain_closed_ = 0;  // closed by the drain so far
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_WORKER_H_
