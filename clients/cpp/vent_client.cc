#include "clients/cpp/vent_client.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "vent/v1/vent.grpc.pb.h"

namespace vent {
namespace internal {

struct Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<vent::v1::Vent::Stub> stub;
};

}  // namespace internal

namespace {

// gRPC and absl share google.rpc.Code numbering; the message is kept as is.
absl::Status ToAbsl(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  int code = static_cast<int>(s.error_code());
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<int>(absl::StatusCode::kUnknown);
  }
  return absl::Status(static_cast<absl::StatusCode>(code), s.error_message());
}

EmitResult FromProto(const vent::v1::EmitResponse& r) {
  return EmitResult{r.receivers(), r.id(), r.duplicate()};
}

void FillEvent(vent::v1::Event* e, absl::string_view channel,
               absl::string_view json, absl::string_view idempotency_key) {
  e->set_channel(std::string(channel));
  e->set_json(std::string(json));
  if (!idempotency_key.empty())
    e->set_idempotency_key(std::string(idempotency_key));
}

}  // namespace

// ------------------------------------------------------------------ Client

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  if (options.address.empty())
    return absl::InvalidArgumentError("address must not be empty");
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!options.tls_root_certs.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certs;
    creds = grpc::SslCredentials(ssl);
  } else if (options.use_tls) {
    creds = grpc::SslCredentials(grpc::SslCredentialsOptions());
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  auto stubs = std::make_shared<internal::Stubs>();
  stubs->channel = grpc::CreateCustomChannel(options.address, creds, args);
  stubs->stub = vent::v1::Vent::NewStub(stubs->channel);
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(stubs)));
}

Client::~Client() = default;

void Client::Prepare(grpc::ClientContext& ctx, bool unary) const {
  if (!options_.api_key.empty()) {
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  if (unary && options_.default_deadline != absl::InfiniteDuration()) {
    ctx.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.default_deadline));
  }
}

absl::StatusOr<EmitResult> Client::Emit(absl::string_view channel,
                                        absl::string_view json,
                                        const EmitOptions& options) {
  grpc::ClientContext ctx;
  Prepare(ctx, /*unary=*/true);
  vent::v1::EmitRequest req;
  FillEvent(req.mutable_event(), channel, json, options.idempotency_key);
  vent::v1::EmitResponse resp;
  grpc::Status s = stubs_->stub->Emit(&ctx, req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return FromProto(resp);
}

absl::StatusOr<std::vector<EmitResult>> Client::EmitBatch(
    const std::vector<Event>& events) {
  grpc::ClientContext ctx;
  Prepare(ctx, /*unary=*/true);
  vent::v1::EmitBatchRequest req;
  req.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (const Event& e : events)
    FillEvent(req.add_events(), e.channel, e.json, e.idempotency_key);
  vent::v1::EmitBatchResponse resp;
  grpc::Status s = stubs_->stub->EmitBatch(&ctx, req, &resp);
  if (!s.ok()) return ToAbsl(s);
  std::vector<EmitResult> out;
  out.reserve(resp.results_size());
  for (const auto& r : resp.results()) out.push_back(FromProto(r));
  return out;
}

// ------------------------------------------------------------------ EmitStream

struct EmitStream::Impl {
  std::shared_ptr<internal::Stubs> stubs;
  grpc::ClientContext ctx;
  vent::v1::EmitStreamResponse resp;
  std::unique_ptr<grpc::ClientWriter<vent::v1::EmitStreamRequest>> writer;
  std::thread sender;

  absl::Mutex mu;
  vent::v1::EmitStreamRequest queued ABSL_GUARDED_BY(mu);  // not yet sent
  size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;
  bool closing ABSL_GUARDED_BY(mu) = false;  // Finish() or destruction
  bool broken ABSL_GUARDED_BY(mu) = false;   // a Write to gRPC failed

  bool Full() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return queued.events_size() >= kMaxEventsPerMessage ||
           queued_bytes >= kMaxBytesPerMessage;
  }

  // Sender thread: sends whatever is queued as one message, in order, until
  // closing with an empty queue or the call breaks. The swap keeps the
  // cleared Event objects for reuse on both sides.
  void Run() {
    vent::v1::EmitStreamRequest sending;
    for (;;) {
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(
            +[](Impl* i) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return i->closing || i->queued.events_size() > 0;
            },
            this));
        if (queued.events_size() == 0) return;  // closing, all sent
        sending.Swap(&queued);
        queued_bytes = 0;
      }
      if (!writer->Write(sending)) {
        absl::MutexLock lock(&mu);
        broken = true;
        return;
      }
      sending.clear_events();
    }
  }

  // Stops the sender after it sent what is queued (or broke); true when the
  // call is still healthy.
  bool StopSender() {
    {
      absl::MutexLock lock(&mu);
      closing = true;
    }
    if (sender.joinable()) sender.join();
    absl::MutexLock lock(&mu);
    return !broken;
  }
};

EmitStream::EmitStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->sender = std::thread([i = impl_.get()] { i->Run(); });
}

EmitStream::~EmitStream() {
  if (finished_ || !impl_->writer) return;
  impl_->ctx.TryCancel();  // unblocks a sender stuck in Write
  impl_->StopSender();
  impl_->writer->Finish();
}

absl::Status EmitStream::Write(absl::string_view channel,
                               absl::string_view json) {
  if (finished_)
    return absl::FailedPreconditionError("EmitStream already finished");
  Impl& i = *impl_;
  absl::MutexLock lock(&i.mu);
  i.mu.Await(absl::Condition(
      +[](Impl* i)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return i->broken || !i->Full(); },
      &i));
  if (i.broken) {
    return absl::AbortedError(
        "EmitStream ended by the server or transport; call Finish()");
  }
  vent::v1::Event* e = i.queued.add_events();
  e->mutable_channel()->assign(channel.data(), channel.size());
  e->mutable_json()->assign(json.data(), json.size());
  i.queued_bytes += channel.size() + json.size() + 8;
  ++written_;
  return absl::OkStatus();
}

absl::StatusOr<EmitStreamResult> EmitStream::Finish() {
  if (finished_)
    return absl::FailedPreconditionError("EmitStream already finished");
  finished_ = true;
  if (impl_->StopSender()) impl_->writer->WritesDone();
  grpc::Status s = impl_->writer->Finish();
  if (!s.ok()) return ToAbsl(s);
  return EmitStreamResult{impl_->resp.published(), impl_->resp.receivers()};
}

absl::StatusOr<std::unique_ptr<EmitStream>> Client::OpenEmitStream() {
  auto impl = std::make_unique<EmitStream::Impl>();
  impl->stubs = stubs_;
  Prepare(impl->ctx, /*unary=*/false);
  impl->writer = stubs_->stub->EmitStream(&impl->ctx, &impl->resp);
  if (!impl->writer) return absl::InternalError("could not start EmitStream");
  return std::unique_ptr<EmitStream>(new EmitStream(std::move(impl)));
}

// ------------------------------------------------------------------ Subscribe

struct Subscription::Impl {
  std::shared_ptr<internal::Stubs> stubs;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<vent::v1::SubscribeResponse>> reader;
  EventCallback on_event;
  DoneCallback on_done;
  std::thread thread;

  absl::Mutex mu;
  bool ready = false;  // first message (ready) seen
  bool done = false;   // call ended; `status` is final
  absl::Status status;

  void Run() {
    vent::v1::SubscribeResponse msg;
    while (reader->Read(&msg)) {
      if (msg.ready() && !msg.has_event()) {
        absl::MutexLock lock(&mu);
        ready = true;
        continue;
      }
      if (!msg.has_event() || !on_event) continue;
      const auto& e = msg.event();
      ReceivedEvent ev{e.channel(), e.json(),
                       absl::FromUnixSeconds(e.emitted_at().seconds()) +
                           absl::Nanoseconds(e.emitted_at().nanos())};
      on_event(ev);
    }
    absl::Status s = ToAbsl(reader->Finish());
    if (s.ok()) s = absl::UnavailableError("subscription ended by the server");
    bool was_ready;
    {
      absl::MutexLock lock(&mu);
      was_ready = ready;
    }
    if (was_ready && on_done) on_done(s);
    absl::MutexLock lock(&mu);
    status = s;
    done = true;
  }
};

Subscription::~Subscription() {
  Cancel();
  if (impl_->thread.joinable())
    impl_->thread.detach();  // Cancel() ran on the reader thread
}

void Subscription::Cancel() {
  impl_->ctx.TryCancel();
  if (impl_->thread.joinable() &&
      impl_->thread.get_id() != std::this_thread::get_id()) {
    impl_->thread.join();
  }
}

absl::Status Subscription::Wait() {
  absl::MutexLock lock(&impl_->mu);
  impl_->mu.Await(absl::Condition(&impl_->done));
  return impl_->status;
}

bool Subscription::WaitFor(absl::Duration timeout, absl::Status* status) {
  absl::MutexLock lock(&impl_->mu);
  if (!impl_->mu.AwaitWithTimeout(absl::Condition(&impl_->done), timeout))
    return false;
  if (status != nullptr) *status = impl_->status;
  return true;
}

absl::StatusOr<std::unique_ptr<Subscription>> Client::Subscribe(
    const std::vector<std::string>& channels,
    Subscription::EventCallback on_event, Subscription::DoneCallback on_done) {
  auto impl = std::make_shared<Subscription::Impl>();
  impl->stubs = stubs_;
  impl->on_event = std::move(on_event);
  impl->on_done = std::move(on_done);
  Prepare(impl->ctx, /*unary=*/false);
  vent::v1::SubscribeRequest req;
  for (const auto& c : channels) req.add_channels(c);
  impl->reader = stubs_->stub->Subscribe(&impl->ctx, req);
  // The thread keeps Impl alive while it runs (see ~Subscription).
  impl->thread = std::thread([impl] { impl->Run(); });
  std::unique_ptr<Subscription> sub(new Subscription(impl));

  bool ready = false;
  absl::Status refused;
  {
    absl::MutexLock lock(&impl->mu);
    auto ready_or_done = [&impl]() { return impl->ready || impl->done; };
    impl->mu.AwaitWithTimeout(absl::Condition(&ready_or_done),
                              options_.default_deadline);
    ready = impl->ready;
    refused = impl->done ? impl->status : absl::OkStatus();
  }
  if (ready) return sub;
  sub.reset();  // cancels and joins the reader thread
  if (!refused.ok()) return refused;
  return absl::DeadlineExceededError(
      absl::StrCat("Subscribe: no ready from the server within ",
                   absl::FormatDuration(options_.default_deadline)));
}

}  // namespace vent
