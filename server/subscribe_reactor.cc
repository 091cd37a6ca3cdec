#include "server/subscribe_reactor.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/status.h"
#include "vent/base/status_macros.h"

namespace vent::server {

SubscribeReactor::SubscribeReactor(Emitter* emitter, SubscriptionHub* hub,
                                   Limits limits)
    : emitter_(emitter), hub_(hub), limits_(limits) {}

SubscribeReactor* SubscribeReactor::Start(grpc::CallbackServerContext* ctx,
                                          const v1::SubscribeRequest* request,
                                          Emitter* emitter,
                                          SubscriptionHub* hub, Limits limits) {
  auto* r = new SubscribeReactor(emitter, hub, limits);
  if (absl::Status s = r->Validate(ctx, *request); !s.ok()) {
    {
      absl::MutexLock lock(&r->mu_);
      r->finished_ = true;
    }
    r->FinishNow(s);
    return r;
  }
  r->registered_ = true;
  emitter->metrics().subscribe_active->Add(1);
  hub->Add(r, std::vector<std::string>(request->channels().begin(),
                                       request->channels().end()));
  return r;
}

absl::Status SubscribeReactor::Validate(grpc::CallbackServerContext* ctx,
                                        const v1::SubscribeRequest& req) {
  VENT_ASSIGN_OR_RETURN(const Principal* who, emitter_->Authenticate(ctx));
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
  return absl::OkStatus();
}

void SubscribeReactor::OnReady() {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  ready_ = true;
  WriteNextLocked();
}

void SubscribeReactor::OnEvent(const event::ReceivedEvent& e,
                               absl::Time received) {
  absl::Status overflow;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (queue_.size() >= limits_.queue_limit) {
      emitter_->metrics().subscribe_overflows->Add();
      overflow = absl::ResourceExhaustedError(absl::StrCat(
          "client reads too slowly: ", queue_.size(),
          " events queued (--subscribe-queue); re-subscribe to resume"));
      if (!BeginFinishLocked()) return;
    } else {
      v1::SubscribeResponse& m = queue_.emplace_back();
      v1::Event* ev = m.mutable_event();
      ev->set_channel(e.channel);
      ev->set_json(*e.json);
      *ev->mutable_emitted_at() =
          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
              absl::ToUnixNanos(received));
      WriteNextLocked();
      return;
    }
  }
  FinishNow(overflow);
}

void SubscribeReactor::OnClosed(absl::Status why) {
  {
    absl::MutexLock lock(&mu_);
    if (!BeginFinishLocked()) return;
  }
  FinishNow(why);
}

void SubscribeReactor::WriteNextLocked() {
  if (writing_ || finished_ || !ready_) return;
  if (!ready_sent_) {
    ready_sent_ = true;
    current_.Clear();
    current_.set_ready(true);
  } else if (!queue_.empty()) {
    current_ = std::move(queue_.front());
    queue_.pop_front();
  } else {
    return;
  }
  writing_ = true;
  StartWrite(&current_);
}

void SubscribeReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!ok) return;  // the call is ending; OnCancel or OnClosed finishes it
  if (current_.has_event()) emitter_->metrics().subscribe_events->Add();
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
  queue_.clear();
  return true;
}

void SubscribeReactor::FinishNow(const absl::Status& s) {
  grpc::Status gs = ToGrpcStatus(s);
  emitter_->metrics().CountCall(Rpc::kSubscribe, gs.error_code());
  Finish(gs);
}

void SubscribeReactor::OnDone() {
  if (!registered_) {
    delete this;
    return;
  }
  emitter_->metrics().subscribe_active->Add(-1);
  hub_->Remove(this, [this] { delete this; });
}

}  // namespace vent::server
