#include "vent/base/utf8.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace vent {

bool IsValidUtf8(absl::string_view s, size_t* bad_offset) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* const begin = p;
  const unsigned char* const end = p + s.size();
  auto fail = [&] {
    if (bad_offset != nullptr) *bad_offset = static_cast<size_t>(p - begin);
    return false;
  };
  while (p < end) {
    if (end - p >= 8) {
      // ASCII fast path: skip whole 16/8-byte words with no high bit set, then
      // jump straight to the first non-ASCII byte of the word.
      uint64_t a, b;
      while (end - p >= 16) {
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + 8, 8);
        if (((a | b) & kHigh) != 0) break;
        p += 16;
      }
      if (end - p < 8) continue;
      std::memcpy(&a, p, 8);
      const uint64_t high = a & kHigh;
      if (high == 0) {
        p += 8;
        continue;
      }
      if constexpr (std::endian::native == std::endian::little) {
        p += std::countr_zero(high) / 8;
      } else {
        p += std::countl_zero(high) / 8;
      }
    } else if (*p < 0x80) {
      ++p;
      continue;
    }
    // *p starts a multi-byte sequence: the lead byte decides the length and the
    // range of the 2nd byte.
    const unsigned char c = *p;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
    } else {
      return fail();  // 0x80-0xC1 (continuation / overlong 2-byte lead) or
                      // 0xF5-0xFF
    }
    if (static_cast<size_t>(end - p) < len) return fail();  // truncated
    if (p[1] < lo || p[1] > hi) return fail();
    for (size_t i = 2; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return fail();
    }
    p += len;
  }
  return true;
}

size_t Utf8PrefixLength(absl::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s.size();
  size_t n = max_bytes;
  // s[n] is the first byte cut off; back up while it is a continuation byte.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace vent
