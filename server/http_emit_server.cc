#include "server/http_emit_server.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/http_emit_codec.h"
#include "vent/base/log.h"

namespace vent::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr size_t kHeaderLimit = 8 * 1024;
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

absl::string_view Sv(beast::string_view s) {
  return absl::string_view(s.data(), s.size());
}

absl::StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("http-listen: \"", listen, "\" is not HOST:PORT"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  auto addr = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("http-listen: \"", host,
                                                   "\" is not an IP address (",
                                                   ec.message(), ")"));
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

class Session;

}  // namespace

class HttpEmitServer::Impl {
 public:
  Impl(Options options, Emitter* emitter)
      : options_(std::move(options)),
        emitter_(emitter),
        io_(std::make_unique<net::io_context>()),
        acceptor_(std::make_unique<tcp::acceptor>(net::make_strand(*io_))) {}
  ~Impl();

  absl::Status Listen();
  void StartThreads();
  void Accept();
  void Drain();
  bool WaitClosed(absl::Time deadline);
  void Stop();

  // Session bookkeeping (any thread): sessions add themselves at accept.
  void Remove(Session* s);

  const Options options_;
  Emitter* const emitter_;
  std::atomic<bool> draining_{false};
  uint16_t port_ = 0;

 private:
  std::unique_ptr<net::io_context> io_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
  absl::Mutex mu_;
  absl::flat_hash_map<Session*, std::weak_ptr<Session>> sessions_
      ABSL_GUARDED_BY(mu_);
};

namespace {

// One connection: reads a request, answers it, and (keep-alive) the next.
// Runs on its strand; a publish completion is posted back to it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpEmitServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() {
    server_->emitter_->metrics().http_connections->Add(-1);
    server_->Remove(this);
  }

  void Start(bool refuse) {
    server_->emitter_->metrics().http_connections->Add(1);
    if (refuse) {
      server_->emitter_->metrics().http_refused->Add();
      Reply(503,
            EncodeError(absl::StatusCode::kUnavailable,
                        absl::StrCat("too many connections (the limit is ",
                                     server_->options_.max_connections,
                                     ", --http-max-connections); retry later")),
            /*close=*/true);
      return;
    }
    ReadHeader();
  }

  // Drain: a connection waiting for a request that has not started closes.
  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_ && self->buffer_.size() == 0) {
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      }
    });
  }
  void CloseNow() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.socket().close(ignored);
    });
  }

 private:
  const HttpEmitServer::Options& options() const { return server_->options_; }
  Emitter& emitter() { return *server_->emitter_; }

  void ReadHeader() {
    if (server_->draining_.load() && buffer_.size() == 0) return;  // closes
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(options().max_body);
    idle_ = true;
    stream_.expires_after(absl::ToChronoMilliseconds(options().idle_timeout));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec) {
      if (ec == http::error::body_limit) {  // Content-Length over it
        Reply(413, TooLarge(), true);
      } else if (ec == http::error::header_limit) {
        Reply(431,
              EncodeError(absl::StatusCode::kInvalidArgument,
                          "request headers over 8 KiB"),
              true);
      } else if (ec != http::error::end_of_stream &&
                 ec != net::error::operation_aborted &&
                 ec != beast::error::timeout && ec != net::error::eof &&
                 ec != net::error::connection_reset) {
        Reply(
            400,
            EncodeError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("malformed HTTP request: ", ec.message())),
            true);
      }
      return;  // otherwise: closed, idle timeout or drain
    }
    const auto& req = parser_->get();
    if (auto len = parser_->content_length();
        len && *len > options().max_body) {
      Reply(413, TooLarge(), true);
      return;
    }
    if (absl::EqualsIgnoreCase(Sv(req[http::field::expect]), "100-continue")) {
      net::async_write(
          stream_.socket(), net::buffer(kContinue, sizeof(kContinue) - 1),
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (!ec) self->ReadBody();
          });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(absl::ToChronoMilliseconds(options().idle_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnBody(ec);
                     });
  }

  std::string TooLarge() const {
    return EncodeError(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("body over the ", options().max_body,
                                    "-byte limit (--http-max-body)"));
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      Reply(413, TooLarge(), true);
      return;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != http::error::end_of_stream &&
          ec != net::error::eof && ec != net::error::operation_aborted) {
        Reply(
            400,
            EncodeError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("malformed HTTP request: ", ec.message())),
            true);
      }
      return;
    }
    stream_.expires_never();
    Handle();
  }

  void Handle() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    absl::string_view target = Sv(req.target());
    if (size_t q = target.find('?'); q != absl::string_view::npos)
      target = target.substr(0, q);
    if (target != "/v1/emit" && target != "/v1/emit_batch") {
      Reply(404, EncodeError(absl::StatusCode::kNotFound,
                             "no such endpoint (POST /v1/emit or POST "
                             "/v1/emit_batch)"));
      return;
    }
    if (req.method() != http::verb::post) {
      allow_ = true;
      Reply(405, EncodeError(absl::StatusCode::kUnimplemented,
                             "method not allowed (use POST)"));
      return;
    }
    rpc_ = target == "/v1/emit" ? Rpc::kHttpEmit : Rpc::kHttpEmitBatch;
    if (absl::string_view ct = Sv(req[http::field::content_type]);
        !ct.empty() &&
        !absl::StartsWithIgnoreCase(absl::StripLeadingAsciiWhitespace(ct),
                                    "application/json")) {
      Finish(415, absl::InvalidArgumentError(absl::StrCat(
                      "Content-Type must be application/json (got \"",
                      ct.substr(0, 64), "\")")));
      return;
    }
    std::vector<absl::string_view> auth;
    for (const auto& f : req) {
      if (f.name() == http::field::authorization) auth.push_back(Sv(f.value()));
    }
    auto who = emitter().AuthenticateValues(auth);
    if (!who.ok()) {
      Finish(who.status());
      return;
    }
    body_ = std::move(req.body());
    if (rpc_ == Rpc::kHttpEmit) {
      EmitOne(*who);
    } else {
      EmitBatch(*who);
    }
  }

  std::string Peer() {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? std::string("?")
              : absl::StrCat(ep.address().to_string(), ":", ep.port());
  }

  absl::Status Named(const absl::Status& s) {
    return absl::Status(s.code(), HttpFieldNames(s.message()));
  }

  void EmitOne(const Principal* who) {
    const auto& limits = emitter().options().limits;
    auto ev = ParseEmitBody(body_, limits.max_depth);
    if (!ev.ok()) {
      emitter().ReportMalformed(rpc_, ev.status(), Peer());
      Finish(ev.status());
      return;
    }
    v1::Event e;
    e.set_channel(std::move(ev->channel));
    e.set_json(std::string(ev->data));
    e.set_idempotency_key(std::move(ev->idempotency_key));
    auto prepared = emitter().Prepare(std::move(e), who, "event");
    if (!prepared.ok()) {
      Finish(Named(prepared.status()));
      return;
    }
    if (absl::Status s = emitter().Reserve(1); !s.ok()) {
      Finish(s);
      return;
    }
    emitter().Publish(
        std::move(*prepared), [self = shared_from_this()](Emitter::Outcome o) {
          net::post(self->stream_.get_executor(), [self, o = std::move(o)] {
            if (!o.status.ok()) {
              self->Finish(o.status);
              return;
            }
            self->Finish(200, absl::OkStatus(),
                         EncodeEmitReply({o.id, o.receivers, o.duplicate}));
          });
        });
  }

  void EmitBatch(const Principal* who) {
    const auto& limits = emitter().options().limits;
    auto evs = ParseEmitBatchBody(body_, limits.max_depth, options().max_batch);
    if (!evs.ok()) {
      emitter().ReportMalformed(rpc_, evs.status(), Peer());
      Finish(evs.status());
      return;
    }
    std::vector<Emitter::Prepared> prepared;
    prepared.reserve(evs->size());
    for (size_t i = 0; i < evs->size(); ++i) {
      HttpEvent& h = (*evs)[i];
      v1::Event e;
      e.set_channel(std::move(h.channel));
      e.set_json(std::string(h.data));
      e.set_idempotency_key(std::move(h.idempotency_key));
      auto p = emitter().PrepareAt(std::move(e), who, "events",
                                   static_cast<int64_t>(i));
      if (!p.ok()) {
        Finish(Named(p.status()));
        return;
      }
      prepared.push_back(*std::move(p));
    }
    if (absl::Status s =
            emitter().Reserve(static_cast<int64_t>(prepared.size()));
        !s.ok()) {
      Finish(s);
      return;
    }
    emitter().PublishBatch(
        std::move(prepared),
        [self = shared_from_this()](std::vector<Emitter::Outcome> outcomes) {
          net::post(self->stream_.get_executor(),
                    [self, outcomes = std::move(outcomes)] {
                      absl::Status s = BatchStatus(outcomes);
                      if (!s.ok()) {
                        self->Finish(s);
                        return;
                      }
                      std::vector<HttpEmitResult> r;
                      r.reserve(outcomes.size());
                      for (const auto& o : outcomes)
                        r.push_back({o.id, o.receivers, o.duplicate});
                      self->Finish(200, absl::OkStatus(),
                                   EncodeEmitBatchReply(r));
                    });
        });
  }

  // Ends a call of one of the two routes: counts it, replies.
  void Finish(const absl::Status& s) {
    Finish(HttpStatusFor(s.code()), s, EncodeError(s.code(), s.message()));
  }
  void Finish(int status, const absl::Status& s, std::string body = {}) {
    if (body.empty()) body = EncodeError(s.code(), s.message());
    emitter().metrics().CountCall(rpc_,
                                  static_cast<grpc::StatusCode>(s.code()));
    unauthenticated_ = s.code() == absl::StatusCode::kUnauthenticated;
    Reply(status, std::move(body));
  }

  void Reply(int status, std::string body, bool close = false) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<http::status>(status));
    res_.set(http::field::server, "vent-server");
    res_.set(http::field::content_type, "application/json");
    if (allow_) res_.set(http::field::allow, "POST");
    if (unauthenticated_) res_.set(http::field::www_authenticate, "Bearer");
    allow_ = unauthenticated_ = false;
    const bool keep = !close && keep_alive_ && !server_->draining_.load();
    res_.keep_alive(keep);
    res_.body() = std::move(body);
    res_.body().push_back('\n');
    res_.prepare_payload();
    stream_.expires_after(absl::ToChronoMilliseconds(options().idle_timeout));
    http::async_write(
        stream_, res_,
        [self = shared_from_this(), keep](beast::error_code ec, size_t) {
          if (ec) return;
          if (keep) {
            self->keep_alive_ = false;
            self->body_.clear();
            self->ReadHeader();
            return;
          }
          self->LingerClose();
        });
  }

  // Closes after a reply: stops sending, then reads (and drops) what the
  // client still sends for up to a second, so closing with unread input does
  // not reset the connection before the client has read the reply.
  void LingerClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    Discard(1 << 20);
  }
  void Discard(size_t budget) {
    stream_.async_read_some(
        net::buffer(scratch_),
        [self = shared_from_this(), budget](beast::error_code ec, size_t n) {
          if (ec || n >= budget) return;  // EOF, timeout or enough: close
          self->Discard(budget - n);
        });
  }

  beast::tcp_stream stream_;
  HttpEmitServer::Impl* const server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::string body_;
  std::array<char, 16 * 1024> scratch_;
  Rpc rpc_ = Rpc::kHttpEmit;
  bool idle_ = false;
  bool keep_alive_ = false;
  bool allow_ = false;
  bool unauthenticated_ = false;
};

}  // namespace

HttpEmitServer::Impl::~Impl() {
  Stop();
  // Handlers still queued own sessions, whose destructors call Remove: the
  // io_context goes first, while the bookkeeping is alive.
  acceptor_.reset();
  io_.reset();
}

absl::Status HttpEmitServer::Impl::Listen() {
  auto ep = ParseListen(options_.listen);
  if (!ep.ok()) return ep.status();
  beast::error_code ec;
  acceptor_->open(ep->protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(*ep, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "http-listen: cannot listen on ", options_.listen, ": ", ec.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  return absl::OkStatus();
}

void HttpEmitServer::Impl::StartThreads() {
  work_.emplace(io_->get_executor());
  const int n = std::max(1, options_.threads);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { io_->run(); });
}

void HttpEmitServer::Impl::Accept() {
  acceptor_->async_accept(
      net::make_strand(*io_), [this](beast::error_code ec, tcp::socket s) {
        if (ec) {
          if (!acceptor_->is_open() || ec == net::error::operation_aborted)
            return;
          VENT_LOG_WARN("http emit accept failed", "error", ec.message());
        } else {
          bool refuse;
          auto session = std::make_shared<Session>(std::move(s), this);
          {
            absl::MutexLock lock(&mu_);
            refuse = sessions_.size() >= options_.max_connections;
            sessions_[session.get()] = session;
          }
          session->Start(refuse);
        }
        if (!draining_.load()) Accept();
      });
}

void HttpEmitServer::Impl::Remove(Session* s) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(s);
}

void HttpEmitServer::Impl::Drain() {
  if (draining_.exchange(true)) return;
  net::post(acceptor_->get_executor(), [this] {
    beast::error_code ignored;
    acceptor_->close(ignored);
  });
  std::vector<std::shared_ptr<Session>> open;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [p, w] : sessions_) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->CloseIfIdle();
}

bool HttpEmitServer::Impl::WaitClosed(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(
          +[](absl::flat_hash_map<Session*, std::weak_ptr<Session>>* m)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return m->empty(); },
          &sessions_),
      deadline);
}

void HttpEmitServer::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  Drain();
  std::vector<std::shared_ptr<Session>> open;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [p, w] : sessions_) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->CloseNow();
  open.clear();
  work_.reset();
  WaitClosed(absl::Now() + absl::Seconds(2));
  io_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

absl::StatusOr<std::unique_ptr<HttpEmitServer>> HttpEmitServer::Start(
    Options options, Emitter* emitter) {
  auto impl = std::make_shared<Impl>(std::move(options), emitter);
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  impl->Accept();
  impl->StartThreads();
  return std::unique_ptr<HttpEmitServer>(new HttpEmitServer(std::move(impl)));
}

HttpEmitServer::HttpEmitServer(std::shared_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
HttpEmitServer::~HttpEmitServer() { impl_->Stop(); }
uint16_t HttpEmitServer::port() const { return impl_->port_; }
void HttpEmitServer::Drain() { impl_->Drain(); }
bool HttpEmitServer::WaitClosed(absl::Time deadline) {
  return impl_->WaitClosed(deadline);
}
void HttpEmitServer::Stop() { impl_->Stop(); }

}  // namespace vent::server
