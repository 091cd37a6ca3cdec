// Memory bounds of Subscribe calls.
//
// SubscribeBudget: process-wide — how many Subscribe calls may be open
// (--max-subscribers) and how many bytes all of them hold queued or being
// written (--subscribe-memory). Thread-safe (atomics). Charging never fails;
// when a fan-out leaves the total over the limit, the SubscriptionHub ends
// the calls furthest behind (most bytes held) until it is under again. A
// reader that keeps up holds less than the average share at that moment, so
// it is not the one ended for other calls' backlog.
//
// SubscribeQueue: one call's events waiting to be written plus the one being
// written, bounded per call in events (--subscribe-queue) and bytes
// (--subscribe-queue-bytes) and charged to the budget. Events are shared
// (SharedEvent), so a call is charged for bytes it holds a reference to: the
// sum over calls bounds the real memory from above. Push refuses an event —
// the call must end RESOURCE_EXHAUSTED — when the call already holds
// something and its own limit would be passed; a call holding nothing always
// takes the event (one event larger than the byte limit still goes through).
// A history replay (PushReplay, docs/history.md) is exempt from the call's
// limits — it is bounded by the history's size — but charged to the budget;
// it is queued before any live event, and live events behind it are held to
// the limits as if it were not there.
//
// SubscribeQueue is NOT thread-safe (the reactor's mutex guards it); no I/O.
#ifndef VENT_SERVER_SUBSCRIBE_QUEUE_H_
#define VENT_SERVER_SUBSCRIBE_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/subscribe_event.h"
#include "vent/base/check.h"

namespace vent::server {

class SubscribeBudget {
 public:
  SubscribeBudget(size_t max_calls, int64_t max_bytes)
      : max_calls_(max_calls), max_bytes_(max_bytes) {}

  // Counts a new call: RESOURCE_EXHAUSTED when max_calls are open.
  absl::Status AddCall();
  // Once per successful AddCall.
  void RemoveCall() {
    const size_t before = calls_.fetch_sub(1, std::memory_order_relaxed);
    VENT_DCHECK(before > 0);
  }

  void Charge(int64_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  // Gives back bytes charged before (never more than the total).
  void Release(int64_t n) {
    const int64_t before = bytes_.fetch_sub(n, std::memory_order_relaxed);
    VENT_DCHECK(n >= 0 && before >= n);
  }
  bool over() const { return bytes() > max_bytes_; }

  size_t calls() const { return calls_.load(std::memory_order_relaxed); }
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  size_t max_calls() const { return max_calls_; }
  int64_t max_bytes() const { return max_bytes_; }

 private:
  const size_t max_calls_;
  const int64_t max_bytes_;
  std::atomic<size_t> calls_{0};
  std::atomic<int64_t> bytes_{0};
};

class SubscribeQueue {
 public:
  struct Limits {
    size_t max_events = 1024;     // queued, besides the one being written
    int64_t max_bytes = 4 << 20;  // queued + being written
  };
  SubscribeQueue(Limits limits, SubscribeBudget* budget)
      : limits_(limits), budget_(budget) {}
  ~SubscribeQueue() { Clear(); }
  SubscribeQueue(const SubscribeQueue&) = delete;
  SubscribeQueue& operator=(const SubscribeQueue&) = delete;

  // Queues `e`, or RESOURCE_EXHAUSTED naming the limit it would pass.
  // `now` starts stalled_since() when the call held nothing.
  absl::Status Push(std::shared_ptr<const SharedEvent> e,
                    absl::Time now = absl::Now());
  // Queues a replayed event. REQUIRES: no live event was pushed yet.
  void PushReplay(std::shared_ptr<const SharedEvent> e,
                  absl::Time now = absl::Now());
  // Moves the next event to "being written" and returns it; null when
  // nothing is queued or a write is already in flight.
  std::shared_ptr<const SharedEvent> StartWrite();
  // The write finished: releases its bytes (progress at `now`).
  void WriteDone(absl::Time now = absl::Now());
  // Releases everything (the call ended).
  void Clear();

  size_t queued() const { return queue_.size(); }
  int64_t held_bytes() const { return held_; }
  bool writing() const { return writing_ != nullptr; }
  // Since when the call holds something without completing a write: its
  // last write completion, or when it got its first event after holding
  // nothing (InfiniteFuture when it holds nothing).
  absl::Time stalled_since() const {
    return held_ > 0 ? last_progress_ : absl::InfiniteFuture();
  }

 private:
  const Limits limits_;
  SubscribeBudget* const budget_;
  std::deque<std::shared_ptr<const SharedEvent>> queue_;
  std::shared_ptr<const SharedEvent> writing_;
  int64_t held_ = 0;  // bytes of queue_ + writing_, charged to budget_
  // The replay: the first replay_queued_ events of queue_ (and writing_ when
  // writing_replay_), replay_held_ bytes of held_.
  size_t replay_queued_ = 0;
  bool writing_replay_ = false;
  int64_t replay_held_ = 0;
  absl::Time last_progress_ = absl::InfinitePast();
};

}  // namespace vent::server

#endif  // VENT_SERVER_SUBSCRIBE_QUEUE_H_
