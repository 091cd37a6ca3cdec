// vent-floor: the physical floor for the bridge's fan-out on this machine.
//
// A minimal single-threaded epoll server doing only the work every fan-out
// of Vent frames has to do per delivery, nothing more:
//   - HTTP upgrade to WebSocket (Sec-WebSocket-Accept), masked client frames;
//   - DDP `connect` -> `connected`, `ping` -> `pong`, `sub` to publication
//     `bench` with params [rand, {"ch": C}] -> SUBSCRIBE bench::C on ONE Redis
//     connection (refcounted per channel), `ready` once Redis confirmed it;
//   - each Redis message -> one Vent frame per subscriber
//     ({"msg":"changed","__vent":"1","id":"<rand>.bench","e":<message>}),
//     built into the subscriber's output buffer;
//   - after each epoll wake-up, ONE send() per client with queued bytes.
// No validation beyond what the protocol needs, no slow-client policy (a
// client more than --max-outgoing behind is closed), no heartbeats, no
// metrics. bench/run.sh and bench/check.sh report every fan-out figure as a
// ratio to this server measured in the same run. Not a product; never
// deployed.
//
//   vent-floor --port 3300 --redis-port 6379 [--max-outgoing BYTES]
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

struct Client;

struct Sub {
  Client* client;
  std::string prefix;  // {"msg":"changed","__vent":"1","id":"<rand>.bench","e":
};

struct Channel {
  bool confirmed = false;
  std::vector<Sub> subs;
  std::vector<std::pair<Client*, std::string>> waiting;  // (client, sub id)
};

struct Client {
  int fd = -1;
  bool upgraded = false;
  bool dirty = false;
  bool want_out = false;  // EPOLLOUT armed
  std::string in;
  std::string out;
  size_t out_off = 0;
  std::vector<std::string> channels;
};

int g_epoll = -1;
int g_redis = -1;
size_t g_max_outgoing = 64u << 20;
std::unordered_map<std::string, Channel> g_channels;
std::vector<Client*> g_dirty;
std::vector<Client*> g_dead;
std::string g_redis_out;

void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void AppendFrame(std::string& out, std::string_view a, std::string_view b = {},
                 std::string_view c = {}) {
  size_t n = a.size() + b.size() + c.size();
  out.push_back(static_cast<char>(0x81));
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n < 65536) {
    out.push_back(126);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(127);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(n >> (8 * i)));
  }
  out.append(a);
  out.append(b);
  out.append(c);
}

void MarkDirty(Client* c) {
  if (c->dirty || c->fd < 0) return;
  c->dirty = true;
  g_dirty.push_back(c);
}

void RedisCommand(std::string_view verb, std::string_view arg) {
  char head[64];
  std::snprintf(head, sizeof head, "*2\r\n$%zu\r\n", verb.size());
  g_redis_out += head;
  g_redis_out.append(verb);
  std::snprintf(head, sizeof head, "\r\n$%zu\r\n", arg.size());
  g_redis_out += head;
  g_redis_out.append(arg);
  g_redis_out += "\r\n";
}

void FlushRedis() {
  while (!g_redis_out.empty()) {
    ssize_t n = send(g_redis, g_redis_out.data(), g_redis_out.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("redis send");  // tiny commands; a full buffer is a bug
    g_redis_out.erase(0, static_cast<size_t>(n));
  }
}

void Close(Client* c) {
  if (c->fd < 0) return;
  epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  c->fd = -1;
  for (const std::string& name : c->channels) {
    auto it = g_channels.find(name);
    if (it == g_channels.end()) continue;
    auto& subs = it->second.subs;
    for (size_t i = 0; i < subs.size();) {
      if (subs[i].client == c) {
        subs[i] = std::move(subs.back());
        subs.pop_back();
      } else {
        ++i;
      }
    }
    auto& w = it->second.waiting;
    for (size_t i = 0; i < w.size();) {
      if (w[i].first == c) {
        w[i] = std::move(w.back());
        w.pop_back();
      } else {
        ++i;
      }
    }
    if (subs.empty() && w.empty()) {
      RedisCommand("UNSUBSCRIBE", name);
      g_channels.erase(it);
    }
  }
  g_dead.push_back(c);
}

// The value of "key":"..." in a flat JSON text (no escapes in the fields the
// bench clients send).
std::string_view Field(std::string_view s, std::string_view key,
                       size_t from = 0) {
  std::string pat = "\"" + std::string(key) + "\":\"";
  size_t p = s.find(pat, from);
  if (p == std::string_view::npos) return {};
  p += pat.size();
  size_t e = s.find('"', p);
  if (e == std::string_view::npos) return {};
  return s.substr(p, e - p);
}

void OnDdp(Client* c, std::string_view m) {
  std::string_view msg = Field(m, "msg");
  if (msg == "connect") {
    AppendFrame(c->out, R"({"msg":"connected","session":"floor"})");
  } else if (msg == "ping") {
    std::string_view id = Field(m, "id");
    if (id.empty()) {
      AppendFrame(c->out, R"({"msg":"pong"})");
    } else {
      AppendFrame(c->out, R"({"msg":"pong","id":")", id, "\"}");
    }
  } else if (msg == "sub") {
    std::string_view id = Field(m, "id");
    size_t params = m.find("\"params\":[\"");
    std::string_view ch = Field(m, "ch");
    if (Field(m, "name") != "bench" || params == std::string_view::npos ||
        ch.empty()) {
      AppendFrame(c->out, R"({"msg":"nosub","id":")", id,
                  R"(","error":{"error":404,"reason":"not found"}})");
    } else {
      size_t r = params + 11;
      std::string_view rand = m.substr(r, m.find('"', r) - r);
      std::string name = "bench::" + std::string(ch);
      auto [it, fresh] = g_channels.try_emplace(name);
      if (fresh) RedisCommand("SUBSCRIBE", name);
      it->second.subs.push_back(
          Sub{c, R"({"msg":"changed","__vent":"1","id":")" + std::string(rand) +
                     R"(.bench","e":)"});
      c->channels.push_back(name);
      if (it->second.confirmed) {
        AppendFrame(c->out, R"({"msg":"ready","subs":[")", id, "\"]}");
      } else {
        it->second.waiting.emplace_back(c, std::string(id));
      }
    }
  }
  MarkDirty(c);
}

bool OnHandshake(Client* c) {
  size_t end = c->in.find("\r\n\r\n");
  if (end == std::string::npos) return c->in.size() < 16384;
  std::string_view head(c->in.data(), end);
  size_t k = head.find("Sec-WebSocket-Key: ");
  if (k == std::string_view::npos) return false;
  k += 19;
  std::string key(head.substr(k, head.find("\r\n", k) - k));
  key += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char sha[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), sha);
  unsigned char b64[64];
  EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
  c->out +=
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
  c->out += reinterpret_cast<char*>(b64);
  c->out += "\r\n\r\n";
  c->in.erase(0, end + 4);
  c->upgraded = true;
  MarkDirty(c);
  return true;
}

// Parses complete client frames from c->in. False: close the client.
bool OnFrames(Client* c) {
  size_t off = 0;
  bool ok = true;
  while (ok) {
    const auto* u = reinterpret_cast<unsigned char*>(c->in.data() + off);
    size_t n = c->in.size() - off;
    if (n < 2) break;
    uint64_t len = u[1] & 0x7f;
    size_t hdr = 2;
    if (len == 126) {
      if (n < 4) break;
      len = (uint64_t{u[2]} << 8) | u[3];
      hdr = 4;
    } else if (len == 127) {
      if (n < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | u[2 + i];
      hdr = 10;
    }
    if (!(u[1] & 0x80) || len > (1u << 20)) return false;
    if (n < hdr + 4 + len) break;
    unsigned char* mask = const_cast<unsigned char*>(u) + hdr;
    char* p = reinterpret_cast<char*>(mask + 4);
    for (uint64_t i = 0; i < len; ++i) p[i] ^= mask[i & 3];
    switch (u[0] & 0x0f) {
      case 1:
        OnDdp(c, std::string_view(p, len));
        break;
      case 8:
        ok = false;
        break;
      case 9:  // ping -> pong
        c->out.push_back(static_cast<char>(0x8A));
        c->out.push_back(static_cast<char>(len));
        c->out.append(p, len);
        MarkDirty(c);
        break;
      default:
        break;
    }
    off += hdr + 4 + len;
  }
  c->in.erase(0, off);
  return ok;
}

void OnClientReadable(Client* c) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return Close(c);
    c->in.append(buf, static_cast<size_t>(n));
    if (!c->upgraded && !OnHandshake(c)) return Close(c);
    if (c->upgraded && !OnFrames(c)) return Close(c);
    if (static_cast<size_t>(n) < sizeof buf) return;
  }
}

// One send() of everything queued; the rest waits for EPOLLOUT.
void FlushClient(Client* c) {
  if (c->fd < 0) return;
  size_t left = c->out.size() - c->out_off;
  if (left > 0) {
    ssize_t n = send(c->fd, c->out.data() + c->out_off, left, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return Close(c);
    if (n > 0) c->out_off += static_cast<size_t>(n);
  }
  if (c->out_off == c->out.size()) {
    c->out.clear();
    c->out_off = 0;
  } else if (c->out_off >= 65536 && c->out_off * 2 >= c->out.size()) {
    c->out.erase(0, c->out_off);  // keep a lagging client's buffer compact
    c->out_off = 0;
  }
  if (c->out.size() - c->out_off > g_max_outgoing) {
    return Close(c);
  }
  bool want = c->out_off < c->out.size();
  if (want != c->want_out) {
    c->want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u);
    ev.data.ptr = c;
    epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &ev);
  }
}

// RESP push parser for the subscriber connection: arrays of bulk strings and
// integers. Returns the bytes used by one complete reply (0: incomplete).
size_t ParseReply(const char* p, size_t n, std::vector<std::string_view>* v) {
  v->clear();
  const char* end = p + n;
  const char* q = p;
  auto line = [&](long* num) -> bool {
    const char* nl = static_cast<const char*>(std::memchr(q, '\n', end - q));
    if (!nl) return false;
    *num = std::strtol(q + 1, nullptr, 10);
    q = nl + 1;
    return true;
  };
  if (q >= end) return 0;
  char type = *q;
  long count;
  if (!line(&count)) return 0;
  if (type != '*') return static_cast<size_t>(q - p);  // +OK / -ERR / :n
  for (long i = 0; i < count; ++i) {
    if (q >= end) return 0;
    char t = *q;
    long len;
    if (!line(&len)) return 0;
    if (t == ':') {
      v->emplace_back();
      continue;
    }
    if (len < 0 || end - q < len + 2) return 0;
    v->emplace_back(q, static_cast<size_t>(len));
    q += len + 2;
  }
  return static_cast<size_t>(q - p);
}

// Subscriber input: [g_rhead, g_rtail) of g_rin holds unparsed bytes.
std::vector<char> g_rin(4 << 20);
size_t g_rhead = 0, g_rtail = 0;

void OnRedisReadable() {
  if (g_rhead > 0) {
    std::memmove(g_rin.data(), g_rin.data() + g_rhead, g_rtail - g_rhead);
    g_rtail -= g_rhead;
    g_rhead = 0;
  }
  if (g_rtail == g_rin.size()) g_rin.resize(g_rin.size() * 2);
  ssize_t n = recv(g_redis, g_rin.data() + g_rtail,
                   std::min<size_t>(g_rin.size() - g_rtail, 64 << 10), 0);
  if (n == 0) {
    std::fprintf(stderr, "redis closed the connection\n");
    std::exit(1);
  }
  if (n < 0) return;
  g_rtail += static_cast<size_t>(n);
  size_t off = g_rhead;
  std::vector<std::string_view> v;
  for (;;) {
    size_t used = ParseReply(g_rin.data() + off, g_rtail - off, &v);
    if (used == 0) break;
    off += used;
    if (v.size() < 2) continue;
    auto it = g_channels.find(std::string(v[1]));
    if (it == g_channels.end()) continue;
    Channel& ch = it->second;
    if (v[0] == "message" && v.size() == 3) {
      for (Sub& s : ch.subs) {
        AppendFrame(s.client->out, s.prefix, v[2], "}");
        MarkDirty(s.client);
      }
    } else if (v[0] == "subscribe") {
      ch.confirmed = true;
      for (auto& [c, id] : ch.waiting) {
        AppendFrame(c->out, R"({"msg":"ready","subs":[")", id, "\"]}");
        MarkDirty(c);
      }
      ch.waiting.clear();
    }
  }
  g_rhead = off;
}

int Listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) Die("bind");
  if (listen(fd, 4096) < 0) Die("listen");
  SetNonBlocking(fd);
  return fd;
}

int ConnectRedis(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    Die("redis connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;  // blocking for writes (tiny commands), read when readable
}

}  // namespace

int main(int argc, char** argv) {
  int port = 3300, redis_port = 6379;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view f = argv[i];
    if (f == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (f == "--redis-port") {
      redis_port = std::atoi(argv[i + 1]);
    } else if (f == "--max-outgoing") {
      g_max_outgoing = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: vent-floor --port P --redis-port R "
                   "[--max-outgoing BYTES]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // As vent-bridge (vent/base/process_tuning): keep large buffers in the heap
  // instead of mmap/munmap + zeroed page faults on every growth.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  int lfd = Listen(port);
  g_redis = ConnectRedis(redis_port);
  g_epoll = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &lfd;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &g_redis;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_redis, &ev);
  std::fprintf(stderr, "vent-floor listening on 127.0.0.1:%d\n", port);
  std::vector<epoll_event> events(512);
  for (;;) {
    int n =
        epoll_wait(g_epoll, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      void* p = events[i].data.ptr;
      if (p == &lfd) {
        for (;;) {
          int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* c = new Client;
          c->fd = fd;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.ptr = c;
          epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &cev);
        }
      } else if (p == &g_redis) {
        OnRedisReadable();
      } else {
        auto* c = static_cast<Client*>(p);
        if (c->fd < 0) continue;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
          Close(c);
          continue;
        }
        if (events[i].events & EPOLLIN) OnClientReadable(c);
        if (c->fd >= 0 && (events[i].events & EPOLLOUT)) MarkDirty(c);
      }
    }
    // One send() per client with queued bytes, per wake-up.
    std::vector<Client*> dirty;
    dirty.swap(g_dirty);
    for (Client* c : dirty) {
      c->dirty = false;
      FlushClient(c);
    }
    FlushRedis();
    for (Client* c : g_dead) delete c;
    g_dead.clear();
  }
}
