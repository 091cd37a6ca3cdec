#include "server/subscribe_reactor.h"

#include "absl/strings/str_cat.h"
#include "server/status.h"
#include "vent/base/status_macros.h"

namespace vent::server {

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
  return channels;
}

void SubscribeReactor::OnReady() {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  ready_ = true;
  WriteNextLocked();
}

void SubscribeReactor::OnEvent(const std::shared_ptr<const SharedEvent>& e) {
  absl::Status overflow;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    overflow = queue_.Push(e);
    if (overflow.ok()) {
      WriteNextLocked();
      return;
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
    current_ = EncodeReady();
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
