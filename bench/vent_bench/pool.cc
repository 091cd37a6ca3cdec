#include "bench/vent_bench/pool.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <future>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vent::bench {
namespace {

using boost::asio::ip::tcp;

struct ParsedUrl {
  std::string host, port, path;
};

absl::StatusOr<ParsedUrl> ParseWsUrl(const std::string& url) {
  const std::string prefix = "ws://";
  if (url.rfind(prefix, 0) != 0) {
    return absl::InvalidArgumentError(
        "--url must start with ws:// (use a TLS proxy for wss)");
  }
  std::string rest = url.substr(prefix.size());
  ParsedUrl u;
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/websocket" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    u.host = hostport;
    u.port = "80";
  } else {
    u.host = hostport.substr(0, colon);
    u.port = hostport.substr(colon + 1);
  }
  return u;
}

}  // namespace

ClientPool::ClientPool(const BenchOptions& options) : options_(options) {}

ClientPool::~ClientPool() { Stop(); }

absl::Status ClientPool::Start() {
  auto url = ParseWsUrl(options_.url);
  if (!url.ok()) return url.status();
  boost::asio::io_context tmp;
  tcp::resolver resolver(tmp);
  boost::system::error_code ec;
  auto results = resolver.resolve(url->host, url->port, ec);
  if (ec || results.empty()) {
    return absl::UnavailableError(
        absl::StrCat("resolve ", url->host, ": ", ec.message()));
  }
  tcp::endpoint server = *results.begin();

  std::vector<boost::asio::ip::address> sources;
  for (const auto& s : options_.source_addrs) {
    auto a = boost::asio::ip::make_address(s, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrCat("--source-addrs: bad address ", s));
    sources.push_back(a);
  }
  int64_t nthreads = std::max<int64_t>(1, options_.threads);
  for (int64_t i = 0; i < nthreads; ++i)
    threads_.push_back(std::make_unique<Thread>());
  for (int64_t i = 0; i < options_.clients; ++i) {
    ClientSpec spec;
    spec.server = server;
    spec.host_header = url->host + ":" + url->port;
    spec.path = url->path;
    int ch = static_cast<int>(i % std::max<int64_t>(1, options_.channels));
    spec.channel_param = absl::StrCat("c", ch);
    if (!sources.empty()) {
      spec.bind_source = true;
      spec.source =
          sources[(i / options_.connections_per_source) % sources.size()];
    }
    Thread& t = *threads_[i % nthreads];
    t.clients.push_back(std::make_unique<Client>(t.ctx, std::move(spec), ch));
  }
  int64_t per_thread = std::max<int64_t>(1, options_.max_handshakes / nthreads);
  for (auto& tp : threads_) {
    Thread* t = tp.get();
    t->ctx.on_settled = [this, t] { StartNext(*t); };
    boost::asio::post(t->ctx.io, [this, t, per_thread] {
      for (int64_t k = 0; k < per_thread; ++k) StartNext(*t);
    });
    t->thread = std::thread([t] {
      auto guard = boost::asio::make_work_guard(t->ctx.io);
      t->ctx.io.run();
    });
  }
  return absl::OkStatus();
}

void ClientPool::StartNext(Thread& t) {
  if (t.next < t.clients.size()) t.clients[t.next++]->Start();
}

PoolTotals ClientPool::Totals() const {
  PoolTotals s;
  for (const auto& t : threads_) {
    s.connected += t->ctx.connected.load(std::memory_order_relaxed);
    s.ready += t->ctx.ready.load(std::memory_order_relaxed);
    s.delivered += t->ctx.delivered.load(std::memory_order_relaxed);
    s.failed += t->ctx.failed.load(std::memory_order_relaxed);
    s.dropped += t->ctx.dropped.load(std::memory_order_relaxed);
    s.nosub += t->ctx.nosub.load(std::memory_order_relaxed);
  }
  return s;
}

std::vector<int64_t> ClientPool::ReadyPerChannel() {
  std::vector<int64_t> out(
      static_cast<size_t>(std::max<int64_t>(1, options_.channels)), 0);
  for (auto& tp : threads_) {
    Thread* t = tp.get();
    std::promise<void> done;
    auto fut = done.get_future();
    boost::asio::post(t->ctx.io, [t, &out, &done] {
      for (const auto& c : t->clients) {
        if (c->state() == Client::State::kReady)
          ++out[static_cast<size_t>(c->channel_index())];
      }
      done.set_value();
    });
    fut.wait();
  }
  return out;
}

void ClientPool::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& tp : threads_) {
    Thread* t = tp.get();
    std::promise<void> done;
    auto fut = done.get_future();
    boost::asio::post(t->ctx.io, [t, &done] {
      t->ctx.on_settled = nullptr;
      t->next = t->clients.size();
      done.set_value();
    });
    fut.wait();
    t->ctx.io.stop();
    if (t->thread.joinable()) t->thread.join();
  }
}

Histogram ClientPool::MergedLatency() const {
  Histogram h;
  for (const auto& t : threads_) h.Merge(t->ctx.latency);
  return h;
}

int64_t ClientPool::Duplicates() const {
  int64_t d = 0;
  for (const auto& t : threads_) d += t->ctx.duplicates;
  return d;
}

std::vector<ClientPool::ClientStat> ClientPool::PerClient() const {
  std::vector<ClientStat> out;
  for (const auto& t : threads_) {
    for (const auto& c : t->clients) {
      out.push_back({c->channel_index(), c->unique(), c->reached_ready()});
    }
  }
  return out;
}

std::string ClientPool::FirstError() const {
  for (const auto& t : threads_) {
    for (const auto& c : t->clients) {
      if (!c->error().empty()) return c->error();
    }
  }
  return "";
}

}  // namespace vent::bench
