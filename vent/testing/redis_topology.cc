#include "vent/testing/redis_topology.h"

#include <poll.h>

#include <map>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace vent::testing {
namespace {

constexpr int kPollMs = 50;  // readiness probe interval, bounded by deadlines

void Nap() { poll(nullptr, 0, kPollMs); }

// "key\nvalue\nkey\nvalue\n..." (redis-cli's rendering of a flat array) or
// "key:value" lines (INFO) -> map.
std::map<std::string, std::string> Fields(const std::string& text, bool info) {
  std::map<std::string, std::string> out;
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (std::string& l : lines) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
  }
  if (info) {
    for (const std::string& l : lines) {
      size_t colon = l.find(':');
      if (colon != std::string::npos)
        out[l.substr(0, colon)] = l.substr(colon + 1);
    }
    return out;
  }
  for (size_t i = 0; i + 1 < lines.size(); i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

struct NodeLine {
  std::string id;
  uint16_t port = 0;
  bool master = false;
  bool failed = false;
  std::vector<std::pair<int, int>> ranges;
};

std::vector<NodeLine> ParseNodes(const std::string& text) {
  std::vector<NodeLine> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 8) continue;
    NodeLine n;
    n.id = std::string(f[0]);
    absl::string_view addr = f[1].substr(0, f[1].find('@'));
    uint32_t port = 0;
    if (!absl::SimpleAtoi(addr.substr(addr.rfind(':') + 1), &port)) continue;
    n.port = static_cast<uint16_t>(port);
    n.master = absl::StrContains(f[2], "master");
    n.failed = absl::StrContains(f[2], "fail");
    for (size_t i = 8; i < f.size(); ++i) {
      if (f[i].empty() || f[i][0] == '[') continue;  // migrating markers
      std::vector<absl::string_view> r = absl::StrSplit(f[i], '-');
      int a = 0, b = 0;
      if (!absl::SimpleAtoi(r[0], &a)) continue;
      b = a;
      if (r.size() == 2 && !absl::SimpleAtoi(r[1], &b)) continue;
      n.ranges.push_back({a, b});
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- cluster

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start(
    int masters, int replicas_per_master, std::vector<std::string> extra_args) {
  std::unique_ptr<RedisCluster> c(new RedisCluster());
  const int n = masters * (1 + replicas_per_master);
  std::vector<std::string> create = {"--cluster", "create"};
  for (int i = 0; i < n; ++i) {
    RedisServer::Config cfg;
    cfg.cluster_port = true;
    cfg.args = {"--cluster-enabled",          "yes",
                "--cluster-config-file",      "nodes.conf",
                "--cluster-node-timeout",     "1500",
                "--repl-diskless-sync",       "yes",
                "--repl-diskless-sync-delay", "0"};
    cfg.args.insert(cfg.args.end(), extra_args.begin(), extra_args.end());
    auto s = RedisServer::Start(std::move(cfg));
    if (!s.ok()) return s.status();
    create.push_back(absl::StrCat("127.0.0.1:", (*s)->port()));
    c->nodes_.push_back(*std::move(s));
  }
  create.push_back("--cluster-replicas");
  create.push_back(std::to_string(replicas_per_master));
  create.push_back("--cluster-yes");
  auto out = RedisCli(create);
  if (!out.ok()) return out.status();
  if (absl::Status st = c->WaitHealthy(); !st.ok()) return st;
  return c;
}

std::string RedisCluster::url() const {
  std::vector<std::string> hosts;
  for (const auto& n : nodes_)
    hosts.push_back(absl::StrCat("127.0.0.1:", n->port()));
  return absl::StrCat("redis-cluster://", absl::StrJoin(hosts, ","));
}

RedisServer* RedisCluster::NodeByPort(uint16_t port) const {
  for (const auto& n : nodes_) {
    if (n->port() == port) return n.get();
  }
  return nullptr;
}

uint16_t RedisCluster::AnyLivePort(uint16_t except) const {
  for (const auto& n : nodes_) {
    if (n->running() && n->port() != except) return n->port();
  }
  return 0;
}

absl::StatusOr<std::string> RedisCluster::Cli(
    const std::vector<std::string>& args, uint16_t port) const {
  if (port == 0) port = AnyLivePort();
  if (port == 0) return absl::FailedPreconditionError("no live cluster node");
  return RedisCli(args, port);
}

absl::StatusOr<uint16_t> RedisCluster::MasterOfSlot(int slot) const {
  auto text = Cli({"CLUSTER", "NODES"});
  if (!text.ok()) return text.status();
  for (const NodeLine& n : ParseNodes(*text)) {
    if (!n.master || n.failed) continue;
    for (auto [a, b] : n.ranges) {
      if (slot >= a && slot <= b) return n.port;
    }
  }
  return absl::NotFoundError(absl::StrCat("no live master serves slot ", slot));
}

absl::StatusOr<std::string> RedisCluster::NodeId(uint16_t port) const {
  auto id = RedisCli({"CLUSTER", "MYID"}, port);
  if (!id.ok()) return id.status();
  return std::string(absl::StripAsciiWhitespace(*id));
}

absl::Status RedisCluster::WaitHealthy(absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  std::string why;
  while (absl::Now() < deadline) {
    bool ok = true;
    for (const auto& n : nodes_) {
      if (!n->running()) continue;
      auto info = n->Cli({"CLUSTER", "INFO"});
      if (!info.ok()) {
        ok = false;
        why = std::string(info.status().message());
        break;
      }
      auto f = Fields(*info, true);
      if (f["cluster_state"] != "ok" || f["cluster_slots_ok"] != "16384") {
        ok = false;
        why = absl::StrCat("node ", n->port(), ": ", *info);
        break;
      }
      auto repl = n->Cli({"INFO", "replication"});
      if (!repl.ok()) {
        ok = false;
        break;
      }
      auto r = Fields(*repl, true);
      if (r["role"] == "slave" && r["master_link_status"] != "up") {
        ok = false;
        why = absl::StrCat("replica ", n->port(), " link down");
        break;
      }
    }
    if (ok) return absl::OkStatus();
    Nap();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("cluster not healthy in time: ", why));
}

absl::StatusOr<uint16_t> RedisCluster::WaitForNewMaster(
    int slot, uint16_t old_port, absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    uint16_t ask = AnyLivePort(old_port);
    auto text =
        ask ? RedisCli({"CLUSTER", "NODES"}, ask)
            : absl::StatusOr<std::string>(absl::UnavailableError("none"));
    if (text.ok()) {
      for (const NodeLine& n : ParseNodes(*text)) {
        if (!n.master || n.failed || n.port == old_port) continue;
        for (auto [a, b] : n.ranges) {
          if (slot >= a && slot <= b) {
            auto info = RedisCli({"CLUSTER", "INFO"}, n.port);
            if (info.ok() && Fields(*info, true)["cluster_state"] == "ok") {
              return n.port;
            }
          }
        }
      }
    }
    Nap();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no new master for slot ", slot, " in time"));
}

absl::Status RedisCluster::Reshard(uint16_t from, uint16_t to,
                                   int slots) const {
  auto from_id = NodeId(from);
  if (!from_id.ok()) return from_id.status();
  auto to_id = NodeId(to);
  if (!to_id.ok()) return to_id.status();
  auto out =
      RedisCli({"--cluster", "reshard", absl::StrCat("127.0.0.1:", to),
                "--cluster-from", *from_id, "--cluster-to", *to_id,
                "--cluster-slots", std::to_string(slots), "--cluster-yes"});
  if (!out.ok()) return out.status();
  return WaitHealthy();
}

// ---------------------------------------------------------------- sentinel

absl::StatusOr<std::unique_ptr<RedisSentinels>> RedisSentinels::Start(
    std::string master_name, std::vector<std::string> extra_args) {
  std::unique_ptr<RedisSentinels> s(new RedisSentinels());
  s->name_ = std::move(master_name);
  std::vector<std::string> repl = {"--repl-diskless-sync", "yes",
                                   "--repl-diskless-sync-delay", "0"};
  repl.insert(repl.end(), extra_args.begin(), extra_args.end());
  RedisServer::Config mc;
  mc.args = repl;
  auto master = RedisServer::Start(mc);
  if (!master.ok()) return master.status();
  const uint16_t mport = (*master)->port();
  s->data_.push_back(*std::move(master));
  RedisServer::Config rc;
  rc.args = repl;
  rc.args.insert(rc.args.end(),
                 {"--replicaof", "127.0.0.1", std::to_string(mport)});
  auto replica = RedisServer::Start(rc);
  if (!replica.ok()) return replica.status();
  s->data_.push_back(*std::move(replica));

  const std::string& n = s->name_;
  std::string conf =
      absl::StrCat("sentinel monitor ", n, " 127.0.0.1 ", mport, " 2\n",
                   "sentinel down-after-milliseconds ", n, " 1000\n",
                   "sentinel failover-timeout ", n, " 4000\n",
                   "sentinel parallel-syncs ", n, " 1\n");
  for (int i = 0; i < 3; ++i) {
    RedisServer::Config sc;
    sc.sentinel = true;
    sc.conf = conf;
    auto sentinel = RedisServer::Start(sc);
    if (!sentinel.ok()) return sentinel.status();
    s->sentinels_.push_back(*std::move(sentinel));
  }
  // Ready when every Sentinel knows the replica and the two other Sentinels
  // (needed to agree on a failover), and the replica is in sync.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::string why;
  while (absl::Now() < deadline) {
    bool ok = true;
    for (const auto& sen : s->sentinels_) {
      auto out = sen->Cli({"SENTINEL", "master", n});
      if (!out.ok()) {
        ok = false;
        why = std::string(out.status().message());
        break;
      }
      auto f = Fields(*out, false);
      if (f["num-slaves"] != "1" || f["num-other-sentinels"] != "2") {
        ok = false;
        why =
            absl::StrCat("sentinel ", sen->port(), ": slaves=", f["num-slaves"],
                         " others=", f["num-other-sentinels"]);
        break;
      }
    }
    if (ok) {
      auto r = s->data_[1]->Cli({"INFO", "replication"});
      ok = r.ok() && Fields(*r, true)["master_link_status"] == "up";
      if (!ok) why = "replica not in sync";
    }
    if (ok) return s;
    Nap();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("sentinels not ready in time: ", why));
}

std::string RedisSentinels::url() const {
  std::vector<std::string> hosts;
  for (const auto& s : sentinels_) {
    hosts.push_back(absl::StrCat("127.0.0.1:", s->port()));
  }
  return absl::StrCat("redis-sentinel://", absl::StrJoin(hosts, ","), "/",
                      name_);
}

RedisServer* RedisSentinels::DataByPort(uint16_t port) const {
  for (const auto& d : data_) {
    if (d->port() == port) return d.get();
  }
  return nullptr;
}

absl::StatusOr<uint16_t> RedisSentinels::MasterPort() const {
  absl::Status last = absl::UnavailableError("no sentinel running");
  for (const auto& s : sentinels_) {
    if (!s->running()) continue;
    auto out = s->Cli({"SENTINEL", "get-master-addr-by-name", name_});
    if (!out.ok()) {
      last = out.status();
      continue;
    }
    std::vector<std::string> lines =
        absl::StrSplit(*out, '\n', absl::SkipEmpty());
    uint32_t port = 0;
    if (lines.size() == 2 && absl::SimpleAtoi(lines[1], &port)) {
      return static_cast<uint16_t>(port);
    }
    last = absl::InternalError("unexpected: " + *out);
  }
  return last;
}

absl::StatusOr<uint16_t> RedisSentinels::WaitForNewMaster(
    uint16_t old_port, absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    auto port = MasterPort();
    if (port.ok() && *port != old_port) {
      auto role = RedisCli({"ROLE"}, *port);
      if (role.ok() && absl::StartsWith(*role, "master")) return *port;
    }
    Nap();
  }
  return absl::DeadlineExceededError("sentinels named no new master in time");
}

}  // namespace vent::testing
