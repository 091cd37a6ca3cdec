// Internal: request/reply exchanges outside a long-lived session.
//
// RoundTrip writes pipelined commands on a connected Stream and reads exactly
// their replies (used by the Connection handshake). OneShot opens a short
// connection (TLS and AUTH as configured), runs commands and closes it, all
// within a deadline: how Sentinels are asked for the master and Cluster nodes
// for the slot map. io thread only; neither blocks the thread.
#ifndef VENT_REDIS_EXCHANGE_H_
#define VENT_REDIS_EXCHANGE_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vent/redis/resp.h"
#include "vent/redis/stream.h"

namespace vent::redis::internal {

using Command = std::vector<std::string>;

// Writes `commands` (one write) and reads one reply per command into *out.
// Error replies are returned as replies, not as errors; the status is an
// error only when the stream fails or sends garbage.
boost::asio::awaitable<absl::Status> RoundTrip(
    Stream& stream, RespReader& reader, const std::vector<Command>& commands,
    std::vector<ReplyPtr>* out);

struct Credentials {
  std::string username;  // empty: AUTH password
  std::string password;  // empty: no AUTH
};

// Connects to `address`, sends [AUTH] + `commands`, returns their replies
// (AUTH's excluded; a refused AUTH is PERMISSION_DENIED). DEADLINE_EXCEEDED
// past `timeout`; UNAVAILABLE naming the address on network/TLS failures.
boost::asio::awaitable<absl::StatusOr<std::vector<ReplyPtr>>> OneShot(
    boost::asio::io_context& io, const Address& address, const TlsSettings& tls,
    const Credentials& credentials, const std::vector<Command>& commands,
    absl::Duration timeout);

}  // namespace vent::redis::internal

#endif  // VENT_REDIS_EXCHANGE_H_
