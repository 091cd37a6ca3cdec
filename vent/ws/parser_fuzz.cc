// libFuzzer target: client WebSocket bytes fed to FrameParser in input-chosen
// chunk splits (with permessage-deflate on when the first byte is odd: RSV1
// messages are inflated, never past the 64 KiB limit), the same bytes as a
// SockJS client frame, and every parsed text message re-encoded as a SockJS
// array frame and parsed back (must round-trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "vent/base/utf8.h"
#include "vent/ws/deflate.h"
#include "vent/ws/frame.h"
#include "vent/ws/parser.h"
#include "vent/ws/sockjs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte seeds the chunk sizes; the rest is the stream.
  uint32_t seed = data[0];
  absl::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  vent::ws::FrameParser parser(64 * 1024);
  static vent::ws::Inflater inflater;
  if (seed & 1) parser.EnableDeflate(&inflater);
  std::vector<vent::ws::Message> out;
  bool failed = false;
  for (size_t pos = 0; pos < in.size() && !failed;) {
    seed = seed * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(in.size() - pos, 1 + (seed >> 16) % 64);
    std::optional<vent::ws::ProtocolError> err =
        parser.Feed(in.substr(pos, n), &out);
    if (err) {
      if (err->close_code != 1002 && err->close_code != 1007 &&
          err->close_code != 1009)
        abort();
      failed = true;
    }
    pos += n;
  }
  if (!failed && parser.buffered_bytes() > 64 * 1024 + 256) abort();
  parser.ShrinkToFit();

  for (const vent::ws::Message& m : out) {
    if (m.payload.size() > 64 * 1024) abort();
    if (m.kind == vent::ws::Message::Kind::kText &&
        !vent::IsValidUtf8(m.payload))
      abort();
    if (m.kind == vent::ws::Message::Kind::kText) {
      std::string frame;
      absl::string_view msgs[] = {m.payload};
      vent::ws::AppendArrayFrame(frame, msgs);
      auto back =
          vent::ws::ParseClientFrame(absl::string_view(frame).substr(1));
      if (!back.ok() || back->size() != 1 || (*back)[0] != m.payload) abort();
    }
  }

  (void)vent::ws::ParseClientFrame(in);
  std::string enc;
  absl::string_view one[] = {in};
  vent::ws::AppendArrayFrame(enc, one);
  vent::ws::AppendClose(enc, 1000, in);
  return 0;
}
