#include "vent/ws/deflate.h"

#include <zlib.h>

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace vent::ws {
namespace {

constexpr absl::string_view kAccepted =
    "permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover";

// --- negotiation ------------------------------------------------------------

TEST(NegotiateDeflateTest, NoOfferNoExtension) {
  DeflateNegotiation n = NegotiateDeflate("");
  EXPECT_FALSE(n.params.enabled);
  EXPECT_EQ(n.response, "");
  EXPECT_FALSE(NegotiateDeflate("x-webkit-deflate-frame").params.enabled);
}

TEST(NegotiateDeflateTest, BrowserAndWsOffers) {
  // Chromium and Node's ws offer this; Firefox the bare name.
  for (absl::string_view offer :
       {"permessage-deflate; client_max_window_bits", "permessage-deflate",
        "Permessage-Deflate", "permessage-deflate;client_max_window_bits=15",
        "permessage-deflate; client_no_context_takeover; "
        "server_no_context_takeover",
        "x-webkit-deflate-frame, permessage-deflate"}) {
    SCOPED_TRACE(offer);
    DeflateNegotiation n = NegotiateDeflate(offer);
    EXPECT_TRUE(n.params.enabled);
    EXPECT_EQ(n.params.server_window_bits, 15);
    EXPECT_EQ(n.response, kAccepted);
  }
}

TEST(NegotiateDeflateTest, ServerMaxWindowBitsIsEchoed) {
  DeflateNegotiation n =
      NegotiateDeflate("permessage-deflate; server_max_window_bits=10");
  EXPECT_TRUE(n.params.enabled);
  EXPECT_EQ(n.params.server_window_bits, 10);
  EXPECT_EQ(n.response, std::string(kAccepted) + "; server_max_window_bits=10");
  n = NegotiateDeflate("permessage-deflate; server_max_window_bits=\"8\"");
  EXPECT_TRUE(n.params.enabled);
  EXPECT_EQ(n.params.server_window_bits, 8);
}

TEST(NegotiateDeflateTest, InvalidOffersAreDeclined) {
  for (absl::string_view offer : {
           "permessage-deflate; server_max_window_bits",  // value required
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=010",
           "permessage-deflate; server_max_window_bits=1a",
           "permessage-deflate; client_max_window_bits=0",
           "permessage-deflate; server_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover=\"\"",
           "permessage-deflate; client_no_context_takeover; "
           "client_no_context_takeover",
           "permessage-deflate; server_max_window_bits=9; "
           "server_max_window_bits=9",
           "permessage-deflate; unknown_parameter",
       }) {
    SCOPED_TRACE(offer);
    DeflateNegotiation n = NegotiateDeflate(offer);
    EXPECT_FALSE(n.params.enabled);
    EXPECT_EQ(n.response, "");
  }
}

TEST(NegotiateDeflateTest, FirstAcceptableOfferWins) {
  DeflateNegotiation n = NegotiateDeflate(
      "permessage-deflate; server_max_window_bits=99, "
      "permessage-deflate; server_max_window_bits=12, permessage-deflate");
  EXPECT_TRUE(n.params.enabled);
  EXPECT_EQ(n.params.server_window_bits, 12);
  // A comma inside a quoted value does not split offers.
  n = NegotiateDeflate("permessage-deflate; x=\"a,b\", permessage-deflate");
  EXPECT_TRUE(n.params.enabled);
  EXPECT_EQ(n.params.server_window_bits, 15);
}

TEST(NegotiateDeflateTest, FitsWindow) {
  EXPECT_TRUE(FitsWindow(256, 8));
  EXPECT_FALSE(FitsWindow(257, 8));
  EXPECT_TRUE(FitsWindow(32768, 15));
  EXPECT_FALSE(FitsWindow(32769, 15));
}

// --- segments and inflation -------------------------------------------------

// Independent check with zlib itself: raw inflate of message + tail.
std::string ZlibInflate(absl::string_view message) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string in(message);
  in.append(kDeflateTail.data(), kDeflateTail.size());
  std::string out(in.size() * 50 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int r = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(r == Z_OK || r == Z_STREAM_END) << r;
  EXPECT_EQ(z.avail_in, 0u);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

// A message as the bridge sends it: segments, minus the last tail.
std::string Message(std::initializer_list<absl::string_view> parts) {
  Deflater d;
  std::string m;
  for (absl::string_view p : parts) {
    EXPECT_TRUE(d.AppendSegment(p, &m));
    EXPECT_TRUE(absl::string_view(m).substr(m.size() - 4) == kDeflateTail);
  }
  m.resize(m.size() - kDeflateTail.size());
  return m;
}

TEST(DeflaterTest, SegmentsConcatenateIntoOneMessage) {
  const std::string prefix =
      R"({"msg":"changed","__vent":"1","id":"rAnd0m.threadMessage","e":)";
  std::string e = R"({"type":"new_message","text":")";
  for (int i = 0; i < 40; ++i) e += "hello vent ";
  e += "\"}";
  std::string m = Message({prefix, e, "}"});
  EXPECT_LT(m.size(), prefix.size() + e.size());  // it does compress
  EXPECT_EQ(ZlibInflate(m), prefix + e + "}");
  Inflater inf;
  std::string out;
  ASSERT_EQ(inf.Inflate(m, 1 << 20, &out), Inflater::Result::kOk);
  EXPECT_EQ(out, prefix + e + "}");
}

TEST(DeflaterTest, EmptyAndRandomInputs) {
  EXPECT_EQ(ZlibInflate(Message({""})), "");
  std::mt19937 rng(7);
  Deflater d;
  Inflater inf;
  for (int round = 0; round < 200; ++round) {
    std::string a, b;
    size_t na = rng() % 3000, nb = rng() % 300;
    // Mixed: compressible runs and random bytes.
    for (size_t i = 0; i < na; ++i)
      a.push_back(rng() % 4 == 0 ? static_cast<char>(rng()) : 'x');
    for (size_t i = 0; i < nb; ++i) b.push_back(static_cast<char>(rng()));
    std::string m;
    ASSERT_TRUE(d.AppendSegment(a, &m));
    ASSERT_TRUE(d.AppendSegment(b, &m));
    m.resize(m.size() - 4);
    std::string out;
    ASSERT_EQ(inf.Inflate(m, a.size() + b.size(), &out), Inflater::Result::kOk);
    ASSERT_EQ(out, a + b);
    ASSERT_EQ(ZlibInflate(m), a + b);
    if (!out.empty()) {
      // One byte less than the message is over the limit.
      EXPECT_EQ(inf.Inflate(m, out.size() - 1, &out),
                Inflater::Result::kTooBig);
    }
  }
}

TEST(InflaterTest, ZipBombStopsAtTheLimit) {
  std::string zeros(8 << 20, '\0');
  std::string m = Message({zeros});
  EXPECT_LT(m.size(), 16 * 1024u);  // 8 MiB of zeros is a few KiB compressed
  Inflater inf;
  std::string out;
  EXPECT_EQ(inf.Inflate(m, 64 * 1024, &out), Inflater::Result::kTooBig);
  EXPECT_TRUE(out.empty());
  // The same inflater works for the next message.
  EXPECT_EQ(inf.Inflate(Message({"ok"}), 64 * 1024, &out),
            Inflater::Result::kOk);
  EXPECT_EQ(out, "ok");
}

TEST(InflaterTest, CorruptAndFinalBlocks) {
  Inflater inf;
  std::string out;
  // BTYPE=11 is reserved: invalid.
  EXPECT_EQ(inf.Inflate("\x07\x00", 1024, &out), Inflater::Result::kCorrupt);
  // A stored block whose NLEN does not match LEN.
  EXPECT_EQ(inf.Inflate(absl::string_view("\x00\x05\x00\x00\x00hello", 10),
                        1024, &out),
            Inflater::Result::kCorrupt);
  // A message ending with a final (BFINAL=1) block is valid (RFC 7692
  // 7.2.3.3); data after it is not.
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string in = "final block", fin(64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(fin.data());
  z.avail_out = static_cast<uInt>(fin.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  fin.resize(fin.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_EQ(inf.Inflate(fin, 1024, &out), Inflater::Result::kOk);
  EXPECT_EQ(out, "final block");
  EXPECT_EQ(inf.Inflate(fin + "junk", 1024, &out), Inflater::Result::kCorrupt);
}

TEST(InflaterTest, ThreadInstancesAreReused) {
  EXPECT_EQ(&ThreadDeflater(), &ThreadDeflater());
  EXPECT_EQ(&ThreadInflater(), &ThreadInflater());
}

}  // namespace
}  // namespace vent::ws
