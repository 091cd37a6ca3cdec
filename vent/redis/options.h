// Connection options shared by Publisher and Subscriber. Plain value type.
#ifndef VENT_REDIS_OPTIONS_H_
#define VENT_REDIS_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "vent/redis/url.h"

namespace vent::redis {

struct Options {
  Endpoint endpoint;
  // Resolve + TCP connect + AUTH/SELECT/CLIENT SETNAME must finish within this.
  absl::Duration connect_timeout = absl::Seconds(2);
  // A reply not back in time: the connection is considered broken and dropped.
  absl::Duration command_timeout = absl::Seconds(5);
  // Exponential backoff with jitter between reconnect attempts.
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
  // Publisher: queued + in-flight commands; over it Publish fails fast with
  // RESOURCE_EXHAUSTED.
  size_t max_pending = 100000;
  // CLIENT SETNAME after connecting (optional; must not contain spaces).
  std::string client_name;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_OPTIONS_H_
