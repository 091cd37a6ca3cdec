// vent-test-redis: starts a Redis topology for the JS integration tests and
// keeps it until stdin closes (or "exit"), then kills every process.
//
//   vent-test-redis pki DIR
//   vent-test-redis single [--tls PKI_DIR] [--tls-auth-clients] [--unix]
//                          [-- redis-server args...]
//   vent-test-redis cluster [--masters N] [--replicas R]
//   vent-test-redis sentinel [--name NAME]
//
// Prints one JSON line describing the topology ({"url", "nodes": [{"port",
// "pid", "tls_port", "unix"}], "sentinels": [...]}), then answers commands
// read from stdin, one JSON line each ({"ok": true, ...} or {"ok": false,
// "error": "..."}):
//   kill PORT | stop PORT | restart PORT | pause PORT | resume PORT
//   master-of SLOT | wait-new-master SLOT OLD_PORT | reshard FROM TO N
//   (cluster); master-port | wait-new-master OLD_PORT (sentinel)
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "vent/testing/redis_server.h"
#include "vent/testing/redis_topology.h"
#include "vent/testing/test_pki.h"

namespace {

using vent::testing::RedisCluster;
using vent::testing::RedisSentinels;
using vent::testing::RedisServer;

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Node(const RedisServer& s) {
  return absl::StrCat("{\"port\":", s.port(), ",\"pid\":", s.pid(),
                      ",\"tls_port\":", s.tls_port(),
                      ",\"unix\":", Quote(s.unix_path()),
                      ",\"dir\":", Quote(s.dir()), "}");
}

std::string Nodes(const std::vector<std::unique_ptr<RedisServer>>& v) {
  std::vector<std::string> parts;
  for (const auto& s : v) parts.push_back(Node(*s));
  return absl::StrCat("[", absl::StrJoin(parts, ","), "]");
}

void Reply(const absl::Status& st, const std::string& extra = "") {
  if (st.ok()) {
    std::cout << "{\"ok\":true" << extra << "}" << std::endl;
  } else {
    std::cout << "{\"ok\":false,\"error\":" << Quote(st.ToString()) << "}"
              << std::endl;
  }
}

int Fail(const absl::Status& st) {
  std::cerr << "vent-test-redis: " << st << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "usage: vent-test-redis pki|single|cluster|sentinel ...\n";
    return 2;
  }
  const std::string mode = args[0];
  if (mode == "pki") {
    if (args.size() != 2) return Fail(absl::InvalidArgumentError("pki DIR"));
    auto pki = vent::testing::MakeTestPki(args[1]);
    if (!pki.ok()) return Fail(pki.status());
    std::cout << "{\"ca\":" << Quote((*pki)->ca_file)
              << ",\"client_cert\":" << Quote((*pki)->client_cert)
              << ",\"client_key\":" << Quote((*pki)->client_key)
              << ",\"other_ca\":" << Quote((*pki)->other_ca_file) << "}"
              << std::endl;
    return 0;
  }

  std::unique_ptr<vent::testing::TestPki> pki;
  std::vector<std::unique_ptr<RedisServer>> singles;
  std::unique_ptr<RedisCluster> cluster;
  std::unique_ptr<RedisSentinels> sentinels;
  auto find = [&](uint16_t port) -> RedisServer* {
    for (auto& s : singles) {
      if (s->port() == port) return s.get();
    }
    if (cluster) return cluster->NodeByPort(port);
    if (sentinels) {
      if (RedisServer* d = sentinels->DataByPort(port)) return d;
      for (const auto& s : sentinels->sentinels()) {
        if (s->port() == port) return s.get();
      }
    }
    return nullptr;
  };

  if (mode == "single") {
    RedisServer::Config cfg;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--tls" && i + 1 < args.size()) {
        auto p = vent::testing::MakeTestPki(args[++i]);
        if (!p.ok()) return Fail(p.status());
        pki = *std::move(p);
        cfg.tls = pki.get();
      } else if (args[i] == "--tls-auth-clients") {
        cfg.tls_auth_clients = true;
      } else if (args[i] == "--unix") {
        cfg.unix_socket = true;
      } else if (args[i] == "--") {
        cfg.args.assign(args.begin() + i + 1, args.end());
        break;
      } else {
        return Fail(absl::InvalidArgumentError("unknown option " + args[i]));
      }
    }
    auto s = RedisServer::Start(cfg);
    if (!s.ok()) return Fail(s.status());
    singles.push_back(*std::move(s));
    std::cout << "{\"url\":" << Quote(singles[0]->url())
              << ",\"nodes\":" << Nodes(singles) << "}" << std::endl;
  } else if (mode == "cluster") {
    int masters = 3, replicas = 1;
    for (size_t i = 1; i + 1 < args.size(); i += 2) {
      if (args[i] == "--masters") absl::SimpleAtoi(args[i + 1], &masters);
      if (args[i] == "--replicas") absl::SimpleAtoi(args[i + 1], &replicas);
    }
    auto c = RedisCluster::Start(masters, replicas);
    if (!c.ok()) return Fail(c.status());
    cluster = *std::move(c);
    std::cout << "{\"url\":" << Quote(cluster->url())
              << ",\"nodes\":" << Nodes(cluster->nodes()) << "}" << std::endl;
  } else if (mode == "sentinel") {
    std::string name = "mymaster";
    if (args.size() == 3 && args[1] == "--name") name = args[2];
    auto s = RedisSentinels::Start(name);
    if (!s.ok()) return Fail(s.status());
    sentinels = *std::move(s);
    std::cout << "{\"url\":" << Quote(sentinels->url())
              << ",\"name\":" << Quote(name)
              << ",\"nodes\":" << Nodes(sentinels->data())
              << ",\"sentinels\":" << Nodes(sentinels->sentinels()) << "}"
              << std::endl;
  } else {
    return Fail(absl::InvalidArgumentError("unknown mode " + mode));
  }

  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (w.empty()) continue;
    if (w[0] == "exit") break;
    std::vector<int> n;
    for (size_t i = 1; i < w.size(); ++i) {
      int v = 0;
      if (!absl::SimpleAtoi(w[i], &v)) v = -1;
      n.push_back(v);
    }
    const std::string& cmd = w[0];
    if ((cmd == "kill" || cmd == "stop" || cmd == "restart" || cmd == "pause" ||
         cmd == "resume") &&
        n.size() == 1) {
      RedisServer* s = find(static_cast<uint16_t>(n[0]));
      if (s == nullptr) {
        Reply(absl::NotFoundError("no such port"));
        continue;
      }
      absl::Status st;
      if (cmd == "kill") s->Kill();
      if (cmd == "stop") st = s->Stop();
      if (cmd == "restart") st = s->Restart();
      if (cmd == "pause") s->Pause();
      if (cmd == "resume") s->Resume();
      Reply(st, absl::StrCat(",\"pid\":", s->pid()));
    } else if (cluster && cmd == "master-of" && n.size() == 1) {
      auto p = cluster->MasterOfSlot(n[0]);
      Reply(p.status(), p.ok() ? absl::StrCat(",\"port\":", *p) : "");
    } else if (cluster && cmd == "wait-new-master" && n.size() == 2) {
      auto p = cluster->WaitForNewMaster(n[0], static_cast<uint16_t>(n[1]));
      Reply(p.status(), p.ok() ? absl::StrCat(",\"port\":", *p) : "");
    } else if (cluster && cmd == "reshard" && n.size() == 3) {
      Reply(cluster->Reshard(static_cast<uint16_t>(n[0]),
                             static_cast<uint16_t>(n[1]), n[2]));
    } else if (sentinels && cmd == "master-port" && n.empty()) {
      auto p = sentinels->MasterPort();
      Reply(p.status(), p.ok() ? absl::StrCat(",\"port\":", *p) : "");
    } else if (sentinels && cmd == "wait-new-master" && n.size() == 1) {
      auto p = sentinels->WaitForNewMaster(static_cast<uint16_t>(n[0]));
      Reply(p.status(), p.ok() ? absl::StrCat(",\"port\":", *p) : "");
    } else {
      Reply(absl::InvalidArgumentError("unknown command: " + line));
    }
  }
  return 0;
}
