// HistoryReader: how a connection reads a channel's history (the Hub, over a
// Redis command connection; a fake in tests). See docs/history.md.
#ifndef VENT_BRIDGE_HISTORY_READER_H_
#define VENT_BRIDGE_HISTORY_READER_H_

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "vent/redis/history.h"

namespace vent::bridge {

class HistoryReader {
 public:
  virtual ~HistoryReader() = default;
  // The channel's epoch, last and first offsets, and at most `max` entries
  // after offset `after`. `done` runs exactly once, on any thread.
  virtual void Read(
      const std::string& channel, int64_t after, int64_t max,
      absl::AnyInvocable<void(absl::StatusOr<redis::HistoryState>) &&>
          done) = 0;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_HISTORY_READER_H_
