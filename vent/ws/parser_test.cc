#include "vent/ws/parser.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vent/ws/frame.h"

namespace vent::ws {
namespace {

using Kind = Message::Kind;

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};

// Independent, byte-at-a-time client masker. len_bytes forces the length
// encoding (0: 7-bit, 2: 16-bit, 8: 64-bit; -1: minimal).
std::string ClientFrame(uint8_t b0, absl::string_view payload,
                        int len_bytes = -1, bool masked = true) {
  std::string f(1, static_cast<char>(b0));
  const uint64_t n = payload.size();
  if (len_bytes < 0) len_bytes = n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;
  const char m = masked ? '\x80' : 0;
  if (len_bytes == 0) {
    f.push_back(static_cast<char>(m | n));
  } else {
    f.push_back(static_cast<char>(m | (len_bytes == 2 ? 126 : 127)));
    for (int i = len_bytes - 1; i >= 0; --i)
      f.push_back(static_cast<char>(n >> (8 * i)));
  }
  if (!masked) return f.append(payload.data(), payload.size());
  f.append(reinterpret_cast<const char*>(kKey), 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ kKey[i % 4]));
  return f;
}

std::string Close(uint16_t code, absl::string_view reason) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  return ClientFrame(kFin | 8, p.append(reason.data(), reason.size()));
}

// Turns a stream of server frames (unmasked, as frame.h writes them) into
// client frames.
std::string MaskServerFrames(absl::string_view in) {
  std::string out;
  while (!in.empty()) {
    const uint8_t b0 = in[0], len7 = in[1] & 0x7F;
    size_t pos = 2;
    uint64_t n = len7;
    if (len7 >= 126) {
      const int bytes = len7 == 126 ? 2 : 8;
      n = 0;
      for (int i = 0; i < bytes; ++i)
        n = (n << 8) | static_cast<uint8_t>(in[2 + i]);
      pos += bytes;
    }
    out += ClientFrame(b0, in.substr(pos, n));
    in.remove_prefix(pos + n);
  }
  return out;
}

struct Result {
  std::vector<Message> messages;
  std::optional<ProtocolError> error;
};

Result FeedAll(absl::string_view bytes, size_t max = 1 << 20) {
  FrameParser p(max);
  Result r;
  r.error = p.Feed(bytes, &r.messages);
  return r;
}

uint16_t ErrorCode(absl::string_view bytes, size_t max = 1 << 20) {
  Result r = FeedAll(bytes, max);
  return r.error ? r.error->close_code : 0;
}

TEST(FrameParserTest, Rfc6455MaskedHello) {
  const std::string frame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  Result r = FeedAll(frame);
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].kind, Kind::kText);
  EXPECT_EQ(r.messages[0].payload, "Hello");
}

TEST(FrameParserTest, OneByteAtATime) {
  const std::string bytes = ClientFrame(kFin | 1, "Hello, world! 0123456789") +
                            ClientFrame(kFin | 2, std::string(300, 'b')) +
                            ClientFrame(kFin | 1, "");
  FrameParser p(1024);
  std::vector<Message> out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_FALSE(p.Feed(bytes.substr(i, 1), &out)) << i;
    if (i == 3) {
      EXPECT_EQ(p.buffered_bytes(), 4u);  // partial header
    }
    if (i == 9) {
      EXPECT_EQ(p.buffered_bytes(), 4u);  // 6-byte header done, 4 payload bytes
    }
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, "Hello, world! 0123456789");
  EXPECT_EQ(out[1].kind, Kind::kBinary);
  EXPECT_EQ(out[1].payload, std::string(300, 'b'));
  EXPECT_EQ(out[2].kind, Kind::kText);
  EXPECT_EQ(out[2].payload, "");
  EXPECT_EQ(p.buffered_bytes(), 0u);
}

TEST(FrameParserTest, FragmentedMessageWithInterleavedPing) {
  const std::string bytes =
      ClientFrame(1, "Hel") + ClientFrame(kFin | 9, "pi") +
      ClientFrame(0, "l") + ClientFrame(kFin | 10, "") +
      ClientFrame(kFin | 0, "o \xE2\x82") + ClientFrame(kFin | 1, "x");
  Result bad = FeedAll(bytes);
  ASSERT_TRUE(bad.error);  // "o \xE2\x82" leaves a truncated char -> 1007
  EXPECT_EQ(bad.error->close_code, 1007);
  ASSERT_EQ(bad.messages.size(),
            2u);  // ping and pong arrived before the bad message

  const std::string good = ClientFrame(1, "Hel") + ClientFrame(kFin | 9, "pi") +
                           ClientFrame(0, "l\xE2") +
                           ClientFrame(kFin | 10, "") +
                           ClientFrame(kFin | 0, "\x82\xACo");
  Result r = FeedAll(good);
  ASSERT_FALSE(r.error) << r.error->reason;
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].kind, Kind::kPing);
  EXPECT_EQ(r.messages[0].payload, "pi");
  EXPECT_EQ(r.messages[1].kind, Kind::kPong);
  EXPECT_EQ(r.messages[2].kind, Kind::kText);
  EXPECT_EQ(r.messages[2].payload, "Hell\xE2\x82\xACo");
}

TEST(FrameParserTest, ProtocolErrors1002) {
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 0x40 | 1, "x")), 1002);  // RSV1
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 0x20 | 1, "x")), 1002);  // RSV2
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 0x10 | 1, "x")), 1002);  // RSV3
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    EXPECT_EQ(ErrorCode(ClientFrame(kFin | op, "")), 1002) << int{op};
  }
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "x", -1, /*masked=*/false)), 1002);
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 9, std::string(126, 'p'))),
            1002);  // control > 125
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 9, std::string(125, 'p'))), 0);
  EXPECT_EQ(ErrorCode(ClientFrame(9, "p")), 1002);  // fragmented ping
  EXPECT_EQ(ErrorCode(ClientFrame(8, "")), 1002);   // fragmented close
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 0, "x")),
            1002);  // continuation without start
  EXPECT_EQ(ErrorCode(ClientFrame(0, "x")), 1002);
  EXPECT_EQ(ErrorCode(ClientFrame(1, "a") + ClientFrame(kFin | 1, "b")),
            1002);  // new data
  EXPECT_EQ(ErrorCode(ClientFrame(2, "a") + ClientFrame(2, "b")), 1002);
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 8, "\x03")),
            1002);  // close payload of 1 byte
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "abc", 2)),
            1002);  // non-minimal 16-bit
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "abc", 8)),
            1002);  // non-minimal 64-bit
}

TEST(FrameParserTest, SixtyFourBitLengthWithMsbSet) {
  std::string f("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x05\x37\xfa\x21\x3d", 14);
  Result r = FeedAll(f, SIZE_MAX);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->close_code, 1002);
}

TEST(FrameParserTest, ErrorDetectedFromFirstTwoBytes) {
  FrameParser p(100);
  std::vector<Message> out;
  auto err = p.Feed(std::string("\x81\x05", 2),
                    &out);  // unmasked: no need to wait for more
  ASSERT_TRUE(err);
  EXPECT_EQ(err->close_code, 1002);
}

TEST(FrameParserTest, TooBigDetectedFromHeaderBeforePayload) {
  FrameParser p(100);
  std::vector<Message> out;
  const std::string frame = ClientFrame(kFin | 2, std::string(101, 'x'));
  auto err = p.Feed(absl::string_view(frame).substr(0, 2 + 2 + 4),
                    &out);  // header only
  ASSERT_TRUE(err);
  EXPECT_EQ(err->close_code, 1009);
  EXPECT_EQ(p.buffered_bytes(), 0u);

  // A header claiming 2^62 bytes fails immediately too.
  std::string huge("\x82\xFF\x40\x00\x00\x00\x00\x00\x00\x00\x37\xfa\x21\x3d",
                   14);
  EXPECT_EQ(ErrorCode(huge, 1 << 16), 1009);
}

TEST(FrameParserTest, TooBigCountsAllFragments) {
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, std::string(100, 'x')), 100), 0);
  EXPECT_EQ(ErrorCode(ClientFrame(1, std::string(60, 'x')) +
                          ClientFrame(kFin, std::string(40, 'x')),
                      100),
            0);
  EXPECT_EQ(ErrorCode(ClientFrame(1, std::string(60, 'x')) +
                          ClientFrame(kFin, std::string(41, 'x')),
                      100),
            1009);
  // Control frames do not count against the message limit.
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 9, std::string(125, 'x')), 10), 0);
}

TEST(FrameParserTest, InvalidUtf8Text1007ButBinaryIsFine) {
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "\xC0\xAF")), 1007);  // overlong
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "\xED\xA0\x80")),
            1007);  // surrogate
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "ok\xF0\x9F\x98")),
            1007);  // truncated
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 1, "\xF4\x90\x80\x80")),
            1007);  // > U+10FFFF
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | 2, "\xC0\xAF\xFF")), 0);
  EXPECT_EQ(
      ErrorCode(ClientFrame(kFin | 1, "\xF0\x9F\x98\x80 \xCE\xBA\xE1\xBD\xB9")),
      0);
}

TEST(FrameParserTest, CloseFrames) {
  Result r = FeedAll(Close(1000, "bye") + ClientFrame(kFin | 8, "") +
                     Close(4999, "") + Close(3000, "\xCE\xBA"));
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].kind, Kind::kClose);
  EXPECT_EQ(r.messages[0].close_code, 1000);
  EXPECT_EQ(r.messages[0].payload, "bye");
  EXPECT_EQ(r.messages[1].close_code, 0);
  EXPECT_EQ(r.messages[2].close_code, 4999);
  EXPECT_EQ(r.messages[3].payload, "\xCE\xBA");

  for (int c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000,
                3999, 4000, 4999}) {
    EXPECT_EQ(ErrorCode(Close(static_cast<uint16_t>(c), "")), 0) << c;
  }
  for (int c :
       {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    EXPECT_EQ(ErrorCode(Close(static_cast<uint16_t>(c), "")), 1002) << c;
  }
  EXPECT_EQ(ErrorCode(Close(1000, "\xFF")), 1007);
}

TEST(FrameParserTest, DeadAfterError) {
  FrameParser p(100);
  std::vector<Message> out;
  auto err = p.Feed(ClientFrame(kFin | 3, ""), &out);
  ASSERT_TRUE(err);
  auto again = p.Feed(ClientFrame(kFin | 1, "fine"), &out);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->close_code, err->close_code);
  EXPECT_TRUE(out.empty());
}

TEST(FrameParserTest, MessagesBeforeErrorAreDelivered) {
  Result r = FeedAll(ClientFrame(kFin | 1, "a") + ClientFrame(kFin | 1, "b") +
                     ClientFrame(kFin | 0x40 | 1, "c"));
  ASSERT_TRUE(r.error);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].payload, "b");
}

TEST(FrameParserTest, RoundTripThroughMaskerWithRandomSplits) {
  std::mt19937 rng(42);
  std::string server;
  std::vector<std::string> payloads;
  for (size_t n : {0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 100000}) {
    std::string p(n, '\0');
    for (char& c : p) c = static_cast<char>('a' + rng() % 26);
    payloads.push_back(p);
    AppendFrame(server, Opcode::kText, p);
  }
  AppendFrame(server, Opcode::kBinary, std::string("\x00\xFF\x80", 3));
  AppendTextFrameParts(server, {"x", "yz"});
  const std::string client = MaskServerFrames(server);
  for (int round = 0; round < 20; ++round) {
    FrameParser p(1 << 20);
    std::vector<Message> out;
    for (size_t pos = 0; pos < client.size();) {
      const size_t n = std::min<size_t>(client.size() - pos,
                                        1 + rng() % (round < 10 ? 17 : 40000));
      ASSERT_FALSE(p.Feed(absl::string_view(client).substr(pos, n), &out));
      pos += n;
    }
    ASSERT_EQ(out.size(), payloads.size() + 2);
    for (size_t i = 0; i < payloads.size(); ++i) {
      EXPECT_EQ(out[i].kind, Kind::kText);
      EXPECT_EQ(out[i].payload, payloads[i]) << "payload " << i;
    }
    EXPECT_EQ(out[payloads.size()].kind, Kind::kBinary);
    EXPECT_EQ(out[payloads.size()].payload, std::string("\x00\xFF\x80", 3));
    EXPECT_EQ(out.back().payload, "xyz");
    EXPECT_EQ(p.buffered_bytes(), 0u);
  }
}

TEST(FrameParserTest, BufferedBytesAndShrink) {
  FrameParser p(1 << 20);
  std::vector<Message> out;
  const std::string frame = ClientFrame(1, std::string(5000, 'q'));
  ASSERT_FALSE(p.Feed(frame, &out));
  EXPECT_EQ(p.buffered_bytes(), 5000u);  // open fragmented message
  p.ShrinkToFit();
  EXPECT_EQ(p.buffered_bytes(), 5000u);
  ASSERT_FALSE(p.Feed(ClientFrame(kFin, "!"), &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 5001u);
  EXPECT_EQ(p.buffered_bytes(), 0u);
  p.ShrinkToFit();
  EXPECT_EQ(p.buffered_bytes(), 0u);
}

TEST(FrameParserTest, IdleFootprintIsSmall) {
  // Part of the <= 4 KiB per idle connection budget: no heap once shrunk.
  EXPECT_LE(sizeof(FrameParser), 192u);
}

// --- permessage-deflate -----------------------------------------------------

constexpr uint8_t kRsv1 = 0x40;

// A client's compressed message: DEFLATE segment(s) without the tail.
std::string Deflated(absl::string_view text) {
  Deflater d;
  std::string m;
  EXPECT_TRUE(d.AppendSegment(text, &m));
  m.resize(m.size() - kDeflateTail.size());
  return m;
}

Result FeedDeflate(absl::string_view bytes, size_t max = 1 << 20) {
  Inflater inflater;
  FrameParser p(max);
  p.EnableDeflate(&inflater);
  Result r;
  r.error = p.Feed(bytes, &r.messages);
  return r;
}

TEST(FrameParserDeflateTest, CompressedTextMessage) {
  const std::string text = R"({"msg":"sub","id":"1","name":"threadMessage"})";
  Result r = FeedDeflate(ClientFrame(kFin | kRsv1 | 1, Deflated(text)) +
                         ClientFrame(kFin | 1, "plain too"));
  ASSERT_FALSE(r.error) << r.error->reason;
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].kind, Kind::kText);
  EXPECT_EQ(r.messages[0].payload, text);
  EXPECT_EQ(r.messages[1].payload, "plain too");
}

TEST(FrameParserDeflateTest, FragmentedCompressedMessageWithPing) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "fragmented and compressed ";
  const std::string z = Deflated(text);
  // RSV1 on the first frame only; a ping in between.
  const std::string wire =
      ClientFrame(kRsv1 | 1, z.substr(0, 10)) + ClientFrame(kFin | 9, "p") +
      ClientFrame(0, z.substr(10, 7)) + ClientFrame(kFin, z.substr(17));
  // One byte at a time too.
  Inflater inflater;
  FrameParser p(1 << 20);
  p.EnableDeflate(&inflater);
  std::vector<Message> out;
  for (char c : wire) ASSERT_FALSE(p.Feed(absl::string_view(&c, 1), &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kPing);
  EXPECT_EQ(out[1].payload, text);
  EXPECT_EQ(p.buffered_bytes(), 0u);
}

TEST(FrameParserDeflateTest, Rsv1Rules) {
  const std::string z = Deflated("hello");
  // Without the extension RSV1 is a protocol error.
  EXPECT_EQ(ErrorCode(ClientFrame(kFin | kRsv1 | 1, z)), 1002);
  // On a continuation or a control frame, or RSV2/RSV3: 1002 as well.
  auto code = [](const std::string& bytes) {
    Result r = FeedDeflate(bytes);
    return r.error ? r.error->close_code : 0;
  };
  EXPECT_EQ(code(ClientFrame(1, "a") + ClientFrame(kFin | kRsv1, z)), 1002);
  EXPECT_EQ(code(ClientFrame(kFin | kRsv1 | 9, "")), 1002);
  EXPECT_EQ(code(ClientFrame(kFin | 0x20 | 1, "a")), 1002);
  EXPECT_EQ(code(ClientFrame(kFin | kRsv1 | 0x10 | 1, z)), 1002);
  EXPECT_EQ(code(ClientFrame(kFin | kRsv1 | 2, z)), 0);  // binary: fine
}

TEST(FrameParserDeflateTest, ZipBombIsTooBig) {
  // 4 MiB of "a" is ~4 KiB compressed: under the 64 KiB limit on the wire,
  // far over it inflated.
  const std::string z = Deflated(std::string(4 << 20, 'a'));
  ASSERT_LT(z.size(), 64 * 1024u);
  Result r = FeedDeflate(ClientFrame(kFin | kRsv1 | 1, z), 64 * 1024);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->close_code, 1009);
  EXPECT_TRUE(r.messages.empty());
  // Exactly at the limit is fine.
  r = FeedDeflate(
      ClientFrame(kFin | kRsv1 | 1, Deflated(std::string(64 * 1024, 'a'))),
      64 * 1024);
  EXPECT_FALSE(r.error);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload.size(), 64 * 1024u);
}

TEST(FrameParserDeflateTest, CorruptOrNotUtf8Is1007) {
  Result r = FeedDeflate(ClientFrame(kFin | kRsv1 | 1, "\x07\x00"));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->close_code, 1007);
  r = FeedDeflate(ClientFrame(kFin | kRsv1 | 1, Deflated("\xC0\xAF")));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->close_code, 1007);
}

}  // namespace
}  // namespace vent::ws
