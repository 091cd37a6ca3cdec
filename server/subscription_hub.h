// Fans Redis messages out to Subscribe calls.
//
// The hub lives on the io thread that owns the ChannelSource (the Redis
// Subscriber): every Listener callback runs there, and Subscribe/Unsubscribe
// on the source are called only there. Add and Remove are thread-safe (they
// post to the io thread).
//
// A listener gets OnReady once Redis acknowledged every channel of its Add,
// OnEvent for each message on its channels (possibly before OnReady, for
// channels already acknowledged), OnHistory for each ReadHistory it asked
// for, and at most one OnClosed when the hub drops it (Redis down, subscribe
// refused, hub stopped); after OnClosed no more calls.
//
// History channels (HistorySource::SizeOf > 0, docs/history.md): their
// messages are history envelopes; the hub unwraps them once, so listeners
// get the event with its position (SharedEvent::offset, epoch). A message
// that is not an envelope (a raw PUBLISH) is delivered as it is, without a
// position.
//
// Ownership: the hub never owns listeners. A listener must stay alive until
// the `removed` callback of its Remove has run (that is where it may delete
// itself); the hub makes no call to it after that.
#ifndef VENT_SERVER_SUBSCRIPTION_HUB_H_
#define VENT_SERVER_SUBSCRIPTION_HUB_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/sinks.h"
#include "server/subscribe_event.h"
#include "server/subscribe_queue.h"

namespace vent::server {

class SubscriptionHub {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnReady() = 0;
    // `e` is shared by every listener on the channel (encoded once).
    virtual void OnEvent(const std::shared_ptr<const SharedEvent>& e) = 0;
    virtual void OnClosed(absl::Status why) = 0;
    // The answer to ReadHistory(this, index, ...).
    virtual void OnHistory(size_t index,
                           absl::StatusOr<redis::HistoryState> state) = 0;
    // What this listener holds (queued or being written) and since when it
    // made no progress (InfiniteFuture: holds nothing); thread-safe.
    struct Backlog {
      int64_t bytes = 0;
      absl::Time since = absl::InfiniteFuture();
    };
    virtual Backlog backlog() = 0;
  };

  explicit SubscriptionHub(boost::asio::io_context& io);
  SubscriptionHub(const SubscriptionHub&) = delete;
  SubscriptionHub& operator=(const SubscriptionHub&) = delete;

  // Call once before any Add (the source usually needs the hub's callbacks).
  void SetSource(ChannelSource* source) { source_ = source; }
  // Optional, before any Add: after each fan-out that leaves `budget` over
  // its limit, the listeners furthest behind (most bytes held; among equals
  // the one stalled the longest) are closed (RESOURCE_EXHAUSTED) until it is
  // not.
  void SetBudget(const SubscribeBudget* budget) { budget_ = budget; }
  // Optional, before any Add: which channels keep history and how to read
  // it. Without one no channel has history.
  void SetHistory(HistorySource* history) { history_ = history; }
  // Thread-safe: `channel`'s history size (0: none).
  int64_t HistorySizeOf(const std::string& channel) const {
    return history_ == nullptr ? 0 : history_->SizeOf(channel);
  }
  // io thread: reads `channel`'s history for `listener` (see HistorySource);
  // the answer comes as listener->OnHistory(index, ...) unless the listener
  // was dropped or removed meanwhile (then it is ignored).
  void ReadHistory(Listener* listener, size_t index, const std::string& channel,
                   int64_t after, int64_t max);

  // Thread-safe. `channels` must be valid and non-empty; duplicates are merged.
  void Add(Listener* listener, std::vector<std::string> channels);
  // Thread-safe. Drops the listener (if still there), then runs `removed` on
  // the io thread.
  void Remove(Listener* listener, absl::AnyInvocable<void() &&> removed);

  // io thread: the source's message and connection-state callbacks.
  void OnMessage(const std::string& channel,
                 std::shared_ptr<const std::string> payload);
  void OnState(bool up);
  // io thread: closes every listener with `why`.
  void CloseAll(absl::Status why);
  // io thread: CloseAll(why), and every later Add is closed with `why` too
  // (shutdown).
  void Shutdown(absl::Status why);

  // io thread.
  size_t listener_count() const { return listeners_.size(); }

 private:
  struct Entry {
    Listener* listener;
    std::vector<std::string> channels;
    size_t acked = 0;
  };
  void DoAdd(Listener* listener, std::vector<std::string> channels);
  void OnAck(uint64_t id, absl::Status s);
  void EvictSlowest();
  void OnHistoryRead(uint64_t id, size_t index,
                     absl::StatusOr<redis::HistoryState> state);
  // Unsubscribes and forgets `id`; calls OnClosed(why) when why is not OK.
  void Drop(uint64_t id, absl::Status why);

  boost::asio::io_context& io_;
  ChannelSource* source_ = nullptr;
  const SubscribeBudget* budget_ = nullptr;
  HistorySource* history_ = nullptr;
  absl::Status shutdown_;  // io thread; not OK after Shutdown
  // All below: io thread only.
  uint64_t next_id_ = 1;
  absl::flat_hash_map<uint64_t, Entry> listeners_;
  absl::flat_hash_map<Listener*, uint64_t> ids_;
  struct ChannelEntry {
    absl::flat_hash_set<uint64_t> ids;
    bool history = false;  // its messages are history envelopes
  };
  absl::flat_hash_map<std::string, ChannelEntry> by_channel_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_SUBSCRIPTION_HUB_H_
