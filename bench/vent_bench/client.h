// One benchmark DDP client over a raw WebSocket (plain Asio TCP, hand-written
// HTTP upgrade, masked client frames, a small reader for the server's
// unmasked frames).
//
// Lifecycle: Start() -> TCP connect (optionally bound to a source address) ->
// upgrade -> DDP `connect` + `sub` to publication `bench` with params
// [rand, {"ch": channel}] -> kReady on the DDP `ready`. DDP pings are answered
// with pongs, so idle clients stay connected across heartbeats. Every Vent
// frame whose event carries "vb":[send_ns,seq] is timed against the steady
// clock (same machine as the publisher) and its sequence number checked
// against the channel's: gaps count as lost, repeats as duplicates.
//
// Threading: a Client and its ThreadCtx belong to one io_context run by one
// thread; all methods run on it. The ThreadCtx counters marked atomic may be
// read by any thread (progress output). Clients must outlive the io_context's
// run (the owner stops and joins the thread before destroying them).
#ifndef VENT_BENCH_VENT_BENCH_CLIENT_H_
#define VENT_BENCH_VENT_BENCH_CLIENT_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/vent_bench/histogram.h"

namespace vent::bench {

struct ThreadCtx {
  boost::asio::io_context io{1};
  Histogram latency;                                       // io thread only
  std::vector<char> rbuf = std::vector<char>(256 * 1024);  // shared read buffer
  int64_t duplicates = 0;                                  // io thread only
  int64_t gaps = 0;  // io thread only: events skipped in sequence
  std::atomic<int64_t> connected{0};
  std::atomic<int64_t> ready{0};
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};   // never reached ready
  std::atomic<int64_t> dropped{0};  // closed after ready
  std::atomic<int64_t> nosub{0};
  // Called (io thread) when a client reaches ready or fails before it; used
  // to start the next client (bounded concurrent handshakes).
  std::function<void()> on_settled;
};

struct ClientSpec {
  boost::asio::ip::tcp::endpoint server;
  boost::asio::ip::address source;  // unspecified: no bind
  bool bind_source = false;
  std::string host_header;    // "host:port"
  std::string path;           // "/websocket"
  std::string channel_param;  // value of the "ch" param
};

class Client {
 public:
  enum class State {
    kIdle,
    kConnecting,
    kUpgrading,
    kSubscribing,
    kReady,
    kClosed
  };

  Client(ThreadCtx& ctx, ClientSpec spec, int channel_index);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Start();
  void Close();
  State state() const { return state_; }
  int channel_index() const { return channel_index_; }
  // Distinct in-order-or-later events received (duplicates excluded).
  int64_t unique() const { return unique_; }
  bool reached_ready() const { return reached_ready_; }
  const std::string& error() const { return error_; }

 private:
  void OnConnected(const boost::system::error_code& ec);
  void ArmRead();
  void OnReadable(const boost::system::error_code& ec);
  // Returns false when the connection must close.
  bool Consume(const char* data, size_t n, int64_t now_ns);
  bool HandleHandshake(const char* data, size_t n, size_t* used);
  bool HandleFrames(const char* data, size_t n, size_t* used, int64_t now_ns);
  bool HandleText(const char* p, size_t n, int64_t now_ns);
  void SendText(const std::string& text);
  void Flush();
  void Fail(const std::string& why);
  void Settle();

  ThreadCtx& ctx_;
  const ClientSpec spec_;
  const int channel_index_;
  boost::asio::ip::tcp::socket socket_;
  State state_ = State::kIdle;
  bool settled_ = false;
  bool reached_ready_ = false;
  std::string partial_;  // bytes of an incomplete handshake / frame
  std::string out_;      // queued for writing
  std::string writing_;  // in flight
  bool write_busy_ = false;
  int64_t next_seq_ = 0;
  int64_t unique_ = 0;
  std::string error_;
};

}  // namespace vent::bench

#endif  // VENT_BENCH_VENT_BENCH_CLIENT_H_
