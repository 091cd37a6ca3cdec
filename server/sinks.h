// The two seams between the gRPC service and Redis, so the service can be
// tested with fakes. Production implementations wrap vent::redis::Publisher
// and vent::redis::Subscriber (redis_sinks.h).
#ifndef VENT_SERVER_SINKS_H_
#define VENT_SERVER_SINKS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vent/redis/history.h"

namespace vent::server {

// Where Emit* publishes. Thread-safe; Publish never blocks and calls `done`
// exactly once (on any thread, possibly before Publish returns) with
// OK(receivers) or an error (UNAVAILABLE, RESOURCE_EXHAUSTED,
// DEADLINE_EXCEEDED...).
class EventSink {
 public:
  using Callback =
      absl::AnyInvocable<void(absl::StatusOr<int64_t> receivers) &&>;
  virtual ~EventSink() = default;
  virtual void Publish(std::string channel, std::string message,
                       Callback done) = 0;
  virtual bool connected() const = 0;

  struct Message {
    std::string channel;
    std::string message;
  };
  using BatchCallback =
      absl::AnyInvocable<void(std::vector<absl::StatusOr<int64_t>> results) &&>;
  // Publishes `messages` in order with nothing interleaved and calls `done`
  // once with one result per message (on any thread, possibly inline). The
  // default forwards to Publish one by one; the Redis sink sends the batch as
  // one pipelined write with a single completion.
  virtual void PublishBatch(std::vector<Message> messages, BatchCallback done) {
    struct State {
      std::vector<absl::StatusOr<int64_t>> results;
      std::atomic<size_t> remaining;
      BatchCallback done;
    };
    if (messages.empty()) {
      std::move(done)({});
      return;
    }
    auto state = std::make_shared<State>();
    state->results.resize(messages.size());
    state->remaining.store(messages.size());
    state->done = std::move(done);
    for (size_t i = 0; i < messages.size(); ++i) {
      Publish(
          std::move(messages[i].channel), std::move(messages[i].message),
          [state, i](absl::StatusOr<int64_t> r) {
            state->results[i] = std::move(r);
            // Completions may come from several threads.
            if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
              std::move(state->done)(std::move(state->results));
            }
          });
    }
  }
};

// What Subscribe listens to. NOT thread-safe: every method runs on the one
// thread that owns the source (the hub's io thread). Subscribe/Unsubscribe are
// refcounted per channel; `on_ack` runs once, after Redis confirmed (OK) or
// with the error that prevented it.
class ChannelSource {
 public:
  virtual ~ChannelSource() = default;
  virtual void Subscribe(const std::string& channel,
                         absl::AnyInvocable<void(absl::Status) &&> on_ack) = 0;
  virtual void Unsubscribe(const std::string& channel) = 0;
  virtual bool connected() const = 0;
};

// Channels' history (docs/history.md) for Subscribe's recovery. Thread-safe.
class HistorySource {
 public:
  using ReadCallback =
      absl::AnyInvocable<void(absl::StatusOr<redis::HistoryState>) &&>;
  virtual ~HistorySource() = default;
  // The history size of `channel` (how many events it keeps), 0 when it
  // keeps none.
  virtual int64_t SizeOf(const std::string& channel) const = 0;
  // `channel`'s epoch, last and first offsets and at most `max` entries
  // after offset `after`. `done` runs exactly once, on the hub's io thread
  // (possibly inline).
  virtual void Read(const std::string& channel, int64_t after, int64_t max,
                    ReadCallback done) = 0;
};

}  // namespace vent::server

#endif  // VENT_SERVER_SINKS_H_
