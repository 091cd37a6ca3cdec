#include "vent/redis/resp.h"

#include <hiredis/hiredis.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vent::redis {
namespace {

TEST(EncodeCommand, ByteExact) {
  EXPECT_EQ(EncodeCommand({"PING"}), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(EncodeCommand({"PUBLISH", "ch", "{\"a\":1}"}),
            "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$7\r\n{\"a\":1}\r\n");
  EXPECT_EQ(EncodeCommand({"SET", ""}), "*2\r\n$3\r\nSET\r\n$0\r\n\r\n");
}

TEST(EncodeCommand, BinarySafeAndPipelined) {
  std::string bin("a\0\r\nb", 5);
  std::string out;
  AppendCommand(out, {"PUBLISH", "c", bin});
  AppendCommand(out, {"PING"});
  EXPECT_EQ(
      out,
      std::string("*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$5\r\na\0\r\nb\r\n", 35) +
          "*1\r\n$4\r\nPING\r\n");
}

TEST(AppendPublish, SameBytesAsAppendCommand) {
  std::string bin("a\0\r\nb", 5);
  for (size_t n : {size_t{0}, size_t{1}, size_t{9}, size_t{10}, size_t{99},
                   size_t{100}, size_t{65536}}) {
    std::string message(n, 'x');
    std::string want = "prefix";
    AppendCommand(want, {"PUBLISH", bin, message});
    std::string got = "prefix";
    AppendPublish(got, bin, message);
    EXPECT_EQ(got, want) << n;
    std::string swant = "prefix";
    AppendCommand(swant, {"SPUBLISH", bin, message});
    std::string sgot = "prefix";
    AppendPublish(sgot, bin, message, /*sharded=*/true);
    EXPECT_EQ(sgot, swant) << n;
  }
}

// A stream of replies and the DebugString each must parse to.
const char kStream[] =
    "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n"
    "+OK\r\n"
    ":42\r\n"
    "$-1\r\n"
    "-ERR unknown command\r\n"
    "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    "*2\r\n*2\r\n:1\r\n$1\r\nx\r\n*0\r\n"
    "$6\r\nbi\r\nry\r\n"
    ":-7\r\n";
const std::vector<std::string> kExpected = {
    "[\"message\", \"chan\", \"hello\"]",
    "+OK",
    ":42",
    "$-1",
    "-ERR unknown command",
    "[\"subscribe\", \"a\", :1]",
    "[[:1, \"x\"], []]",
    "\"bi\r\nry\"",
    ":-7",
};

std::vector<std::string> ParseInChunks(const std::string& stream,
                                       const std::vector<size_t>& sizes) {
  RespReader reader;
  std::vector<std::string> got;
  size_t pos = 0, i = 0;
  while (pos < stream.size()) {
    size_t n = std::min(sizes[i++ % sizes.size()], stream.size() - pos);
    reader.Feed(stream.data() + pos, n);
    pos += n;
    for (;;) {
      auto r = reader.Next();
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok() || *r == nullptr) break;
      got.push_back(DebugString(**r));
    }
  }
  return got;
}

TEST(RespReader, OneByteChunks) {
  EXPECT_EQ(ParseInChunks(kStream, {1}), kExpected);
}

TEST(RespReader, ThreeByteChunks) {
  EXPECT_EQ(ParseInChunks(kStream, {3}), kExpected);
}

TEST(RespReader, WholeStream) {
  EXPECT_EQ(ParseInChunks(kStream, {sizeof(kStream)}), kExpected);
}

TEST(RespReader, RandomChunks) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> dist(1, 40);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> sizes;
    for (int i = 0; i < 64; ++i) sizes.push_back(dist(rng));
    ASSERT_EQ(ParseInChunks(kStream, sizes), kExpected) << "round " << round;
  }
}

TEST(RespReader, Accessors) {
  RespReader reader;
  static const char kMsg[] = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\na\0b\r\n";
  std::string s(kMsg, sizeof(kMsg) - 1);
  reader.Feed(s.data(), s.size());
  auto r = reader.Next();
  ASSERT_TRUE(r.ok());
  ASSERT_NE(*r, nullptr);
  const redisReply& m = **r;
  ASSERT_EQ(TypeOf(m), ReplyType::kArray);
  ASSERT_EQ(ArraySize(m), 3u);
  EXPECT_EQ(StringOf(ElementOf(m, 0)), "message");
  EXPECT_EQ(StringOf(ElementOf(m, 2)), absl::string_view("a\0b", 3));
  auto none = reader.Next();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

TEST(RespReader, ProtocolErrorIsStickyAndClear) {
  RespReader reader;
  // RESP3 push type is not RESP2: must be an error, never a crash.
  reader.Feed(">3\r\n", 4);
  auto r = reader.Next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("protocol error"),
            absl::string_view::npos);
  reader.Feed("+OK\r\n", 5);
  EXPECT_FALSE(reader.Next().ok());
}

}  // namespace
}  // namespace vent::redis
