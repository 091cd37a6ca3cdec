// A minimal HTTP/1.1 server on Boost.Beast for
//   GET /metrics  Prometheus text
//   GET /livez    200 "ok" while the process serves HTTP at all
//   GET /readyz   200 "ok", or 503 with the reason (e.g. "redis unavailable",
//                 "draining"): whether to send this instance traffic
//   GET /healthz  the same as /readyz (kept for existing probes)
//
// Threading: runs on the given io_context (one thread); Start before the
// io thread runs or on it; Stop is thread-safe (posts). Handlers (`metrics`,
// `not_ready`) run on the io thread and must be cheap. Each connection reads
// one request at a time (8 KiB header limit, 10 s timeout) and keeps alive.
#ifndef VENT_SERVER_METRICS_HTTP_H_
#define VENT_SERVER_METRICS_HTTP_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace vent::server {

class MetricsHttpServer {
 public:
  struct Handlers {
    std::function<std::string()> metrics;  // Prometheus text
    // /readyz, /healthz: "" when ready, else why not (one line).
    std::function<std::string()> not_ready;
  };
  // Binds "HOST:PORT" (port 0 = any) and starts accepting.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      boost::asio::io_context& io, const std::string& listen,
      Handlers handlers);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting (open connections finish their current request).
  void Stop();

  class Impl;

 private:
  explicit MetricsHttpServer(std::shared_ptr<Impl> impl)
      : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_METRICS_HTTP_H_
