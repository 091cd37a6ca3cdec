// The HTTP emit API, for backends without gRPC (shell, PHP, Ruby...):
// POST /v1/emit and POST /v1/emit_batch with JSON bodies (http_emit_codec.h),
// HTTP/1.1 on Boost.Beast with keep-alive. Same validation, limits, API keys
// (`Authorization: Bearer KEY`), idempotency and metrics as the gRPC service:
// it goes through the same Emitter. Errors are JSON
// {"error": {"code": ..., "message": ...}} with 400/401/403/404/405/413/415/
// 429/503/504 (server/README.md "HTTP emit API").
//
// Bounds: at most `max_connections` connections (more get 503 and are
// closed), headers <= 8 KiB, bodies <= `max_body` (413), one request at a
// time per connection (a pipelined one waits for the previous reply), a
// connection idle (or slow to send its request) for `idle_timeout` is
// closed.
//
// Threading: its own io_context run by `threads` threads; one strand per
// connection. Publish completions (Redis io thread) are posted back to the
// connection's strand. Start/Drain/Stop are called from one controlling
// thread. Stop only after the Emitter's publishes are all answered (the
// publisher drained); the Emitter must outlive Stop.
#ifndef VENT_SERVER_HTTP_EMIT_SERVER_H_
#define VENT_SERVER_HTTP_EMIT_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/emitter.h"

namespace vent::server {

class HttpEmitServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:8080";  // HOST:PORT, port 0 = any
    int threads = 1;
    size_t max_connections = 1024;
    size_t max_body = 16 << 20;
    size_t max_batch = 10000;  // events per /v1/emit_batch (--max-batch)
    absl::Duration idle_timeout = absl::Seconds(60);
  };
  // Binds and starts serving. InvalidArgument for a bad address,
  // Unavailable when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HttpEmitServer>> Start(
      Options options, Emitter* emitter);
  ~HttpEmitServer();  // Stop()
  HttpEmitServer(const HttpEmitServer&) = delete;
  HttpEmitServer& operator=(const HttpEmitServer&) = delete;

  uint16_t port() const;
  // Shutdown, step 1: stops accepting; idle connections close; a request in
  // progress is answered (with `Connection: close`) and its connection
  // closes.
  void Drain();
  // Waits until every connection has closed (true), or `deadline` (false).
  bool WaitClosed(absl::Time deadline);
  // Closes what is left and joins the threads. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit HttpEmitServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_HTTP_EMIT_SERVER_H_
