#include "vent/ws/frame.h"

#include "vent/base/utf8.h"

namespace vent::ws {

void AppendFrameHeader(std::string& out, Opcode op, size_t payload_size,
                       bool compressed) {
  char h[kMaxServerHeaderSize];
  size_t n = 2;
  h[0] = static_cast<char>(0x80 | (compressed ? 0x40 : 0) |
                           static_cast<uint8_t>(op));
  if (payload_size < 126) {
    h[1] = static_cast<char>(payload_size);
  } else if (payload_size <= 0xFFFF) {
    h[1] = 126;
    h[2] = static_cast<char>(payload_size >> 8);
    h[3] = static_cast<char>(payload_size);
    n = 4;
  } else {
    h[1] = 127;
    const uint64_t len = payload_size;
    for (int i = 0; i < 8; ++i)
      h[2 + i] = static_cast<char>(len >> (56 - 8 * i));
    n = 10;
  }
  out.append(h, n);
}

void AppendFrame(std::string& out, Opcode op, absl::string_view payload) {
  AppendFrameHeader(out, op, payload.size());
  out.append(payload.data(), payload.size());
}

void AppendTextFrameParts(std::string& out,
                          std::initializer_list<absl::string_view> parts) {
  size_t total = 0;
  for (absl::string_view p : parts) total += p.size();
  out.reserve(out.size() + kMaxServerHeaderSize + total);
  AppendFrameHeader(out, Opcode::kText, total);
  for (absl::string_view p : parts) out.append(p.data(), p.size());
}

void AppendClose(std::string& out, uint16_t code, absl::string_view reason) {
  if (code == 0) {
    AppendFrameHeader(out, Opcode::kClose, 0);
    return;
  }
  const size_t reason_len = Utf8PrefixLength(reason, kMaxControlPayload - 2);
  AppendFrameHeader(out, Opcode::kClose, 2 + reason_len);
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.data(), reason_len);
}

bool IsValidCloseCode(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

}  // namespace vent::ws
