// vent-bridge: serves Vent publications over DDP (WebSocket, SockJS) from
// Redis pub/sub. Configuration: README.md; running it: docs/operations.md;
// how it is built: docs/architecture.md.
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bridge/access.h"
#include "bridge/context.h"
#include "bridge/hub.h"
#include "bridge/ip_limiter.h"
#include "bridge/listener.h"
#include "bridge/options.h"
#include "bridge/worker.h"
#include "vent/base/log.h"
#include "vent/base/process_tuning.h"
#include "vent/config/options.h"
#include "vent/metrics/metrics.h"
#include "vent/pub/catalog.h"
#include "vent/redis/url.h"
#include "vent/tls/tls.h"

namespace asio = boost::asio;

namespace vent::bridge {
namespace {

int Fail(const absl::Status& s) {
  std::cerr << "vent-bridge: " << s.message() << "\n";
  return 2;
}

int Run(int argc, char** argv) {
  BridgeContext ctx;
  config::OptionSet set(
      "vent-bridge",
      "Serves Vent publications over DDP on WebSocket, fed from Redis.");
  RegisterOptions(set, ctx.options);
  config::Parsed parsed;
  if (auto exit_code = set.ParseMain(argc, argv, &parsed)) {
    return *exit_code;  // error, --help, --version or --print-config
  }
  const BridgeOptions& o = ctx.options;
  auto catalog = pub::Catalog::FromYaml(
      parsed.yaml ? parsed.yaml["publications"] : YAML::Node());
  if (!catalog.ok()) return Fail(catalog.status());
  ctx.catalog = *catalog;
  auto redis_options = redis::MakeOptions(o.redis, o.redis_topology);
  if (!redis_options.ok()) return Fail(redis_options.status());
  const redis::Endpoint* endpoint = &redis_options->endpoint;
  std::string host;
  uint16_t port;
  if (auto s = SplitHostPort(o.listen, &host, &port); !s.ok()) return Fail(s);
  if (o.max_message < 128 || o.max_outgoing < 1024 || o.max_subscriptions < 1 ||
      o.max_connections < 1 || o.sockjs_max_sessions < 0 ||
      o.sockjs_response_limit < 1 ||
      o.sockjs_heartbeat <= absl::ZeroDuration() ||
      o.sockjs_disconnect_delay <= absl::ZeroDuration() || o.workers < 0 ||
      o.worker_spill_busy < 1 || o.worker_spill_busy > 100) {
    return Fail(absl::InvalidArgumentError(
        "limits too small: max-message >= 128, max-outgoing >= 1024, "
        "max-subscriptions >= 1, max-connections >= 1, sockjs-max-sessions "
        ">= 0, sockjs-response-limit >= 1, sockjs-heartbeat and "
        "sockjs-disconnect-delay > 0, workers >= 0, worker-spill-busy in "
        "1..100"));
  }

  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Fail(
        absl::InvalidArgumentError("--tls-cert and --tls-key go together"));
  }
  if (!o.tls_cert.empty()) {
    auto tls = tls::TlsServerContext::Load(o.tls_cert, o.tls_key);
    if (!tls.ok()) return Fail(tls.status());
    ctx.tls.store(*tls);
  }

  metrics::Registry registry;
  metrics::RegisterProcessMetrics(registry);
  ctx.registry = &registry;
  ctx.metrics = std::make_unique<BridgeMetrics>(registry);

  IpLimiter ip_limiter(o.max_connections_per_ip, o.connection_rate_per_ip);
  ctx.ip_limiter = &ip_limiter;
  auto access = Access::Create(o, ctx);
  if (!access.ok()) return Fail(access.status());
  ctx.access = access->get();
  for (const std::string& name : ctx.catalog->names()) {
    if (ctx.catalog->Find(name)->auth() == pub::Auth::kAuthorizer &&
        o.authorizer.empty()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "publication ", name,
          " has auth: authorizer, but no --authorizer is configured")));
    }
  }

  redis::Options ropts = *redis_options;
  ropts.connect_timeout = o.redis_connect_timeout;
  ropts.client_name = "vent-bridge";
  if (ctx.catalog->has_history() &&
      ropts.endpoint.kind == redis::Endpoint::Kind::kCluster &&
      ropts.pubsub != redis::PubSubMode::kSharded) {
    return Fail(absl::InvalidArgumentError(
        "publications with history on a Redis Cluster need --redis-pubsub "
        "sharded (a channel's history lives in its slot)"));
  }

  asio::io_context redis_io(1);
  auto redis_guard = asio::make_work_guard(redis_io);
  Hub hub(redis_io, ropts, ctx);
  ctx.hub = &hub;
  if (ctx.catalog->has_history()) ctx.history = &hub;

  int nworkers =
      o.workers > 0
          ? static_cast<int>(o.workers)
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<Worker*> raw;
  std::vector<HubListener*> listeners;
  for (int i = 0; i < nworkers; ++i) {
    workers.push_back(std::make_unique<Worker>(i, ctx));
    raw.push_back(workers.back().get());
    listeners.push_back(workers.back().get());
  }
  hub.SetListeners(listeners);
  ctx.workers = raw;

  asio::io_context main_io(1);
  Listener listener(main_io, raw, ctx);
  if (auto s = listener.Listen(host, port); !s.ok()) return Fail(s);

  hub.Start();
  std::thread redis_thread([&] { redis_io.run(); });
  for (auto& w : workers) w->Start();
  std::unique_ptr<Listener> admin;
  if (!o.metrics_listen.empty()) {
    std::string mhost;
    uint16_t mport;
    if (auto s = SplitHostPort(o.metrics_listen, &mhost, &mport); !s.ok()) {
      return Fail(s);
    }
    admin = std::make_unique<Listener>(main_io, raw, ctx, /*admin=*/true);
    if (auto s = admin->Listen(mhost, mport); !s.ok()) return Fail(s);
    admin->Start();
  }
  listener.Start();
  VENT_LOG_INFO("vent-bridge listening", "addr",
                absl::StrCat(host, ":", listener.port()), "redis",
                endpoint->Redacted(), "workers", nworkers, "publications",
                ctx.catalog->names().size(), "static_dir", o.static_dir, "tls",
                ctx.tls.load() != nullptr);

  // Free heap goes back to the kernel every 10 s (see process_tuning.h):
  // after an overload, the closed slow clients' queues must not stay in RSS.
  asio::steady_timer trim_timer(main_io);
  std::function<void()> arm_trim = [&] {
    trim_timer.expires_after(std::chrono::seconds(10));
    trim_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      base::ReleaseFreeMemory();
      arm_trim();
    });
  };
  arm_trim();

  // SIGHUP reloads the TLS certificate and key from the same files (e.g.
  // after a renewal): new connections use them, open ones keep theirs. A
  // file that does not load is logged and the current certificate stays.
  asio::signal_set hup(main_io, SIGHUP);
  std::function<void()> arm_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (ctx.tls.load() == nullptr) {
        VENT_LOG_INFO("SIGHUP ignored: TLS is not configured");
      } else if (auto t = tls::TlsServerContext::Load(o.tls_cert, o.tls_key);
                 t.ok()) {
        ctx.tls.store(*t);
        VENT_LOG_INFO("TLS certificate reloaded", "cert", o.tls_cert);
      } else {
        VENT_LOG_ERROR("TLS reload failed; keeping the current certificate",
                       "error", t.status().message());
      }
      arm_hup();
    });
  };
  arm_hup();

  // SIGTERM/SIGINT: graceful drain. /readyz turns 503 at once and new
  // WebSocket upgrades get 503 (HTTP keeps answering); connections are closed
  // with 1001 spread over 80% of --shutdown-timeout (clients reconnect
  // elsewhere gradually); the process exits when they are gone or at the
  // timeout. A second signal stops at once.
  asio::signal_set signals(main_io, SIGINT, SIGTERM);
  asio::steady_timer drain_timer(main_io);
  absl::Time drain_deadline;
  std::function<void()> poll_drain = [&] {
    if (ctx.ws_connections.load() == 0 || absl::Now() >= drain_deadline) {
      main_io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) poll_drain();
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    trim_timer.cancel();
    hup.cancel();
    VENT_LOG_INFO("draining", "signal", sig, "connections",
                  ctx.ws_connections.load(), "timeout",
                  absl::FormatDuration(o.shutdown_timeout));
    ctx.shutting_down = true;
    drain_deadline = absl::Now() + o.shutdown_timeout;
    for (auto& w : workers) w->BeginDrain(o.shutdown_timeout * 0.8);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      VENT_LOG_WARN("second signal: stopping now");
      main_io.stop();
    });
    poll_drain();
  });
  main_io.run();

  // Close what is left with 1001, then stop.
  listener.Stop();
  if (admin != nullptr) admin->Stop();
  main_io.restart();
  main_io.poll();  // runs the acceptor's close and its aborted accept
  for (auto& w : workers) w->Stop();
  hub.Stop();
  redis_guard.reset();
  redis_io.stop();
  redis_thread.join();
  VENT_LOG_INFO("vent-bridge stopped");
  return 0;
}

}  // namespace
}  // namespace vent::bridge

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  vent::base::TuneProcessForServing();
  return vent::bridge::Run(argc, argv);
}
