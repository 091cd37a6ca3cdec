#include "bridge/listener.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "bridge/http_session.h"
#include "bridge/ip_limiter.h"
#include "vent/base/log.h"

namespace vent::bridge {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr int64_t kHttpHeadroom = 64;

WorkerPlacement::Options PlacementOptions(const BridgeOptions& o,
                                          size_t workers) {
  WorkerPlacement::Options p;
  p.workers = static_cast<int>(workers);
  p.adaptive = o.workers == 0;
  p.spill_busy = static_cast<double>(o.worker_spill_busy) / 100.0;
  p.shrink_busy = p.spill_busy / 3;
  p.shrink_after = o.worker_shrink_after;
  return p;
}
}  // namespace

Listener::Listener(asio::io_context& io, std::vector<Worker*> workers,
                   BridgeContext& ctx, bool admin)
    : io_(io),
      workers_(std::move(workers)),
      ctx_(ctx),
      admin_(admin),
      acceptor_(io),
      placement_(PlacementOptions(ctx.options, workers_.size())),
      busy_(workers_.size()) {}

absl::Status Listener::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address \"", host, "\""));
  tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(4096, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", host, ":", port, ": ", ec.message()));
  }
  return absl::OkStatus();
}

uint16_t Listener::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Listener::Start() { DoAccept(); }

void Listener::Stop() {
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void Listener::LogRefusal(const std::string& ip, const char* why) {
  // At most one line per 10 s: a flood must not become a log flood.
  absl::Time now = absl::Now();
  ++suppressed_;
  if (now - last_refusal_log_ < absl::Seconds(10)) return;
  VENT_LOG_WARN("connections refused", "reason", why, "ip", ip, "count",
                suppressed_);
  suppressed_ = 0;
  last_refusal_log_ = now;
}

void Listener::DoAccept() {
  for (size_t i = 0; i < workers_.size(); ++i) busy_[i] = workers_[i]->busy();
  placement_.Sample(absl::Now(), busy_);
  Worker* worker = workers_[static_cast<size_t>(placement_.Pick())];
  if (!admin_) ctx_.metrics->workers_active->Set(placement_.active());
  acceptor_.async_accept(worker->io(), [this, worker](
                                           boost::system::error_code ec,
                                           tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE and friends: log, keep accepting (the next accept may succeed).
      VENT_LOG_WARN("accept failed", "error", ec.message());
      DoAccept();
      return;
    }
    std::string ip;
    if (!admin_ && ctx_.ip_limiter != nullptr && ctx_.ip_limiter->enabled()) {
      boost::system::error_code rec;
      auto remote = socket.remote_endpoint(rec);
      ip = rec ? std::string("?") : remote.address().to_string();
      IpLimiter::Verdict v = ctx_.ip_limiter->Acquire(ip, absl::Now());
      if (v != IpLimiter::Verdict::kOk) {
        ctx_.metrics->refused_per_ip->Add();
        LogRefusal(ip, v == IpLimiter::Verdict::kTooMany
                           ? "too many connections from this IP"
                           : "connection rate exceeded");
        static const char kLimited[] =
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"
            "Content-Length: 17\r\nConnection: close\r\n\r\ntoo many requests";
        boost::system::error_code wec;
        socket.non_blocking(true, wec);
        socket.write_some(asio::buffer(kLimited, sizeof(kLimited) - 1), wec);
        socket.close(wec);
        DoAccept();
        return;
      }
    }
    int64_t open =
        ctx_.open_connections.fetch_add(1, std::memory_order_relaxed) + 1;
    ConnectionSlot slot(&ctx_, std::move(ip));
    // Plain HTTP (health checks, metrics, static files) keeps some headroom
    // past --max-connections; WebSocket upgrades are refused at the limit
    // and while draining (HttpSession answers 503), while /readyz keeps
    // answering (503 when draining).
    if (open > ctx_.options.max_connections + kHttpHeadroom) {
      ctx_.metrics->refused_connections->Add();
      LogRefusal("", "max-connections reached");
      static const char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
          "Content-Length: 20\r\nConnection: close\r\n\r\ntoo many connections";
      boost::system::error_code wec;
      socket.non_blocking(true, wec);
      socket.write_some(asio::buffer(kBusy, sizeof(kBusy) - 1), wec);
      socket.close(wec);
    } else {
      asio::post(worker->io(), [worker, socket = std::move(socket),
                                slot = std::move(slot),
                                admin = admin_]() mutable {
        StartHttpSession(*worker, std::move(socket), std::move(slot), admin);
      });
    }
    DoAccept();
  });
}

}  // namespace vent::bridge
