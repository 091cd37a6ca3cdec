#include "server/metrics_http.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "vent/base/log.h"

namespace vent::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket,
          std::shared_ptr<const MetricsHttpServer::Handlers> handlers)
      : stream_(std::move(socket)), handlers_(std::move(handlers)) {}
  void Run() { DoRead(); }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(8 * 1024);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return;  // closed, timeout or garbage: drop the connection
    const auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    res->set(http::field::server, "vent-server");
    absl::string_view target(req.target().data(), req.target().size());
    if (size_t q = target.find('?'); q != absl::string_view::npos)
      target = target.substr(0, q);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->set(http::field::allow, "GET, HEAD");
      res->body() = "method not allowed\n";
    } else if (target == "/metrics") {
      res->result(http::status::ok);
      res->set(http::field::content_type,
               "text/plain; version=0.0.4; charset=utf-8");
      res->body() = handlers_->metrics();
    } else if (target == "/livez") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; charset=utf-8");
      res->body() = "ok\n";
    } else if (target == "/readyz" || target == "/healthz") {
      std::string why = handlers_->not_ready();
      res->result(why.empty() ? http::status::ok
                              : http::status::service_unavailable);
      res->set(http::field::content_type, "text/plain; charset=utf-8");
      res->body() = why.empty() ? "ok\n" : why + "\n";
    } else {
      res->result(http::status::not_found);
      res->set(http::field::content_type, "text/plain; charset=utf-8");
      res->body() = "not found (try /metrics, /livez, /readyz)\n";
    }
    res->prepare_payload();
    if (req.method() == http::verb::head) res->body().clear();
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res](beast::error_code ec, size_t) {
          if (ec || !res->keep_alive()) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send,
                                            ignored);
            return;
          }
          self->DoRead();
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const MetricsHttpServer::Handlers> handlers_;
};

}  // namespace

class MetricsHttpServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(net::io_context& io, Handlers handlers)
      : acceptor_(io),
        handlers_(std::make_shared<const Handlers>(std::move(handlers))) {}

  absl::Status Listen(const std::string& listen) {
    size_t colon = listen.rfind(':');
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics-listen: \"", listen, "\" is not HOST:PORT"));
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    auto addr = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics-listen: \"", host, "\" is not an IP address (",
                       ec.message(), ")"));
    }
    tcp::endpoint ep(addr, static_cast<uint16_t>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "metrics-listen: cannot listen on ", listen, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    return absl::OkStatus();
  }

  void DoAccept() {
    acceptor_.async_accept(
        [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
          if (ec) {
            if (ec != net::error::operation_aborted) {
              VENT_LOG_WARN("metrics accept failed", "error", ec.message());
            }
            if (!self->acceptor_.is_open()) return;
          } else {
            std::make_shared<Session>(std::move(s), self->handlers_)->Run();
          }
          self->DoAccept();
        });
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

  uint16_t port_ = 0;

 private:
  tcp::acceptor acceptor_;
  std::shared_ptr<const Handlers> handlers_;
};

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    net::io_context& io, const std::string& listen, Handlers handlers) {
  auto impl = std::make_shared<Impl>(io, std::move(handlers));
  if (absl::Status s = impl->Listen(listen); !s.ok()) return s;
  impl->DoAccept();
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(impl)));
}

MetricsHttpServer::~MetricsHttpServer() = default;

uint16_t MetricsHttpServer::port() const { return impl_->port_; }

void MetricsHttpServer::Stop() { impl_->Stop(); }

}  // namespace vent::server
