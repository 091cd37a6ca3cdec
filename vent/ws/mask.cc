#include "vent/ws/mask.h"

#include <cstring>

namespace vent::ws {

void UnmaskInPlace(char* data, size_t n, const uint8_t key[4], size_t offset) {
  // Rotate the key so that rotated[0] applies to data[0].
  uint8_t rotated[8];
  for (int i = 0; i < 8; ++i) rotated[i] = key[(offset + i) & 3];
  uint64_t k;
  std::memcpy(&k, rotated, 8);
  size_t i = 0;
  // Four words per iteration; the compiler turns this into SIMD at -O2/-O3.
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, data + i, 32);
    w[0] ^= k;
    w[1] ^= k;
    w[2] ^= k;
    w[3] ^= k;
    std::memcpy(data + i, w, 32);
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    w ^= k;
    std::memcpy(data + i, &w, 8);
  }
  for (; i < n; ++i) data[i] = static_cast<char>(data[i] ^ rotated[i & 7]);
}

}  // namespace vent::ws
