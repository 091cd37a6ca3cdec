#include "vent/event/event_id.h"

#include <cstdint>
#include <random>

namespace vent::event {

std::string NewEventId(absl::Time now) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now)) &
                ((uint64_t{1} << 48) - 1);
  uint64_t r1 = rng();  // 64 random bits
  uint64_t r2 = rng();  // 16 more used
  std::string id(kEventIdLength, '0');
  // 10 chars of time (50 bits, top 2 zero).
  for (int i = 9; i >= 0; --i) {
    id[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  // 16 chars of randomness (80 bits): 12 from r1 (60 bits), 4 from r2 (20
  // bits).
  for (int i = 0; i < 12; ++i) id[10 + i] = kAlphabet[(r1 >> (5 * i)) & 31];
  for (int i = 0; i < 4; ++i) id[22 + i] = kAlphabet[(r2 >> (5 * i)) & 31];
  return id;
}

}  // namespace vent::event
