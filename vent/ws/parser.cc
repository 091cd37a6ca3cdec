#include "vent/ws/parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "vent/base/utf8.h"
#include "vent/ws/mask.h"

namespace vent::ws {
namespace {

constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kInvalidPayload = 1007;
constexpr uint16_t kTooBig = 1009;

bool IsControl(uint8_t opcode) { return (opcode & 0x8) != 0; }

// Total header size (client frames are always masked) once the first 2 bytes
// are known.
size_t HeaderSize(uint8_t second_byte) {
  const uint8_t len7 = second_byte & 0x7F;
  return 2 + 4 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
}

}  // namespace

FrameParser::FrameParser(size_t max_message_bytes)
    : max_message_bytes_(max_message_bytes) {}

std::optional<ProtocolError> FrameParser::Fail(uint16_t code,
                                               const char* reason) {
  state_ = State::kFailed;
  error_code_ = code;
  error_reason_ = reason;
  return ProtocolError{code, reason};
}

std::optional<ProtocolError> FrameParser::Feed(absl::string_view data,
                                               std::vector<Message>* out) {
  if (state_ == State::kFailed) {
    return ProtocolError{error_code_, error_reason_};
  }
  while (!data.empty()) {
    if (state_ == State::kHeader) {
      const size_t need = header_len_ < 2 ? 2 : HeaderSize(header_[1]);
      const size_t take = std::min(need - header_len_, data.size());
      std::memcpy(header_ + header_len_, data.data(), take);
      header_len_ += static_cast<uint8_t>(take);
      data.remove_prefix(take);
      if (header_len_ < need) continue;
      if (header_len_ == 2) {
        // Reject what the first two bytes already prove wrong, before reading
        // more.
        const uint8_t b0 = header_[0], b1 = header_[1];
        const uint8_t opcode = b0 & 0x0F;
        // RSV1 = compressed: only on the first frame of a data message,
        // and only once permessage-deflate is on.
        const bool rsv1_ok =
            inflater_ != nullptr && (opcode == 1 || opcode == 2);
        if ((b0 & (rsv1_ok ? 0x30 : 0x70)) != 0) {
          return Fail(kProtocolError, "reserved bits set");
        }
        if (opcode > 2 && opcode != 8 && opcode != 9 && opcode != 10) {
          return Fail(kProtocolError, "unknown opcode");
        }
        if ((b1 & 0x80) == 0)
          return Fail(kProtocolError, "client frame not masked");
        if (IsControl(opcode)) {
          if ((b0 & 0x80) == 0)
            return Fail(kProtocolError, "fragmented control frame");
          if ((b1 & 0x7F) > kMaxControlPayload) {
            return Fail(kProtocolError, "control frame too long");
          }
        }
        continue;  // a masked header is always longer than 2 bytes
      }
      if (auto err = StartFrame()) return err;
      if (payload_len_ == 0) {
        if (auto err = FinishFrame(out)) return err;
      }
    } else {
      std::string& dst = IsControl(opcode_) ? control_ : message_;
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(payload_len_ - payload_read_, data.size()));
      const size_t old = dst.size();
      dst.append(data.data(), n);
      UnmaskInPlace(dst.data() + old, n, mask_,
                    static_cast<size_t>(payload_read_));
      payload_read_ += n;
      data.remove_prefix(n);
      if (payload_read_ == payload_len_) {
        if (auto err = FinishFrame(out)) return err;
      }
    }
  }
  return std::nullopt;
}

std::optional<ProtocolError> FrameParser::StartFrame() {
  fin_ = (header_[0] & 0x80) != 0;
  opcode_ = header_[0] & 0x0F;
  const uint8_t len7 = header_[1] & 0x7F;
  size_t pos = 2;
  if (len7 == 126) {
    payload_len_ = (uint64_t{header_[2]} << 8) | header_[3];
    pos = 4;
    if (payload_len_ < 126)
      return Fail(kProtocolError, "non-minimal length encoding");
  } else if (len7 == 127) {
    payload_len_ = 0;
    for (int i = 0; i < 8; ++i)
      payload_len_ = (payload_len_ << 8) | header_[2 + i];
    pos = 10;
    if (payload_len_ >> 63)
      return Fail(kProtocolError, "64-bit length has the MSB set");
    if (payload_len_ <= 0xFFFF)
      return Fail(kProtocolError, "non-minimal length encoding");
  } else {
    payload_len_ = len7;
  }
  std::memcpy(mask_, header_ + pos, 4);
  header_len_ = 0;
  payload_read_ = 0;

  if (IsControl(opcode_)) {
    if (opcode_ == 8 && payload_len_ == 1) {
      return Fail(kProtocolError, "close payload of 1 byte");
    }
    control_.clear();
  } else {
    if (opcode_ == 0 && !message_open_) {
      return Fail(kProtocolError,
                  "continuation frame without a started message");
    }
    if (opcode_ != 0 && message_open_) {
      return Fail(kProtocolError, "new data frame inside a fragmented message");
    }
    if (payload_len_ > max_message_bytes_ - message_.size()) {
      return Fail(kTooBig, "message too big");
    }
    if (opcode_ != 0) {
      message_open_ = true;
      message_is_text_ = opcode_ == 1;
      message_compressed_ = (header_[0] & 0x40) != 0;
    }
  }
  state_ = State::kPayload;
  return std::nullopt;
}

std::optional<ProtocolError> FrameParser::FinishFrame(
    std::vector<Message>* out) {
  state_ = State::kHeader;
  switch (opcode_) {
    case 9:
    case 10:
      out->push_back(
          Message{opcode_ == 9 ? Message::Kind::kPing : Message::Kind::kPong,
                  std::move(control_)});
      control_.clear();
      return std::nullopt;
    case 8: {
      uint16_t code = 0;
      absl::string_view reason;
      if (!control_.empty()) {
        code = static_cast<uint16_t>((static_cast<uint8_t>(control_[0]) << 8) |
                                     static_cast<uint8_t>(control_[1]));
        if (!IsValidCloseCode(code))
          return Fail(kProtocolError, "invalid close code");
        reason = absl::string_view(control_).substr(2);
        if (!IsValidUtf8(reason))
          return Fail(kInvalidPayload, "close reason is not UTF-8");
      }
      out->push_back(Message{Message::Kind::kClose, std::string(reason), code});
      control_.clear();
      return std::nullopt;
    }
    default:
      break;
  }
  if (!fin_) return std::nullopt;
  if (message_compressed_) {
    std::string inflated;
    switch (inflater_->Inflate(message_, max_message_bytes_, &inflated)) {
      case Inflater::Result::kOk:
        break;
      case Inflater::Result::kTooBig:
        return Fail(kTooBig, "message too big");
      case Inflater::Result::kCorrupt:
        return Fail(kInvalidPayload, "invalid compressed data");
    }
    message_.swap(inflated);
  }
  if (message_is_text_ && !IsValidUtf8(message_)) {
    return Fail(kInvalidPayload, "text message is not valid UTF-8");
  }
  out->push_back(
      Message{message_is_text_ ? Message::Kind::kText : Message::Kind::kBinary,
              std::move(message_)});
  message_.clear();
  message_open_ = false;
  message_compressed_ = false;
  return std::nullopt;
}

size_t FrameParser::buffered_bytes() const {
  return (state_ == State::kHeader ? header_len_ : 0) + message_.size() +
         control_.size();
}

void FrameParser::ShrinkToFit() {
  if (message_.empty()) {
    std::string().swap(message_);
  } else {
    message_.shrink_to_fit();
  }
  if (control_.empty()) std::string().swap(control_);
}

}  // namespace vent::ws
