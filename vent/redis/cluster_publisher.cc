#include "vent/redis/cluster_publisher.h"

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "vent/redis/cluster.h"

namespace vent::redis::internal {

namespace asio = boost::asio;

namespace {
constexpr int kMaxAttempts = 3;
constexpr auto kWatchInterval = std::chrono::milliseconds(250);
}  // namespace

ClusterPublisher::ClusterPublisher(asio::io_context& io, Options options)
    : io_(io),
      options_(std::move(options)),
      directory_(std::make_shared<ClusterDirectory>(io, options_, "publisher")),
      watch_timer_(io) {
  absl::MutexLock lock(&mu_);
  last_error_ = absl::UnavailableError("cluster slot map not read yet");
}

ClusterPublisher::~ClusterPublisher() = default;

void ClusterPublisher::Start() {
  asio::post(io_, [self = shared_from_this()] {
    if (self->stopped_) return;
    std::weak_ptr<ClusterPublisher> weak = self;
    self->directory_->Start([weak] {
      if (auto s = weak.lock()) s->OnDirectoryChange();
    });
    self->Watch();
  });
}

absl::Status ClusterPublisher::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

void ClusterPublisher::Publish(std::string channel, std::string message,
                               Publisher::Callback done,
                               std::optional<HistorySpec> history) {
  auto req = std::make_shared<Request>();
  req->results.resize(1);
  req->left = 1;
  req->single = std::move(done);
  std::vector<Item> items;
  items.push_back({req,
                   0,
                   std::move(channel),
                   std::move(message),
                   0,
                   std::move(history),
                   {},
                   {}});
  Accept(std::move(items));
}

void ClusterPublisher::Call(std::vector<std::string> args,
                            std::string routing_channel,
                            Publisher::CallCallback done) {
  std::vector<Item> items(1);
  items[0].channel = std::move(routing_channel);
  items[0].args = std::move(args);
  items[0].call = std::move(done);
  Accept(std::move(items));
}

void ClusterPublisher::PublishBatch(std::vector<Publisher::Message> messages,
                                    Publisher::BatchCallback done) {
  auto req = std::make_shared<Request>();
  req->results.resize(messages.size());
  req->left = messages.size();
  req->batch = std::move(done);
  if (messages.empty()) {
    asio::post(io_, [req]() mutable {
      std::move(req->batch)(std::vector<absl::StatusOr<int64_t>>());
    });
    return;
  }
  std::vector<Item> items;
  items.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    items.push_back({req,
                     i,
                     std::move(messages[i].channel),
                     std::move(messages[i].message),
                     0,
                     std::move(messages[i].history),
                     {},
                     {}});
  }
  Accept(std::move(items));
}

void ClusterPublisher::Accept(std::vector<Item> items) {
  const size_t n = items.size();
  absl::Status reject;
  if (stopping_.load(std::memory_order_acquire)) {
    reject = absl::UnavailableError("redis publisher stopped");
  } else if (pending_.fetch_add(n, std::memory_order_acq_rel) + n >
             options_.max_pending) {
    pending_.fetch_sub(n, std::memory_order_acq_rel);
    reject = absl::ResourceExhaustedError("too many pending redis publishes");
  }
  if (!reject.ok()) {
    pending_.fetch_add(n, std::memory_order_acq_rel);  // Complete() subtracts
    asio::post(io_, [self = shared_from_this(), items = std::move(items),
                     reject]() mutable {
      for (Item& item : items) self->Complete(item, reject);
    });
    return;
  }
  bool schedule;
  {
    absl::MutexLock lock(&mu_);
    for (Item& item : items) intake_.push_back(std::move(item));
    schedule = !flush_posted_;
    flush_posted_ = true;
  }
  if (schedule) asio::post(io_, [self = shared_from_this()] { self->Flush(); });
}

void ClusterPublisher::Flush() {
  std::vector<Item> items;
  {
    absl::MutexLock lock(&mu_);
    flush_posted_ = false;
    items.swap(intake_);
  }
  Route(std::move(items));
}

void ClusterPublisher::Route(std::vector<Item> items) {
  if (items.empty()) return;
  if (stopped_) {
    for (Item& item : items) {
      Complete(item, absl::UnavailableError("redis publisher stopped"));
    }
    return;
  }
  const SlotMap* map = directory_->map();
  absl::flat_hash_map<std::string, std::vector<Item>> by_node;
  for (Item& item : items) {
    const int slot = KeySlot(item.channel);
    const HostPort* master = map ? map->MasterOf(slot) : nullptr;
    if (master == nullptr) {
      directory_->SetDegraded(true);
      Complete(item,
               absl::UnavailableError(
                   map == nullptr
                       ? absl::StrCat("redis cluster slot map unknown: ",
                                      directory_->last_error().message())
                       : absl::StrCat("redis cluster slot ", slot,
                                      " has no master (failover under way?)")));
      continue;
    }
    by_node[master->ToString()].push_back(std::move(item));
  }
  for (auto& [key, group] : by_node) {
    auto it = nodes_.find(key);
    if (it == nodes_.end()) {
      SyncNodes();  // a MOVED named a master the map did not list yet
      it = nodes_.find(key);
      if (it == nodes_.end()) {
        for (Item& item : group) {
          Complete(item, absl::UnavailableError(
                             absl::StrCat("no connection to ", key)));
        }
        continue;
      }
    }
    // Calls go one by one; publishes as one batch.
    std::vector<Item> calls;
    for (auto g = group.begin(); g != group.end();) {
      if (g->call) {
        calls.push_back(std::move(*g));
        g = group.erase(g);
      } else {
        ++g;
      }
    }
    for (Item& c : calls) {
      ++in_nodes_;
      std::vector<std::string> args = c.args;
      it->second->Call(std::move(args), "",
                       [self = shared_from_this(), c = std::move(c)](
                           absl::StatusOr<ReplyPtr> reply) mutable {
                         self->OnCallResult(std::move(c), std::move(reply));
                       });
    }
    if (group.empty()) continue;
    std::vector<Publisher::Message> messages;
    messages.reserve(group.size());
    for (const Item& item : group) {
      messages.push_back({item.channel, item.message, item.history});
    }
    in_nodes_ += group.size();
    it->second->PublishBatch(
        std::move(messages),
        [self = shared_from_this(), group = std::move(group)](
            std::vector<absl::StatusOr<int64_t>> results) mutable {
          self->OnResults(std::move(group), std::move(results));
        });
  }
}

void ClusterPublisher::OnResults(std::vector<Item> items,
                                 std::vector<absl::StatusOr<int64_t>> results) {
  in_nodes_ -= items.size();
  std::vector<Item> retry;
  bool refresh = false;
  for (size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    absl::StatusOr<int64_t>& r = results[i];
    if (!r.ok()) {
      std::optional<Redirect> redirect = RedirectOf(r.status());
      if (redirect && !redirect->ask) directory_->ApplyMoved(*redirect);
      if (absl::IsUnavailable(r.status())) refresh = true;
      if (redirect && ++item.attempts < kMaxAttempts && !stopped_) {
        retry.push_back(std::move(item));
        continue;
      }
    }
    Complete(item, std::move(r));
  }
  if (refresh) {
    directory_->Refresh();
    directory_->SetDegraded(true);
  }
  Route(std::move(retry));
}

void ClusterPublisher::OnCallResult(Item item, absl::StatusOr<ReplyPtr> reply) {
  --in_nodes_;
  if (!reply.ok()) {
    std::optional<Redirect> redirect = RedirectOf(reply.status());
    if (redirect && !redirect->ask) directory_->ApplyMoved(*redirect);
    if (absl::IsUnavailable(reply.status())) {
      directory_->Refresh();
      directory_->SetDegraded(true);
    }
    if (redirect && ++item.attempts < kMaxAttempts && !stopped_) {
      std::vector<Item> retry;
      retry.push_back(std::move(item));
      Route(std::move(retry));
      return;
    }
  }
  pending_.fetch_sub(1, std::memory_order_acq_rel);
  std::move(item.call)(std::move(reply));
}

void ClusterPublisher::Complete(Item& item, absl::StatusOr<int64_t> result) {
  if (item.call) {  // a Call that failed before reaching a master
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    std::move(item.call)(result.status());
    return;
  }
  Request& req = *item.request;
  req.results[item.index] = std::move(result);
  pending_.fetch_sub(1, std::memory_order_acq_rel);
  if (--req.left > 0) return;
  if (req.single) {
    std::move(req.single)(std::move(req.results[0]));
  } else if (req.batch) {
    std::move(req.batch)(std::move(req.results));
  }
}

void ClusterPublisher::OnDirectoryChange() {
  if (stopped_) return;
  SyncNodes();
}

// One node Publisher per master of the map (and per MOVED target).
void ClusterPublisher::SyncNodes() {
  const SlotMap* map = directory_->map();
  if (map == nullptr || stopped_) return;
  std::vector<HostPort> masters = map->masters();
  for (const HostPort& hp : masters) {
    std::string key = hp.ToString();
    if (nodes_.contains(key)) continue;
    Options o = options_;
    o.endpoint.kind = Endpoint::Kind::kSingle;
    o.endpoint.host = hp.host;
    o.endpoint.port = hp.port;
    o.endpoint.hosts.clear();
    o.address_source = nullptr;
    auto pub = std::make_unique<Publisher>(io_, std::move(o));
    pub->Start();
    nodes_.emplace(std::move(key), std::move(pub));
  }
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    bool master = false;
    for (const HostPort& hp : masters)
      master = master || hp.ToString() == it->first;
    if (master) {
      ++it;
      continue;
    }
    // No longer a master: drain what it has in flight, then drop it.
    Publisher* raw = it->second.get();
    retired_.push_back(std::move(it->second));
    nodes_.erase(it++);
    raw->Stop([self = shared_from_this(), raw] {
      auto& r = self->retired_;
      for (auto i = r.begin(); i != r.end(); ++i) {
        if (i->get() == raw) {
          r.erase(i);
          break;
        }
      }
    });
  }
}

void ClusterPublisher::Watch() {
  if (stopped_) return;
  bool all_up = !nodes_.empty();
  absl::Status why;
  for (auto& [key, pub] : nodes_) {
    if (!pub->connected()) {
      all_up = false;
      if (why.ok()) {
        why = pub->last_error();
        if (why.ok()) why = absl::UnavailableError(key + " not connected");
      }
    }
  }
  const bool healthy = directory_->healthy();
  directory_->SetDegraded(!all_up);
  if (!healthy) why = directory_->last_error();
  connected_.store(healthy && all_up, std::memory_order_release);
  {
    absl::MutexLock lock(&mu_);
    last_error_ = healthy && all_up ? absl::OkStatus() : why;
  }
  watch_timer_.expires_after(kWatchInterval);
  watch_timer_.async_wait(
      [weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (self && !ec) self->Watch();
      });
}

void ClusterPublisher::Stop(absl::AnyInvocable<void() &&> drained,
                            absl::Duration timeout) {
  stopping_.store(true, std::memory_order_release);
  asio::post(io_, [self = shared_from_this(), drained = std::move(drained),
                   timeout]() mutable {
    if (self->stopped_) {
      asio::post(self->io_, std::move(drained));
      return;
    }
    self->Flush();  // what was accepted goes to its master first
    // From here on nothing is routed or retried; each master's Publisher
    // drains what it has (bounded by `timeout`), then `drained` runs.
    self->stopped_ = true;
    self->connected_.store(false, std::memory_order_release);
    self->watch_timer_.cancel();
    self->directory_->Stop();
    auto left = std::make_shared<size_t>(self->nodes_.size() + 1);
    auto done =
        std::make_shared<absl::AnyInvocable<void() &&>>(std::move(drained));
    auto finish = [self, left, done]() {
      if (--*left > 0) return;
      asio::post(self->io_, std::move(*done));
    };
    for (auto& [key, pub] : self->nodes_) pub->Stop(finish, timeout);
    finish();
  });
}

void ClusterPublisher::Abandon() {
  stopping_.store(true, std::memory_order_release);
  asio::post(io_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->connected_.store(false, std::memory_order_release);
    self->watch_timer_.cancel();
    self->directory_->Stop();
    std::vector<Item> items;
    {
      absl::MutexLock lock(&self->mu_);
      items.swap(self->intake_);
    }
    for (Item& item : items) {
      self->Complete(item, absl::UnavailableError("redis publisher destroyed"));
    }
    self->nodes_.clear();  // their in-flight publishes fail UNAVAILABLE
    self->retired_.clear();
  });
}

}  // namespace vent::redis::internal
