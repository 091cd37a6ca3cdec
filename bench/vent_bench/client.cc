#include "bench/vent_bench/client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <string_view>

namespace vent::bench {
namespace {

using boost::asio::ip::tcp;

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Masked client text frame; the zero key keeps the payload as is (servers
// must accept any key).
void AppendMaskedText(std::string& out, std::string_view payload) {
  out.push_back(static_cast<char>(0x81));
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  out.append(4, '\0');
  out.append(payload);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Client::Client(ThreadCtx& ctx, ClientSpec spec, int channel_index)
    : ctx_(ctx),
      spec_(std::move(spec)),
      channel_index_(channel_index),
      socket_(ctx.io) {}

void Client::Start() {
  state_ = State::kConnecting;
  boost::system::error_code ec;
  socket_.open(spec_.server.protocol(), ec);
  if (ec) return Fail("open: " + ec.message());
  if (spec_.bind_source) {
    int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
                 &one, sizeof(one));
    socket_.bind(tcp::endpoint(spec_.source, 0), ec);
    if (ec)
      return Fail("bind " + spec_.source.to_string() + ": " + ec.message());
  }
  socket_.async_connect(
      spec_.server,
      [this](const boost::system::error_code& e) { OnConnected(e); });
}

void Client::OnConnected(const boost::system::error_code& ec) {
  if (ec) return Fail("connect: " + ec.message());
  ctx_.connected.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  state_ = State::kUpgrading;
  out_ += "GET " + spec_.path + " HTTP/1.1\r\nHost: " + spec_.host_header +
          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n";
  Flush();
  ArmRead();
}

void Client::ArmRead() {
  socket_.async_wait(
      tcp::socket::wait_read,
      [this](const boost::system::error_code& ec) { OnReadable(ec); });
}

void Client::OnReadable(const boost::system::error_code& ec) {
  if (state_ == State::kClosed) return;
  if (ec) return Fail("wait: " + ec.message());
  int64_t now = NowNs();
  for (int round = 0; round < 4; ++round) {
    boost::system::error_code rec;
    size_t n = socket_.read_some(boost::asio::buffer(ctx_.rbuf), rec);
    if (rec == boost::asio::error::would_block) break;
    if (rec)
      return Fail(rec == boost::asio::error::eof ? "closed by server"
                                                 : rec.message());
    if (!Consume(ctx_.rbuf.data(), n, now)) return;
    if (n < ctx_.rbuf.size()) break;
  }
  ArmRead();
}

bool Client::Consume(const char* data, size_t n, int64_t now_ns) {
  const char* p = data;
  size_t len = n;
  if (!partial_.empty()) {
    partial_.append(data, n);
    p = partial_.data();
    len = partial_.size();
  }
  size_t off = 0;
  while (off < len) {
    size_t used = 0;
    bool ok = state_ == State::kUpgrading
                  ? HandleHandshake(p + off, len - off, &used)
                  : HandleFrames(p + off, len - off, &used, now_ns);
    if (!ok) return false;
    if (used == 0) break;
    off += used;
  }
  std::string rest(p + off, len - off);
  partial_ = std::move(rest);
  if (partial_.capacity() > 4096 && partial_.size() < 1024)
    partial_.shrink_to_fit();
  return true;
}

bool Client::HandleHandshake(const char* data, size_t n, size_t* used) {
  std::string_view s(data, n);
  size_t end = s.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (n > 16384) {
      Fail("handshake head too large");
      return false;
    }
    *used = 0;
    return true;
  }
  if (!StartsWith(s, "HTTP/1.1 101")) {
    Fail("upgrade refused: " + std::string(s.substr(0, s.find("\r\n"))));
    return false;
  }
  *used = end + 4;
  state_ = State::kSubscribing;
  AppendMaskedText(
      out_, R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})");
  AppendMaskedText(
      out_, R"({"msg":"sub","id":"s1","name":"bench","params":["r1",{"ch":")" +
                spec_.channel_param + "\"}]}");
  Flush();
  return true;
}

bool Client::HandleFrames(const char* data, size_t n, size_t* used,
                          int64_t now_ns) {
  const auto* u = reinterpret_cast<const unsigned char*>(data);
  if (n < 2) return *used = 0, true;
  uint8_t op = u[0] & 0x0f;
  uint64_t len = u[1] & 0x7f;
  size_t hdr = 2;
  if (len == 126) {
    if (n < 4) return *used = 0, true;
    len = (uint64_t{u[2]} << 8) | u[3];
    hdr = 4;
  } else if (len == 127) {
    if (n < 10) return *used = 0, true;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | u[2 + i];
    hdr = 10;
  }
  if (u[1] & 0x80) {
    Fail("server frame is masked");
    return false;
  }
  if (n - hdr < len) return *used = 0, true;
  *used = hdr + len;
  const char* payload = data + hdr;
  switch (op) {
    case 1:
    case 0:
      return HandleText(payload, len, now_ns);
    case 8:
      Fail("close frame from server");
      return false;
    case 9: {  // WebSocket ping -> pong (masked, same payload)
      out_.push_back(static_cast<char>(0x8A));
      out_.push_back(static_cast<char>(0x80 | len));
      out_.append(4, '\0');
      out_.append(payload, len);
      Flush();
      return true;
    }
    default:
      return true;
  }
}

bool Client::HandleText(const char* p, size_t n, int64_t now_ns) {
  std::string_view s(p, n);
  size_t vb = s.find("\"vb\":[");
  if (vb != std::string_view::npos &&
      StartsWith(s, R"({"msg":"changed","__vent":"1")")) {
    const char* q = p + vb + 6;
    const char* end = p + n;
    int64_t sent = 0, seq = 0;
    auto r1 = std::from_chars(q, end, sent);
    if (r1.ec != std::errc() || r1.ptr >= end || *r1.ptr != ',') return true;
    auto r2 = std::from_chars(r1.ptr + 1, end, seq);
    if (r2.ec != std::errc()) return true;
    ctx_.delivered.fetch_add(1, std::memory_order_relaxed);
    ctx_.latency.Record(now_ns - sent);
    if (seq == next_seq_) {
      ++next_seq_;
      ++unique_;
    } else if (seq > next_seq_) {
      ctx_.gaps += seq - next_seq_;
      next_seq_ = seq + 1;
      ++unique_;
    } else {
      ++ctx_.duplicates;
    }
    return true;
  }
  if (StartsWith(s, R"({"msg":"ping")")) {
    size_t id = s.find("\"id\":");
    if (id != std::string_view::npos) {
      AppendMaskedText(
          out_, "{\"msg\":\"pong\"," + std::string(s.substr(id, n - id)));
    } else {
      AppendMaskedText(out_, R"({"msg":"pong"})");
    }
    Flush();
    return true;
  }
  if (StartsWith(s, R"({"msg":"ready")")) {
    if (state_ == State::kSubscribing) {
      state_ = State::kReady;
      reached_ready_ = true;
      ctx_.ready.fetch_add(1, std::memory_order_relaxed);
      Settle();
    }
    return true;
  }
  if (StartsWith(s, R"({"msg":"nosub")")) {
    ctx_.nosub.fetch_add(1, std::memory_order_relaxed);
    Fail("nosub: " + std::string(s.substr(0, 200)));
    return false;
  }
  if (StartsWith(s, R"({"msg":"failed")") ||
      StartsWith(s, R"({"msg":"error")")) {
    Fail(std::string(s.substr(0, 200)));
    return false;
  }
  return true;  // connected, server_id, others
}

void Client::Flush() {
  if (write_busy_ || out_.empty() || state_ == State::kClosed) return;
  write_busy_ = true;
  writing_.swap(out_);
  out_.clear();
  boost::asio::async_write(socket_, boost::asio::buffer(writing_),
                           [this](const boost::system::error_code& ec, size_t) {
                             write_busy_ = false;
                             writing_.clear();
                             if (state_ == State::kClosed) return;
                             if (ec) return Fail("write: " + ec.message());
                             Flush();
                           });
}

void Client::Fail(const std::string& why) {
  if (state_ == State::kClosed) return;
  bool was_ready = state_ == State::kReady;
  state_ = State::kClosed;
  if (error_.empty()) error_ = why;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (was_ready) {
    ctx_.dropped.fetch_add(1, std::memory_order_relaxed);
  } else {
    ctx_.failed.fetch_add(1, std::memory_order_relaxed);
  }
  Settle();
}

void Client::Settle() {
  if (settled_) return;
  settled_ = true;
  // Posted, not called: a run of failures (e.g. EMFILE) would otherwise
  // recurse through Start() -> Fail() -> Settle() without bound.
  boost::asio::post(ctx_.io, [&ctx = ctx_] {
    if (ctx.on_settled) ctx.on_settled();
  });
}

void Client::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace vent::bench
