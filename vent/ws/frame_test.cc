#include "vent/ws/frame.h"

#include <string>

#include "gtest/gtest.h"

namespace vent::ws {
namespace {

std::string Header(Opcode op, size_t n) {
  std::string out;
  AppendFrameHeader(out, op, n);
  return out;
}

TEST(FrameHeaderTest, LengthEncodings) {
  EXPECT_EQ(Header(Opcode::kText, 0), std::string("\x81\x00", 2));
  EXPECT_EQ(Header(Opcode::kText, 125), "\x81\x7D");
  EXPECT_EQ(Header(Opcode::kBinary, 126), std::string("\x82\x7E\x00\x7E", 4));
  EXPECT_EQ(Header(Opcode::kText, 65535), std::string("\x81\x7E\xFF\xFF", 4));
  EXPECT_EQ(Header(Opcode::kText, 65536),
            std::string("\x81\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(Header(Opcode::kText, 0x0102030405ULL),
            std::string("\x81\x7F\x00\x00\x00\x01\x02\x03\x04\x05", 10));
  EXPECT_EQ(Header(Opcode::kPing, 0), std::string("\x89\x00", 2));
  EXPECT_EQ(Header(Opcode::kPong, 3), std::string("\x8A\x03", 2));
}

TEST(FrameTest, AppendsToExistingBuffer) {
  std::string out = "prev";
  AppendFrame(out, Opcode::kText, "hi");
  AppendFrame(out, Opcode::kText, "yo");
  EXPECT_EQ(out, "prev\x81\x02hi\x81\x02yo");
}

TEST(FrameTest, TextFramePartsConcatenates) {
  std::string out;
  AppendTextFrameParts(out, {"a[", "\"x\"", "", "]"});
  EXPECT_EQ(out,
            "\x81\x06"
            "a[\"x\"]");
  std::string big(70000, 'z');
  out.clear();
  AppendTextFrameParts(out, {big, "!"});
  EXPECT_EQ(out.size(), 10 + 70001u);
  EXPECT_EQ(out.substr(0, 10),
            std::string("\x81\x7F\x00\x00\x00\x00\x00\x01\x11\x71", 10));
  EXPECT_EQ(out.back(), '!');
}

TEST(FrameTest, CloseFrame) {
  std::string out;
  AppendClose(out, 1000, "bye");
  EXPECT_EQ(out, std::string("\x88\x05\x03\xE8"
                             "bye",
                             7));
  out.clear();
  AppendClose(out, 0, "ignored");
  EXPECT_EQ(out, std::string("\x88\x00", 2));
}

TEST(FrameTest, CloseReasonTruncatedTo125BytesOnCharBoundary) {
  std::string out;
  AppendClose(out, 4008, std::string(200, 'r'));
  ASSERT_EQ(out.size(), 2 + 125u);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 125);
  // 122 ASCII bytes then a 3-byte char: only 1 byte of room -> the char is
  // dropped.
  std::string reason = std::string(122, 'r') + "\xE2\x82\xAC";
  out.clear();
  AppendClose(out, 4008, reason);
  ASSERT_EQ(out.size(), 2 + 2 + 122u);
  EXPECT_EQ(out.substr(4), std::string(122, 'r'));
}

TEST(FrameTest, CloseCodeValidity) {
  for (int c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000,
                3999, 4000, 4999}) {
    EXPECT_TRUE(IsValidCloseCode(static_cast<uint16_t>(c))) << c;
  }
  for (int c :
       {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(IsValidCloseCode(static_cast<uint16_t>(c))) << c;
  }
}

}  // namespace
}  // namespace vent::ws
