// XOR (un)masking of WebSocket payloads (RFC 6455 5.3), word-at-a-time.
//
// Thread-safe (pure function).
#ifndef VENT_WS_MASK_H_
#define VENT_WS_MASK_H_

#include <cstddef>
#include <cstdint>

namespace vent::ws {

// XORs `n` bytes at `data` in place with the 4-byte `key` (bytes in wire
// order), starting at key position `offset % 4` (the number of payload bytes
// already unmasked).
void UnmaskInPlace(char* data, size_t n, const uint8_t key[4], size_t offset);

}  // namespace vent::ws

#endif  // VENT_WS_MASK_H_
