#include "bridge/http_session.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bridge/access.h"
#include "bridge/sockjs_framing.h"
#include "bridge/sockjs_receiver.h"
#include "bridge/sockjs_session.h"
#include "bridge/static_files.h"
#include "bridge/ws_connection.h"
#include "vent/base/log.h"
#include "vent/tls/tls.h"
#include "vent/ws/deflate.h"
#include "vent/ws/frame.h"
#include "vent/ws/handshake.h"
#include "vent/ws/sockjs.h"

namespace vent::bridge {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kHeaderLimit = 8 * 1024;
constexpr size_t kBodyLimit = 16 * 1024;

absl::string_view Sv(beast::string_view s) {
  return absl::string_view(s.data(), s.size());
}

using Request = http::request<http::string_body>;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `tls`: the connection's TLS session when it comes back from a
  // SockJS receiver or another worker (null: a new one when TLS is on).
  // `leftover`: plaintext received and not parsed yet.
  HttpSession(Worker& worker, tcp::socket socket, ConnectionSlot slot,
              bool admin, std::unique_ptr<tls::TlsSession> tls = nullptr,
              std::string leftover = {})
      : worker_(worker),
        ctx_(worker.ctx()),
        socket_(std::move(socket)),
        timer_(worker.io()),
        tls_(std::move(tls)),
        in_(std::move(leftover)),
        slot_(std::move(slot)),
        admin_(admin) {
    if (auto t = ctx_.tls.load(); tls_ == nullptr && t != nullptr && !admin) {
      tls_ = std::make_unique<tls::TlsSession>(std::move(t));
    }
    if (tls_ != nullptr && tls_->handshake_done()) tls_started_ = true;
  }

  void Start() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    NextRequest();
  }

  // A SockJS request moved here from another worker (this one owns its
  // session): routed at once, then the connection goes on here.
  void StartAdopted(Request req) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    adopted_.emplace(std::move(req));
    ArmTimer();
    auto sp = ParseSockJsPath(PathOf(absl::string_view(
        adopted_->target().data(), adopted_->target().size())));
    if (!sp.has_value()) return Shutdown();  // unreachable
    SockJsRoute(*sp);
  }

 private:
  // Reads, decrypts and parses until one request is complete; a whole
  // request may already be buffered (pipelining, or bytes that came with
  // the TLS Finished message). Exactly one read or write is in flight at a
  // time, so TLS handshake bytes, responses and the hand-over to a
  // WsConnection never interleave.
  void NextRequest() {
    adopted_.reset();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(BodyLimit());
    parser_->eager(true);
    ArmTimer();
    Parse();
  }

  void ArmTimer() {
    timer_.expires_after(
        absl::ToChronoMilliseconds(ctx_.options.handshake_timeout));
    timer_.async_wait([self =
                           shared_from_this()](boost::system::error_code ec) {
      if (!ec)
        self->Shutdown();  // timed out: the pending wait/write fails and stops
    });
  }

  void Parse() {
    beast::error_code ec;
    while (!in_.empty() && !parser_->is_done()) {
      size_t used = parser_->put(asio::buffer(in_), ec);
      in_.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) break;
    }
    if (ec) {
      // Oversized or malformed request: answer and close.
      http::status st =
          (ec == http::error::header_limit || ec == http::error::body_limit)
              ? http::status::payload_too_large
              : http::status::bad_request;
      return Respond(st, "text/plain", absl::StrCat(ec.message(), "\n"), false);
    }
    if (parser_->is_done()) {
      // RFC 9112 6.3: a request whose Transfer-Encoding does not end in
      // chunked has no knowable length; Beast would take an empty body and
      // read the real body as the next request (smuggling). Refuse it.
      auto& req = Req();
      if (req.find(http::field::transfer_encoding) != req.end() &&
          !parser_->chunked()) {
        return Respond(http::status::bad_request, "text/plain",
                       "Transfer-Encoding must end with chunked\n", false);
      }
      return Route();
    }
    socket_.async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this()](boost::system::error_code ec) {
          self->OnReadable(ec);
        });
  }

  void OnReadable(boost::system::error_code ec) {
    if (ec || closed_) return Shutdown();
    boost::system::error_code rec;
    size_t n = socket_.read_some(
        asio::buffer(worker_.rx_buffer(), worker_.rx_size()), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again)
      return Parse();
    if (rec) {  // EOF or reset, possibly mid-request
      if (tls_ != nullptr && tls_started_ && !tls_->handshake_done()) {
        // Typically a client that does not trust our certificate.
        ctx_.NoteTlsFailure(RemoteText(), "handshake abandoned by the client");
      }
      return Shutdown();
    }
    absl::string_view bytes(worker_.rx_buffer(), n);
    if (in_.size() + n > kHeaderLimit + BodyLimit() + 4096) {
      return Respond(http::status::payload_too_large, "text/plain",
                     "request too large\n", false);
    }
    if (tls_ == nullptr) {
      in_.append(bytes.data(), bytes.size());
      return Parse();
    }
    std::string wire;
    tls_started_ = true;
    absl::Status st = tls_->Feed(bytes, &in_, &wire);
    if (!st.ok()) {
      ctx_.NoteTlsFailure(RemoteText(), st.message());
      return WriteWire(std::move(wire),
                       false);  // the alert, if any; then close
    }
    if (tls_->peer_closed()) return Shutdown();
    if (!wire.empty()) {
      return WriteWire(std::move(wire), true,
                       [](HttpSession& s) { s.Parse(); });
    }
    Parse();
  }

  std::string RemoteText() const {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    return ec ? std::string()
              : absl::StrCat(remote.address().to_string(), ":", remote.port());
  }

  // Writes `bytes` (already encrypted when TLS is on); then runs `next`
  // when `keep`, else closes.
  void WriteWire(std::string bytes, bool keep,
                 void (*next)(HttpSession&) = nullptr) {
    if (bytes.empty()) {
      if (!keep) return Shutdown();
      if (next != nullptr) next(*this);
      return;
    }
    auto buf = std::make_shared<std::string>(std::move(bytes));
    asio::async_write(socket_, asio::buffer(*buf),
                      [self = shared_from_this(), buf, keep, next](
                          boost::system::error_code ec, size_t) {
                        if (ec || !keep || self->closed_)
                          return self->Shutdown();
                        if (next != nullptr) next(*self);
                      });
  }

  // Sends plaintext HTTP bytes through TLS when it is on.
  void Send(std::string plain, bool keep, void (*next)(HttpSession&)) {
    if (tls_ == nullptr) return WriteWire(std::move(plain), keep, next);
    std::string wire;
    if (!tls_->Encrypt(plain, &wire).ok()) return Shutdown();
    WriteWire(std::move(wire), keep, next);
  }

  // The request being answered (parsed here, or adopted from another
  // worker).
  Request& Req() { return adopted_ ? *adopted_ : parser_->get(); }
  static absl::string_view PathOf(absl::string_view target) {
    return target.substr(0, target.find('?'));
  }
  // xhr_send bodies carry a whole SockJS frame: up to --max-message, like
  // one WebSocket message.
  size_t BodyLimit() const {
    return std::max(kBodyLimit, static_cast<size_t>(ctx_.options.max_message));
  }

  void Route() {
    auto& req = Req();
    absl::string_view target = Sv(req.target());
    absl::string_view path = PathOf(target);
    bool keep = req.keep_alive();
    if (admin_ && path != "/livez" && path != "/readyz" && path != "/healthz" &&
        path != "/metrics") {
      return Respond(http::status::not_found, "text/plain", "not found\n",
                     keep);
    }
    if (path == "/websocket" || path == "/websocket/" ||
        path == "/sockjs/websocket" || path == "/sockjs/websocket/") {
      return Upgrade(Transport::kRaw);
    }
    if (ws::IsSockJsWebSocketPath(path)) return Upgrade(Transport::kSockJs);
    if (path == "/sockjs/info") return SockJsInfo(keep);
    if (auto sp = ParseSockJsPath(path);
        sp.has_value() && sp->transport != SockJsTransport::kWebSocket) {
      return SockJsRoute(*sp);
    }
    if (path == "/livez") {
      return Respond(http::status::ok, "text/plain", "ok\n", keep);
    }
    if (path == "/readyz" || path == "/healthz") {
      // Not ready while draining (load balancers stop sending new clients)
      // or while the Redis subscriber is down.
      const char* why = ctx_.shutting_down.load() ? "shutting down\n"
                        : !ctx_.redis_up.load()   ? "redis unavailable\n"
                                                  : nullptr;
      return Respond(why ? http::status::service_unavailable : http::status::ok,
                     "text/plain", why ? why : "ok\n", keep);
    }
    if (path == "/metrics" && (admin_ || ctx_.options.metrics_listen.empty())) {
      return Respond(http::status::ok, "text/plain; version=0.0.4",
                     ctx_.registry->Render(), keep);
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return Respond(http::status::method_not_allowed, "text/plain",
                     "method not allowed\n", keep);
    }
    auto file = ResolveStatic(ctx_.options.static_dir, path);
    if (!file.ok())
      return Respond(http::status::not_found, "text/plain", "not found\n",
                     keep);
    auto content = ReadStatic(*file, ctx_.options.max_static_bytes);
    if (!content.ok()) {
      VENT_LOG_WARN("static file not served", "path", file->path, "error",
                    content.status().message());
      return Respond(http::status::internal_server_error, "text/plain",
                     "file not served\n", keep);
    }
    Respond(http::status::ok, file->content_type, std::move(*content), keep,
            req.method() == http::verb::head);
  }

  void SockJsInfo(bool keep) {
    auto& req = Req();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->keep_alive(keep);
    auto origin = req[http::field::origin];
    res->set(http::field::access_control_allow_origin,
             origin.empty() ? "*" : origin);
    if (!origin.empty())
      res->set(http::field::access_control_allow_credentials, "true");
    res->set(http::field::vary, "Origin");
    res->set(http::field::cache_control,
             "no-store, no-cache, no-transform, must-revalidate, max-age=0");
    if (req.method() == http::verb::options) {
      res->result(http::status::no_content);
      res->set(http::field::access_control_allow_methods, "OPTIONS, GET");
      res->set(http::field::access_control_max_age, "31536000");
    } else {
      res->result(http::status::ok);
      res->set(http::field::content_type, "application/json; charset=UTF-8");
      static thread_local std::mt19937 rng{std::random_device{}()};
      res->body() = ws::InfoJson(static_cast<uint32_t>(rng()));
    }
    res->prepare_payload();
    Write(std::move(res));
  }

  // --- SockJS over HTTP (sockjs_session.h) ---------------------------------

  // CORS as sockjs-node answers it: the Origin echoed (with credentials)
  // or *, and the preflight's requested headers allowed.
  void SetCors(http::response<http::string_body>& res) {
    auto& req = Req();
    absl::string_view origin = Sv(req[http::field::origin]);
    if (origin.empty() || origin == "null") {
      res.set(http::field::access_control_allow_origin, "*");
    } else {
      res.set(http::field::access_control_allow_origin,
              beast::string_view(origin.data(), origin.size()));
      res.set(http::field::access_control_allow_credentials, "true");
    }
    res.set(http::field::vary, "Origin");
    auto wanted = req[http::field::access_control_request_headers];
    if (!wanted.empty()) {
      res.set(http::field::access_control_allow_headers, wanted);
    }
  }

  void RespondSockJs(http::status status, std::string body, bool keep,
                     absl::string_view type = "text/plain; charset=UTF-8") {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "vent-bridge");
    res->set(http::field::content_type,
             beast::string_view(type.data(), type.size()));
    res->set(http::field::cache_control,
             "no-store, no-cache, no-transform, must-revalidate, max-age=0");
    SetCors(*res);
    res->keep_alive(keep);
    res->body() = std::move(body);
    res->prepare_payload();
    Write(std::move(res));
  }

  void SockJsRoute(const SockJsPath& sp) {
    auto& req = Req();
    bool keep = req.keep_alive();
    bool post = sp.transport == SockJsTransport::kXhrPolling ||
                sp.transport == SockJsTransport::kXhrStreaming ||
                sp.transport == SockJsTransport::kXhrSend;
    if (req.method() == http::verb::options && post) {
      auto res = std::make_shared<http::response<http::string_body>>(
          http::status::no_content, 11);
      res->set(http::field::server, "vent-bridge");
      res->set(http::field::access_control_allow_methods, "OPTIONS, POST");
      res->set(http::field::access_control_max_age, "31536000");
      res->set(http::field::cache_control, "public, max-age=31536000");
      SetCors(*res);
      res->keep_alive(keep);
      res->prepare_payload();
      return Write(std::move(res));
    }
    if (req.method() != (post ? http::verb::post : http::verb::get)) {
      return RespondSockJs(http::status::method_not_allowed,
                           "method not allowed\n", keep);
    }
    absl::string_view origin = Sv(req[http::field::origin]);
    if (!OriginAllowed(origin)) {
      ctx_.metrics->refused_origin->Add();
      return RespondSockJs(http::status::forbidden, "Origin not allowed\n",
                           false);
    }
    // Every request of a session is handled by the worker that owns it.
    Worker& owner = SockJsOwner(ctx_, sp.session);
    if (&owner != &worker_) return MoveTo(owner);
    ctx_.metrics->sockjs_requests->Add();
    if (sp.transport == SockJsTransport::kXhrSend) return XhrSend(sp, keep);
    Receive(sp);
  }

  void XhrSend(const SockJsPath& sp, bool keep) {
    SockJsSession* session = worker_.FindSockJs(sp.session);
    if (session == nullptr) {
      return RespondSockJs(http::status::not_found, "", keep);
    }
    absl::Status st = session->Deliver(Req().body());
    if (!st.ok()) {
      return RespondSockJs(http::status::internal_server_error,
                           std::string(st.message()), keep);
    }
    RespondSockJs(http::status::no_content, "", keep);
  }

  void Receive(const SockJsPath& sp) {
    auto& req = Req();
    std::string callback;
    if (sp.transport == SockJsTransport::kHtmlFile) {
      callback = QueryParam("c");
      if (callback.empty()) callback = QueryParam("callback");
      if (callback.empty()) {
        return RespondSockJs(http::status::internal_server_error,
                             "\"callback\" parameter required", false);
      }
      if (!ValidHtmlFileCallback(callback)) {
        return RespondSockJs(http::status::internal_server_error,
                             "invalid \"callback\" parameter", false);
      }
    }
    std::shared_ptr<SockJsSession> session;
    if (SockJsSession* found = worker_.FindSockJs(sp.session)) {
      session = found->shared_from_this();
    } else {
      if (ctx_.shutting_down.load()) {
        return RespondSockJs(http::status::service_unavailable,
                             "shutting down\n", false);
      }
      if (ctx_.ws_connections.load(std::memory_order_relaxed) >=
              ctx_.options.max_connections ||
          ctx_.sockjs_sessions.load(std::memory_order_relaxed) >=
              ctx_.options.sockjs_max_sessions) {
        ctx_.metrics->refused_connections->Add();
        return RespondSockJs(http::status::service_unavailable,
                             "too many connections", false);
      }
      ConnectionInfo info;
      info.remote = RemoteText();
      info.origin = std::string(Sv(req[http::field::origin]));
      info.user_agent = std::string(Sv(req[http::field::user_agent]));
      info.forwarded_for = std::string(Sv(req["X-Forwarded-For"]));
      session = SockJsSession::Create(worker_, sp.session, std::move(info));
    }
    SockJsHttpReceiver::Params p;
    p.transport = sp.transport;
    p.chunked = req.version() >= 11;
    p.keep_alive = req.keep_alive() && p.chunked;
    p.prelude = ReceiverPrelude(sp.transport, callback);
    p.head = absl::StrCat("HTTP/1.1 200 OK\r\nServer: vent-bridge\r\n",
                          "Content-Type: ", ReceiverContentType(sp.transport),
                          "\r\nCache-Control: no-store, no-cache, "
                          "no-transform, must-revalidate, max-age=0\r\n");
    absl::string_view origin = Sv(req[http::field::origin]);
    if (origin.empty() || origin == "null") {
      p.head += "Access-Control-Allow-Origin: *\r\n";
    } else {
      absl::StrAppend(&p.head, "Access-Control-Allow-Origin: ", origin,
                      "\r\nAccess-Control-Allow-Credentials: true\r\n");
    }
    p.head += "Vary: Origin\r\n";
    p.head += p.chunked ? "Transfer-Encoding: chunked\r\n" : "";
    p.head += p.keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
    std::string leftover = std::move(in_);
    closed_ = true;  // the socket is the receiver's now
    timer_.cancel();
    auto receiver = std::make_shared<SockJsHttpReceiver>(
        worker_, std::move(socket_), std::move(tls_), std::move(slot_),
        std::move(leftover), std::move(p));
    receiver->Start(std::move(session));
  }

  // The value of query parameter `name` (no %-decoding: SockJS's values
  // are plain).
  std::string QueryParam(absl::string_view name) {
    absl::string_view target = Sv(Req().target());
    size_t q = target.find('?');
    if (q == absl::string_view::npos) return "";
    for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&')) {
      if (absl::ConsumePrefix(&kv, name) && absl::ConsumePrefix(&kv, "=")) {
        return std::string(kv);
      }
    }
    return "";
  }

  // Hands the connection (socket, TLS session, unparsed bytes, this
  // request) to `owner`, which answers the request and keeps serving the
  // connection.
  void MoveTo(Worker& owner) {
    boost::system::error_code ec;
    tcp::endpoint local = socket_.local_endpoint(ec);
    if (ec) return Shutdown();
    closed_ = true;
    timer_.cancel();
    tcp::socket::native_handle_type fd = socket_.release(ec);
    if (ec) {
      VENT_LOG_WARN("SockJS request not moved", "error", ec.message());
      return;
    }
    Request req = std::move(Req());
    asio::post(owner.io(), [&owner, fd, protocol = local.protocol(),
                            tls = std::move(tls_), slot = std::move(slot_),
                            in = std::move(in_), req = std::move(req),
                            admin = admin_]() mutable {
      boost::system::error_code ec;
      tcp::socket socket(owner.io());
      socket.assign(protocol, fd, ec);
      if (ec) {
        ::close(fd);
        return;
      }
      std::make_shared<HttpSession>(owner, std::move(socket), std::move(slot),
                                    admin, std::move(tls), std::move(in))
          ->StartAdopted(std::move(req));
    });
  }

  void Respond(http::status status, absl::string_view type, std::string body,
               bool keep, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "vent-bridge");
    res->set(http::field::content_type,
             beast::string_view(type.data(), type.size()));
    res->keep_alive(keep);
    res->body() = std::move(body);
    res->prepare_payload();
    if (head) res->body().clear();
    Write(std::move(res));
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res) {
    bool keep = res->keep_alive();
    std::ostringstream text;
    text << *res;
    Send(std::move(text).str(), keep, [](HttpSession& s) { s.NextRequest(); });
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ec;
    if (tls_ != nullptr && tls_->handshake_done()) {
      std::string wire;
      tls_->Close(&wire);
      socket_.write_some(asio::buffer(wire), ec);  // best effort, never blocks
    }
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  bool OriginAllowed(absl::string_view origin) const {
    const auto& allowed = ctx_.options.allowed_origins;
    if (allowed.empty() || origin.empty()) return true;
    for (const std::string& a : allowed) {
      if (a == "*" || absl::EqualsIgnoreCase(a, origin)) return true;
    }
    return false;
  }

  void Upgrade(Transport transport) {
    auto& req = Req();
    if (req.method() != http::verb::get) {
      return Respond(http::status::bad_request, "text/plain",
                     "Not a valid websocket request", false);
    }
    if (req[http::field::upgrade].empty()) {
      return Respond(http::status::bad_request, "text/plain",
                     "Not a valid websocket request", false);
    }
    absl::Status valid = ws::ValidateUpgrade(
        Sv(req[http::field::upgrade]), Sv(req[http::field::connection]),
        Sv(req[http::field::sec_websocket_version]),
        Sv(req[http::field::sec_websocket_key]));
    if (!valid.ok()) {
      return Respond(http::status::bad_request, "text/plain",
                     std::string(valid.message()), false);
    }
    absl::string_view origin = Sv(req[http::field::origin]);
    if (!OriginAllowed(origin)) {
      ctx_.metrics->refused_origin->Add();
      VENT_LOG_INFO("websocket refused: origin not allowed", "origin", origin);
      return Respond(http::status::forbidden, "text/plain",
                     "Origin not allowed\n", false);
    }
    if (ctx_.shutting_down.load()) {
      return Respond(http::status::service_unavailable, "text/plain",
                     "shutting down\n", false);
    }
    if (ctx_.ws_connections.load(std::memory_order_relaxed) >=
        ctx_.options.max_connections) {
      ctx_.metrics->refused_connections->Add();
      return Respond(http::status::service_unavailable, "text/plain",
                     "too many connections", false);
    }
    // A login token may come with the upgrade (`?token=JWT`, for browsers,
    // or `Authorization: Bearer JWT`): the first subscriptions are then
    // already authenticated. A bad token refuses the upgrade (401).
    std::string user_id;
    absl::Time user_expires = absl::InfiniteFuture();
    std::string token = TokenFrom(req);
    if (!token.empty()) {
      absl::StatusOr<LoginResult> login =
          absl::UnauthenticatedError("no login configured");
      if (ctx_.access != nullptr)
        login = ctx_.access->VerifyToken(token, absl::Now());
      if (!login.ok()) {
        return Respond(
            http::status::unauthorized, "text/plain",
            absl::StrCat("invalid token: ", login.status().message(), "\n"),
            false);
      }
      user_id = login->user_id;
      user_expires = login->valid_until;
    }
    // permessage-deflate (--compression): raw WebSocket only.
    ws::DeflateNegotiation deflate;
    if (ctx_.options.compression && transport == Transport::kRaw) {
      std::string offers;
      auto range = req.equal_range(http::field::sec_websocket_extensions);
      for (auto it = range.first; it != range.second; ++it) {
        if (!offers.empty()) offers += ", ";
        offers.append(it->value().data(), it->value().size());
      }
      deflate = ws::NegotiateDeflate(offers);
    }
    std::string out = absl::StrCat(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
        "Upgrade\r\n"
        "Sec-WebSocket-Accept: ",
        ws::AcceptKey(Sv(req[http::field::sec_websocket_key])), "\r\n");
    if (!deflate.response.empty()) {
      absl::StrAppend(&out, "Sec-WebSocket-Extensions: ", deflate.response,
                      "\r\n");
    }
    out += "\r\n";
    if (transport == Transport::kSockJs)
      ws::AppendFrame(out, ws::Opcode::kText, "o");
    ConnectionInfo info;
    info.user_id = std::move(user_id);
    info.user_expires = user_expires;
    info.remote = RemoteText();
    info.origin = std::string(origin);
    info.user_agent = std::string(Sv(req[http::field::user_agent]));
    info.forwarded_for = std::string(Sv(req["X-Forwarded-For"]));
    std::string leftover = std::move(in_);
    closed_ = true;  // the socket is the connection's now
    timer_.cancel();
    auto conn = std::make_shared<WsConnection>(
        worker_, std::move(socket_), std::move(tls_), transport,
        std::move(slot_), std::move(info));
    worker_.AddConnection(conn);
    conn->EnableDeflate(deflate.params);
    conn->Start(std::move(out), std::move(leftover));
  }

  static std::string TokenFrom(const http::request<http::string_body>& req) {
    absl::string_view auth = Sv(req[http::field::authorization]);
    if (absl::ConsumePrefix(&auth, "Bearer ")) return std::string(auth);
    absl::string_view target = Sv(req.target());
    size_t q = target.find('?');
    if (q == absl::string_view::npos) return "";
    for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&')) {
      if (absl::ConsumePrefix(&kv, "token="))
        return std::string(kv);  // base64url: no escapes
    }
    return "";
  }

  Worker& worker_;
  BridgeContext& ctx_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::unique_ptr<tls::TlsSession> tls_;  // null: plain HTTP
  std::string in_;                        // received plaintext not yet parsed
  bool closed_ = false;
  bool tls_started_ = false;  // the client sent TLS bytes
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Request> adopted_;  // set by StartAdopted until answered
  ConnectionSlot slot_;
  const bool admin_;  // --metrics-listen port
};

}  // namespace

void StartHttpSession(Worker& worker, tcp::socket socket, ConnectionSlot slot,
                      bool admin, std::unique_ptr<tls::TlsSession> tls,
                      std::string leftover) {
  std::make_shared<HttpSession>(worker, std::move(socket), std::move(slot),
                                admin, std::move(tls), std::move(leftover))
      ->Start();
}

}  // namespace vent::bridge
