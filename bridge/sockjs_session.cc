#include "bridge/sockjs_session.h"

#include <boost/asio/post.hpp>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "vent/base/check.h"
#include "vent/base/log.h"
#include "vent/ws/sockjs.h"

namespace vent::bridge {
namespace {

// How long a closing session waits for a receiving request to hand its
// close frame to (a polling client asks again at once).
constexpr absl::Duration kCloseLinger = absl::Seconds(2);

OutputBudget MakeBudget(Worker& worker) {
  const BridgeOptions& o = worker.ctx().options;
  OutputBudget b;
  b.max_bytes = static_cast<size_t>(o.max_outgoing);
  b.max_worker_bytes = o.max_worker_outgoing;
  b.worker_total = worker.outgoing_total();
  return b;
}

}  // namespace

Worker& SockJsOwner(BridgeContext& ctx, absl::string_view id) {
  VENT_DCHECK(!ctx.workers.empty());
  size_t h = absl::Hash<absl::string_view>{}(id);
  return *ctx.workers[h % ctx.workers.size()];
}

std::shared_ptr<SockJsSession> SockJsSession::Create(Worker& worker,
                                                     std::string id,
                                                     ConnectionInfo info) {
  auto s =
      std::make_shared<SockJsSession>(worker, std::move(id), std::move(info));
  worker.IndexSockJs(s->id_, s.get());
  worker.AddConnection(s);
  return s;
}

SockJsSession::SockJsSession(Worker& worker, std::string id,
                             ConnectionInfo info)
    : worker_(worker),
      ctx_(worker.ctx()),
      id_(std::move(id)),
      remote_(info.remote),
      out_(OutputQueue::Framing::kSockJsHttp, MakeBudget(worker)),
      host_(DdpHost::Deps{&ctx_, &worker.registry(), this, this,
                          /*sockjs=*/true},
            std::move(info)) {
  absl::Time now = absl::Now();
  handshake_deadline_ = now + ctx_.options.handshake_timeout;
  detached_since_ = now;
  last_frame_ = now;
  ctx_.metrics->connections->Add(1);
  ctx_.metrics->connections_total->Add();
  ctx_.metrics->sockjs_sessions->Add(1);
  ctx_.ws_connections.fetch_add(1, std::memory_order_relaxed);
  ctx_.sockjs_sessions.fetch_add(1, std::memory_order_relaxed);
}

SockJsSession::~SockJsSession() {
  if (closed_) return;
  // Destroyed without Terminate (the worker stopped): give the counts back.
  ctx_.metrics->connections->Add(-1);
  ctx_.metrics->sockjs_sessions->Add(-1);
  ctx_.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.sockjs_sessions.fetch_sub(1, std::memory_order_relaxed);
}

// --- receivers --------------------------------------------------------------

void SockJsSession::Attach(SockJsReceiver* receiver) {
  if (closed_ || receiver_ != nullptr) {
    receiver->SendFrame(ws::CloseFrame(2010, "Another connection still open"),
                        /*last=*/true);
    return;
  }
  receiver_ = receiver;
  Flush();
}

void SockJsSession::OnReceiverReady(SockJsReceiver* receiver) {
  if (receiver != receiver_) return;
  Flush();
}

void SockJsSession::OnReceiverAborted(SockJsReceiver* receiver) {
  if (receiver != receiver_) return;
  receiver_ = nullptr;
  // sockjs-node: a receiving request the client abandoned ends the session
  // (the client has given up on it; a live one sends the next request).
  Terminate("receiving request closed by the client");
}

void SockJsSession::Send(absl::string_view frame, bool last) {
  VENT_DCHECK(receiver_ != nullptr && receiver_->ready());
  last_frame_ = absl::Now();
  if (!receiver_->SendFrame(frame, last)) {
    receiver_ = nullptr;
    detached_since_ = last_frame_;
  }
}

void SockJsSession::Pump() {
  while (receiver_ != nullptr && receiver_->ready() && !closed_) {
    if (!opened_) {
      opened_ = true;
      Send(ws::kSockJsOpenFrame, false);
    } else if (!out_.empty()) {
      absl::StatusOr<absl::string_view> pending = out_.Pending();
      VENT_DCHECK(pending.ok());  // no sealer
      std::string frame = absl::StrCat("a[", *pending, "]");
      out_.Consume(pending->size());
      Send(frame, false);
    } else if (closing_ && !close_sent_) {
      close_sent_ = true;
      Send(close_frame_, true);
    } else {
      break;
    }
  }
}

absl::Status SockJsSession::Deliver(absl::string_view body) {
  if (body.empty()) return absl::InvalidArgumentError("Payload expected.");
  auto msgs = ws::ParseClientFrame(body);
  if (!msgs.ok()) return absl::InvalidArgumentError("Broken JSON encoding.");
  absl::Time now = absl::Now();
  for (const std::string& m : *msgs) {
    if (closing_ || closed_) break;  // sockjs-node drops them too
    host_.OnMessage(m, now);
  }
  Flush();
  return absl::OkStatus();
}

// --- output -----------------------------------------------------------------

void SockJsSession::SendMessage(absl::string_view message) {
  if (closing_ || closed_) return;
  out_.AppendMessage(message);
  Queued();
}

void SockJsSession::QueueVent(const Subscription& sub, Transformed& t) {
  if (closing_ || closed_ || overflow_) return;
  out_.AppendVent(sub, t);
  Queued();
}

void SockJsSession::Queued() {
  worker_.MarkDirty(this);
  if (!out_.over_budget()) return;
  // Over budget only if the receiver does not take the bytes now. Never
  // terminates here (this may be a fan-out pass); Flush() acts on the flag.
  Pump();
  if (out_.over_budget()) overflow_ = true;
}

void SockJsSession::Flush() {
  if (closed_) return;
  if (overflow_) {
    SlowClose();
    return;
  }
  Pump();
  if (close_sent_) Terminate("closed");
}

void SockJsSession::SlowClose() {
  overflow_ = false;
  ctx_.metrics->slow_closes->Add();
  VENT_LOG_DEBUG("closing slow SockJS session", "remote", remote_,
                 "queued_bytes", out_.queued());
  out_.Drop();
  host_.Release();
  closing_ = true;
  close_frame_ = ws::CloseFrame(4008, "slow client");
  close_deadline_ = absl::Now() + kCloseLinger;
  if (receiver_ != nullptr && !receiver_->ready()) {
    // Its write is stuck: that client does not read.
    SockJsReceiver* r = receiver_;
    receiver_ = nullptr;
    r->Abandon();
    Terminate("slow client");
    return;
  }
  Flush();
}

void SockJsSession::CloseWith(uint16_t code, absl::string_view reason) {
  if (closing_ || closed_) return;
  // No more events or replies: the subscriptions leave now; what is queued
  // still goes out before the close frame.
  host_.Release();
  closing_ = true;
  close_frame_ = ws::CloseFrame(code, reason);
  close_deadline_ = absl::Now() + kCloseLinger;
  worker_.MarkDirty(this);
}

void SockJsSession::CloseConnection(uint16_t ws_code,
                                    absl::string_view reason) {
  CloseWith(ws_code, reason);
}

void SockJsSession::Shutdown() {
  if (closing_ || closed_) return;
  CloseWith(1001, "server shutting down");
  Flush();
}

void SockJsSession::Terminate(const char* why) {
  if (closed_) return;
  closed_ = true;
  host_.Release();
  out_.Drop();
  if (receiver_ != nullptr) {
    SockJsReceiver* r = receiver_;
    receiver_ = nullptr;
    r->Abandon();
  }
  ctx_.metrics->connections->Add(-1);
  ctx_.metrics->sockjs_sessions->Add(-1);
  ctx_.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.sockjs_sessions.fetch_sub(1, std::memory_order_relaxed);
  VENT_LOG_DEBUG("SockJS session closed", "remote", remote_, "why", why);
  worker_.UnindexSockJs(id_);
  worker_.RemoveConnection(this);
}

void SockJsSession::OnSweep(absl::Time now) {
  if (closed_) return;
  if (closing_) {
    if (now >= close_deadline_) Terminate("close timeout");
    return;
  }
  if (receiver_ == nullptr &&
      now - detached_since_ >= ctx_.options.sockjs_disconnect_delay) {
    Terminate("no receiving request");
    return;
  }
  if (!host_.connected() && now >= handshake_deadline_) {
    ctx_.metrics->heartbeat_closes->Add();
    CloseWith(1008, "DDP connect timeout");
    return;
  }
  host_.OnTick(now);
  if (!closing_ && receiver_ != nullptr && receiver_->ready() &&
      now - last_frame_ >= ctx_.options.sockjs_heartbeat) {
    Send(ws::kSockJsHeartbeatFrame, false);
  }
}

void SockJsSession::Defer(absl::AnyInvocable<void(DdpHost&) &&> fn) {
  std::weak_ptr<SockJsSession> weak = weak_from_this();
  boost::asio::post(worker_.io(), [weak, fn = std::move(fn)]() mutable {
    std::shared_ptr<SockJsSession> self = weak.lock();
    if (self == nullptr || self->closing_ || self->closed_) return;
    std::move(fn)(self->host_);
    self->Flush();
  });
}

HostOutput::Deferrer SockJsSession::MakeDeferrer() {
  return [weak = weak_from_this()](absl::AnyInvocable<void(DdpHost&) &&> fn) {
    if (std::shared_ptr<SockJsSession> self = weak.lock()) {
      self->Defer(std::move(fn));
    }
  };
}

}  // namespace vent::bridge
