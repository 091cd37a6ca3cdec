#include "bridge/sockjs_framing.h"

#include <string>

#include "gtest/gtest.h"

namespace vent::bridge {
namespace {

TEST(SockJsFramingTest, ParsesSessionPaths) {
  auto p = ParseSockJsPath("/sockjs/123/abc_DEF-9/xhr_streaming");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->server, "123");
  EXPECT_EQ(p->session, "abc_DEF-9");
  EXPECT_EQ(p->transport, SockJsTransport::kXhrStreaming);
  EXPECT_EQ(ParseSockJsPath("/sockjs/1/s/xhr")->transport,
            SockJsTransport::kXhrPolling);
  EXPECT_EQ(ParseSockJsPath("/sockjs/1/s/xhr_send")->transport,
            SockJsTransport::kXhrSend);
  EXPECT_EQ(ParseSockJsPath("/sockjs/1/s/eventsource")->transport,
            SockJsTransport::kEventSource);
  EXPECT_EQ(ParseSockJsPath("/sockjs/1/s/htmlfile")->transport,
            SockJsTransport::kHtmlFile);
  EXPECT_EQ(ParseSockJsPath("/sockjs/1/s/websocket")->transport,
            SockJsTransport::kWebSocket);
  for (const char* bad :
       {"/sockjs/info", "/sockjs/1/s", "/sockjs/1/s/jsonp", "/sockjs/1/s/xhr/",
        "/sockjs/1//xhr", "/sockjs//s/xhr", "/sockjs/1/a.b/xhr",
        "/sockjs/1.2/s/xhr", "/sockjs/1/s/xhr/x", "/websocket",
        "/sockjs/1/s/"}) {
    EXPECT_FALSE(ParseSockJsPath(bad).has_value()) << bad;
  }
  EXPECT_TRUE(IsReceiving(SockJsTransport::kHtmlFile));
  EXPECT_FALSE(IsReceiving(SockJsTransport::kXhrSend));
  EXPECT_FALSE(IsReceiving(SockJsTransport::kWebSocket));
}

TEST(SockJsFramingTest, FramesPerTransport) {
  EXPECT_EQ(ReceiverFrame(SockJsTransport::kXhrStreaming, "o"), "o\n");
  EXPECT_EQ(ReceiverFrame(SockJsTransport::kXhrPolling, R"(a["x"])"),
            "a[\"x\"]\n");
  EXPECT_EQ(ReceiverFrame(SockJsTransport::kEventSource, "h"),
            "data: h\r\n\r\n");
  // A raw line break would end the event: escaped (frames never have one).
  EXPECT_EQ(ReceiverFrame(SockJsTransport::kEventSource, "a\r\nb"),
            "data: a\\u000d\\u000ab\r\n\r\n");
  // JSON.stringify'd, with '<' escaped so "</script>" cannot end the block.
  EXPECT_EQ(ReceiverFrame(SockJsTransport::kHtmlFile, R"(a["</script>"])"),
            R"(<script>
p("a[\"\u003c/script>\"]");
</script>)"
            "\r\n");
}

TEST(SockJsFramingTest, Preludes) {
  std::string xs = ReceiverPrelude(SockJsTransport::kXhrStreaming, "");
  EXPECT_EQ(xs.size(), 2049u);
  EXPECT_EQ(xs, std::string(2048, 'h') + "\n");
  EXPECT_EQ(ReceiverPrelude(SockJsTransport::kEventSource, ""), "\r\n");
  EXPECT_EQ(ReceiverPrelude(SockJsTransport::kXhrPolling, ""), "");
  std::string page = ReceiverPrelude(SockJsTransport::kHtmlFile, "cb_1.x");
  EXPECT_NE(page.find("var c = parent.cb_1.x;"), std::string::npos);
  EXPECT_EQ(page.find("{{"), std::string::npos);
  // sockjs-node pads the template to 1037 bytes (with the 14-byte
  // placeholder), then "\r\n\r\n".
  EXPECT_EQ(page.size(), 1037u - 14u + 6u + 4u);
  EXPECT_EQ(page.substr(page.size() - 5), " \r\n\r\n");
  EXPECT_TRUE(ValidHtmlFileCallback("a.b_c-9"));
  EXPECT_FALSE(ValidHtmlFileCallback(""));
  EXPECT_FALSE(ValidHtmlFileCallback("a(b)"));
  EXPECT_FALSE(ValidHtmlFileCallback("a;alert(1)"));
}

TEST(SockJsFramingTest, ContentTypesAndChunks) {
  EXPECT_EQ(ReceiverContentType(SockJsTransport::kXhrStreaming),
            "application/javascript; charset=UTF-8");
  EXPECT_EQ(ReceiverContentType(SockJsTransport::kEventSource),
            "text/event-stream");
  EXPECT_EQ(ReceiverContentType(SockJsTransport::kHtmlFile),
            "text/html; charset=UTF-8");
  EXPECT_EQ(Chunk("o\n"), "2\r\no\n\r\n");
  EXPECT_EQ(Chunk(std::string(26, 'x')),
            "1a\r\n" + std::string(26, 'x') + "\r\n");
}

}  // namespace
}  // namespace vent::bridge
