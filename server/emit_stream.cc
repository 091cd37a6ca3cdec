#include "server/emit_stream.h"

#include "absl/strings/str_cat.h"
#include "server/request_codec.h"
#include "server/status.h"

namespace vent::server {

absl::Status EmitStreamRegistry::Add(EmitStreamReactor* r) {
  absl::MutexLock lock(&mu_);
  if (!stopped_.ok()) return stopped_;
  open_.insert(r);
  return absl::OkStatus();
}

void EmitStreamRegistry::Remove(EmitStreamReactor* r) {
  absl::MutexLock lock(&mu_);
  open_.erase(r);
}

void EmitStreamRegistry::StopAll(absl::Status why) {
  absl::MutexLock lock(&mu_);
  if (stopped_.ok()) stopped_ = why;
  for (EmitStreamReactor* r : open_) r->Stop(why);
}

EmitStreamReactor::EmitStreamReactor(grpc::CallbackServerContext* ctx,
                                     grpc::ByteBuffer* response,
                                     Emitter* emitter,
                                     EmitStreamRegistry* registry,
                                     Options options)
    : ctx_(ctx),
      response_(response),
      emitter_(emitter),
      registry_(registry),
      window_(options.window == 0 ? 1 : options.window),
      max_message_(options.max_message == 0 ? 1 : options.max_message) {
  absl::Status stopped = registry_->Add(this);
  auto who = emitter_->Authenticate(ctx_);
  mu_.Lock();
  ++active_;
  bool read = false;
  if (!stopped.ok()) {
    FailLocked(std::move(stopped));
  } else if (!who.ok()) {
    FailLocked(who.status());
  } else {
    who_ = *who;
    read = ShouldReadLocked();
  }
  mu_.Unlock();
  if (read) StartRead(&request_);
  mu_.Lock();
  Leave();
}

void EmitStreamReactor::OnReadDone(bool ok) {
  mu_.Lock();
  ++active_;
  reading_ = false;
  if (!ok) {
    read_closed_ = true;  // half-close, or the call is gone
  } else if (!read_closed_) {
    HandleMessageLocked();
  }
  bool read = ShouldReadLocked();
  mu_.Unlock();
  if (read) StartRead(&request_);
  mu_.Lock();
  Leave();
}

void EmitStreamReactor::HandleMessageLocked() {
  const int64_t first = next_index_;
  v1::EmitStreamRequest msg;
  absl::Status parsed =
      emitter_->ParseRequest(Rpc::kEmitStream, request_, &msg, ctx_, first);
  request_.Clear();
  if (!parsed.ok()) {
    FailLocked(std::move(parsed));
    return;
  }
  auto* events = msg.mutable_events();
  const size_t n = static_cast<size_t>(events->size());
  if (n > max_message_) {
    FailLocked(absl::InvalidArgumentError(absl::StrCat(
        "events[", first, "]: a message of ", n, " events is over the ",
        max_message_, "-event limit (--max-batch)")));
    events->Clear();
    return;
  }
  next_index_ += static_cast<int64_t>(n);
  // Events before the first invalid one are published, then the call fails.
  std::vector<Emitter::Prepared> prepared;
  prepared.reserve(n);
  absl::Status bad;
  for (size_t i = 0; i < n; ++i) {
    auto p =
        emitter_->PrepareAt(std::move(*events->Mutable(static_cast<int>(i))),
                            who_, "events", first + static_cast<int64_t>(i),
                            /*assign_id=*/false);
    if (!p.ok()) {
      bad = p.status();
      break;
    }
    prepared.push_back(std::move(*p));
  }
  events->Clear();
  pending_ = std::move(prepared);
  pending_first_ = first;
  pending_bad_ = std::move(bad);
  DispatchPendingLocked();
}

void EmitStreamReactor::DispatchPendingLocked() {
  waiting_ = false;
  if (!error_.ok())
    pending_.clear();  // the call already failed or was cancelled
  const size_t k = pending_.size();
  if (k > 0) {
    if (absl::Status s = emitter_->Reserve(static_cast<int64_t>(k)); !s.ok()) {
      if (inflight_ > 0) {
        // --max-inflight is full: wait for this call's own events to
        // complete (OnPublished retries) instead of failing the stream.
        waiting_ = true;
        return;
      }
      pending_.clear();
      FailLocked(absl::Status(s.code(), absl::StrCat("events[", pending_first_,
                                                     "]: ", s.message())));
      return;
    }
    inflight_ += k;
    // Unlocked because the completion may run inline and takes mu_;
    // publishing_ keeps the next read (and so the next publish) from
    // starting before this batch is handed over, which keeps the order.
    publishing_ = true;
    std::vector<Emitter::Prepared> batch = std::move(pending_);
    pending_.clear();
    mu_.Unlock();
    emitter_->PublishBatch(
        std::move(batch),
        [this](std::vector<Emitter::Outcome> o) { OnPublished(std::move(o)); });
    mu_.Lock();
    publishing_ = false;
  }
  if (!pending_bad_.ok()) {
    FailLocked(std::move(pending_bad_));
    pending_bad_ = absl::OkStatus();
  }
}

void EmitStreamReactor::OnPublished(std::vector<Emitter::Outcome> outcomes) {
  mu_.Lock();
  ++active_;
  inflight_ -= outcomes.size();
  for (auto& o : outcomes) {
    if (o.status.ok()) {
      if (!o.duplicate) ++published_;
      receivers_ += o.receivers;
    } else {
      if (MayHavePublished(o.status)) ++maybe_;
      FailLocked(std::move(o.status));
    }
  }
  if (waiting_) DispatchPendingLocked();
  bool read = ShouldReadLocked();
  mu_.Unlock();
  if (read) StartRead(&request_);
  mu_.Lock();
  Leave();
}

void EmitStreamReactor::OnDone() {
  registry_->Remove(this);
  delete this;
}

void EmitStreamReactor::OnCancel() {
  mu_.Lock();
  ++active_;
  FailLocked(absl::CancelledError("call cancelled"));
  Leave();
}

void EmitStreamReactor::Stop(absl::Status why) {
  mu_.Lock();
  ++active_;
  FailLocked(std::move(why));
  Leave();
}

void EmitStreamReactor::FailLocked(absl::Status s) {
  read_closed_ = true;
  if (error_.ok()) error_ = std::move(s);
}

bool EmitStreamReactor::ShouldReadLocked() {
  if (finished_ || read_closed_ || reading_ || publishing_ || waiting_ ||
      inflight_ >= window_) {
    return false;
  }
  reading_ = true;
  return true;
}

void EmitStreamReactor::Leave() {
  --active_;
  // A read may still be outstanding after an error: Finish ends it (its
  // OnReadDone(false) comes before OnDone).
  if (finished_ || active_ > 0 || !read_closed_ || inflight_ > 0 ||
      (error_.ok() && reading_)) {
    mu_.Unlock();
    return;
  }
  finished_ = true;
  absl::Status s = error_;
  if (!s.ok() && s.code() != absl::StatusCode::kUnauthenticated) {
    // Events are published in stream order, so the counts say which ones a
    // client must resend: the first `published_` made it, the next `maybe_`
    // may have, the rest did not.
    const bool at_event = s.code() == absl::StatusCode::kInvalidArgument ||
                          s.code() == absl::StatusCode::kPermissionDenied;
    // Events whose outcome is unknown make the whole call's outcome unknown:
    // UNAVAILABLE (or any "nothing happened" code) would invite a blind
    // resend.
    s = absl::Status(
        maybe_ > 0 ? absl::StatusCode::kDeadlineExceeded : s.code(),
        absl::StrCat(s.message(), " (", published_,
                     at_event ? " events before it were published"
                              : " events were published",
                     maybe_ > 0
                         ? absl::StrCat("; ", maybe_,
                                        " more were sent to Redis without a "
                                        "reply and may have been published")
                         : std::string(),
                     ")"));
    ctx_->AddTrailingMetadata("vent-published", absl::StrCat(published_));
    ctx_->AddTrailingMetadata("vent-maybe-published", absl::StrCat(maybe_));
  }
  if (s.ok()) {
    v1::EmitStreamResponse r;
    r.set_published(published_);
    r.set_receivers(receivers_);
    SerializeTo(r, response_);
  }
  mu_.Unlock();
  grpc::Status gs = ToGrpcStatus(s);
  emitter_->metrics().CountCall(Rpc::kEmitStream, gs.error_code());
  Finish(gs);
}

}  // namespace vent::server
