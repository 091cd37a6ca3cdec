#include "vent/auth/authorizer_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "vent/auth/decision_cache.h"
#include "vent/base/log.h"
#include "vent/v1/authorizer.grpc.pb.h"

namespace vent::auth {
namespace {

constexpr char kUnavailable[] = "Authorizer unavailable";
constexpr char kInvalidAnswer[] = "Authorizer gave an invalid answer";
constexpr char kDefaultDenyReason[] = "Access denied";
constexpr size_t kMaxReasonBytes = 1024;
// Reconnect quickly once the backend is back (gRPC's default backoff grows to
// 120 s, during which every call would fail fast).
constexpr int kInitialBackoffMs = 250;
constexpr int kMaxBackoffMs = 5000;
constexpr absl::Duration kLogEvery = absl::Seconds(5);

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Truncate(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

}  // namespace

struct AuthorizerClient::State {
  // Counts Call objects alive. A Call's ClientContext holds a reference to
  // the channel; if the last one were dropped on a gRPC callback thread, the
  // channel (and gRPC's callback CQ) would shut down from its own thread and
  // abort (grpc/grpc#32584). So the destructor waits until every Call is
  // gone and the channel dies on the destroying thread. Shared so that the
  // last decrement never touches a destroyed mutex.
  struct Tracker {
    absl::Mutex mu;
    int alive ABSL_GUARDED_BY(mu) = 0;
  };
  struct CallToken {
    explicit CallToken(std::shared_ptr<Tracker> t) : tracker(std::move(t)) {
      absl::MutexLock lock(&tracker->mu);
      ++tracker->alive;
    }
    ~CallToken() {
      absl::MutexLock lock(&tracker->mu);
      --tracker->alive;
    }
    std::shared_ptr<Tracker> tracker;
  };
  // One RPC in flight; the base is what the destructor cancels.
  struct CallBase {
    explicit CallBase(std::shared_ptr<Tracker> t) : token(std::move(t)) {}
    virtual ~CallBase() = default;
    CallToken token;  // first member: destroyed after the ClientContext
    grpc::ClientContext ctx;
    std::string cache_key;
  };
  struct Call : CallBase {
    using CallBase::CallBase;
    v1::AuthorizeRequest request;
    v1::AuthorizeResponse response;
    Done done;
  };
  struct AuthCall : CallBase {
    using CallBase::CallBase;
    v1::AuthenticateRequest request;
    v1::AuthenticateResponse response;
    IdentityDone done;
  };

  explicit State(AuthorizerOptions o)
      : options(std::move(o)),
        cache(options.cache_max),
        identities(options.cache_max) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialBackoffMs);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kInitialBackoffMs);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxBackoffMs);
    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (options.tls) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = options.tls_roots_pem;
      creds = grpc::SslCredentials(ssl);
    } else {
      creds = grpc::InsecureChannelCredentials();
    }
    channel = grpc::CreateCustomChannel(options.address, creds, args);
    stub = v1::Authorizer::NewStub(channel);
  }

  absl::Time Now() const {
    return options.clock ? options.clock() : absl::Now();
  }

  void Finish(const std::shared_ptr<Call>& call, const grpc::Status& status);
  void FinishAuth(const std::shared_ptr<AuthCall>& call,
                  const grpc::Status& status);
  void LogFailure(const std::string& what, const grpc::Status& status);
  // Registers `call` for cancellation; false when shutting down.
  bool Track(std::shared_ptr<CallBase> call);
  void Untrack(CallBase* call);
  // Deadline and API key.
  void Prepare(grpc::ClientContext& ctx) const;
  // The cache TTL for an answer's cache_seconds.
  absl::Duration Ttl(int32_t secs) const {
    return secs > 0    ? absl::Seconds(secs)
           : secs == 0 ? options.cache_ttl
                       : absl::ZeroDuration();
  }

  const AuthorizerOptions options;
  DecisionCache cache;
  IdentityCache identities;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Authorizer::Stub> stub;

  const std::shared_ptr<Tracker> tracker = std::make_shared<Tracker>();
  absl::Mutex mu;
  bool shutting_down ABSL_GUARDED_BY(mu) = false;
  absl::flat_hash_map<CallBase*, std::shared_ptr<CallBase>> in_flight
      ABSL_GUARDED_BY(mu);

  std::atomic<int64_t> last_log_ns{0};
  std::atomic<int64_t> suppressed_logs{0};
};

void AuthorizerClient::State::LogFailure(const std::string& what,
                                         const grpc::Status& status) {
  int64_t now = absl::ToUnixNanos(absl::Now());
  int64_t last = last_log_ns.load(std::memory_order_relaxed);
  if (now - last < absl::ToInt64Nanoseconds(kLogEvery) ||
      !last_log_ns.compare_exchange_strong(last, now)) {
    suppressed_logs.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  VENT_LOG_WARN("authorizer call failed", "address", options.address, "call",
                what, "grpc_code", static_cast<int>(status.error_code()),
                "detail", status.error_message(), "suppressed",
                suppressed_logs.exchange(0, std::memory_order_relaxed));
}

void AuthorizerClient::State::Finish(const std::shared_ptr<Call>& call,
                                     const grpc::Status& status) {
  absl::StatusOr<Decision> result;
  if (!status.ok()) {
    LogFailure(absl::StrCat("Authorize ", call->request.publication()), status);
    result = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                 ? absl::DeadlineExceededError(kUnavailable)
                 : absl::UnavailableError(kUnavailable);
  } else {
    Decision d;
    d.allow = call->response.allow();
    if (!d.allow) {
      d.reason = call->response.reason().empty()
                     ? std::string(kDefaultDenyReason)
                     : Truncate(call->response.reason(), kMaxReasonBytes);
    }
    absl::Duration ttl = Ttl(call->response.cache_seconds());
    if (ttl > absl::ZeroDuration()) {
      absl::Time now = Now();
      cache.Insert(std::move(call->cache_key), d, now + ttl, now);
    }
    result = std::move(d);
  }
  std::move(call->done)(std::move(result));
  Untrack(call.get());
}

void AuthorizerClient::State::FinishAuth(const std::shared_ptr<AuthCall>& call,
                                         const grpc::Status& status) {
  absl::StatusOr<Identity> result;
  const v1::AuthenticateResponse& r = call->response;
  if (!status.ok()) {
    LogFailure("Authenticate", status);
    result = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                 ? absl::DeadlineExceededError(kUnavailable)
                 : absl::UnavailableError(kUnavailable);
  } else if (!r.user_id().empty() && r.expires_at_ms() <= 0) {
    LogFailure("Authenticate",
               grpc::Status(grpc::StatusCode::INTERNAL,
                            "answer names a user without expires_at_ms"));
    result = absl::InternalError(kInvalidAnswer);
  } else {
    Identity id;
    id.user_id = r.user_id();
    if (!id.user_id.empty()) {
      id.expires_at = absl::FromUnixMillis(r.expires_at_ms());
    } else if (r.refusal() == v1::AuthenticateResponse::EXPIRED) {
      id.refusal = Identity::Refusal::kExpired;
    } else if (r.refusal() == v1::AuthenticateResponse::FORBIDDEN) {
      id.refusal = Identity::Refusal::kForbidden;
    }
    absl::Duration ttl = Ttl(r.cache_seconds());
    if (ttl > absl::ZeroDuration()) {
      absl::Time now = Now();
      absl::Time until = now + ttl;
      if (!id.user_id.empty()) until = std::min(until, id.expires_at);
      identities.Insert(std::move(call->cache_key), id, until, now);
    }
    result = std::move(id);
  }
  std::move(call->done)(std::move(result));
  Untrack(call.get());
}

bool AuthorizerClient::State::Track(std::shared_ptr<CallBase> call) {
  absl::MutexLock lock(&mu);
  if (shutting_down) return false;
  CallBase* raw = call.get();
  in_flight.emplace(raw, std::move(call));
  return true;
}

void AuthorizerClient::State::Untrack(CallBase* call) {
  absl::MutexLock lock(&mu);
  in_flight.erase(call);
}

void AuthorizerClient::State::Prepare(grpc::ClientContext& ctx) const {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
  if (!options.api_key.empty()) {
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options.api_key));
  }
}

AuthorizerClient::AuthorizerClient(AuthorizerOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}

AuthorizerClient::~AuthorizerClient() {
  std::vector<std::shared_ptr<State::CallBase>> calls;
  {
    absl::MutexLock lock(&state_->mu);
    state_->shutting_down = true;
    for (auto& [ptr, call] : state_->in_flight) calls.push_back(call);
  }
  // Outside the lock: a cancelled call's callback takes the lock.
  for (auto& call : calls) call->ctx.TryCancel();
  calls.clear();
  // Wait until every Call (and its ClientContext's channel reference) is
  // gone, so the channel is destroyed on this thread (see Tracker).
  std::shared_ptr<State::Tracker> tracker = state_->tracker;
  absl::MutexLock lock(&tracker->mu);
  tracker->mu.Await(absl::Condition(
      +[](State::Tracker* t)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return t->alive == 0; },
      tracker.get()));
}

size_t AuthorizerClient::cache_size() const { return state_->cache.size(); }

size_t AuthorizerClient::identity_cache_size() const {
  return state_->identities.size();
}

void AuthorizerClient::Authorize(AuthorizeQuery query, Done done) {
  std::string key =
      DecisionCache::Key(query.user_id, query.publication, query.params_json);
  if (std::optional<Decision> hit = state_->cache.Lookup(key, state_->Now())) {
    hit->from_cache = true;
    std::move(done)(*std::move(hit));
    return;
  }
  auto call = std::make_shared<State::Call>(state_->tracker);
  call->cache_key = std::move(key);
  call->done = std::move(done);
  v1::AuthorizeRequest& req = call->request;
  req.set_user_id(std::move(query.user_id));
  req.set_publication(std::move(query.publication));
  req.set_params_json(std::move(query.params_json));
  for (std::string& c : query.channels) req.add_channels(std::move(c));
  for (auto& [k, v] : query.connection) (*req.mutable_connection())[k] = v;
  state_->Prepare(call->ctx);
  if (!state_->Track(call)) {
    // Unreachable with a correct owner (no calls during destruction).
    std::move(call->done)(absl::UnavailableError(kUnavailable));
    return;
  }
  State* s = state_.get();
  s->stub->async()->Authorize(
      &call->ctx, &call->request, &call->response,
      [s, call](grpc::Status status) { s->Finish(call, status); });
}

void AuthorizerClient::Authenticate(AuthenticateQuery query,
                                    IdentityDone done) {
  std::string key = IdentityCache::Key(query.token);
  if (std::optional<Identity> hit =
          state_->identities.Lookup(key, state_->Now())) {
    hit->from_cache = true;
    std::move(done)(*std::move(hit));
    return;
  }
  auto call = std::make_shared<State::AuthCall>(state_->tracker);
  call->cache_key = std::move(key);
  call->done = std::move(done);
  call->request.set_token(std::move(query.token));
  for (auto& [k, v] : query.connection) {
    (*call->request.mutable_connection())[k] = v;
  }
  state_->Prepare(call->ctx);
  if (!state_->Track(call)) {
    std::move(call->done)(absl::UnavailableError(kUnavailable));
    return;
  }
  State* s = state_.get();
  s->stub->async()->Authenticate(
      &call->ctx, &call->request, &call->response,
      [s, call](grpc::Status status) { s->FinishAuth(call, status); });
}

}  // namespace vent::auth
