// Listener: accepts TCP connections on one io_context and hands each socket
// to the worker its WorkerPlacement picks (round-robin with --workers N, the
// load-following rule of worker_placement.h with --workers 0; the socket is
// created on the worker's io_context). Enforces --max-connections: past it the
// client gets a short HTTP 503 and is closed, counted in metrics. An admin
// listener
// (--metrics-listen) serves only /metrics, /livez and /readyz, in plain HTTP.
// Threading: the acceptor's io_context thread.
#ifndef VENT_BRIDGE_LISTENER_H_
#define VENT_BRIDGE_LISTENER_H_

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bridge/worker.h"
#include "bridge/worker_placement.h"

namespace vent::bridge {

class Listener {
 public:
  Listener(boost::asio::io_context& io, std::vector<Worker*> workers,
           BridgeContext& ctx, bool admin = false);
  absl::Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const;  // the bound port (useful with port 0)
  void Start();
  void Stop();

 private:
  void DoAccept();
  void LogRefusal(const std::string& ip, const char* why);

  boost::asio::io_context& io_;
  std::vector<Worker*> workers_;
  BridgeContext& ctx_;
  const bool admin_;
  boost::asio::ip::tcp::acceptor acceptor_;
  WorkerPlacement placement_;
  std::vector<double> busy_;  // scratch for placement_.Sample
  absl::Time last_refusal_log_ = absl::InfinitePast();
  uint64_t suppressed_ = 0;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_LISTENER_H_
