#include "server/emit_stream.h"

#include "absl/strings/str_cat.h"
#include "server/status.h"

namespace vent::server {

EmitStreamReactor::EmitStreamReactor(grpc::CallbackServerContext* ctx,
                                     v1::EmitStreamResponse* response, Emitter* emitter,
                                     size_t window)
    : ctx_(ctx), response_(response), emitter_(emitter), window_(window == 0 ? 1 : window) {
  auto who = emitter_->Authenticate(ctx_);
  mu_.Lock();
  ++active_;
  bool read = false;
  if (!who.ok()) {
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
    HandleEventLocked();
  }
  bool read = ShouldReadLocked();
  mu_.Unlock();
  if (read) StartRead(&request_);
  mu_.Lock();
  Leave();
}

void EmitStreamReactor::HandleEventLocked() {
  const int64_t index = next_index_++;
  auto prepared = emitter_->Prepare(std::move(*request_.mutable_event()), who_,
                                    absl::StrCat("events[", index, "]"));
  if (!prepared.ok()) {
    FailLocked(prepared.status());
    return;
  }
  if (absl::Status s = emitter_->Reserve(1); !s.ok()) {
    FailLocked(absl::Status(s.code(), absl::StrCat("events[", index, "]: ", s.message())));
    return;
  }
  ++inflight_;
  // Unlocked because the completion may run inline and takes mu_;
  // publishing_ keeps the next read (and so the next Publish) from starting
  // before this one is handed over, which keeps the stream's order.
  publishing_ = true;
  mu_.Unlock();
  emitter_->Publish(std::move(*prepared),
                    [this](Emitter::Outcome o) { OnPublished(std::move(o)); });
  mu_.Lock();
  publishing_ = false;
}

void EmitStreamReactor::OnPublished(Emitter::Outcome o) {
  mu_.Lock();
  ++active_;
  --inflight_;
  if (o.status.ok()) {
    if (!o.duplicate) ++published_;
    receivers_ += o.receivers;
  } else {
    FailLocked(o.status);
  }
  bool read = ShouldReadLocked();
  mu_.Unlock();
  if (read) StartRead(&request_);
  mu_.Lock();
  Leave();
}

void EmitStreamReactor::OnCancel() {
  mu_.Lock();
  ++active_;
  FailLocked(absl::CancelledError("call cancelled"));
  Leave();
}

void EmitStreamReactor::FailLocked(absl::Status s) {
  read_closed_ = true;
  if (error_.ok()) error_ = std::move(s);
}

bool EmitStreamReactor::ShouldReadLocked() {
  if (finished_ || read_closed_ || reading_ || publishing_ || inflight_ >= window_) {
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
    s = absl::Status(s.code(), absl::StrCat(s.message(), " (", published_,
                                            " events before it were published)"));
  }
  if (s.ok()) {
    response_->set_published(published_);
    response_->set_receivers(receivers_);
  }
  mu_.Unlock();
  grpc::Status gs = ToGrpcStatus(s);
  emitter_->metrics().CountCall(Rpc::kEmitStream, gs.error_code());
  Finish(gs);
}

}  // namespace vent::server
