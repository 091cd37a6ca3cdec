// Connection: what a Worker needs from each DDP connection it owns,
// whatever carries it — a WebSocket (WsConnection) or a SockJS session over
// HTTP requests (SockJsSession).
//
// Threading: the owning worker's thread only. Lifetime: owned by the Worker
// (shared_ptr); a connection calls Worker::RemoveConnection once when it is
// done and is destroyed one loop turn later.
#ifndef VENT_BRIDGE_CONNECTION_H_
#define VENT_BRIDGE_CONNECTION_H_

#include "absl/time/time.h"

namespace vent::bridge {

class Connection {
 public:
  virtual ~Connection() = default;

  // After a fan-out pass (or any batch of work) that queued output.
  virtual void Flush() = 0;
  // The worker's periodic sweep: every deadline of the connection.
  virtual void OnSweep(absl::Time now) = 0;
  // Close with 1001 "server shutting down" (graceful drain, server stop).
  virtual void Shutdown() = 0;
  virtual bool closing_or_closed() const = 0;

  // In the worker's list of connections to flush after this pass.
  bool dirty() const { return dirty_; }
  void set_dirty(bool d) { dirty_ = d; }

 private:
  bool dirty_ = false;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_CONNECTION_H_
