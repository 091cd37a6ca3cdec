// History on Redis for publications that declare `history:` (docs/history.md):
// the one place that names the keys, holds the Lua scripts and encodes the
// message a history publish sends over pub/sub.
//
// Per channel C (T = C's Redis Cluster hash tag, or C itself):
//   vent:{T}:m:C  a hash {ep: epoch, n: last offset}
//   vent:{T}:h:C  a stream of the last `size` events; entry id "<offset>-0",
//                 field "d" = the event JSON
// Both expire `ttl` after the last publish. The {T} hash tag puts both keys
// in C's slot, so one script can touch them and (S)PUBLISH C on a Cluster.
// A channel with braces but no valid hash tag (e.g. "a}b", "x{}y") cannot be
// given one: HistoryKeysFor refuses it.
//
// Offsets are 1, 2, 3... within an epoch. An epoch is chosen when the hash
// does not exist (first publish, or the keys were lost: expiry, eviction, a
// Redis restart without persistence): Redis' TIME as 15 hex digits then 6
// random characters, so a channel's epochs sort in the order they were
// created ("" — no history — sorts first); a new epoch discards the stream.
// So "same epoch and my offset + 1 >= the first offset still kept" means
// nothing was lost, and (epoch, offset) pairs order a channel's events.
//
// The pub/sub message of a history publish wraps the event:
//   {"__vent_h":"<epoch>:<offset>","e":<event JSON>}
// Readers (vent-bridge, vent-server's Subscribe) unwrap it with
// ParseEnvelope; an event published by a raw PUBLISH is not wrapped and has
// no offset (delivered live, not recoverable).
#ifndef VENT_REDIS_HISTORY_H_
#define VENT_REDIS_HISTORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "vent/redis/resp.h"

namespace vent::redis {

// What a channel keeps (from the publications' config).
struct HistorySpec {
  int64_t size = 0;
  absl::Duration ttl;
};

struct HistoryKeys {
  std::string meta;    // vent:{T}:m:C
  std::string stream;  // vent:{T}:h:C
};

// InvalidArgument for a channel with braces but no usable hash tag.
absl::StatusOr<HistoryKeys> HistoryKeysFor(absl::string_view channel);

// The longest epoch an envelope may carry (ours have 21 characters).
inline constexpr size_t kMaxEpochSize = 40;

// The random suffix of a new epoch (6 characters of [0-9A-Za-z]).
std::string NewEpoch();

// True when position (epoch_a, offset_a) comes before (epoch_b, offset_b)
// on one channel: an older epoch, or the same epoch and a smaller offset.
bool PositionBefore(absl::string_view epoch_a, int64_t offset_a,
                    absl::string_view epoch_b, int64_t offset_b);

// Appends EVAL of the publish script: it assigns the next offset (starting a
// new epoch with `epoch_candidate` when the keys are gone), XADDs the event
// (trimmed to spec.size), refreshes both TTLs and (S)PUBLISHes the envelope
// on `channel`, all atomically. Reply: [offset, epoch, receivers].
// REQUIRES: HistoryKeysFor(channel) succeeded (`keys`).
void AppendHistoryPublish(std::string& out, absl::string_view channel,
                          const HistoryKeys& keys, absl::string_view event,
                          const HistorySpec& spec, bool sharded,
                          absl::string_view epoch_candidate);

struct HistoryPublishReply {
  int64_t offset = 0;
  std::string epoch;
  int64_t receivers = 0;
};
absl::StatusOr<HistoryPublishReply> ParseHistoryPublishReply(
    const redisReply& reply);

// The read script: the channel's epoch and last offset, the first offset
// still kept, and up to `max` entries after `after` (exclusive).
// `create_ttl` > 0: a channel without history is given its epoch now (offset
// 0, no entries, expiring after `create_ttl` like a publish's keys), so a
// reader's position always names an epoch and an epoch that comes and goes
// later is seen as a change; `epoch_suffix` as for a publish (NewEpoch()).
std::vector<std::string> HistoryReadCommand(
    const HistoryKeys& keys, int64_t after, int64_t max,
    absl::Duration create_ttl = absl::ZeroDuration(),
    absl::string_view epoch_suffix = "");

struct HistoryEntry {
  int64_t offset = 0;
  std::string event;  // JSON text as emitted
};
struct HistoryState {
  bool exists = false;  // false: no history (never published, or lost)
  std::string epoch;
  int64_t last = 0;   // last offset assigned
  int64_t first = 0;  // first offset still in the stream (0: stream empty)
  std::vector<HistoryEntry> entries;  // after the asked offset, in order
};
absl::StatusOr<HistoryState> ParseHistoryReadReply(const redisReply& reply);

// A history publish's pub/sub message.
struct Envelope {
  absl::string_view epoch;
  int64_t offset = 0;
  absl::string_view event;
};
// The envelope of `message`, or nullopt when it is not one (a raw publish).
std::optional<Envelope> ParseEnvelope(absl::string_view message);
// Builds an envelope (what the publish script sends; tests and tools).
std::string MakeEnvelope(absl::string_view epoch, int64_t offset,
                         absl::string_view event);

}  // namespace vent::redis

#endif  // VENT_REDIS_HISTORY_H_
