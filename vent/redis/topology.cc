#include "vent/redis/topology.h"

#include <boost/asio/post.hpp>

namespace vent::redis::internal {

namespace asio = boost::asio;

asio::awaitable<absl::StatusOr<Address>> AnyNodeSource::Next() {
  std::vector<HostPort> candidates = directory_->Candidates();
  if (candidates.empty()) {
    co_return absl::UnavailableError("no cluster node known");
  }
  const HostPort& hp = candidates[next_ % candidates.size()];
  co_return ClusterDirectory::AddressOf(hp);
}

void AnyNodeSource::Failed(const Address&) {
  ++next_;
  directory_->Refresh();
}

SingleTopology::SingleTopology(asio::io_context& io, Options* options,
                               const std::string& role)
    : io_(io) {
  switch (options->endpoint.kind) {
    case Endpoint::Kind::kSingle:
      break;
    case Endpoint::Kind::kSentinel:
      options->address_source = std::make_shared<SentinelSource>(io, *options);
      watcher_ = SentinelWatcher::Make(io, *options);
      break;
    case Endpoint::Kind::kCluster:
      directory_ = std::make_shared<ClusterDirectory>(io, *options, role);
      options->address_source = std::make_shared<AnyNodeSource>(directory_);
      break;
  }
}

void SingleTopology::Attach(const std::shared_ptr<Connection>& connection) {
  if (watcher_) watcher_->Attach(connection);
}

void SingleTopology::Start() {
  if (watcher_) watcher_->Start();
  if (directory_) {
    asio::post(io_, [d = directory_] { d->Start([] {}); });
  }
}

void SingleTopology::Stop() {
  if (watcher_) watcher_->Stop();
  if (directory_) {
    asio::post(io_, [d = directory_] { d->Stop(); });
  }
}

}  // namespace vent::redis::internal
