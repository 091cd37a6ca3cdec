#include "bridge/output_queue.h"

#include <string>

#include "gtest/gtest.h"
#include "vent/ws/deflate.h"

namespace vent::bridge {
namespace {

// Drains everything Pending() offers, `chunk` bytes per "write".
std::string DrainAll(OutputQueue& q, size_t chunk = SIZE_MAX) {
  std::string out;
  for (;;) {
    auto p = q.Pending();
    EXPECT_TRUE(p.ok());
    if (!p.ok() || p->empty()) return out;
    size_t n = std::min(chunk, p->size());
    out.append(p->data(), n);
    q.Consume(n);
  }
}

// Upper-cases as "sealing" (stands in for TLS records).
struct UpperSealer : Sealer {
  absl::Status Seal(absl::string_view plain, std::string* wire) override {
    for (char c : plain) wire->push_back(static_cast<char>(std::toupper(c)));
    ++calls;
    return absl::OkStatus();
  }
  int calls = 0;
};

OutputBudget Budget(int64_t* total, size_t max = 1024 * 1024,
                    int64_t max_worker = 1 << 30) {
  OutputBudget b;
  b.max_bytes = max;
  b.max_worker_bytes = max_worker;
  b.worker_total = total;
  return b;
}

TEST(OutputQueueTest, FramesDdpMessagesAsWebSocketTextFrames) {
  int64_t total = 0;
  OutputQueue q(OutputQueue::Framing::kWebSocket, Budget(&total));
  q.AppendMessage(R"({"msg":"pong"})");
  EXPECT_EQ(q.queued(), 2u + 14u);
  EXPECT_EQ(total, 16);
  EXPECT_EQ(DrainAll(q), std::string("\x81\x0e{\"msg\":\"pong\"}"));
  EXPECT_EQ(total, 0);
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueueTest, SockJsWrapsMessagesAndCloses) {
  int64_t total = 0;
  OutputQueue q(OutputQueue::Framing::kSockJsWebSocket, Budget(&total));
  q.AppendMessage(R"({"msg":"pong"})");
  q.AppendClose(3000, "Broken framing.");
  std::string wire = DrainAll(q);
  EXPECT_NE(wire.find(R"(a["{\"msg\":\"pong\"}"])"), std::string::npos);
  EXPECT_NE(wire.find(R"(c[3000,"Broken framing."])"), std::string::npos);
  EXPECT_EQ(static_cast<uint8_t>(wire[wire.size() - 19]), 0x88);  // WS close
}

TEST(OutputQueueTest, CollectionDeliveryFramesEndWithTwoBraces) {
  int64_t total = 0;
  OutputQueue raw(OutputQueue::Framing::kWebSocket, Budget(&total));
  OutputQueue sockjs(OutputQueue::Framing::kSockJsWebSocket, Budget(&total));
  Subscription sub;
  sub.prefix =
      R"({"msg":"changed","collection":"__vent.r.p","id":"i","fields":{"e":)";
  sub.sockjs_prefix =
      R"({\"msg\":\"changed\",\"collection\":\"__vent.r.p\",\"id\":\"i\",\"fields\":{\"e\":)";
  sub.suffix = "}}";
  Transformed t;
  t.e = R"({"$date":1})";
  raw.AppendVent(sub, t);
  sockjs.AppendVent(sub, t);
  EXPECT_EQ(
      DrainAll(raw).substr(2),
      R"({"msg":"changed","collection":"__vent.r.p","id":"i","fields":{"e":{"$date":1}}})");
  EXPECT_EQ(
      DrainAll(sockjs).substr(2),
      R"(a["{\"msg\":\"changed\",\"collection\":\"__vent.r.p\",\"id\":\"i\",\"fields\":{\"e\":{\"$date\":1}}}"])");
}

TEST(OutputQueueTest, SockJsHttpQueuesArrayElements) {
  int64_t total = 0;
  OutputQueue q(OutputQueue::Framing::kSockJsHttp, Budget(&total));
  q.AppendMessage(R"({"msg":"pong"})");
  Subscription sub;
  sub.sockjs_prefix =
      R"({\"msg\":\"changed\",\"__vent\":\"1\",\"id\":\"r.p\",\"e\":)";
  Transformed t;
  t.e = "[\"\u2028\"]";
  q.AppendVent(sub, t);
  EXPECT_EQ(total, static_cast<int64_t>(q.queued()));
  EXPECT_EQ(
      DrainAll(q),
      R"("{\"msg\":\"pong\"}","{\"msg\":\"changed\",\"__vent\":\"1\",\"id\":\"r.p\",\"e\":[\"\u2028\"]}")");
  // Taken whole: the next element starts a new list.
  q.AppendMessage("x");
  EXPECT_EQ(DrainAll(q), R"("x")");
  EXPECT_EQ(total, 0);
}

TEST(OutputQueueTest, VentFramesShareThePayload) {
  int64_t total = 0;
  OutputQueue raw(OutputQueue::Framing::kWebSocket, Budget(&total));
  OutputQueue sockjs(OutputQueue::Framing::kSockJsWebSocket, Budget(&total));
  Subscription sub;
  sub.prefix = R"({"msg":"changed","__vent":"1","id":"r.p","e":)";
  sub.sockjs_prefix =
      R"({\"msg\":\"changed\",\"__vent\":\"1\",\"id\":\"r.p\",\"e\":)";
  Transformed t;
  t.e = R"({"m":"a\nb"})";
  raw.AppendVent(sub, t);
  sockjs.AppendVent(sub, t);
  EXPECT_TRUE(t.sockjs_ready);  // escaped once, kept for the next sub
  EXPECT_EQ(DrainAll(raw).substr(2),
            R"({"msg":"changed","__vent":"1","id":"r.p","e":{"m":"a\nb"}})");
  EXPECT_EQ(
      DrainAll(sockjs).substr(2),
      R"(a["{\"msg\":\"changed\",\"__vent\":\"1\",\"id\":\"r.p\",\"e\":{\"m\":\"a\\nb\"}}"])");
}

// Splits one server frame: (first byte, payload).
std::pair<uint8_t, std::string> OneFrame(const std::string& wire) {
  EXPECT_GE(wire.size(), 2u);
  size_t len = static_cast<uint8_t>(wire[1]) & 0x7f, pos = 2;
  if (len == 126) {
    len = (static_cast<uint8_t>(wire[2]) << 8) | static_cast<uint8_t>(wire[3]);
    pos = 4;
  }
  EXPECT_EQ(wire.size(), pos + len);
  return {static_cast<uint8_t>(wire[0]), wire.substr(pos)};
}

std::string Inflated(const std::string& payload) {
  ws::Inflater inf;
  std::string out;
  EXPECT_EQ(inf.Inflate(payload, 1 << 20, &out), ws::Inflater::Result::kOk);
  return out;
}

TEST(OutputQueueTest, DeflateCompressesEachEventOnceForAllSubscribers) {
  int64_t total = 0;
  OutputQueue a(OutputQueue::Framing::kWebSocket, Budget(&total));
  OutputQueue b(OutputQueue::Framing::kWebSocket, Budget(&total));
  OutputQueue plain(OutputQueue::Framing::kWebSocket, Budget(&total));
  a.EnableDeflate(15);
  b.EnableDeflate(15);
  Subscription sa, sb;
  sa.prefix = R"({"msg":"changed","__vent":"1","id":"rA.threadMessage","e":)";
  sb.prefix =
      R"({"msg":"changed","collection":"__vent.rB.p","id":"i","fields":{"e":)";
  sb.suffix = "}}";
  std::string e = R"({"type":"new_message","text":")";
  for (int i = 0; i < 30; ++i) e += "the same words again ";
  e += "\"}";
  Transformed t;
  t.e = e;
  a.AppendVent(sa, t);
  ASSERT_EQ(t.deflate_state, 1);
  const std::string shared = t.deflated_e;
  b.AppendVent(sb, t);
  plain.AppendVent(sa, t);
  EXPECT_EQ(t.deflated_e, shared);  // compressed once, used twice
  EXPECT_FALSE(sa.deflated_prefix.empty());

  auto [fa, pa] = OneFrame(DrainAll(a));
  EXPECT_EQ(fa, 0xC1);  // FIN + RSV1 + text
  EXPECT_LT(pa.size(), sa.prefix.size() + e.size());
  EXPECT_EQ(Inflated(pa), sa.prefix + e + "}");
  auto [fb, pb] = OneFrame(DrainAll(b));
  EXPECT_EQ(fb, 0xC1);
  EXPECT_EQ(Inflated(pb), sb.prefix + e + "}}");
  // A connection without the extension gets the plain frame.
  auto [fp, pp] = OneFrame(DrainAll(plain));
  EXPECT_EQ(fp, 0x81);
  EXPECT_EQ(pp, sa.prefix + e + "}");
  EXPECT_EQ(total, 0);
}

TEST(OutputQueueTest, DeflateFallsBackToPlainFrames) {
  int64_t total = 0;
  Subscription sub;
  sub.prefix = R"({"msg":"changed","__vent":"1","id":"r.p","e":)";
  // Incompressible (short) event: sent as is.
  {
    OutputQueue q(OutputQueue::Framing::kWebSocket, Budget(&total));
    q.EnableDeflate(15);
    Transformed t;
    t.e = "1";
    q.AppendVent(sub, t);
    EXPECT_EQ(t.deflate_state, -1);
    auto [f, p] = OneFrame(DrainAll(q));
    EXPECT_EQ(f, 0x81);
    EXPECT_EQ(p, sub.prefix + "1}");
  }
  // server_max_window_bits=8: a 300-byte event could refer 299 bytes back,
  // farther than a 256-byte window: plain; a 200-byte one goes compressed.
  for (size_t n : {300u, 200u}) {
    OutputQueue q(OutputQueue::Framing::kWebSocket, Budget(&total));
    q.EnableDeflate(8);
    Transformed t;
    t.e = "\"" + std::string(n - 2, 'z') + "\"";
    q.AppendVent(sub, t);
    auto [f, p] = OneFrame(DrainAll(q));
    EXPECT_EQ(f, n == 300 ? 0x81 : 0xC1) << n;
    EXPECT_EQ(f == 0xC1 ? Inflated(p) : p, sub.prefix + *t.e + "}");
  }
}

TEST(OutputQueueTest, EveryReplyCountsAgainstTheBudget) {
  int64_t total = 0;
  OutputQueue q(OutputQueue::Framing::kWebSocket, Budget(&total, 1000));
  for (int i = 0; i < 7; ++i)
    q.AppendControl(ws::Opcode::kPong, std::string(125, 'p'));
  EXPECT_FALSE(q.over_budget());  // 7 * 127 = 889
  q.AppendControl(ws::Opcode::kPong, std::string(125, 'p'));
  EXPECT_TRUE(q.over_budget());
  EXPECT_EQ(total, 8 * 127);
  q.Drop();
  EXPECT_EQ(total, 0);
  EXPECT_FALSE(q.over_budget());
}

TEST(OutputQueueTest, WorkerTotalMakesConnectionsThatAreBehindSlow) {
  int64_t total = 0;
  OutputQueue a(OutputQueue::Framing::kWebSocket,
                Budget(&total, 10 << 20, /*max_worker=*/100 * 1024));
  OutputQueue b(OutputQueue::Framing::kWebSocket,
                Budget(&total, 10 << 20, /*max_worker=*/100 * 1024));
  a.AppendRaw(std::string(60 * 1024, 'a'));  // under 64 KiB: not behind
  b.AppendRaw(std::string(70 * 1024, 'b'));  // behind
  EXPECT_EQ(total, 130 * 1024);
  EXPECT_FALSE(a.over_budget());
  EXPECT_TRUE(b.over_budget());
  EXPECT_TRUE(b.behind());
  DrainAll(a);
  EXPECT_FALSE(b.over_budget());  // the worker is back under its cap
}

TEST(OutputQueueTest, PartialWritesAndTheDestructorKeepTheTotalExact) {
  int64_t total = 0;
  {
    OutputQueue q(OutputQueue::Framing::kWebSocket, Budget(&total));
    q.AppendRaw(std::string(100000, 'x'));
    auto p = q.Pending();
    q.Consume(33333);
    EXPECT_TRUE(q.partly_written());
    EXPECT_EQ(total, 100000 - 33333);
    EXPECT_EQ(DrainAll(q, 7777).size(), 100000u - 33333u);
    q.AppendRaw("tail");
    EXPECT_EQ(total, 4);
  }
  EXPECT_EQ(total, 0);  // the destructor gives back what was still queued
}

TEST(OutputQueueTest, SealsEverythingQueuedAtOnceAndKeepsRecordOrder) {
  int64_t total = 0;
  UpperSealer sealer;
  OutputQueue q(OutputQueue::Framing::kWebSocket, Budget(&total));
  q.set_sealer(&sealer);
  q.AppendRaw("abc");
  q.AppendRaw("def");
  q.AppendSealed("<ALERT>");  // produced outside: precedes unsealed bytes
  std::string out = DrainAll(q, 2);
  EXPECT_EQ(out, "<ALERT>ABCDEF");
  EXPECT_EQ(sealer.calls, 1);
  EXPECT_EQ(total, 0);
}

}  // namespace
}  // namespace vent::bridge
