#include "bridge/ddp_host_model.h"

#include <yaml-cpp/yaml.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "boost/json/parse.hpp"
#include "boost/json/serialize.hpp"
#include "bridge/channel_registry.h"
#include "bridge/context.h"
#include "bridge/ddp_host.h"
#include "vent/metrics/metrics.h"

namespace vent::bridge::testing {
namespace {

constexpr char kConfig[] = R"(
publications:
  pa: {channels: ["pa"], auth: public}
  pb:
    params: {room: {type: string, pattern: "^[xy]$"}}
    channels: ["pb::{room}"]
    auth: public
  pu: {channels: ["u::{userId}"], auth: user}
  pz:
    params: {room: {type: string, pattern: "^[xy]$"}}
    channels: ["z::{room}", "pa"]
    auth: authorizer
    delivery: collection
  pc:
    params: {room: {type: string, pattern: "^[xy]$"}}
    channels: ["pb::{room}"]
    auth: user
    delivery: collection
  ph:
    channels: ["ph::a", "ph::b"]
    auth: public
    history: {size: 3, ttl: 1m}
)";

const char* const kIds[] = {"a", "b", "c", "d"};
const char* const kPubs[] = {"pa", "pb", "pu", "pz", "pc", "nope",
                             "ph", "ph", "ph", "ph", "ph"};
constexpr size_t kPubCount = sizeof(kPubs) / sizeof(kPubs[0]);
const char* const kRooms[] = {"x", "y", "BAD"};
const char* const kUsers[] = {"u1", "u2"};
const char* const kChannels[] = {"pa",   "pb::x", "pb::y", "u::u1", "u::u2",
                                 "z::x", "z::y",  "ph::a", "ph::b"};
constexpr size_t kChannelCount = 9;
const char* const kHistoryChannels[] = {"ph::a", "ph::b"};
constexpr int64_t kHistorySize = 3;
constexpr size_t kMaxConns = 3;
constexpr int64_t kMaxSubs = 3;
const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

enum Op {
  kOpen,
  kConnect,
  kSub1,
  kSub2,
  kSub3,
  kUnsub,
  kLoginGood,
  kLoginBad,
  kLogout,
  kChatter,
  kClose,
  kHub1,
  kHub2,
  kWorker1,
  kWorker2,
  kWorker3,
  kPublish1,
  kPublish2,
  kRedisToggle,
  kAnswer,
  kLoginAnswer,
  kDeferred1,
  kDeferred2,
  kTick,
  kAnswerRead,
  kLoseHistory,
  kResub,
  kOpCount
};

}  // namespace

struct ModelHarness::Impl : RedisSubscriptions, Authenticator {
  // ---- the model of one connection, as its client sees it ----------------
  struct SubModel {
    bool active = false;  // sub sent, no nosub / unsub since
    bool ready = false;   // last word about it was `ready`
    std::string pub, room;
    std::set<std::string> channels;  // while ready
    uint64_t epoch = 0;              // bumped by anything that disturbs it
    int query = -1;                  // the authorizer question in force
    bool needs_gap = false;  // ready across a Redis outage, not told yet
    // Delivery collection: the client holds document "i" of
    // __vent.<rand>.<pub> (added, not removed since).
    bool doc = false;
    // History (pub "ph"): the positions the client resubscribed with, and
    // the events seen before `ready`.
    struct Pos {
      std::string epoch;
      int64_t offset = 0;
    };
    std::vector<std::optional<Pos>> since;
    std::vector<std::tuple<size_t, std::string, int64_t>> early;
  };
  struct Conn;
  struct Transport : HostOutput, VentSink {
    Impl* h;
    Conn* c;
    void SendMessage(absl::string_view m) override {
      h->OnServerMessage(*c, m);
    }
    void CloseConnection(uint16_t code, absl::string_view) override {
      h->OnServerClose(*c, code);
    }
    void Defer(absl::AnyInvocable<void(DdpHost&) &&> fn) override {
      h->deferred.push_back(
          {c->serial, h->answering, h->answering_login, std::move(fn)});
    }
    Deferrer MakeDeferrer() override {
      // The harness keeps every Conn (and so this transport) to the end.
      return [this](absl::AnyInvocable<void(DdpHost&) &&> fn) {
        Defer(std::move(fn));
      };
    }
    void OnQueuedMessage() override { h->OnQueuedMessage(*c); }
    void QueueVent(const Subscription& sub, Transformed& t) override {
      h->OnVent(*c, sub, t);
    }
  };
  struct Conn {
    uint64_t serial = 0;
    Transport transport;
    std::unique_ptr<DdpHost> host;
    bool connect_sent = false, connected = false, closed = false;
    std::string user;
    int64_t exp = 0;  // unix seconds
    std::map<std::string, SubModel> subs;
    std::map<std::string, std::pair<std::string, int64_t>> logins;  // id ->
    std::set<std::string> logouts;
    int next_method = 0;
    // Model updates of client messages the host queued behind a login, in
    // order; each runs when the host takes its message (OnQueuedMessage).
    std::deque<std::function<void()>> queued;
    // The login method being processed now (set just before the host
    // processes it), and the asynchronous login the host waits for.
    std::string processing_login;
    struct PendingLogin {
      std::string mid;
      int query;
      absl::Time deadline;
    };
    std::optional<PendingLogin> pending_login;
  };
  // An asynchronous login question (tokens "atok:<user>:<exp>").
  struct LoginQuery {
    uint64_t serial;
    std::string mid;
    std::string user;
    int64_t exp;
    LoginDone done;
    bool answered = false;
    bool expect_error = false;  // as answered
  };
  struct Query {
    uint64_t serial;
    std::string id;
    absl::AnyInvocable<void(absl::StatusOr<auth::Decision>) &&> done;
    bool answered = false;
  };
  struct Deferred {
    uint64_t serial;
    int query;        // the authorizer question it answers, or -1
    int login_query;  // the login question it answers, or -1
    absl::AnyInvocable<void(DdpHost&) &&> fn;
  };
  struct HubOp {
    bool subscribe;
    std::string channel;
    uint64_t generation;
  };
  struct Expected {
    uint64_t serial;
    std::string id;
    uint64_t epoch;
  };
  struct WorkerEvent {
    enum Kind { kAck, kMessage, kState } kind;
    std::string channel;
    uint64_t generation = 0;
    bool ok = true;
    int64_t k = 0;  // message payload {"k":k}
    bool up = false;
    std::vector<Expected> expected;
    std::string payload;  // what Redis delivers (an envelope for history)
  };

  // ---- HistoryReader (a fake Redis stream per history channel) -----------
  struct Hist {
    std::string epoch;  // empty: no history
    int64_t n = 0;
    std::deque<std::pair<int64_t, std::string>> stream;
  };
  struct PendingRead {
    std::string channel;
    int64_t after, max;
    absl::AnyInvocable<void(absl::StatusOr<redis::HistoryState>) &&> done;
  };
  struct HistoryReaderImpl : HistoryReader {
    Impl* h;
    void Read(const std::string& channel, int64_t after, int64_t max,
              absl::AnyInvocable<void(absl::StatusOr<redis::HistoryState>) &&>
                  done) override {
      h->reads.push_back({channel, after, max, std::move(done)});
    }
  };
  redis::HistoryState Snapshot(const std::string& channel, int64_t after,
                               int64_t max) {
    redis::HistoryState st;
    Hist& hs = hist[channel];
    if (hs.epoch.empty()) {
      // The read script gives an empty channel its epoch (Hub::Read).
      hs.epoch = absl::StrFormat("E%06d", ++next_epoch);
      hs.n = 0;
      hs.stream.clear();
    }
    st.exists = true;
    st.epoch = hs.epoch;
    st.last = hs.n;
    st.first = hs.stream.empty() ? 0 : hs.stream.front().first;
    for (const auto& [off, ev] : hs.stream) {
      if (off > after && static_cast<int64_t>(st.entries.size()) < max) {
        st.entries.push_back({off, ev});
      }
    }
    return st;
  }
  // Could a client at `p` on `channel` recover everything now?
  bool Recoverable(const std::string& channel,
                   const std::optional<SubModel::Pos>& p) {
    if (!p) return false;
    const Hist& hs = hist[channel];
    if (hs.epoch.empty()) return p->epoch.empty() && p->offset == 0;
    int64_t first = hs.stream.empty() ? 0 : hs.stream.front().first;
    if (p->epoch.empty()) return p->offset == 0 && (hs.n == 0 || first == 1);
    if (p->epoch != hs.epoch || p->offset > hs.n) return false;
    return p->offset == hs.n || (first > 0 && p->offset + 1 >= first);
  }

  Impl() {
    history_reader.h = this;
    ctx.history = &history_reader;
    ctx.options.max_subscriptions = kMaxSubs;
    // Small, so that messages queued behind a login can overflow (the queue
    // holds 4 x max_message bytes).
    ctx.options.max_message = 160;
    ctx.options.authorizer_timeout = absl::Seconds(2);
    ctx.options.sub_timeout = absl::Seconds(5);
    ctx.options.heartbeat_interval = absl::Seconds(15);
    ctx.options.heartbeat_timeout = absl::Seconds(15);
    ctx.catalog = *pub::Catalog::FromYaml(YAML::Load(kConfig)["publications"]);
    ctx.registry = &metrics_registry;
    ctx.metrics = std::make_unique<BridgeMetrics>(metrics_registry);
    ctx.access = this;
    to_worker.push_back({WorkerEvent::kState, "", 0, true, 0, true, {}});
  }

  ~Impl() override {
    for (auto& c : conns) c.reset();  // releases before the registry goes
  }

  // ---- failures -------------------------------------------------------------
  void Fail(const std::string& what) {
    if (!failure.empty()) return;
    failure =
        absl::StrCat(what, "\n  after steps: ", absl::StrJoin(trace, " | "));
  }
  void Trace(std::string s) {
    trace.push_back(std::move(s));
    if (trace.size() > 60) trace.pop_front();
  }

  // ---- RedisSubscriptions (the registry asks) -------------------------------
  void Subscribe(const std::string& channel, uint64_t generation) override {
    if (requested.contains(channel)) Fail("Subscribe twice for " + channel);
    requested[channel] = generation;
    to_hub.push_back({true, channel, generation});
  }
  void Unsubscribe(const std::string& channel) override {
    if (!requested.contains(channel)) Fail("Unsubscribe unknown " + channel);
    requested.erase(channel);
    to_hub.push_back({false, channel, 0});
  }

  // ---- Authenticator ------------------------------------------------------
  // Tokens: "tok:<user>:<exp>" are checked at once (as --login jwt);
  // "atok:<user>:<exp>" are asked of a fake backend whose answers come in
  // any order, late, or as failures (as --login authorizer).
  Conn* ConnOf(const ConnectionMeta& meta) {
    for (const auto& [k, v] : meta) {
      if (k != "remote") continue;
      for (auto& c : conns) {
        if (c && !c->closed && absl::StrCat("c", c->serial) == v) {
          return c.get();
        }
      }
    }
    return nullptr;
  }
  std::optional<LoginOutcome> Login(const boost::json::array& params,
                                    absl::Time now, ConnectionMeta connection,
                                    LoginDone done) const override {
    auto* self = const_cast<Impl*>(this);
    const boost::json::object* o =
        params.size() == 1 ? params[0].if_object() : nullptr;
    const boost::json::string* tok = nullptr;
    if (o != nullptr) {
      if (auto* v = o->if_contains("resume")) tok = v->if_string();
    }
    if (tok == nullptr) {
      return LoginOutcome{
          absl::InvalidArgumentError("bad options"),
          ddp::Error{400, "Unrecognized options for login request",
                     std::nullopt}};
    }
    std::vector<std::string> parts = absl::StrSplit(std::string(*tok), ':');
    int64_t exp = 0;
    if (parts.size() != 3 || (parts[0] != "tok" && parts[0] != "atok") ||
        !absl::SimpleAtoi(parts[2], &exp)) {
      return LoginOutcome{absl::UnauthenticatedError("bad token"),
                          ddp::Error{403, kLoggedOutReason, std::nullopt}};
    }
    if (parts[0] == "atok") {
      Conn* c = self->ConnOf(connection);
      if (c == nullptr) {
        self->Fail("asynchronous login from an unknown connection");
        return LoginOutcome{absl::InternalError("?"), ddp::Error{}};
      }
      int qi = static_cast<int>(self->login_queries.size());
      self->login_queries.push_back(
          {c->serial, c->processing_login, parts[1], exp, std::move(done)});
      c->pending_login = Conn::PendingLogin{
          c->processing_login, qi, now + ctx.options.authorizer_timeout};
      ++self->cov.async_logins;
      return std::nullopt;
    }
    return Outcome(parts[1], exp, now);
  }
  static LoginOutcome Outcome(const std::string& user, int64_t exp,
                              absl::Time now) {
    if (now >= absl::FromUnixSeconds(exp)) {
      return LoginOutcome{absl::DeadlineExceededError("token expired"),
                          ddp::Error{403, kExpiredReason, std::nullopt}};
    }
    return LoginOutcome{LoginResult{user, absl::FromUnixSeconds(exp),
                                    absl::FromUnixSeconds(exp)},
                        ddp::Error{}};
  }
  absl::StatusOr<LoginResult> VerifyToken(absl::string_view,
                                          absl::Time) const override {
    return absl::UnimplementedError("not used");
  }
  bool has_authorizer() const override { return true; }
  // The question belongs to the connection's newest Subscription (the one
  // just built: generations grow), which must be an unregistered pz sub.
  void Authorize(auth::AuthorizeQuery q,
                 absl::AnyInvocable<void(absl::StatusOr<auth::Decision>) &&>
                     done) const override {
    auto* self = const_cast<Impl*>(this);
    int qi = static_cast<int>(queries.size());
    self->queries.push_back({0, "", std::move(done)});
    Conn* c = self->ConnOf(q.connection);
    if (c == nullptr) {
      self->Fail("authorizer question from an unknown connection");
      return;
    }
    const Subscription* newest = nullptr;
    for (const char* id : kIds) {
      const Subscription* sub = c->host->subscription(id);
      if (sub != nullptr &&
          (newest == nullptr || sub->generation > newest->generation)) {
        newest = sub;
      }
    }
    if (newest == nullptr || newest->registered ||
        newest->pub->name() != "pz" || !c->subs[newest->id].active) {
      self->Fail("unexpected authorizer question");
      return;
    }
    self->queries[qi].serial = c->serial;
    self->queries[qi].id = newest->id;
    c->subs[newest->id].query = qi;
  }

  // ---- server -> client -----------------------------------------------------
  std::set<std::string> ChannelsOf(const Conn& c, const SubModel& s) {
    if (s.pub == "pa") return {"pa"};
    if (s.pub == "pb") return {"pb::" + s.room};
    if (s.pub == "pu") return {"u::" + c.user};
    if (s.pub == "pz") return {"z::" + s.room, "pa"};
    if (s.pub == "pc") return {"pb::" + s.room};
    if (s.pub == "ph") return {"ph::a", "ph::b"};
    return {};
  }
  static bool IsCollection(const std::string& pub) {
    return pub == "pz" || pub == "pc";
  }
  // "__vent.r<id>.<pub>" -> the sub id (the model's rand is "r" + id).
  static std::string IdOfCollection(absl::string_view collection) {
    std::vector<std::string> parts = absl::StrSplit(collection, '.');
    if (parts.size() != 3 || parts[0] != "__vent" || parts[1].size() < 2) {
      return "";
    }
    return parts[1].substr(1);
  }

  void MarkRerun(Conn& c) {
    for (auto& [id, s] : c.subs) {
      if (!s.active) continue;
      s.ready = false;
      s.since.clear();  // a re-run starts from the current positions
      s.early.clear();
      ++s.epoch;
    }
  }

  void OnServerMessage(Conn& c, absl::string_view text) {
    if (c.closed) {
      Fail(absl::StrCat("message after close: ", text));
      return;
    }
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(
        boost::json::string_view(text.data(), text.size()), ec);
    if (ec || !v.is_object()) {
      Fail(absl::StrCat("not a JSON object: ", text));
      return;
    }
    const boost::json::object& m = v.as_object();
    std::string msg(m.at("msg").as_string());
    run_messages.push_back(std::string(text));
    if (msg == "connected") {
      c.connected = true;
    } else if (msg == "ready") {
      for (const auto& idv : m.at("subs").as_array()) {
        std::string id(idv.as_string());
        SubModel& s = c.subs[id];
        if (!s.active) Fail("ready for an inactive sub " + id);
        s.needs_gap = false;
        // A gap notice: recovered:false without positions (a recovery
        // ready carries them).
        if (m.contains("recovered") && !m.contains("h")) {
          ++cov.gaps;
          if (!s.ready) Fail("gap ready for a sub that was not ready " + id);
        } else {
          ++cov.readies;
          if (IsCollection(s.pub) && !s.doc) {
            Fail("ready for a collection sub without its `added` " + id);
          }
          if ((s.pub == "pu" || s.pub == "pc") && c.user.empty()) {
            Fail(s.pub + " ready without a user");
          }
          if (s.pub == "ph") CheckHistoryReady(c, id, s, m);
          s.ready = true;
          s.channels = ChannelsOf(c, s);
          s.query = -1;
        }
        ++s.epoch;
      }
    } else if (msg == "nosub") {
      if (!m.contains("id")) return;
      std::string id(m.at("id").as_string());
      SubModel& s = c.subs[id];
      if (s.doc) Fail("nosub for " + id + " whose document was not removed");
      if (m.contains("error")) {
        ++cov.nosubs;
        if (!s.active) Fail("nosub with error for an inactive sub " + id);
        int code = m.at("error").as_object().at("error").to_number<int>();
        if (code == 429) ++cov.limit_hits;
        // The sub deadline is for subs still waiting for Redis.
        if (code == 503 && s.ready) Fail("nosub 503 for a ready sub " + id);
      }
      s.active = false;
      s.ready = false;
      s.query = -1;
      s.needs_gap = false;
      ++s.epoch;
    } else if (msg == "result") {
      std::string id(m.at("id").as_string());
      if (c.pending_login && c.pending_login->mid == id) {
        const LoginQuery& q = login_queries[c.pending_login->query];
        if (!m.contains("error") && (!q.answered || q.expect_error)) {
          Fail(absl::StrCat("login ", id, " succeeded without a good answer"));
        }
        if (!q.answered) ++cov.login_timeouts;
        c.pending_login.reset();
      }
      if (auto it = c.logins.find(id); it != c.logins.end()) {
        if (!m.contains("error")) {
          c.user = it->second.first;
          c.exp = it->second.second;
          MarkRerun(c);
        }
        c.logins.erase(it);
      } else if (c.logouts.erase(id) > 0) {
        if (!c.user.empty()) MarkRerun(c);
        c.user.clear();
      }
    } else if (msg == "changed") {
      Fail("a Vent frame through SendMessage");
    } else if (msg == "added" || msg == "removed") {
      std::string collection(m.at("collection").as_string());
      std::string id = IdOfCollection(collection);
      if (id.empty() || m.at("id").as_string() != "i") {
        Fail(absl::StrCat("bad collection message ", text));
        return;
      }
      SubModel& s = c.subs[id];
      if (msg == "added") {
        ++cov.documents;
        if (!s.active || !IsCollection(s.pub) || s.doc) {
          Fail(absl::StrCat("unexpected added: ", text));
        }
        if (absl::StrCat("__vent.r", id, ".", s.pub) != collection) {
          Fail(absl::StrCat("added names the wrong collection: ", text));
        }
        if (m.at("fields").as_object().size() != 0) Fail("added with fields");
        s.doc = true;
      } else {
        if (!s.doc) Fail(absl::StrCat("removed without added: ", text));
        s.doc = false;
        ++cov.removals;
      }
    }
  }

  void OnServerClose(Conn& c, uint16_t code) {
    ++cov.closes;
    if (code == 1008) ++cov.queue_overflows;
    c.closed = true;
    c.queued.clear();
    c.pending_login.reset();
    for (auto& [id, s] : c.subs) {
      s = SubModel{false, false, "", "", {}, s.epoch + 1, -1, false, false};
    }
    c.host->Release();  // as WsConnection::CloseWith does
  }

  void OnVent(Conn& c, const Subscription& sub, const Transformed& t) {
    SubModel& s = c.subs[sub.id];
    if (c.closed) Fail("event after close");
    boost::json::value v = boost::json::parse(*t.e);
    const int64_t k = v.at("k").to_number<int64_t>();
    if (s.pub == "ph") {
      size_t ci = t.channel == "ph::a" ? 0 : 1;
      Trace(absl::StrCat(">c", c.serial, "/", sub.id, " ev ", ci, ":", t.epoch,
                         ":", t.offset, s.ready ? "" : " early"));
      if (t.offset <= 0) Fail("a history event without a position");
      if (!s.active) Fail("history event for an inactive sub " + sub.id);
      if (!s.ready) {
        // Replayed or captured before `ready`: checked when it comes.
        s.early.emplace_back(ci, t.epoch, t.offset);
        ++cov.early_events;
        pending_ready.insert({c.serial, sub.id});
      } else {
        CheckNext(c, sub.id, ci, t.epoch, t.offset);
      }
      delivered.push_back({c.serial, sub.id, k});
      ++cov.events;
      return;
    }
    if (!s.active || !s.ready) {
      Fail(
          absl::StrCat("event for ", sub.id, " whose last word was not ready"));
    }
    if (s.needs_gap) {
      Fail(absl::StrCat("event for ", sub.id,
                        " after a Redis outage without a gap notice"));
    }
    bool collection_frame =
        absl::StartsWith(sub.prefix,
                         "{\"msg\":\"changed\",\"collection\":\"__vent.") &&
        sub.suffix == "}}";
    if (collection_frame != IsCollection(s.pub)) {
      Fail(absl::StrCat("event for ", sub.id,
                        " in the wrong form: ", sub.prefix));
    }
    if (IsCollection(s.pub) && !s.doc) {
      Fail(absl::StrCat("changed for ", sub.id, " whose document is gone"));
    }
    delivered.push_back({c.serial, sub.id, k});
    ++cov.events;
  }

  // A live history event for a ready sub: the next offset of its channel
  // (no gap, no duplicate), or offset 1 of a new epoch.
  void CheckNext(Conn& c, const std::string& id, size_t ci,
                 const std::string& epoch, int64_t offset) {
    auto& pos = positions[{c.serial, id}];
    pos.resize(2);
    if (pos[ci] && pos[ci]->epoch == epoch) {
      if (offset != pos[ci]->offset + 1) {
        Fail(absl::StrCat("c", c.serial, "/", id, " channel ", ci, ": offset ",
                          offset, " after ", pos[ci]->offset,
                          " (a gap or a duplicate)"));
      }
    } else if (pos[ci] && epoch < pos[ci]->epoch) {
      Fail(absl::StrCat("c", c.serial, "/", id, ": an event of epoch ", epoch,
                        " after one of the newer ", pos[ci]->epoch));
    } else if (pos[ci] && !pos[ci]->epoch.empty() && offset != 1) {
      // After a known epoch, a newer one is seen from its first event.
      // (After "no history" (""), an event of an epoch lost since may still
      // be in flight: any offset.)
      Fail(absl::StrCat("c", c.serial, "/", id, ": new epoch starts at ",
                        offset));
    }
    pos[ci] = SubModel::Pos{epoch, offset};
    saved[id] = pos;
  }

  // A `ready` for a history sub (not a gap notice): checks what came before
  // it against the positions it resubscribed with and the model's streams.
  void CheckHistoryReady(Conn& c, const std::string& id, SubModel& s,
                         const boost::json::object& m) {
    Trace(
        absl::StrCat(">c", c.serial, "/", id, " ", boost::json::serialize(m)));
    pending_ready.erase({c.serial, id});
    ++cov.history_readies;
    const boost::json::value* hv = m.if_contains("h");
    if (hv == nullptr || !hv->is_array() || hv->as_array().size() != 2) {
      Fail("history ready without two positions");
      return;
    }
    std::vector<std::optional<SubModel::Pos>> top(2);
    for (const auto& e : hv->as_array()) {
      const auto& a = e.as_array();
      size_t ci = static_cast<size_t>(a[0].to_number<int64_t>());
      top[ci] = SubModel::Pos{std::string(a[2].as_string()),
                              a[1].to_number<int64_t>()};
    }
    const bool asked = !s.since.empty();
    const boost::json::value* rv = m.if_contains("recovered");
    if (asked != (rv != nullptr)) Fail("recovered present iff since was sent");
    const bool recovered = rv != nullptr && rv->as_bool();
    if (asked && !recovered) {
      bool could = true;
      for (size_t ci = 0; ci < 2; ++ci) {
        could = could && Recoverable(kHistoryChannels[ci], s.since[ci]);
      }
      if (could) {
        Fail(absl::StrCat("c", c.serial, "/", id,
                          " told recovered:false although its history was "
                          "still there"));
      }
      ++cov.not_recovered;
    }
    if (recovered) ++cov.recovered;
    // Events before ready: per channel, increasing within an epoch; when
    // recovered, exactly since+1, since+2, ... up to the ready position.
    std::vector<std::optional<SubModel::Pos>> seen(2);
    if (recovered) seen = s.since;
    for (const auto& [ci, ep, off] : s.early) {
      if (seen[ci] && seen[ci]->epoch == ep) {
        bool ok =
            recovered ? off == seen[ci]->offset + 1 : off > seen[ci]->offset;
        if (!ok) {
          Fail(absl::StrCat("c", c.serial, "/", id, " before ready: offset ",
                            off, " after ", seen[ci]->offset));
        }
      }
      seen[ci] = SubModel::Pos{ep, off};
    }
    for (size_t ci = 0; ci < 2; ++ci) {
      if (!top[ci]) continue;
      if (seen[ci] && seen[ci]->epoch == top[ci]->epoch &&
          seen[ci]->offset != top[ci]->offset) {
        Fail(absl::StrCat("c", c.serial, "/", id, " ready position ",
                          top[ci]->offset, " but the last event before it was ",
                          seen[ci]->offset));
      }
    }
    s.early.clear();
    auto& pos = positions[{c.serial, id}];
    pos = top;
    saved[id] = pos;
  }

  // ---- helpers ------------------------------------------------------------
  Conn* PickConn(uint32_t arg) {
    std::vector<Conn*> open;
    for (auto& c : conns) {
      if (c && !c->closed) open.push_back(c.get());
    }
    if (open.empty()) return nullptr;
    return open[arg % open.size()];
  }

  // Sends one client message. `update` is the model's bookkeeping for it,
  // run just before the host processes the message: now, or — when the
  // host holds it behind a login — when the host takes it from its queue.
  void Send(Conn& c, const std::string& text,
            std::function<void()> update = nullptr) {
    Trace(absl::StrCat("c", c.serial, "<-", text));
    if (c.host->input_paused()) {
      c.queued.push_back(update ? std::move(update) : [] {});
    } else if (update) {
      update();
    }
    c.host->OnMessage(text, now);
  }

  void OnQueuedMessage(Conn& c) {
    ++cov.queued_messages;
    if (c.pending_login) {
      Fail(absl::StrCat("c", c.serial, ": a message sent after login ",
                        c.pending_login->mid,
                        " was processed before its result"));
    }
    if (c.queued.empty()) {
      Fail("the host processed a queued message the client did not send");
      return;
    }
    std::function<void()> update = std::move(c.queued.front());
    c.queued.pop_front();
    update();
  }

  void CloseConn(Conn& c) {
    Trace(absl::StrCat("close c", c.serial));
    c.closed = true;
    c.queued.clear();
    c.pending_login.reset();
    c.host.reset();  // the transport went away: DdpHost releases
    for (auto& [id, s] : c.subs) ++s.epoch;
  }

  // ---- steps ----------------------------------------------------------------
  // Operation weights: client traffic, Redis traffic and the deferred
  // answers in proportions that reach every state often.
  static Op PickOp(uint32_t choice) {
    static const Op kTable[] = {
        kOpen,        kConnect,     kConnect,     kSub1,       kSub2,
        kSub3,        kSub1,        kSub2,        kUnsub,      kUnsub,
        kLoginGood,   kLoginGood,   kLoginBad,    kLogout,     kChatter,
        kClose,       kHub1,        kHub2,        kHub1,       kHub2,
        kWorker1,     kWorker2,     kWorker3,     kWorker1,    kWorker2,
        kWorker3,     kPublish1,    kPublish2,    kPublish1,   kPublish2,
        kPublish1,    kPublish2,    kRedisToggle, kAnswer,     kAnswer,
        kDeferred1,   kDeferred2,   kTick,        kTick,       kLoginAnswer,
        kLoginAnswer, kDeferred1,   kAnswerRead,  kAnswerRead, kDeferred1,
        kPublish1,    kLoseHistory, kAnswerRead,  kDeferred2,  kDeferred1,
        kPublish2,    kPublish1,    kWorker1,     kWorker2,    kResub,
        kResub,       kAnswerRead,  kAnswerRead,  kAnswerRead, kDeferred1,
        kDeferred2,   kDeferred1,   kDeferred2,   kResub,      kHub1,
        kWorker3};
    return kTable[choice % (sizeof(kTable) / sizeof(kTable[0]))];
  }

  void Step(uint32_t choice, uint32_t arg) {
    run_messages.clear();
    Op op = PickOp(choice);
    switch (op) {
      case kOpen: {
        size_t open = 0;
        for (auto& c : conns) open += c && !c->closed;
        if (open >= kMaxConns) break;
        auto c = std::make_unique<Conn>();
        c->serial = ++next_serial;
        c->transport.h = this;
        c->transport.c = c.get();
        ConnectionInfo info;
        info.remote = absl::StrCat("c", c->serial);
        c->host = std::make_unique<DdpHost>(
            DdpHost::Deps{&ctx, &registry, &c->transport, &c->transport,
                          (arg & 1) != 0},
            info);
        Trace(absl::StrCat("open c", c->serial));
        conns.push_back(std::move(c));
        if ((arg >> 1) % 4 != 0) {  // usually the client connects at once
          Conn& n = *conns.back();
          n.connect_sent = true;
          Send(n, R"({"msg":"connect","version":"1","support":["1"]})");
        }
        break;
      }
      case kConnect: {
        Conn* c = PickConn(arg);
        if (c == nullptr) break;
        Send(*c, R"({"msg":"connect","version":"1","support":["1"]})",
             [c] { c->connect_sent = true; });
        break;
      }
      case kSub1:
      case kSub2:
      case kSub3: {
        Conn* c = PickConn(arg);
        if (c == nullptr) break;
        SubOp(*c, kIds[(arg >> 2) % 4], kPubs[(arg >> 4) % kPubCount],
              kRooms[(arg >> 8) % 3], (arg >> 12) % 5 != 0);
        break;
      }
      case kResub: {
        // A client resubscribing a history sub (what a reconnect does):
        // unsub, then sub again from the positions it has.
        Conn* c = PickConn(arg);
        if (c == nullptr || !c->connected || c->host->input_paused()) break;
        std::string id = kIds[(arg >> 2) % 4];
        SubModel& s = c->subs[id];
        if (!s.active || s.pub != "ph") break;
        Send(*c, absl::StrCat(R"({"msg":"unsub","id":")", id, R"("})"),
             [c, id] {
               SubModel& u = c->subs[id];
               u.active = false;
               u.ready = false;
               u.query = -1;
               ++u.epoch;
             });
        SubOp(*c, id, "ph", "x", /*want_since=*/true);
        break;
      }
      case kUnsub: {
        Conn* c = PickConn(arg);
        if (c == nullptr) break;
        std::string id = kIds[(arg >> 2) % 4];
        Send(*c, absl::StrCat(R"({"msg":"unsub","id":")", id, R"("})"),
             [c, id] {
               if (!c->connected) return;
               SubModel& s = c->subs[id];
               s.active = false;
               s.ready = false;
               s.query = -1;
               ++s.epoch;
             });
        break;
      }
      case kLoginGood:
      case kLoginBad: {
        Conn* c = PickConn(arg);
        if (c == nullptr) break;
        std::string mid = absl::StrCat("L", c->next_method++);
        std::string user = kUsers[(arg >> 2) & 1];
        int64_t exp = absl::ToUnixSeconds(now) + 1 + (arg >> 3) % 20;
        // Half of the logins go through the (fake) backend.
        const char* kind = (arg >> 9) % 2 == 0 ? "tok" : "atok";
        std::string tok = op == kLoginGood
                              ? absl::StrCat(kind, ":", user, ":", exp)
                              : "garbage";
        Send(*c,
             absl::StrCat(R"({"msg":"method","id":")", mid,
                          R"(","method":"login","params":[{"resume":")", tok,
                          R"("}]})"),
             [c, mid, user, exp] {
               c->processing_login = mid;
               if (c->connected) c->logins[mid] = {user, exp};
             });
        break;
      }
      case kLogout: {
        Conn* c = PickConn(arg);
        if (c == nullptr) break;
        std::string mid = absl::StrCat("O", c->next_method++);
        Send(*c,
             absl::StrCat(R"({"msg":"method","id":")", mid,
                          R"(","method":"logout","params":[]})"),
             [c, mid] {
               if (c->connected) c->logouts.insert(mid);
             });
        break;
      }
      case kChatter: {
        Conn* c = PickConn(arg);
        if (c == nullptr) break;
        static const char* const kChatterMsgs[] = {
            R"({"msg":"ping","id":"p"})",
            R"({"msg":"pong"})",
            "{oops",
            R"({"msg":"method","id":"m","method":"nope","params":[]})",
            R"({"msg":"sub","id":5})",
            R"({"msg":"unsub"})"};
        Send(*c, kChatterMsgs[(arg >> 2) % 6]);
        break;
      }
      case kClose: {
        Conn* c = PickConn(arg);
        if (c != nullptr) CloseConn(*c);
        break;
      }
      case kHub1:
      case kHub2:
        HubStep();
        break;
      case kWorker1:
      case kWorker2:
      case kWorker3:
        WorkerStep();
        break;
      case kPublish1:
      case kPublish2:
        Publish(kChannels[arg % kChannelCount]);
        break;
      case kRedisToggle:
        redis_up = !redis_up;
        Trace(redis_up ? "redis up" : "redis down");
        if (!redis_up) {
          for (auto& c : conns) {
            if (!c) continue;
            for (auto& [id, s] : c->subs) ++s.epoch;
          }
          to_worker.push_back({WorkerEvent::kState, "", 0, true, 0, false, {}});
        } else {
          for (auto& [ch, gen] : unconfirmed) {
            to_worker.push_back(
                {WorkerEvent::kAck, ch, gen, true, 0, false, {}});
          }
          unconfirmed.clear();
          to_worker.push_back({WorkerEvent::kState, "", 0, true, 0, true, {}});
        }
        break;
      case kAnswer: {
        std::vector<int> open;
        for (size_t i = 0; i < queries.size(); ++i) {
          if (!queries[i].answered) open.push_back(static_cast<int>(i));
        }
        if (open.empty()) break;
        int qi = open[arg % open.size()];
        Query& q = queries[qi];
        q.answered = true;
        absl::StatusOr<auth::Decision> d;
        switch ((arg >> 8) % 3) {
          case 0:
            d = auth::Decision{true, ""};
            break;
          case 1:
            d = auth::Decision{false, "no"};
            break;
          default:
            d = absl::UnavailableError("Authorizer unavailable");
        }
        answers[qi] = (arg >> 8) % 3;
        Trace(absl::StrCat("answer q", qi, " (", q.id, ") ", answers[qi]));
        answering = qi;
        std::move(q.done)(std::move(d));
        answering = -1;
        break;
      }
      case kLoginAnswer: {
        std::vector<int> open;
        for (size_t i = 0; i < login_queries.size(); ++i) {
          if (!login_queries[i].answered) open.push_back(static_cast<int>(i));
        }
        if (open.empty()) break;
        int qi = open[arg % open.size()];
        LoginQuery& q = login_queries[qi];
        q.answered = true;
        LoginOutcome out;
        switch ((arg >> 8) % 3) {
          case 0:  // the token's verdict, now
            out = Outcome(q.user, q.exp, now);
            break;
          case 1:  // the backend failed
            out = LoginOutcome{absl::UnavailableError("Authorizer unavailable"),
                               ddp::Error{403, kLoggedOutReason, std::nullopt}};
            break;
          default:  // the backend does not know the token
            out = LoginOutcome{absl::UnauthenticatedError("unknown"),
                               ddp::Error{403, kLoggedOutReason, std::nullopt}};
        }
        q.expect_error = !out.result.ok();
        Trace(absl::StrCat("login answer lq", qi, " (", q.mid, ") ",
                           q.expect_error ? "refused" : "ok"));
        answering_login = qi;
        std::move(q.done)(std::move(out));
        answering_login = -1;
        break;
      }
      case kDeferred1:
      case kDeferred2:
        RunDeferred(arg);
        if ((arg >> 24) % 2 == 0) RunDeferred(arg >> 3);
        break;
      case kAnswerRead: {
        // Redis answers one to three reads, in any order.
        for (uint32_t n = 0; n <= (arg >> 20) % 3 && !reads.empty(); ++n) {
          size_t i = (arg + n * 7) % reads.size();
          PendingRead r = std::move(reads[i]);
          reads.erase(reads.begin() + static_cast<long>(i));
          Trace(absl::StrCat("read ", r.channel, " after ", r.after, " -> ",
                             hist[r.channel].epoch, ":", hist[r.channel].n));
          if ((arg >> 10) % 16 == 0) {
            std::move(r.done)(absl::UnavailableError("redis down"));
          } else {
            std::move(r.done)(Snapshot(r.channel, r.after, r.max));
          }
        }
        break;
      }
      case kLoseHistory: {
        const char* ch = kHistoryChannels[arg % 2];
        Trace(absl::StrCat("lose history of ", ch));
        hist[ch] = Hist{};
        break;
      }
      case kTick: {
        // Mostly short steps; sometimes long enough for heartbeat timeouts.
        absl::Duration d = (arg >> 20) % 16 == 0
                               ? absl::Seconds(10 + (arg % 20))
                               : absl::Milliseconds(arg % 3000);
        now += d;
        Trace(absl::StrCat("tick +", absl::FormatDuration(d)));
        for (auto& c : conns) {
          if (!c || c->closed) continue;
          // The host logs an expired session out after its heartbeat
          // check (which may close it instead: then the close resets all).
          // OnTick processes no client message (a timed-out login's queue
          // drains in a deferred callback), so the model's user is current.
          if (c->connected && !c->user.empty() &&
              now >= absl::FromUnixSeconds(c->exp)) {
            ++cov.expiries;
            MarkRerun(*c);
            c->user.clear();
          }
          c->host->OnTick(now);
          if (!c->closed && c->pending_login &&
              now >= c->pending_login->deadline) {
            Fail(absl::StrCat("c", c->serial, ": login ", c->pending_login->mid,
                              " not refused by its deadline"));
          }
        }
        break;
      }
      case kOpCount:
        break;
    }
    for (const auto& [serial, id] : pending_ready) {
      Fail(absl::StrCat("c", serial, "/", id,
                        ": history events before a ready that never came"));
    }
    Check();
  }

  // A client `sub` for `id`; `want_since`: with the saved positions
  // (history). The model takes it when the host does (Send).
  void SubOp(Conn& conn, const std::string& id, const std::string& pub,
             const std::string& room, bool want_since) {
    Conn* c = &conn;
    std::string args = (pub == "pb" || pub == "pz" || pub == "pc")
                           ? absl::StrCat(R"(,{"room":")", room, R"("})")
                           : "";
    std::string since;
    std::vector<std::optional<SubModel::Pos>> since_pos;
    if (pub == "ph" && want_since && saved.contains(id)) {
      since_pos = saved[id];
      since_pos.resize(2);
      std::vector<std::string> parts;
      for (size_t ci = 0; ci < 2; ++ci) {
        if (!since_pos[ci]) continue;
        parts.push_back(absl::StrCat("[", ci, ",", since_pos[ci]->offset, ",\"",
                                     since_pos[ci]->epoch, "\"]"));
      }
      since = absl::StrCat(R"(,"since":[)", absl::StrJoin(parts, ","), "]");
    }
    std::string text =
        absl::StrCat(R"({"msg":"sub","id":")", id, R"(","name":")", pub,
                     R"(","params":["r)", id, "\"", args, "]", since, "}");
    Send(*c, text, [this, c, id, pub, room, since_pos] {
      SubModel& s = c->subs[id];
      if (c->connected && !s.active) {
        s = SubModel{true, false, pub, room, {}, s.epoch + 1, -1, false, s.doc};
        s.since = since_pos;
        if (!since_pos.empty()) ++cov.since_sent;
        if (pub == "ph") positions.erase({c->serial, id});
      }
    });
  }

  static uint32_t kRedisToggleChoice() {
    for (uint32_t i = 0;; ++i) {
      if (PickOp(i) == kRedisToggle) return i;
    }
  }

  void HubStep() {
    if (to_hub.empty()) return;
    HubOp op = std::move(to_hub.front());
    to_hub.pop_front();
    if (op.subscribe) {
      routed.insert(op.channel);
      if (redis_up) {
        to_worker.push_back(
            {WorkerEvent::kAck, op.channel, op.generation, true, 0, false, {}});
      } else {
        unconfirmed[op.channel] = op.generation;
      }
    } else {
      routed.erase(op.channel);
      if (auto it = unconfirmed.find(op.channel); it != unconfirmed.end()) {
        to_worker.push_back(
            {WorkerEvent::kAck, op.channel, it->second, false, 0, false, {}});
        unconfirmed.erase(it);
      }
    }
  }

  void Publish(const std::string& channel) {
    const bool history = channel.rfind("ph::", 0) == 0;
    std::string payload;
    if (history && redis_up) {
      // The publish script: offset, stream (trimmed), envelope; even when
      // nobody listens.
      Hist& hs = hist[channel];
      if (hs.epoch.empty()) {
        // Ordered like real epochs (vent/redis/history.h).
        hs.epoch = absl::StrFormat("E%06d", ++next_epoch);
        hs.n = 0;
        hs.stream.clear();
      }
      ++next_k;
      std::string ev = absl::StrCat(R"({"k":)", next_k, "}");
      hs.stream.emplace_back(++hs.n, ev);
      while (static_cast<int64_t>(hs.stream.size()) > kHistorySize) {
        hs.stream.pop_front();
      }
      payload = redis::MakeEnvelope(hs.epoch, hs.n, ev);
    }
    if (!redis_up || !routed.contains(channel)) {
      // Nobody may be ready on a channel Redis does not deliver.
      for (auto& c : conns) {
        if (!c || c->closed) continue;
        for (auto& [id, s] : c->subs) {
          if (s.active && s.ready && s.channels.contains(channel) && redis_up) {
            Fail(absl::StrCat("c", c->serial, "/", id, " is ready on ", channel,
                              " which Redis does not deliver"));
          }
        }
      }
      return;
    }
    WorkerEvent ev{WorkerEvent::kMessage,       channel, 0, true,
                   history ? next_k : ++next_k, false,   {}};
    ev.payload = history ? payload : absl::StrCat(R"({"k":)", ev.k, "}");
    for (auto& c : conns) {
      if (!c || c->closed) continue;
      for (auto& [id, s] : c->subs) {
        if (s.active && s.ready && s.channels.contains(channel)) {
          ev.expected.push_back({c->serial, id, s.epoch});
        }
      }
    }
    Trace(absl::StrCat("publish k", ev.k, " on ", channel));
    to_worker.push_back(std::move(ev));
  }

  void WorkerStep() {
    if (to_worker.empty()) return;
    WorkerEvent ev = std::move(to_worker.front());
    to_worker.pop_front();
    switch (ev.kind) {
      case WorkerEvent::kAck:
        Trace(absl::StrCat("ack ", ev.channel, " g", ev.generation));
        registry.OnAck(ev.channel, ev.generation,
                       ev.ok ? absl::OkStatus() : absl::CancelledError(""));
        break;
      case WorkerEvent::kState:
        Trace(ev.up ? "state up" : "state down");
        if (!ev.up) {
          for (auto& c : conns) {
            if (!c || c->closed) continue;
            for (auto& [id, s] : c->subs) {
              if (s.active && s.ready) s.needs_gap = true;
            }
          }
        }
        registry.SetRedisUp(ev.up);
        break;
      case WorkerEvent::kMessage: {
        Trace(absl::StrCat("deliver k", ev.k));
        delivered.clear();
        std::vector<Transformed> cache;
        registry.Deliver(ev.channel, ev.payload, cache);
        std::map<std::pair<uint64_t, std::string>, int> got;
        for (const auto& [serial, id, k] : delivered) {
          if (k != ev.k) Fail("wrong payload");
          if (++got[{serial, id}] > 1) Fail("event delivered twice to " + id);
        }
        for (const Expected& e : ev.expected) {
          Conn* c = nullptr;
          for (auto& cc : conns) {
            if (cc && cc->serial == e.serial) c = cc.get();
          }
          if (c == nullptr || c->closed) continue;
          if (c->subs[e.id].epoch != e.epoch) continue;  // disturbed
          if (!got.contains({e.serial, e.id})) {
            Fail(absl::StrCat("event k", ev.k, " lost for c", e.serial, "/",
                              e.id));
          }
        }
        break;
      }
    }
  }

  void RunDeferred(uint32_t arg) {
    if (deferred.empty()) return;
    size_t i = arg % deferred.size();
    Deferred d = std::move(deferred[i]);
    deferred.erase(deferred.begin() + static_cast<long>(i));
    Conn* c = nullptr;
    for (auto& cc : conns) {
      if (cc && cc->serial == d.serial && !cc->closed) c = cc.get();
    }
    if (c == nullptr) return;  // the connection is gone: dropped
    Trace(absl::StrCat("run deferred for q", d.query, " lq", d.login_query));
    std::string id = d.query >= 0 ? queries[d.query].id : "";
    bool fresh =
        d.query >= 0 && c->subs[id].active && c->subs[id].query == d.query;
    int answer = d.query >= 0 ? answers[d.query] : -1;
    bool login_waiting = d.login_query >= 0 && c->pending_login &&
                         c->pending_login->query == d.login_query;
    run_messages.clear();
    std::move(d.fn)(*c->host);
    if (d.login_query >= 0) {
      if (!login_waiting) {
        ++cov.stale_answers;
        if (!run_messages.empty()) {
          Fail(absl::StrCat("a stale login answer sent ", run_messages[0]));
        }
      } else if (c->pending_login && c->pending_login->query == d.login_query) {
        Fail("the login answer did not answer the login");
      }
      return;
    }
    if (d.query < 0) return;
    std::string ready_prefix = absl::StrCat(R"({"msg":"ready","subs":[")", id);
    std::string nosub_prefix = absl::StrCat(R"({"msg":"nosub","id":")", id);
    int readies = 0, nosubs = 0;
    for (const std::string& m : run_messages) {
      if (m.rfind(ready_prefix, 0) == 0) ++readies;
      if (m.rfind(nosub_prefix, 0) == 0) ++nosubs;
    }
    if (!fresh) {
      ++cov.stale_answers;
      if (readies + nosubs > 0) Fail("a stale authorizer answer changed " + id);
    } else if (answer == 0 && nosubs > 0) {
      Fail("allowed, yet nosub for " + id);
    } else if (answer != 0 && (readies > 0 || nosubs != 1)) {
      Fail("denied/error answer did not end " + id + " with one nosub");
    }
  }

  void Check() {
    if (!failure.empty()) return;
    int64_t model_ready = 0;
    std::map<std::string, int> union_channels;
    size_t registered = 0;
    for (auto& c : conns) {
      if (!c || c->closed) continue;
      const ddp::Session& session = c->host->session();
      if (c->host->subscription_count() != session.subscription_count()) {
        Fail("host and session disagree on the number of subs");
      }
      if (session.subscription_count() > static_cast<size_t>(kMaxSubs)) {
        Fail("more subs than --max-subscriptions");
      }
      for (const char* id : kIds) {
        const SubModel& s = c->subs[id];
        if (session.is_active(id) != s.active) {
          Fail(absl::StrCat("c", c->serial, "/", id, ": session active=",
                            session.is_active(id), " but the client was told ",
                            s.active ? "active" : "inactive"));
        }
        if (s.active && s.ready) ++model_ready;
        if (s.active && s.ready && IsCollection(s.pub) && !s.doc) {
          Fail(absl::StrCat("c", c->serial, "/", id,
                            ": ready collection sub without its document"));
        }
        if (!s.active && s.doc) {
          Fail(absl::StrCat("c", c->serial, "/", id,
                            ": ended sub whose document was not removed"));
        }
        const Subscription* sub = c->host->subscription(id);
        if (sub != nullptr && sub->registered) {
          ++registered;
          for (const std::string& ch : sub->channels) ++union_channels[ch];
          if (sub->ready != (s.active && s.ready)) {
            Fail(absl::StrCat("c", c->serial, "/", id,
                              ": bridge ready=", sub->ready,
                              " but the client's last word differs"));
          }
        }
      }
    }
    if (ctx.metrics->subscriptions->value() != model_ready) {
      Fail(absl::StrCat(
          "vent_bridge_subscriptions=", ctx.metrics->subscriptions->value(),
          ", model ", model_ready));
    }
    if (registry.subscription_count() != registered) {
      Fail("registry holds subscriptions no connection knows");
    }
    if (registry.channel_count() != requested.size() ||
        union_channels.size() != requested.size()) {
      Fail(absl::StrCat("channels: registry ", registry.channel_count(),
                        ", asked of Redis ", requested.size(),
                        ", of registered subs ", union_channels.size()));
    }
    for (auto& [ch, n] : union_channels) {
      if (!requested.contains(ch)) Fail("Redis was not asked for " + ch);
    }
  }

  void Finish() {
    // Liveness: with Redis up and every question answered "allow", every
    // active subscription becomes ready.
    if (!redis_up) Step(kRedisToggleChoice(), 0);
    // Until quiet: an answer may start more work (a login's queue may hold
    // subs that ask the authorizer, which then subscribe...).
    for (int round = 0; round < 50; ++round) {
      while (!to_hub.empty()) HubStep();
      while (!to_worker.empty()) WorkerStep();
      for (size_t i = 0; i < login_queries.size(); ++i) {
        if (login_queries[i].answered) continue;
        login_queries[i].answered = true;
        login_queries[i].expect_error = true;
        answering_login = static_cast<int>(i);
        std::move(login_queries[i].done)(
            LoginOutcome{absl::UnavailableError("end"),
                         ddp::Error{403, kLoggedOutReason, std::nullopt}});
        answering_login = -1;
      }
      for (size_t i = 0; i < queries.size(); ++i) {
        if (queries[i].answered) continue;
        queries[i].answered = true;
        answers[static_cast<int>(i)] = 0;
        answering = static_cast<int>(i);
        std::move(queries[i].done)(auth::Decision{true, ""});
        answering = -1;
      }
      while (!reads.empty()) {
        PendingRead r = std::move(reads.front());
        reads.erase(reads.begin());
        std::move(r.done)(Snapshot(r.channel, r.after, r.max));
      }
      while (!deferred.empty()) RunDeferred(0);
      bool open_questions = !reads.empty();
      for (const Query& q : queries) open_questions |= !q.answered;
      for (const LoginQuery& q : login_queries) open_questions |= !q.answered;
      if (to_hub.empty() && to_worker.empty() && !open_questions) break;
    }
    Check();
    for (auto& c : conns) {
      if (!c || c->closed) continue;
      for (auto& [id, s] : c->subs) {
        if (s.active && !s.ready) {
          Fail(absl::StrCat("c", c->serial, "/", id,
                            " never became ready with Redis up and allowed"));
        }
      }
    }
    for (auto& c : conns) {
      if (c && !c->closed) CloseConn(*c);
    }
    while (!to_hub.empty()) HubStep();
    while (!to_worker.empty()) WorkerStep();
    while (!deferred.empty()) RunDeferred(0);
    Check();
    if (registry.subscription_count() != 0 || registry.channel_count() != 0 ||
        !requested.empty() || !routed.empty()) {
      Fail("something left after every connection closed");
    }
    if (ctx.metrics->subscriptions->value() != 0) {
      Fail("vent_bridge_subscriptions is not 0 at the end");
    }
  }

  metrics::Registry metrics_registry;
  BridgeContext ctx;
  ChannelRegistry registry{this};
  std::vector<std::unique_ptr<Conn>> conns;
  uint64_t next_serial = 0;
  absl::Time now = kT0;
  // Redis + hub.
  std::map<std::string, uint64_t> requested;  // as the registry asked
  std::deque<HubOp> to_hub;
  std::set<std::string> routed;
  std::map<std::string, uint64_t> unconfirmed;  // routed while Redis down
  std::deque<WorkerEvent> to_worker;
  bool redis_up = true;
  int64_t next_k = 0;
  // Authorizer and deferred callbacks.
  std::vector<Query> queries;
  std::map<int, int> answers;  // query -> 0 allow, 1 deny, 2 error
  std::vector<Deferred> deferred;
  int answering = -1;
  std::vector<LoginQuery> login_queries;
  int answering_login = -1;
  // Per step.
  std::vector<std::tuple<uint64_t, std::string, int64_t>> delivered;
  std::vector<std::string> run_messages;
  std::deque<std::string> trace;
  std::string failure;
  Coverage cov;
  // History.
  HistoryReaderImpl history_reader;
  std::map<std::string, Hist> hist;
  std::vector<PendingRead> reads;
  int64_t next_epoch = 0;
  // Client side: positions per (conn, sub id) from events and `ready`, and
  // the last ones per sub id (a later life of the id resubscribes from
  // them, on any connection).
  std::map<std::pair<uint64_t, std::string>,
           std::vector<std::optional<SubModel::Pos>>>
      positions;
  std::map<std::string, std::vector<std::optional<SubModel::Pos>>> saved;
  std::set<std::pair<uint64_t, std::string>> pending_ready;
};

ModelHarness::ModelHarness() : impl_(std::make_unique<Impl>()) {}
ModelHarness::~ModelHarness() = default;
void ModelHarness::Step(uint32_t choice, uint32_t arg) {
  impl_->Step(choice, arg);
}
void ModelHarness::Finish() { impl_->Finish(); }
bool ModelHarness::failed() const { return !impl_->failure.empty(); }
std::string ModelHarness::report() const { return impl_->failure; }
const ModelHarness::Coverage& ModelHarness::coverage() const {
  return impl_->cov;
}

}  // namespace vent::bridge::testing
