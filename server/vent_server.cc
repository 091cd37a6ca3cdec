#include "server/vent_server.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/auth.h"
#include "server/emitter.h"
#include "server/http_emit_server.h"
#include "server/metrics_http.h"
#include "server/redis_sinks.h"
#include "server/request_codec.h"
#include "server/server_metrics.h"
#include "server/service.h"
#include "server/subscription_hub.h"
#include "vent/base/log.h"
#include "vent/base/status_macros.h"
#include "vent/metrics/metrics.h"
#include "vent/redis/url.h"

namespace vent::server {
namespace {

constexpr char kServiceName[] = "vent.v1.Vent";

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view option) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

class VentServer::Impl {
 public:
  explicit Impl(const ServerConfig& c) : config_(c), hub_(io_) {}
  absl::Status Init();
  void Shutdown(absl::Duration grace);

  // Members in construction order; destroyed in reverse (gRPC first).
  ServerConfig config_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_{io_.get_executor()};
  metrics::Registry registry_;
  ServerMetrics metrics_{registry_};
  ApiKeys keys_;
  std::unique_ptr<redis::Publisher> publisher_;
  std::unique_ptr<redis::Subscriber> subscriber_;
  std::unique_ptr<PublisherSink> sink_;
  std::unique_ptr<SubscriberSource> source_;
  SubscriptionHub hub_;
  // History reads (only when a publication keeps history); after hub_, so
  // they are destroyed before it.
  std::unique_ptr<redis::Publisher> history_reader_;
  std::unique_ptr<RedisHistorySource> history_;
  std::unique_ptr<SubscribeBudget> budget_;
  std::unique_ptr<Emitter> emitter_;
  std::unique_ptr<VentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsHttpServer> http_;
  std::unique_ptr<HttpEmitServer> http_emit_;
  boost::asio::steady_timer state_timer_{io_};
  std::atomic<bool> healthy_{false};   // both Redis connections up
  std::atomic<bool> draining_{false};  // Shutdown began
  int port_ = 0;
  std::thread thread_;
  bool stopped_ = false;

 private:
  void WatchRedis();
};

absl::Status VentServer::Impl::Init() {
  VENT_RETURN_IF_ERROR(Validate(config_));
  VENT_ASSIGN_OR_RETURN(keys_, ApiKeys::Parse(config_.api_keys));
  VENT_ASSIGN_OR_RETURN(
      redis::Options ro,
      redis::MakeOptions(config_.redis, config_.redis_topology));
  const redis::Endpoint& endpoint = ro.endpoint;
  if (config_.catalog != nullptr && config_.catalog->has_history() &&
      endpoint.kind == redis::Endpoint::Kind::kCluster &&
      ro.pubsub != redis::PubSubMode::kSharded) {
    return absl::InvalidArgumentError(
        "publications with history on a Redis Cluster need --redis-pubsub "
        "sharded (a channel's history lives in its slot)");
  }
  metrics::RegisterProcessMetrics(registry_);
  InstallProtobufLogLimiter();

  ro.connect_timeout = config_.redis_connect_timeout;
  ro.command_timeout = config_.redis_command_timeout;
  ro.max_pending = static_cast<size_t>(config_.max_inflight) + 1;
  ro.client_name = "vent-server";
  publisher_ = std::make_unique<redis::Publisher>(io_, ro);
  ro.client_name = "vent-server-sub";
  redis::Subscriber::Handlers handlers;
  handlers.on_message = [this](const std::string& ch,
                               std::shared_ptr<const std::string> p) {
    hub_.OnMessage(ch, std::move(p));
  };
  handlers.on_state = [this](bool up) { hub_.OnState(up); };
  subscriber_ =
      std::make_unique<redis::Subscriber>(io_, ro, std::move(handlers));
  sink_ = std::make_unique<PublisherSink>(publisher_.get(), config_.catalog);
  source_ = std::make_unique<SubscriberSource>(subscriber_.get());
  hub_.SetSource(source_.get());
  if (config_.catalog != nullptr && config_.catalog->has_history()) {
    ro.client_name = "vent-server-history";
    history_reader_ = std::make_unique<redis::Publisher>(io_, ro);
    history_ = std::make_unique<RedisHistorySource>(history_reader_.get(),
                                                    config_.catalog);
    hub_.SetHistory(history_.get());
  }

  EmitterOptions eo;
  eo.limits.max_payload = static_cast<size_t>(config_.max_payload);
  eo.limits.max_channel = static_cast<size_t>(config_.max_channel);
  eo.max_inflight = config_.max_inflight;
  eo.idempotency_window = config_.idempotency_window;
  eo.idempotency_max_keys = static_cast<size_t>(config_.idempotency_keys);
  emitter_ = std::make_unique<Emitter>(eo, sink_.get(), &keys_, &metrics_);
  ServiceOptions so;
  so.max_batch = static_cast<size_t>(config_.max_batch);
  so.stream_window = static_cast<size_t>(config_.stream_window);
  so.subscribe_queue.max_events = static_cast<size_t>(config_.subscribe_queue);
  so.subscribe_queue.max_bytes = config_.subscribe_queue_bytes;
  budget_ = std::make_unique<SubscribeBudget>(
      static_cast<size_t>(config_.max_subscribers), config_.subscribe_memory);
  hub_.SetBudget(budget_.get());
  service_ =
      std::make_unique<VentService>(so, emitter_.get(), &hub_, budget_.get());

  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::InsecureServerCredentials();
  if (!config_.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    VENT_ASSIGN_OR_RETURN(std::string cert,
                          ReadFile(config_.tls_cert, "tls-cert"));
    VENT_ASSIGN_OR_RETURN(std::string key,
                          ReadFile(config_.tls_key, "tls-key"));
    ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.listen, creds, &port_);
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen: cannot serve gRPC on ", config_.listen,
                     " (address in use, or not HOST:PORT)"));
  }
  // The default health service knows only "" until a name is set; the
  // bool overload then updates every known name.
  server_->GetHealthCheckService()->SetServingStatus(kServiceName, false);
  server_->GetHealthCheckService()->SetServingStatus(false);

  if (!config_.metrics_listen.empty()) {
    MetricsHttpServer::Handlers h;
    h.metrics = [this] { return registry_.Render(); };
    h.not_ready = [this]() -> std::string {
      if (draining_.load()) return "draining (vent-server is shutting down)";
      if (!healthy_.load()) return "redis unavailable";
      return "";
    };
    VENT_ASSIGN_OR_RETURN(
        http_, MetricsHttpServer::Start(io_, config_.metrics_listen, h));
  }
  if (!config_.http_listen.empty()) {
    HttpEmitServer::Options ho;
    ho.listen = config_.http_listen;
    ho.threads = static_cast<int>(config_.http_threads);
    ho.max_connections = static_cast<size_t>(config_.http_max_connections);
    ho.max_body = static_cast<size_t>(config_.http_max_body);
    ho.max_batch = static_cast<size_t>(config_.max_batch);
    ho.idle_timeout = config_.http_idle_timeout;
    VENT_ASSIGN_OR_RETURN(http_emit_,
                          HttpEmitServer::Start(ho, emitter_.get()));
  }
  publisher_->Start();
  subscriber_->Start();
  if (history_reader_) history_reader_->Start();
  boost::asio::post(io_, [this] { WatchRedis(); });
  thread_ = std::thread([this] { io_.run(); });

  std::vector<std::string> key_ids;
  for (const auto& item : config_.api_keys) {
    key_ids.push_back(ApiKeys::KeyId(item.substr(0, item.find('='))));
  }
  VENT_LOG_INFO(
      "vent-server started", "listen", absl::StrCat(config_.listen), "port",
      port_, "redis", endpoint.Redacted(), "metrics",
      http_ ? config_.metrics_listen : std::string("off"), "metrics_port",
      http_ ? http_->port() : 0, "http_emit",
      http_emit_ ? config_.http_listen : std::string("off"), "http_emit_port",
      http_emit_ ? http_emit_->port() : 0, "tls", !config_.tls_cert.empty(),
      "api_keys",
      key_ids.empty() ? std::string("off") : absl::StrJoin(key_ids, ","));
  return absl::OkStatus();
}

// Polls the connections (the publisher reports no events) every 100 ms and
// reflects changes in the log, the gauge and the gRPC health status.
void VentServer::Impl::WatchRedis() {
  bool up = publisher_->connected() && subscriber_->connected();
  if (up != healthy_.load()) {
    healthy_.store(up);
    metrics_.redis_connected->Set(up ? 1 : 0);
    // After Shutdown began the health service is shut down (NOT_SERVING
    // for good) and ignores this.
    if (server_) server_->GetHealthCheckService()->SetServingStatus(up);
    if (up) {
      VENT_LOG_INFO("redis up");
    } else {
      absl::Status why = publisher_->last_error();
      if (why.ok()) why = subscriber_->last_error();
      VENT_LOG_WARN("redis down", "error", why);
    }
  }
  state_timer_.expires_after(std::chrono::milliseconds(100));
  state_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) WatchRedis();
  });
}

// Drain, in order (see server/README.md, "Shutdown"):
//  1. at once: not ready (/readyz 503, gRPC health NOT_SERVING for good), no
//     new calls or HTTP connections (idle HTTP connections close), Subscribe
//     calls end UNAVAILABLE;
//  2. until `cutoff` (grace minus a margin of min(grace/5, 1s)) running calls
//     go on: unary calls finish, EmitStream calls may send more and
//     half-close;
//  3. at the cutoff, if calls remain: EmitStream calls stop reading and end
//     UNAVAILABLE with their counts once their publishes are answered; the
//     publisher answers what Redis has not answered within half the margin
//     (DEADLINE_EXCEEDED if sent, UNAVAILABLE if not);
//  4. at `grace` gRPC cancels whatever is left (nothing, normally); then the
//     Redis connections close.
void VentServer::Impl::Shutdown(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  grace = std::max(grace, absl::ZeroDuration());
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + grace;
  const absl::Duration margin = std::min(grace / 5, absl::Seconds(1));
  draining_.store(true);
  VENT_LOG_INFO("vent-server draining", "grace", absl::FormatDuration(grace),
                "inflight", emitter_ ? emitter_->inflight() : 0);
  if (server_ == nullptr) return;  // Init failed before gRPC started
  server_->GetHealthCheckService()->Shutdown();
  if (http_emit_) http_emit_->Drain();
  boost::asio::post(io_, [this] {
    hub_.Shutdown(absl::UnavailableError(
        "vent-server is shutting down; re-subscribe elsewhere"));
  });
  absl::Notification calls_done;
  std::thread grpc_stop([this, deadline, &calls_done] {
    server_->Shutdown(absl::ToChronoTime(deadline));
    calls_done.Notify();
  });
  bool cut = false;
  const bool grpc_done =
      calls_done.WaitForNotificationWithDeadline(deadline - margin);
  // HTTP requests in progress are answered and their connections close.
  const bool http_done =
      http_emit_ == nullptr || http_emit_->WaitClosed(deadline - margin);
  if (!grpc_done || !http_done) {
    cut = true;
    VENT_LOG_INFO("drain cutoff: ending open EmitStream calls", "inflight",
                  emitter_->inflight());
    service_->StopStreams(absl::UnavailableError(
        "vent-server is shutting down and ended this stream before the client "
        "finished; send the events that were not published to another "
        "instance"));
  }
  if (thread_.joinable()) {
    // The publisher keeps taking publishes until here: running calls needed
    // it. Now it only answers what it holds.
    absl::Notification drained;
    absl::Duration left =
        cut ? margin / 2
            : std::max(deadline - absl::Now(), absl::ZeroDuration());
    publisher_->Stop([&drained] { drained.Notify(); }, left);
    drained.WaitForNotificationWithTimeout(left + absl::Seconds(2));
  }
  grpc_stop.join();
  if (http_emit_) {
    // Every publish is answered by now; let the replies go out.
    http_emit_->WaitClosed(std::max(deadline, absl::Now() + absl::Seconds(1)));
    http_emit_->Stop();
  }
  if (!thread_.joinable()) return;  // Init failed before Redis started
  subscriber_->Stop();
  if (history_reader_) history_reader_->Stop([] {}, absl::ZeroDuration());
  if (http_) http_->Stop();
  boost::asio::post(io_, [this] { state_timer_.cancel(); });
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  VENT_LOG_INFO("vent-server stopped", "events_published",
                metrics_.events->value(), "maybe_published",
                metrics_.maybe_published->value(), "drain",
                absl::FormatDuration(absl::Now() - start));
}

VentServer::VentServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VentServer::~VentServer() {
  if (impl_) impl_->Shutdown(absl::ZeroDuration());
}

absl::StatusOr<std::unique_ptr<VentServer>> VentServer::Start(
    const ServerConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  absl::Status s = impl->Init();
  if (!s.ok()) {
    if (impl->server_) impl->Shutdown(absl::ZeroDuration());
    return s;
  }
  return std::unique_ptr<VentServer>(new VentServer(std::move(impl)));
}

int VentServer::port() const { return impl_->port_; }
int VentServer::metrics_port() const {
  return impl_->http_ ? impl_->http_->port() : 0;
}
int VentServer::http_port() const {
  return impl_->http_emit_ ? impl_->http_emit_->port() : 0;
}
bool VentServer::redis_connected() const { return impl_->healthy_.load(); }
boost::asio::io_context& VentServer::io() { return impl_->io_; }
void VentServer::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace vent::server
