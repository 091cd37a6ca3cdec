#include "vent/redis/subscriber.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "vent/redis/backoff.h"
#include "vent/redis/cluster.h"
#include "vent/redis/cluster_directory.h"
#include "vent/redis/pubsub_conn.h"
#include "vent/redis/topology.h"

namespace vent::redis {
namespace internal {

namespace asio = boost::asio;
using AckFn = absl::AnyInvocable<void(absl::Status) &&>;

// Idle node connections (sharded Cluster) are closed after this long.
constexpr absl::Duration kIdleNodeClose = absl::Seconds(10);

class SubscriberImpl final
    : public PubSubConn::Owner,
      public std::enable_shared_from_this<SubscriberImpl> {
 public:
  SubscriberImpl(asio::io_context& io, Options options,
                 Subscriber::Handlers handlers)
      : io_(io),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        retry_timer_(io),
        gc_timer_(io),
        retry_backoff_(options_.backoff_initial, options_.backoff_max) {
    const bool sharded = options_.pubsub == PubSubMode::kSharded;
    if (IsShardedCluster(options_)) {
      directory_ =
          std::make_shared<ClusterDirectory>(io, options_, "subscriber");
      return;
    }
    Options o = options_;
    topology_ = std::make_unique<SingleTopology>(io, &o, "subscriber");
    main_ = std::make_shared<PubSubConn>(io, std::move(o), "subscriber",
                                         sharded, /*per_slot=*/false, this);
    topology_->Attach(main_);
  }

  void Start() {
    if (main_) {
      topology_->Start();
      main_->Start();
      return;
    }
    asio::post(io_, [self = shared_from_this()] {
      if (self->stopped_) return;
      std::weak_ptr<SubscriberImpl> weak = self;
      self->directory_->Start([weak] {
        if (auto s = weak.lock()) s->OnDirectoryChange();
      });
    });
  }

  void Stop() {
    asio::post(io_, [self = shared_from_this()] { self->StopOnIo(); });
  }

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  size_t channel_count() const { return chans_.size(); }

  absl::Status last_error() const {
    if (main_) return main_->last_error();
    absl::MutexLock lock(&mu_);
    return last_error_;
  }

  void Subscribe(const std::string& name, AckFn on_ack) {
    if (stopped_) {
      asio::post(io_, [f = std::move(on_ack)]() mutable {
        std::move(f)(absl::CancelledError("redis subscriber stopped"));
      });
      return;
    }
    auto [it, inserted] = chans_.try_emplace(name);
    Chan& c = it->second;
    ++c.refs;
    if (inserted) ++unconfirmed_;
    if (c.confirmed) {
      asio::post(io_, [f = std::move(on_ack)]() mutable {
        std::move(f)(absl::OkStatus());
      });
      return;
    }
    c.waiters.push_back(std::move(on_ack));
    if (inserted) {
      Assign(name, c);
      MaybeReportUp();
    }
  }

  void Unsubscribe(const std::string& name) {
    auto it = chans_.find(name);
    if (it == chans_.end()) return;
    Chan& c = it->second;
    if (--c.refs > 0) return;
    std::vector<AckFn> cancelled;
    cancelled.swap(c.waiters);
    if (!c.confirmed) --unconfirmed_;
    PubSubConn* conn = c.conn;
    chans_.erase(it);
    if (conn != nullptr) {
      conn->Want(name, false);
      if (conn != main_.get() && conn->wanted() == 0) ArmGc();
    }
    for (auto& f : cancelled) {
      asio::post(io_, [f = std::move(f)]() mutable {
        std::move(f)(
            absl::CancelledError("unsubscribed before redis confirmed"));
      });
    }
    MaybeReportUp();
  }

  // PubSubConn::Owner
  void OnConfirmed(PubSubConn* conn, const std::string& name) override {
    auto it = chans_.find(name);
    if (it == chans_.end() || it->second.conn != conn) return;
    Chan& c = it->second;
    if (!c.confirmed) {
      c.confirmed = true;
      --unconfirmed_;
    }
    c.lost = 0;
    std::vector<AckFn> acks;
    acks.swap(c.waiters);
    // `c` may be invalid from here on (callbacks can re-enter).
    for (auto& f : acks) std::move(f)(absl::OkStatus());
    MaybeReportUp();
  }

  void OnLost(PubSubConn* conn, const std::string& name,
              const absl::Status& why) override {
    auto it = chans_.find(name);
    if (it == chans_.end() || it->second.conn != conn) return;
    Unconfirm(it->second);
    ++it->second.lost;
    SetError(why);
    ReportState(false);
    if (directory_) {
      std::optional<Redirect> r = RedirectOf(why);
      // Followed at once unless it keeps bouncing (then the next map read
      // and the retry timer decide).
      if (r && !r->ask && it->second.lost <= 3) {
        directory_->ApplyMoved(*r);  // re-routes at once (OnDirectoryChange)
      } else {
        directory_->Refresh();
      }
    }
    ArmRetry();
  }

  void OnMessage(const std::string& name, absl::string_view payload) override {
    if (stopped_ || !handlers_.on_message) return;
    auto it = chans_.find(name);
    if (it == chans_.end()) return;
    handlers_.on_message(name, std::make_shared<const std::string>(payload));
  }

  void OnConnState(PubSubConn* conn, bool up,
                   const absl::Status& why) override {
    if (up) {
      MaybeReportUp();
      return;
    }
    for (auto& [name, c] : chans_) {
      if (c.conn == conn) Unconfirm(c);
    }
    SetError(why);
    ReportState(false);
    if (directory_) {
      directory_->Refresh();
      UpdateDegraded();
    }
  }

 private:
  struct Chan {
    int refs = 0;
    std::vector<AckFn> waiters;
    PubSubConn* conn = nullptr;  // where it is (to be) subscribed
    bool confirmed = false;
    int lost = 0;  // consecutive losses (redirects) without a confirmation
  };

  void Unconfirm(Chan& c) {
    if (c.confirmed) {
      c.confirmed = false;
      ++unconfirmed_;
    }
  }

  // The connection `name` belongs on now (nullptr: unknown yet).
  PubSubConn* Route(const std::string& name) {
    if (main_) return main_.get();
    const SlotMap* map = directory_->map();
    if (map == nullptr) return nullptr;
    const HostPort* master = map->MasterOf(KeySlot(name));
    if (master == nullptr) return nullptr;
    std::string key = master->ToString();
    auto it = nodes_.find(key);
    if (it != nodes_.end()) return it->second.get();
    Options o = options_;
    o.endpoint.kind = Endpoint::Kind::kSingle;
    o.endpoint.host = master->host;
    o.endpoint.port = master->port;
    o.endpoint.hosts.clear();
    auto conn = std::make_shared<PubSubConn>(io_, std::move(o), "subscriber",
                                             /*sharded=*/true,
                                             /*per_slot=*/true, this);
    conn->Start();
    PubSubConn* raw = conn.get();
    nodes_.emplace(std::move(key), std::move(conn));
    return raw;
  }

  // Puts `c` on the connection its route says; asks again for a parked one.
  void Assign(const std::string& name, Chan& c) {
    PubSubConn* target = Route(name);
    if (target != c.conn) {
      if (c.conn != nullptr) c.conn->Want(name, false);
      Unconfirm(c);
      c.conn = target;
      if (target != nullptr) target->Want(name, true);
    } else if (target != nullptr && !c.confirmed) {
      target->Want(name, true);  // un-parks
    }
    // Still subscribed there (e.g. unsubscribed and subscribed again within
    // one turn): confirmed now; acks are posted, never run inline.
    if (target != nullptr && !c.confirmed && target->Confirmed(name)) {
      c.confirmed = true;
      --unconfirmed_;
      c.lost = 0;
      for (auto& f : c.waiters) {
        asio::post(io_, [f = std::move(f)]() mutable {
          std::move(f)(absl::OkStatus());
        });
      }
      c.waiters.clear();
    }
  }

  void RouteAll() {
    // Assign() may create connections but never touches chans_' shape.
    for (auto& [name, c] : chans_) Assign(name, c);
    if (directory_) {
      std::vector<std::string> gone;
      const SlotMap* map = directory_->map();
      for (auto& [key, conn] : nodes_) {
        if (conn->wanted() > 0) continue;
        bool master = false;
        if (map != nullptr) {
          for (const HostPort& hp : map->masters()) {
            master = master || hp.ToString() == key;
          }
        }
        if (!master) gone.push_back(key);
      }
      for (const std::string& key : gone) {
        nodes_[key]->Close();
        nodes_.erase(key);
      }
      UpdateDegraded();
    }
    MaybeReportUp();
  }

  void OnDirectoryChange() {
    if (stopped_) return;
    if (!directory_->healthy()) {
      SetError(directory_->last_error());
      ReportState(false);
    }
    RouteAll();
  }

  // The directory re-reads the map quickly while a channel has no usable
  // connection (how a failover's new master is found).
  void UpdateDegraded() {
    bool degraded = false;
    for (auto& [name, c] : chans_) {
      if (c.conn == nullptr || (!c.confirmed && !c.conn->connected())) {
        degraded = true;
        break;
      }
    }
    directory_->SetDegraded(degraded);
  }

  void ArmRetry() {
    if (retry_armed_) return;
    retry_armed_ = true;
    retry_timer_.expires_after(
        absl::ToChronoNanoseconds(retry_backoff_.Next()));
    retry_timer_.async_wait(
        [weak = weak_from_this()](boost::system::error_code ec) {
          auto self = weak.lock();
          if (!self) return;
          self->retry_armed_ = false;
          if (ec || self->stopped_) return;
          self->RouteAll();
        });
  }

  void ArmGc() {
    if (gc_armed_) return;
    gc_armed_ = true;
    gc_timer_.expires_after(absl::ToChronoNanoseconds(kIdleNodeClose));
    gc_timer_.async_wait(
        [weak = weak_from_this()](boost::system::error_code ec) {
          auto self = weak.lock();
          if (!self) return;
          self->gc_armed_ = false;
          if (ec || self->stopped_) return;
          for (auto it = self->nodes_.begin(); it != self->nodes_.end();) {
            if (it->second->wanted() == 0) {
              it->second->Close();
              self->nodes_.erase(it++);
            } else {
              ++it;
            }
          }
        });
  }

  bool Healthy() const {
    if (unconfirmed_ != 0) return false;
    if (main_) return main_->connected();
    return directory_->healthy();
  }

  void MaybeReportUp() {
    if (unconfirmed_ == 0) retry_backoff_.Reset();
    if (!ready() && Healthy()) ReportState(true);
  }

  void ReportState(bool up) {
    if (ready() == up || stopped_) return;
    ready_.store(up, std::memory_order_release);
    if (up) SetError(absl::OkStatus());
    if (handlers_.on_state) handlers_.on_state(up);
  }

  void SetError(const absl::Status& st) {
    absl::MutexLock lock(&mu_);
    last_error_ = st;
  }

  void StopOnIo() {
    if (stopped_) return;
    stopped_ = true;
    ready_.store(false, std::memory_order_release);
    std::vector<AckFn> cancelled;
    for (auto& [name, c] : chans_) {
      for (auto& f : c.waiters) cancelled.push_back(std::move(f));
      c.waiters.clear();
    }
    chans_.clear();
    unconfirmed_ = 0;
    retry_timer_.cancel();
    gc_timer_.cancel();
    if (main_) {
      main_->Close();
      topology_->Stop();
    }
    for (auto& [key, conn] : nodes_) conn->Close();
    nodes_.clear();
    if (directory_) directory_->Stop();
    for (auto& f : cancelled)
      std::move(f)(absl::CancelledError("redis subscriber stopped"));
    handlers_ = {};  // releases whatever the handlers captured
  }

  asio::io_context& io_;
  const Options options_;
  Subscriber::Handlers handlers_;
  std::atomic<bool> ready_{false};
  mutable absl::Mutex mu_;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  // Single connection (server, Sentinel, classic Cluster) ...
  std::unique_ptr<SingleTopology> topology_;
  std::shared_ptr<PubSubConn> main_;
  // ... or a sharded Cluster: one connection per master in use.
  std::shared_ptr<ClusterDirectory> directory_;
  absl::flat_hash_map<std::string, std::shared_ptr<PubSubConn>> nodes_;
  // io thread only.
  bool stopped_ = false;
  absl::flat_hash_map<std::string, Chan> chans_;
  size_t unconfirmed_ = 0;  // channels not confirmed on their connection
  asio::steady_timer retry_timer_;
  asio::steady_timer gc_timer_;
  Backoff retry_backoff_;
  bool retry_armed_ = false;
  bool gc_armed_ = false;
};

}  // namespace internal

Subscriber::Subscriber(boost::asio::io_context& io, Options options,
                       Handlers handlers)
    : impl_(std::make_shared<internal::SubscriberImpl>(io, std::move(options),
                                                       std::move(handlers))) {}

Subscriber::~Subscriber() { impl_->Stop(); }

void Subscriber::Start() { impl_->Start(); }
void Subscriber::Stop() { impl_->Stop(); }

void Subscriber::Subscribe(const std::string& channel,
                           absl::AnyInvocable<void(absl::Status) &&> on_ack) {
  impl_->Subscribe(channel, std::move(on_ack));
}

void Subscriber::Unsubscribe(const std::string& channel) {
  impl_->Unsubscribe(channel);
}
bool Subscriber::connected() const { return impl_->ready(); }
absl::Status Subscriber::last_error() const { return impl_->last_error(); }
size_t Subscriber::channel_count() const { return impl_->channel_count(); }

}  // namespace vent::redis
