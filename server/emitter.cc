#include "server/emitter.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/request_codec.h"
#include "vent/base/check.h"
#include "vent/base/log.h"
#include "vent/base/status_macros.h"
#include "vent/event/event_id.h"

namespace vent::server {
namespace {

// Appended to "may have been published" messages.
constexpr absl::string_view kRetryKeyed =
    " (a retry with the same idempotency_key is answered as a duplicate, not "
    "published again)";
constexpr absl::string_view kRetryUnkeyed =
    " (a retry may publish it twice; set idempotency_key to retry safely)";

}  // namespace

Emitter::Emitter(EmitterOptions options, EventSink* sink, const ApiKeys* keys,
                 ServerMetrics* metrics, IdempotencyCache::Clock clock)
    : options_(std::move(options)),
      sink_(sink),
      keys_(keys),
      metrics_(metrics),
      idempotency_(options_.idempotency_window, options_.idempotency_max_keys,
                   std::move(clock)) {}

absl::StatusOr<const Principal*> Emitter::Authenticate(
    const grpc::CallbackServerContext* ctx) const {
  if (!keys_->enabled()) return nullptr;
  std::vector<absl::string_view> values;
  const auto& md = ctx->client_metadata();
  auto range = md.equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return AuthenticateValues(values);
}

absl::StatusOr<const Principal*> Emitter::AuthenticateValues(
    const std::vector<absl::string_view>& values) const {
  if (!keys_->enabled()) return nullptr;
  if (values.size() > 1) {
    metrics_->CountAuthRefusal(AuthRefusal::kUnknown);
    return absl::UnauthenticatedError(
        "more than one authorization header; send exactly one "
        "\"authorization: Bearer <key>\"");
  }
  std::optional<absl::string_view> header;
  if (!values.empty()) header = values[0];
  ApiKeys::Refusal why = ApiKeys::Refusal::kUnknown;
  auto who = keys_->Authenticate(header, &why);
  if (!who.ok()) {
    metrics_->CountAuthRefusal(why == ApiKeys::Refusal::kMissing
                                   ? AuthRefusal::kMissing
                                   : AuthRefusal::kUnknown);
  }
  return who;
}

absl::Status Emitter::ParseRequest(Rpc rpc, const grpc::ByteBuffer& request,
                                   google::protobuf::Message* msg,
                                   const grpc::CallbackServerContext* ctx,
                                   int64_t index_base) const {
  ParseOptions po;
  po.max_json_depth = options_.limits.max_depth;
  po.index_base = index_base;
  absl::Status s = vent::server::ParseRequest(request, msg, po);
  if (!s.ok()) ReportMalformed(rpc, s, ctx->peer());
  return s;
}

void Emitter::ReportMalformed(Rpc rpc, const absl::Status& s,
                              absl::string_view peer) const {
  metrics_->CountMalformed(rpc);
  int64_t skipped = 0;
  if (malformed_log_.Allow(&skipped)) {
    VENT_LOG_WARN("malformed request refused", "rpc", RpcName(rpc), "peer",
                  peer, "error", s.message(), "skipped_since_last", skipped);
  }
}

absl::Status Emitter::CheckScope(const Principal* who,
                                 absl::string_view channel,
                                 absl::string_view where) const {
  absl::Status s = ApiKeys::CheckScope(who, channel, where);
  if (!s.ok()) metrics_->CountAuthRefusal(AuthRefusal::kScope);
  return s;
}

absl::StatusOr<Emitter::Prepared> Emitter::Prepare(
    v1::Event&& ev, const Principal* who, absl::string_view where) const {
  VENT_RETURN_IF_ERROR(event::ValidateIdempotencyKey(ev.idempotency_key(),
                                                     options_.limits, where));
  VENT_ASSIGN_OR_RETURN(auto msg,
                        event::Encode(std::move(*ev.mutable_channel()),
                                      std::move(*ev.mutable_json()),
                                      ev.has_data() ? &ev.data() : nullptr,
                                      options_.limits, where));
  VENT_RETURN_IF_ERROR(CheckScope(who, msg.channel, where));
  return Prepared{std::move(msg), event::NewEventId(),
                  std::move(*ev.mutable_idempotency_key()), who};
}

absl::StatusOr<Emitter::Prepared> Emitter::PrepareAt(v1::Event&& ev,
                                                     const Principal* who,
                                                     absl::string_view list,
                                                     int64_t index,
                                                     bool assign_id) const {
  // Validated with an empty prefix; every message starts with it, so the
  // "<list>[<index>]" is prepended only on failure.
  auto prefixed = [&](const absl::Status& s) {
    return absl::Status(s.code(),
                        absl::StrCat(list, "[", index, "]", s.message()));
  };
  if (absl::Status s = event::ValidateIdempotencyKey(ev.idempotency_key(),
                                                     options_.limits, "");
      !s.ok()) {
    return prefixed(s);
  }
  auto msg = event::Encode(
      std::move(*ev.mutable_channel()), std::move(*ev.mutable_json()),
      ev.has_data() ? &ev.data() : nullptr, options_.limits, "");
  if (!msg.ok()) return prefixed(msg.status());
  if (who != nullptr) {
    if (absl::Status s = CheckScope(who, msg->channel, ""); !s.ok())
      return prefixed(s);
  }
  Prepared p{std::move(*msg), std::string(),
             std::move(*ev.mutable_idempotency_key()), who};
  if (assign_id || !p.idempotency_key.empty()) p.id = event::NewEventId();
  return p;
}

absl::Status Emitter::Reserve(int64_t n) {
  int64_t cur = inflight_.load(std::memory_order_relaxed);
  do {
    if (cur + n > options_.max_inflight) {
      return absl::ResourceExhaustedError(
          absl::StrCat("too many publishes in flight (", cur, " + ", n,
                       " over the limit of ", options_.max_inflight,
                       ", --max-inflight); back off and retry"));
    }
  } while (!inflight_.compare_exchange_weak(cur, cur + n,
                                            std::memory_order_relaxed));
  metrics_->inflight->Add(n);
  return absl::OkStatus();
}

void Emitter::Unreserve(int64_t n) { Finished(n); }

void Emitter::Finished(int64_t n) {
  const int64_t before = inflight_.fetch_sub(n, std::memory_order_relaxed);
  // Every slot given back was reserved (Reserve), and only once.
  VENT_DCHECK(n >= 0 && before >= n);
  metrics_->inflight->Add(-n);
}

void Emitter::Publish(Prepared p, Done done) {
  const bool keyed = !p.idempotency_key.empty();
  const std::string scope = p.who != nullptr ? p.who->scope : std::string();
  if (keyed) {
    auto claim = idempotency_.ClaimKey(
        {scope, p.message.channel, p.idempotency_key}, p.id);
    if (claim.duplicate) {
      Finished(1);
      metrics_->duplicates->Add();
      std::move(done)(Outcome{absl::OkStatus(), claim.receivers,
                              std::move(claim.id), true});
      return;
    }
  }
  if (!sink_->connected()) {
    if (keyed)
      idempotency_.Release({scope, p.message.channel, p.idempotency_key}, p.id);
    Finished(1);
    std::move(done)(
        Outcome{absl::UnavailableError(
                    "redis is not connected; nothing was published, retry"),
                0, std::move(p.id), false});
    return;
  }
  absl::Time start = absl::Now();
  // The channel is needed after the publish only for the idempotency record.
  std::string channel_copy = keyed ? p.message.channel : std::string();
  sink_->Publish(std::move(p.message.channel), std::move(p.message.message),
                 [this, start, keyed, scope = std::move(scope),
                  channel = std::move(channel_copy),
                  key = std::move(p.idempotency_key), id = std::move(p.id),
                  done = std::move(done)](absl::StatusOr<int64_t> r) mutable {
                   Finished(1);
                   Outcome o;
                   if (r.ok()) {
                     metrics_->events->Add();
                     metrics_->publish_latency->Observe(
                         absl::ToDoubleSeconds(absl::Now() - start));
                     if (keyed)
                       idempotency_.Complete({scope, channel, key}, id, *r);
                     o.receivers = *r;
                   } else {
                     if (!MayHavePublished(r.status())) {
                       if (keyed)
                         idempotency_.Release({scope, channel, key}, id);
                       o.status = r.status();
                     } else {
                       metrics_->maybe_published->Add();
                       o.status = absl::Status(
                           r.status().code(),
                           absl::StrCat(r.status().message(),
                                        keyed ? kRetryKeyed : kRetryUnkeyed));
                     }
                   }
                   o.id = std::move(id);
                   std::move(done)(std::move(o));
                 });
}

void Emitter::PublishBatch(std::vector<Prepared> ps, BatchDone done) {
  const size_t n = ps.size();
  bool keyed = false;
  for (const auto& p : ps) keyed |= !p.idempotency_key.empty();
  if (keyed || n == 0) {
    // Event by event (idempotency claims are per event); order is kept
    // because Publish hands each to the sink before returning.
    struct State {
      std::vector<Outcome> outcomes;
      std::atomic<size_t> remaining;
      BatchDone done;
    };
    if (n == 0) {
      std::move(done)({});
      return;
    }
    auto state = std::make_shared<State>();
    state->outcomes.resize(n);
    state->remaining.store(n);
    state->done = std::move(done);
    for (size_t i = 0; i < n; ++i) {
      Publish(std::move(ps[i]), [state, i](Outcome o) {
        state->outcomes[i] = std::move(o);
        if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::move(state->done)(std::move(state->outcomes));
        }
      });
    }
    return;
  }
  std::vector<std::string> ids;
  ids.reserve(n);
  std::vector<EventSink::Message> messages;
  messages.reserve(n);
  for (auto& p : ps) {
    ids.push_back(std::move(p.id));
    messages.push_back(
        {std::move(p.message.channel), std::move(p.message.message)});
  }
  if (!sink_->connected()) {
    Finished(static_cast<int64_t>(n));
    std::vector<Outcome> out(n);
    for (size_t i = 0; i < n; ++i) {
      out[i].status = absl::UnavailableError(
          "redis is not connected; nothing was published, retry");
      out[i].id = std::move(ids[i]);
    }
    std::move(done)(std::move(out));
    return;
  }
  absl::Time start = absl::Now();
  sink_->PublishBatch(
      std::move(messages),
      [this, start, ids = std::move(ids), done = std::move(done)](
          std::vector<absl::StatusOr<int64_t>> results) mutable {
        const size_t m = results.size();
        Finished(static_cast<int64_t>(m));
        std::vector<Outcome> out(m);
        uint64_t ok = 0;
        uint64_t maybe = 0;
        for (size_t i = 0; i < m; ++i) {
          if (results[i].ok()) {
            ++ok;
            out[i].receivers = *results[i];
          } else if (MayHavePublished(results[i].status())) {
            ++maybe;
            out[i].status = absl::Status(
                results[i].status().code(),
                absl::StrCat(results[i].status().message(), kRetryUnkeyed));
          } else {
            out[i].status = results[i].status();
          }
          if (i < ids.size()) out[i].id = std::move(ids[i]);
        }
        if (maybe > 0) metrics_->maybe_published->Add(maybe);
        if (ok > 0) {
          metrics_->events->Add(ok);
          // One observation per batch: the batch's publish latency.
          metrics_->publish_latency->Observe(
              absl::ToDoubleSeconds(absl::Now() - start));
        }
        std::move(done)(std::move(out));
      });
}

absl::Status BatchStatus(const std::vector<Emitter::Outcome>& outcomes) {
  const size_t n = outcomes.size();
  size_t published = 0;
  size_t maybe = 0;
  int64_t error_index = -1;
  for (size_t i = 0; i < n; ++i) {
    const Emitter::Outcome& o = outcomes[i];
    if (o.status.ok()) {
      if (!o.duplicate) ++published;
      continue;
    }
    if (MayHavePublished(o.status)) ++maybe;
    if (error_index < 0) error_index = static_cast<int64_t>(i);
  }
  if (error_index < 0) return absl::OkStatus();
  const absl::Status& e = outcomes[static_cast<size_t>(error_index)].status;
  return absl::Status(
      maybe > 0 ? absl::StatusCode::kDeadlineExceeded : e.code(),
      absl::StrCat(
          "events[", error_index, "]: ", e.message(), " (", published, " of ",
          n, " events were published",
          maybe > 0 ? absl::StrCat("; ", maybe, " more may have been published")
                    : std::string(),
          ")"));
}

bool MayHavePublished(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
      return false;
    default:
      return true;
  }
}

void FillResponse(const Emitter::Outcome& o, v1::EmitResponse* resp) {
  resp->set_receivers(o.receivers);
  resp->set_id(o.id);
  resp->set_duplicate(o.duplicate);
}

}  // namespace vent::server
