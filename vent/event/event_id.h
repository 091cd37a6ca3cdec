// Event ids: 26 characters of Crockford base32 (ULID layout): 48 bits of Unix
// milliseconds, then 80 random bits. Ids sort by time at millisecond
// resolution; within a millisecond their order is random.
//
// Thread-safe (a per-thread random generator).
#ifndef VENT_EVENT_EVENT_ID_H_
#define VENT_EVENT_EVENT_ID_H_

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vent::event {

inline constexpr size_t kEventIdLength = 26;

std::string NewEventId(absl::Time now);
inline std::string NewEventId() { return NewEventId(absl::Now()); }

}  // namespace vent::event

#endif  // VENT_EVENT_EVENT_ID_H_
