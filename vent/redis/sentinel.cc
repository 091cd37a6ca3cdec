#include "vent/redis/sentinel.h"

#include <boost/asio/post.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "vent/base/log.h"
#include "vent/redis/exchange.h"

namespace vent::redis::internal {

namespace asio = boost::asio;

SentinelSource::SentinelSource(asio::io_context& io, const Options& options)
    : io_(io), options_(options) {}

asio::awaitable<absl::StatusOr<Address>> SentinelSource::Next() {
  const Endpoint& ep = options_.endpoint;
  absl::StatusOr<TlsSettings> tls = MakeTlsSettings(options_);
  if (!tls.ok()) co_return tls.status();
  Credentials creds{options_.sentinel_username, options_.sentinel_password};
  std::vector<std::string> failures;
  const size_t n = ep.hosts.size();
  const std::vector<Command> commands = {
      Command{"SENTINEL", "get-master-addr-by-name", ep.master_name}};
  for (size_t k = 0; k < n; ++k) {
    size_t i = (preferred_ + k) % n;
    const HostPort& sentinel = ep.hosts[i];
    const Address address{sentinel.host, sentinel.port, ""};
    absl::StatusOr<std::vector<ReplyPtr>> r = co_await OneShot(
        io_, address, *tls, creds, commands, options_.connect_timeout);
    if (!r.ok()) {
      failures.push_back(std::string(r.status().message()));
      continue;
    }
    const redisReply& reply = *r->front();
    if (TypeOf(reply) == ReplyType::kNil) {
      failures.push_back(absl::StrCat("sentinel ", sentinel.ToString(),
                                      " knows no master named \"",
                                      ep.master_name, "\""));
      continue;
    }
    if (TypeOf(reply) == ReplyType::kError) {
      failures.push_back(absl::StrCat("sentinel ", sentinel.ToString(), ": ",
                                      StringOf(reply)));
      continue;
    }
    uint32_t port = 0;
    if (TypeOf(reply) != ReplyType::kArray || ArraySize(reply) != 2 ||
        TypeOf(ElementOf(reply, 0)) != ReplyType::kString ||
        TypeOf(ElementOf(reply, 1)) != ReplyType::kString ||
        !absl::SimpleAtoi(StringOf(ElementOf(reply, 1)), &port) || port == 0 ||
        port > 65535) {
      failures.push_back(absl::StrCat("sentinel ", sentinel.ToString(),
                                      ": unexpected reply ",
                                      DebugString(reply)));
      continue;
    }
    preferred_ = i;
    co_return Address{std::string(StringOf(ElementOf(reply, 0))),
                      static_cast<uint16_t>(port), ""};
  }
  co_return absl::UnavailableError(
      absl::StrCat("no Sentinel gave the address of master \"", ep.master_name,
                   "\": ", absl::StrJoin(failures, "; ")));
}

asio::awaitable<absl::StatusOr<Address>> RotatingSource::Next() {
  const HostPort& hp = hosts_[next_ % hosts_.size()];
  co_return Address{hp.host, hp.port, ""};
}

void RotatingSource::Failed(const Address& address) {
  const HostPort& hp = hosts_[next_ % hosts_.size()];
  if (hp.host == address.host && hp.port == address.port) ++next_;
}

std::shared_ptr<SentinelWatcher> SentinelWatcher::Make(asio::io_context& io,
                                                       const Options& options) {
  Options w = options;
  w.endpoint.username = options.sentinel_username;
  w.endpoint.password = options.sentinel_password;
  w.endpoint.db = 0;
  w.client_name.clear();
  w.address_source = std::make_shared<RotatingSource>(options.endpoint.hosts);
  return std::make_shared<SentinelWatcher>(io, std::move(w),
                                           options.endpoint.master_name);
}

SentinelWatcher::SentinelWatcher(asio::io_context& io, Options watcher_options,
                                 std::string master_name)
    : Connection(io, std::move(watcher_options), "sentinel-watcher"),
      master_name_(std::move(master_name)) {}

void SentinelWatcher::Stop() {
  asio::post(
      io(),
      [self = std::static_pointer_cast<SentinelWatcher>(shared_from_this())] {
        self->attached_.clear();
        self->Shutdown();
      });
}

void SentinelWatcher::OnUp() {
  std::string cmd;
  AppendCommand(cmd, {"SUBSCRIBE", "+switch-master"});
  Write(std::move(cmd));
}

absl::Status SentinelWatcher::OnReply(ReplyPtr reply) {
  const redisReply& r = *reply;
  if (TypeOf(r) == ReplyType::kError) {
    return ErrorReplyToStatus("SUBSCRIBE +switch-master", StringOf(r));
  }
  if (TypeOf(r) != ReplyType::kArray || ArraySize(r) != 3 ||
      TypeOf(ElementOf(r, 0)) != ReplyType::kString ||
      StringOf(ElementOf(r, 0)) != "message" ||
      TypeOf(ElementOf(r, 2)) != ReplyType::kString) {
    return absl::OkStatus();  // the subscribe confirmation
  }
  // "<master-name> <old-ip> <old-port> <new-ip> <new-port>"
  std::vector<std::string> parts =
      absl::StrSplit(StringOf(ElementOf(r, 2)), ' ', absl::SkipEmpty());
  if (parts.size() != 5 || parts[0] != master_name_) return absl::OkStatus();
  std::string to = absl::StrCat(parts[3], ":", parts[4]);
  VENT_LOG_INFO("redis sentinel: master switched", "master", master_name_,
                "from", absl::StrCat(parts[1], ":", parts[2]), "to", to);
  for (auto& w : attached_) {
    auto c = w.lock();
    if (c && c->connected() && c->address().host == parts[3] &&
        std::to_string(c->address().port) == parts[4]) {
      continue;  // already there
    }
    if (c) {
      c->Reconnect(absl::UnavailableError(absl::StrCat(
          "sentinel switched master \"", master_name_, "\" to ", to)));
    }
  }
  return absl::OkStatus();
}

}  // namespace vent::redis::internal
