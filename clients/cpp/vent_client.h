// vent::Client: the C++ emit/listen client of vent-server (gRPC vent.v1.Vent,
// proto/vent/v1/vent.proto).
//
//   VENT_ASSIGN_OR_RETURN(auto client, vent::Client::Connect({.address =
//   "127.0.0.1:50051"})); VENT_ASSIGN_OR_RETURN(vent::EmitResult r,
//                         client->Emit("threads::t1::new_message",
//                         R"({"message":"hi"})"));
//
// Errors: every call returns the server's gRPC status as an absl::Status with
// the same code (absl and gRPC share google.rpc.Code) and the server's message
// unchanged, e.g. INVALID_ARGUMENT "event.json: not valid JSON at offset 3:
// ...". Transport failures come back as UNAVAILABLE (server unreachable) or
// DEADLINE_EXCEEDED with gRPC's message. See vent.proto for what each code
// means and whether to retry.
//
// Thread-safety: Client is thread-safe; share one per process (it holds one
// HTTP/2 channel, calls are multiplexed on it). An EmitStream is used by one
// thread at a time. Subscription::Cancel() may be called from any thread,
// including from inside its own callbacks.
//
// Ownership: EmitStream and Subscription hold a reference to the channel, so
// they may outlive the Client that created them.
#ifndef VENT_CLIENTS_CPP_VENT_CLIENT_H_
#define VENT_CLIENTS_CPP_VENT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace vent {

struct ClientOptions {
  // gRPC target: "host:port", "dns:///host:port", "unix:/path".
  std::string address = "127.0.0.1:50051";
  // When non-empty, every call carries "authorization: Bearer <api_key>".
  std::string api_key;
  // PEM root certificates. Non-empty enables TLS with these roots.
  std::string tls_root_certs;
  // TLS with the system's root certificates (ignored when tls_root_certs is
  // set).
  bool use_tls = false;
  // Deadline of each unary call (Emit, EmitBatch) and of Subscribe's wait for
  // `ready`. absl::InfiniteDuration() for none. Streams have no deadline.
  absl::Duration default_deadline = absl::Seconds(10);
};

struct EmitOptions {
  // Repeated within the server's window on the same channel: not published
  // again, the reply repeats the first id with duplicate = true. <= 128 bytes.
  std::string idempotency_key;
};

struct EmitResult {
  int64_t receivers = 0;  // Redis subscribers that got it (bridges, not users)
  std::string id;         // server-assigned, 26 chars
  bool duplicate = false;
};

struct Event {
  std::string channel;
  std::string json;  // JSON text, published byte for byte
  std::string idempotency_key;
};

struct EmitStreamResult {
  int64_t published = 0;  // events the server accepted and published
  int64_t receivers = 0;  // sum of Redis receiver counts
};

// An event delivered by Subscribe: `json` is the Redis message byte for byte.
struct ReceivedEvent {
  std::string channel;
  std::string json;
  absl::Time received_at;  // when vent-server read it from Redis
};

namespace internal {
struct Stubs;
}  // namespace internal

// Client-streaming emit for high volume (one call, many events, in order).
// Write() queues the event; a sender thread owned by the stream sends
// whatever is queued (up to kMaxEventsPerMessage events / kMaxBytesPerMessage
// bytes) as one EmitStreamRequest, so events travel in batches while gRPC is
// busy and one by one when the producer is slow (no added latency). Write()
// blocks while the queue is full (gRPC flow control says the server is busy).
// Not thread-safe: one writer.
class EmitStream {
 public:
  static constexpr int kMaxEventsPerMessage = 256;
  static constexpr size_t kMaxBytesPerMessage = 1 << 20;

  ~EmitStream();  // cancels the call if Finish() was not called
  EmitStream(const EmitStream&) = delete;
  EmitStream& operator=(const EmitStream&) = delete;

  // Queues one event. An error means the call is broken (the server ended it,
  // e.g. on an invalid event, or the connection dropped): call Finish() for
  // the server's status. No further Write() is accepted after an error. An
  // invalid event may be reported only by Finish() (it is sent later).
  absl::Status Write(absl::string_view channel, absl::string_view json);
  // Sends what is queued, half-closes and waits for the server's reply, sent
  // once every event was published. Returns the server's status on failure
  // (for an invalid event: INVALID_ARGUMENT saying how many events before it
  // were published).
  absl::StatusOr<EmitStreamResult> Finish();
  // Events accepted by Write() (queued or sent).
  int64_t written() const { return written_; }

 private:
  friend class Client;
  struct Impl;
  explicit EmitStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int64_t written_ = 0;
  bool finished_ = false;
};

// An active Subscribe call. Events are delivered on its own reader thread,
// one at a time, in the order vent-server received them. The call ends on
// Cancel(), on server/transport error, or when the server shuts down; then
// `on_done` runs once (on the reader thread) with the final status
// (CANCELLED after Cancel()); Wait() returns after on_done has returned, so
// on_done must not call Wait(). A Subscribe() that fails never calls on_done.
class Subscription {
 public:
  using EventCallback = std::function<void(const ReceivedEvent&)>;
  using DoneCallback = std::function<void(const absl::Status&)>;

  ~Subscription();  // Cancel() + waits for the reader thread (unless called on
                    // it)
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Ends the call. Idempotent; no callback starts after Cancel() returns
  // unless Cancel() runs on the reader thread itself (then the current
  // callback finishes first).
  void Cancel();
  // Blocks until the call has ended; returns its final status.
  absl::Status Wait();
  // Waits up to `timeout`; returns false if the call is still active.
  bool WaitFor(absl::Duration timeout, absl::Status* status = nullptr);

 private:
  friend class Client;
  struct Impl;
  explicit Subscription(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

class Client {
 public:
  // Creates the channel (lazily connected: an unreachable server shows up as
  // UNAVAILABLE on the first call). InvalidArgument for an empty address.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Publishes one event (json must be valid JSON; the server checks).
  absl::StatusOr<EmitResult> Emit(absl::string_view channel,
                                  absl::string_view json,
                                  const EmitOptions& options = {});
  // Publishes 1..10,000 events in one Redis round trip; results in order.
  // One invalid event refuses the whole batch (nothing published).
  absl::StatusOr<std::vector<EmitResult>> EmitBatch(
      const std::vector<Event>& events);
  // Opens a client-streaming EmitStream call.
  absl::StatusOr<std::unique_ptr<EmitStream>> OpenEmitStream();
  // Subscribes to exact channel names. Returns once the subscription is
  // active in Redis (every event published afterwards is delivered), or an
  // error (server refusal, or DEADLINE_EXCEEDED after default_deadline).
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(
      const std::vector<std::string>& channels,
      Subscription::EventCallback on_event,
      Subscription::DoneCallback on_done = nullptr);

  const ClientOptions& options() const { return options_; }

 private:
  Client(ClientOptions options, std::shared_ptr<internal::Stubs> stubs)
      : options_(std::move(options)), stubs_(std::move(stubs)) {}
  void Prepare(grpc::ClientContext& ctx, bool unary) const;

  ClientOptions options_;
  std::shared_ptr<internal::Stubs> stubs_;
};

}  // namespace vent

#endif  // VENT_CLIENTS_CPP_VENT_CLIENT_H_
