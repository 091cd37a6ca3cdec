// The history side of one Subscribe call (docs/history.md): which of its
// channels keep history, the positions it resumes from (`since`), the live
// events captured while the histories are read, the replay, and afterwards
// the last position delivered per channel.
//
// Order of use (the reactor, under its mutex):
//   1. Reads(): the history reads to issue once Redis acknowledged every
//      channel (live first, so no event falls between the read and the live
//      stream);
//   2. Capture(e) for every live event until the reads are answered;
//      OnRead(i, state) for each answer;
//   3. when done(): Finish() gives the ready message's starts and the events
//      to send before any later live one: the replay (after each
//      recovered channel's position, in offset order), then the captured
//      events not already covered;
//   4. Admit(e) for every later live event: false for an event at or
//      before the last position sent on its channel (a duplicate: the read
//      already had it; or a stale one of a lost epoch).
// Guarantee: on a channel with history, the events delivered after ready
// are exactly those after its start position, each once, in (epoch, offset)
// order; events published by a raw PUBLISH (no position) are delivered as
// they come.
//
// No I/O; not thread-safe.
#ifndef VENT_SERVER_SUBSCRIBE_HISTORY_H_
#define VENT_SERVER_SUBSCRIBE_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/subscribe_event.h"
#include "vent/redis/history.h"

namespace vent::server {

class SubscribeHistory {
 public:
  struct Position {
    int64_t offset = 0;
    std::string epoch;
  };
  struct Channel {
    std::string name;
    int64_t size = 0;  // the history's size; 0: the channel keeps none
    std::optional<Position> since;
  };
  struct Limits {
    size_t max_events = 1024;     // captured while reading
    int64_t max_bytes = 4 << 20;  // captured while reading
  };
  // Read `channel`'s history after `after` (exclusive), at most `max`
  // entries (after = INT64_MAX: only its state).
  struct Read {
    size_t index = 0;  // into channels()
    std::string channel;
    int64_t after = 0;
    int64_t max = 0;
  };
  // Where the call starts on a channel (SubscribeResponse.starts).
  struct Start {
    std::string channel;
    Position position;
    bool recovered = false;
    std::string reason;  // see vent.proto ChannelStart.reason
  };
  struct Finished {
    std::vector<Start> starts;
    std::vector<std::shared_ptr<const SharedEvent>> replay;    // from Redis
    std::vector<std::shared_ptr<const SharedEvent>> captured;  // then these
    int64_t recovered = 0;      // channels with a position, recovered
    int64_t not_recovered = 0;  // channels with a position, not recovered
  };

  // `channels`: the call's channels, duplicates merged, in request order.
  // Only channels with history or a position matter; the others are ignored.
  SubscribeHistory(std::vector<Channel> channels, Limits limits);

  // True when the call needs this at all: a channel keeps history or has a
  // position.
  bool needed() const { return !channels_.empty(); }
  const std::vector<Channel>& channels() const { return channels_; }

  // Step 1. May be empty (positions only on channels without history).
  std::vector<Read> Reads() const;
  // Step 2. RESOURCE_EXHAUSTED when more than `limits` arrived while reading.
  absl::Status Capture(std::shared_ptr<const SharedEvent> e);
  void OnRead(size_t index, absl::StatusOr<redis::HistoryState> state);
  bool done() const { return pending_ == 0; }
  bool finished() const { return finished_; }
  // Step 3, once, when done(): UNAVAILABLE when a read failed.
  absl::StatusOr<Finished> Finish(absl::Time now);
  // Step 4.
  bool Admit(const SharedEvent& e);

 private:
  std::vector<Channel> channels_;
  const Limits limits_;
  std::vector<std::optional<absl::StatusOr<redis::HistoryState>>> reads_;
  size_t pending_ = 0;
  bool finished_ = false;
  std::vector<std::shared_ptr<const SharedEvent>> captured_;
  int64_t captured_bytes_ = 0;
  // After Finish: the last position sent per history channel.
  absl::flat_hash_map<std::string, Position> sent_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_SUBSCRIBE_HISTORY_H_
