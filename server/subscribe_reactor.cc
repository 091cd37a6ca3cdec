#include "server/subscribe_reactor.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/status.h"
#include "vent/base/status_macros.h"

namespace vent::server {
namespace {
constexpr size_t kMaxEpochBytes = 64;
}  // namespace

SubscribeReactor::SubscribeReactor(Emitter* emitter, SubscriptionHub* hub,
                                   SubscribeBudget* budget, Limits limits)
    : emitter_(emitter),
      hub_(hub),
      budget_(budget),
      limits_(limits),
      queue_(limits.queue, budget) {}

SubscribeReactor* SubscribeReactor::Start(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request,
                                          Emitter* emitter,
                                          SubscriptionHub* hub,
                                          SubscribeBudget* budget,
                                          Limits limits) {
  auto* r = new SubscribeReactor(emitter, hub, budget, limits);
  auto channels = r->Validate(ctx, *request);
  absl::Status s = channels.status();
  if (s.ok()) {
    s = budget->AddCall();
    r->counted_ = s.ok();
  }
  if (!s.ok()) {
    {
      absl::MutexLock lock(&r->mu_);
      r->finished_ = true;
    }
    r->FinishNow(s);
    return r;
  }
  r->registered_ = true;
  emitter->metrics().subscribe_active->Add(1);
  hub->Add(r, *std::move(channels));
  return r;
}

absl::StatusOr<std::vector<std::string>> SubscribeReactor::Validate(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& request) {
  VENT_ASSIGN_OR_RETURN(const Principal* who, emitter_->Authenticate(ctx));
  v1::SubscribeRequest req;
  VENT_RETURN_IF_ERROR(
      emitter_->ParseRequest(Rpc::kSubscribe, request, &req, ctx));
  const size_t n = static_cast<size_t>(req.channels_size());
  if (n == 0)
    return absl::InvalidArgumentError(
        "channels: at least one channel is required");
  if (n > limits_.max_channels) {
    return absl::InvalidArgumentError(
        absl::StrCat("channels: ", n, " channels is over the ",
                     limits_.max_channels, "-channel limit"));
  }
  for (size_t i = 0; i < n; ++i) {
    std::string where = absl::StrCat("channels[", i, "]");
    const std::string& ch = req.channels(static_cast<int>(i));
    absl::Status s =
        event::ValidateChannel(ch, emitter_->options().limits, where);
    if (!s.ok()) {
      // ValidateChannel names the field "<where>.channel"; here it is
      // "<where>".
      return absl::InvalidArgumentError(absl::StrCat(
          where, s.message().substr(where.size() + sizeof(".channel") - 1)));
    }
    VENT_RETURN_IF_ERROR(emitter_->CheckScope(who, ch, where));
  }
  std::vector<std::string> channels(
      std::make_move_iterator(req.mutable_channels()->begin()),
      std::make_move_iterator(req.mutable_channels()->end()));
  VENT_RETURN_IF_ERROR(PrepareHistory(channels, req));
  return channels;
}

absl::Status SubscribeReactor::PrepareHistory(
    const std::vector<std::string>& channels, const v1::SubscribeRequest& req) {
  // The call's channels, duplicates merged, in request order.
  std::vector<SubscribeHistory::Channel> list;
  absl::flat_hash_map<absl::string_view, size_t> index;
  bool any_history = false;
  for (const std::string& ch : channels) {
    if (!index.try_emplace(ch, list.size()).second) continue;
    SubscribeHistory::Channel c;
    c.name = ch;
    c.size = hub_->HistorySizeOf(ch);
    any_history |= c.size > 0;
    list.push_back(std::move(c));
  }
  for (int i = 0; i < req.since_size(); ++i) {
    const v1::Position& p = req.since(i);
    auto it = index.find(p.channel());
    if (it == index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("since[", i, "].channel: \"", p.channel(),
                       "\" is not one of the call's channels"));
    }
    SubscribeHistory::Channel& c = list[it->second];
    if (c.since) {
      return absl::InvalidArgumentError(
          absl::StrCat("since[", i, "].channel: \"", p.channel(),
                       "\" has more than one position"));
    }
    if (p.offset() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("since[", i, "].offset: ", p.offset(),
                       " is negative (offsets are 1, 2, 3...; 0 with epoch "
                       "\"\" for nothing seen yet)"));
    }
    if (p.epoch().size() > kMaxEpochBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "since[", i, "].epoch: ", p.epoch().size(), " bytes is over the ",
          kMaxEpochBytes, "-byte limit (use the epoch Subscribe delivered)"));
    }
    if (p.epoch().empty() && p.offset() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "since[", i,
          "].epoch: required with an offset (use the epoch Subscribe "
          "delivered with it; offset 0 and epoch \"\" for nothing seen yet)"));
    }
    c.since = SubscribeHistory::Position{p.offset(), p.epoch()};
  }
  if (!any_history && req.since_size() == 0) return absl::OkStatus();
  auto history = std::make_unique<SubscribeHistory>(
      std::move(list), SubscribeHistory::Limits{limits_.queue.max_events,
                                                limits_.queue.max_bytes});
  absl::MutexLock lock(&mu_);
  history_ = std::move(history);
  return absl::OkStatus();
}

void SubscribeReactor::OnReady() {
  std::vector<SubscribeHistory::Read> reads;
  absl::Status end;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (history_ == nullptr) {
      ready_ = true;
      WriteNextLocked();
      return;
    }
    // Every channel is live now: what the reads miss arrives as events.
    reads = history_->Reads();
    if (reads.empty()) {
      end = FinishHistoryLocked();
      if (end.ok() || !BeginFinishLocked()) return;
    }
  }
  if (!end.ok()) {
    FinishNow(end);
    return;
  }
  // Unlocked: an answer may come inline (OnHistory).
  for (const SubscribeHistory::Read& r : reads)
    hub_->ReadHistory(this, r.index, r.channel, r.after, r.max);
}

void SubscribeReactor::OnHistory(size_t index,
                                 absl::StatusOr<redis::HistoryState> state) {
  absl::Status end;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || history_ == nullptr || history_->finished()) return;
    history_->OnRead(index, std::move(state));
    if (!history_->done()) return;
    end = FinishHistoryLocked();
    if (end.ok() || !BeginFinishLocked()) return;
  }
  FinishNow(end);
}

absl::Status SubscribeReactor::FinishHistoryLocked() {
  const absl::Time now = absl::Now();
  VENT_ASSIGN_OR_RETURN(SubscribeHistory::Finished f, history_->Finish(now));
  ServerMetrics& m = emitter_->metrics();
  m.subscribe_recovered->Add(f.recovered);
  m.subscribe_not_recovered->Add(f.not_recovered);
  m.subscribe_replayed->Add(static_cast<int64_t>(f.replay.size()));
  v1::SubscribeResponse ready;
  ready.set_ready(true);
  for (SubscribeHistory::Start& s : f.starts) {
    v1::ChannelStart* out = ready.add_starts();
    out->mutable_position()->set_channel(std::move(s.channel));
    out->mutable_position()->set_offset(s.position.offset);
    out->mutable_position()->set_epoch(std::move(s.position.epoch));
    out->set_recovered(s.recovered);
    out->set_reason(std::move(s.reason));
  }
  std::string bytes = ready.SerializeAsString();
  grpc::Slice slice(bytes);
  ready_bytes_ = grpc::ByteBuffer(&slice, 1);
  for (auto& e : f.replay) queue_.PushReplay(std::move(e), now);
  for (auto& e : f.captured) {
    absl::Status s = queue_.Push(std::move(e), now);
    if (!s.ok()) {
      m.subscribe_overflows->Add();
      return s;
    }
  }
  ready_ = true;
  WriteNextLocked();
  return absl::OkStatus();
}

void SubscribeReactor::OnEvent(const std::shared_ptr<const SharedEvent>& e) {
  absl::Status overflow;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (history_ != nullptr && !history_->finished()) {
      overflow = history_->Capture(e);
      if (overflow.ok()) return;
    } else if (history_ != nullptr && !history_->Admit(*e)) {
      return;  // already sent, or stale
    } else {
      overflow = queue_.Push(e);
      if (overflow.ok()) {
        WriteNextLocked();
        return;
      }
    }
    emitter_->metrics().subscribe_overflows->Add();
    if (!BeginFinishLocked()) return;
  }
  FinishNow(overflow);
}

void SubscribeReactor::OnClosed(absl::Status why) {
  {
    absl::MutexLock lock(&mu_);
    if (!BeginFinishLocked()) return;
  }
  if (absl::IsResourceExhausted(why))
    emitter_->metrics().subscribe_overflows->Add();
  FinishNow(why);
}

SubscriptionHub::Listener::Backlog SubscribeReactor::backlog() {
  absl::MutexLock lock(&mu_);
  if (finished_) return {};
  return {queue_.held_bytes(), queue_.stalled_since()};
}

void SubscribeReactor::WriteNextLocked() {
  if (writing_ || finished_ || !ready_) return;
  if (!ready_sent_) {
    ready_sent_ = true;
    current_ = ready_bytes_.Length() > 0 ? ready_bytes_ : EncodeReady();
    writing_event_ = false;
  } else if (auto e = queue_.StartWrite(); e != nullptr) {
    current_ = e->bytes;  // shares the slices
    writing_event_ = true;
  } else {
    return;
  }
  writing_ = true;
  StartWrite(&current_);
}

void SubscribeReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (writing_event_) {
    queue_.WriteDone();
    if (ok) emitter_->metrics().subscribe_events->Add();
  }
  current_.Clear();
  if (!ok) return;  // the call is ending; OnCancel or OnClosed finishes it
  WriteNextLocked();
}

void SubscribeReactor::OnCancel() {
  {
    absl::MutexLock lock(&mu_);
    if (!BeginFinishLocked()) return;
  }
  FinishNow(absl::CancelledError("call cancelled"));
}

bool SubscribeReactor::BeginFinishLocked() {
  if (finished_) return false;
  finished_ = true;
  queue_.Clear();
  return true;
}

void SubscribeReactor::FinishNow(const absl::Status& s) {
  grpc::Status gs = ToGrpcStatus(s);
  emitter_->metrics().CountCall(Rpc::kSubscribe, gs.error_code());
  Finish(gs);
}

void SubscribeReactor::OnDone() {
  if (counted_) budget_->RemoveCall();
  if (!registered_) {
    delete this;
    return;
  }
  emitter_->metrics().subscribe_active->Add(-1);
  hub_->Remove(this, [this] { delete this; });
}

}  // namespace vent::server
